package maven

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// maven-metadata.xml (https://maven.apache.org/ref/3.9.9/maven-repository-metadata/repository-metadata.html)
// comes in three levels: artifact-level (the versions of groupId:artifactId),
// snapshot-level (the builds of one -SNAPSHOT version) and group-level (the
// plugin prefixes of a groupId). The registry renders the first two from
// its own state; what a client uploads is read only to learn which
// versions it has finished deploying (and checked against the path).

// MaxMetadataBytes bounds an uploaded maven-metadata.xml.
const MaxMetadataBytes = 4 << 20

// UploadedMetadata is what the registry reads from an uploaded
// maven-metadata.xml.
type UploadedMetadata struct {
	GroupID, ArtifactID, Version string
	// Versions are the versions listed under versioning/versions.
	Versions []string
	// Latest and Release are versioning/latest and versioning/release.
	Latest, Release string
	// Timestamp and BuildNumber are versioning/snapshot's, for
	// snapshot-level metadata.
	Timestamp   string
	BuildNumber int
	// LastUpdated is versioning/lastUpdated (yyyyMMddHHmmss, UTC) as
	// written, unchecked.
	LastUpdated string
	// Plugins is set for group-level metadata (plugin prefixes).
	Plugins bool
}

type metadataXML struct {
	GroupID    text `xml:"groupId"`
	ArtifactID text `xml:"artifactId"`
	Version    text `xml:"version"`
	Versioning struct {
		Latest      text   `xml:"latest"`
		Release     text   `xml:"release"`
		Versions    []text `xml:"versions>version"`
		LastUpdated text   `xml:"lastUpdated"`
		Snapshot    struct {
			Timestamp   text `xml:"timestamp"`
			BuildNumber text `xml:"buildNumber"`
		} `xml:"snapshot"`
	} `xml:"versioning"`
	Plugins []struct {
		Prefix text `xml:"prefix"`
	} `xml:"plugins>plugin"`
}

// ParseMetadata reads an uploaded maven-metadata.xml. A document that is
// not well-formed XML with a <metadata> root, or that carries a DOCTYPE,
// is ErrInvalid.
func ParseMetadata(doc []byte) (UploadedMetadata, error) {
	var x metadataXML
	if err := decodeXML(doc, "metadata", &x); err != nil {
		return UploadedMetadata{}, domain.Invalid("maven-metadata.xml is malformed: %v", err)
	}
	m := UploadedMetadata{
		GroupID: string(x.GroupID), ArtifactID: string(x.ArtifactID), Version: string(x.Version),
		Latest: string(x.Versioning.Latest), Release: string(x.Versioning.Release),
		Timestamp: string(x.Versioning.Snapshot.Timestamp), Plugins: len(x.Plugins) > 0,
		LastUpdated: string(x.Versioning.LastUpdated),
	}
	for _, v := range x.Versioning.Versions {
		if v != "" {
			m.Versions = append(m.Versions, string(v))
		}
	}
	if b := string(x.Versioning.Snapshot.BuildNumber); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 {
			return UploadedMetadata{}, domain.Invalid("maven-metadata.xml has an invalid snapshot buildNumber %q", b)
		}
		m.BuildNumber = n
	}
	return m, nil
}

// versionMeta is the format metadata the registry keeps with a Maven
// version (the Metadata JSON of the control plane's version record).
type versionMeta struct {
	// BaseVersion is the -SNAPSHOT version of a snapshot build.
	BaseVersion string `json:"baseVersion,omitempty"`
	// Packaging is the POM's packaging.
	Packaging string `json:"packaging,omitempty"`
}

func readVersionMeta(raw json.RawMessage) versionMeta {
	var m versionMeta
	if !bytes.Contains(raw, []byte(`"baseVersion"`)) && !bytes.Contains(raw, []byte(`"packaging"`)) {
		return m // most versions are releases: skip the decoder
	}
	json.Unmarshal(raw, &m)
	return m
}

// lastUpdatedLayout is maven-metadata.xml's lastUpdated (UTC).
const lastUpdatedLayout = "20060102150405"

// artifactListing is what artifact-level metadata shows of a package.
type artifactListing struct {
	GroupID, ArtifactID string
	// Versions in Maven order, lowest first: Published releases and the
	// base versions of snapshots with a Published build.
	Versions []string
	Latest   string // highest version
	Release  string // highest non-snapshot version
	Updated  time.Time
}

// listArtifact computes artifact-level metadata from a package's versions.
// ok is false when nothing is listed.
func listArtifact(groupID, artifactID string, versions []domain.VersionRecord) (artifactListing, bool) {
	l := artifactListing{GroupID: groupID, ArtifactID: artifactID}
	seen := map[string]bool{}
	var updated int64
	for _, v := range versions {
		if !v.Status.Listed() {
			continue
		}
		name := v.Version
		if base := readVersionMeta(v.Metadata).BaseVersion; base != "" {
			name = base
		}
		if v.UpdatedAt > updated {
			updated = v.UpdatedAt
		}
		if !seen[name] {
			seen[name] = true
			l.Versions = append(l.Versions, name)
		}
	}
	if len(l.Versions) == 0 {
		return l, false
	}
	l.Updated = time.UnixMilli(updated).UTC()
	l.order()
	return l, true
}

// order sorts the versions in Maven order and sets latest (the highest)
// and release (the highest non-snapshot).
func (l *artifactListing) order() {
	SortVersions(l.Versions)
	l.Latest, l.Release = "", ""
	if len(l.Versions) > 0 {
		l.Latest = l.Versions[len(l.Versions)-1]
	}
	for i := len(l.Versions) - 1; i >= 0; i-- {
		if !IsSnapshot(l.Versions[i]) {
			l.Release = l.Versions[i]
			break
		}
	}
}

// render writes artifact-level maven-metadata.xml.
func (l artifactListing) render() []byte {
	var b strings.Builder
	b.Grow(256 + 32*len(l.Versions))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<metadata>\n")
	b.WriteString("  <groupId>" + escape(l.GroupID) + "</groupId>\n")
	b.WriteString("  <artifactId>" + escape(l.ArtifactID) + "</artifactId>\n")
	b.WriteString("  <versioning>\n")
	b.WriteString("    <latest>" + escape(l.Latest) + "</latest>\n")
	if l.Release != "" {
		b.WriteString("    <release>" + escape(l.Release) + "</release>\n")
	}
	b.WriteString("    <versions>\n")
	for _, v := range l.Versions {
		b.WriteString("      <version>" + escape(v) + "</version>\n")
	}
	b.WriteString("    </versions>\n")
	b.WriteString("    <lastUpdated>" + l.Updated.Format(lastUpdatedLayout) + "</lastUpdated>\n")
	b.WriteString("  </versioning>\n</metadata>\n")
	return []byte(b.String())
}

// snapshotListing is what snapshot-level metadata shows: the newest
// Published build of a -SNAPSHOT version and its files.
type snapshotListing struct {
	GroupID, ArtifactID string
	Build               Build
	Updated             time.Time
	Files               []snapshotFile
}

type snapshotFile struct{ Classifier, Extension string }

// newestBuild returns the newest build of base among versions whose
// status passes keep.
func newestBuild(base string, versions []domain.VersionRecord, keep func(domain.Status) bool) (domain.VersionRecord, Build, bool) {
	var best domain.VersionRecord
	var bestBuild Build
	found := false
	for _, v := range versions {
		if !keep(v.Status) || readVersionMeta(v.Metadata).BaseVersion != base {
			continue
		}
		b, ok := ParseBuild(base, v.Version)
		if !ok {
			continue
		}
		if !found || b.Newer(bestBuild) {
			best, bestBuild, found = v, b, true
		}
	}
	return best, bestBuild, found
}

// listSnapshot computes snapshot-level metadata for base (1.0-SNAPSHOT)
// from a package's versions (with assets). ok is false when base has no
// Published build.
func listSnapshot(groupID, artifactID, base string, versions []domain.VersionRecord) (snapshotListing, bool) {
	v, b, ok := newestBuild(base, versions, func(s domain.Status) bool { return s == domain.StatusPublished })
	if !ok {
		return snapshotListing{}, false
	}
	l := snapshotListing{GroupID: groupID, ArtifactID: artifactID, Build: b, Updated: time.UnixMilli(v.UpdatedAt).UTC()}
	for _, a := range v.Assets {
		if cls, ext, ok := SplitFileName(a.Name, artifactID, v.Version); ok {
			l.Files = append(l.Files, snapshotFile{cls, ext})
		}
	}
	return l, true
}

// render writes snapshot-level maven-metadata.xml (model 1.1.0, with
// snapshotVersions, as Maven 3 writes it).
func (l snapshotListing) render() []byte {
	var b strings.Builder
	updated := l.Updated.Format(lastUpdatedLayout)
	value := l.Build.Version()
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<metadata modelVersion="1.1.0">` + "\n")
	b.WriteString("  <groupId>" + escape(l.GroupID) + "</groupId>\n")
	b.WriteString("  <artifactId>" + escape(l.ArtifactID) + "</artifactId>\n")
	b.WriteString("  <version>" + escape(l.Build.Base) + "</version>\n")
	b.WriteString("  <versioning>\n    <snapshot>\n")
	b.WriteString("      <timestamp>" + l.Build.Timestamp + "</timestamp>\n")
	b.WriteString("      <buildNumber>" + strconv.Itoa(l.Build.Number) + "</buildNumber>\n")
	b.WriteString("    </snapshot>\n")
	b.WriteString("    <lastUpdated>" + updated + "</lastUpdated>\n")
	b.WriteString("    <snapshotVersions>\n")
	for _, f := range l.Files {
		b.WriteString("      <snapshotVersion>\n")
		if f.Classifier != "" {
			b.WriteString("        <classifier>" + escape(f.Classifier) + "</classifier>\n")
		}
		b.WriteString("        <extension>" + escape(f.Extension) + "</extension>\n")
		b.WriteString("        <value>" + escape(value) + "</value>\n")
		b.WriteString("        <updated>" + updated + "</updated>\n")
		b.WriteString("      </snapshotVersion>\n")
	}
	b.WriteString("    </snapshotVersions>\n  </versioning>\n</metadata>\n")
	return []byte(b.String())
}

// publishPlan returns the status changes an artifact-level metadata upload
// listing listed causes: a listed release version that is Unfinished
// becomes Published; for a listed -SNAPSHOT version the newest Unfinished
// build becomes Published; then, for every snapshot touched, only the
// newest Published build stays Published and older ones become Unlisted.
// Versions the upload does not list are left alone.
func publishPlan(listed []string) domain.StatusPlan {
	return func(versions []domain.VersionRecord) map[string]domain.Status {
		out := map[string]domain.Status{}
		status := map[string]domain.Status{}
		for _, v := range versions {
			status[v.Version] = v.Status
		}
		var bases []string
		for _, l := range listed {
			if IsSnapshot(l) {
				bases = append(bases, l)
				continue
			}
			if status[l] == domain.StatusUnfinished {
				out[l] = domain.StatusPublished
			}
		}
		for _, base := range bases {
			if v, _, ok := newestBuild(base, versions, func(s domain.Status) bool { return s == domain.StatusUnfinished }); ok {
				out[v.Version] = domain.StatusPublished
			}
			published := func(s domain.Status) bool { return s == domain.StatusPublished }
			after := make([]domain.VersionRecord, 0, len(versions))
			for _, v := range versions {
				if to, ok := out[v.Version]; ok {
					v.Status = to
				}
				after = append(after, v)
			}
			newest, _, ok := newestBuild(base, after, published)
			if !ok {
				continue
			}
			for _, v := range after {
				if v.Version != newest.Version && v.Status == domain.StatusPublished && readVersionMeta(v.Metadata).BaseVersion == base {
					if _, isBuild := ParseBuild(base, v.Version); isBuild {
						out[v.Version] = domain.StatusUnlisted
					}
				}
			}
		}
		return out
	}
}
