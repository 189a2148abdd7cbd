package npm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// Packument rendering: pure functions from a domain.PackageView to the
// bytes npm reads. The shapes are the npm registry's
// (https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md):
// the full document (application/json) and the abbreviated one
// (application/vnd.npm.install-v1+json) that installers ask for.

// Content types of the two packument forms.
const (
	ctFull        = "application/json"
	ctAbbreviated = "application/vnd.npm.install-v1+json"
)

// abbreviatedFields are the version fields of the abbreviated form.
var abbreviatedFields = []string{"name", "version", "dependencies", "optionalDependencies", "devDependencies",
	"peerDependencies", "peerDependenciesMeta", "bundleDependencies", "bin", "directories", "dist", "engines",
	"os", "cpu", "_hasShrinkwrap", "deprecated", "hasInstallScript"}

// visibleView is what clients may see of a package: Published versions
// that have a tarball, tags pointing at them, and the latest version.
type visibleView struct {
	name     Name
	versions []entry // oldest first
	tags     map[string]string
	latest   string
}

// entry is one version a packument lists: a stored record, or a version
// of an upstream document, which stays a few words (where its manifest
// is, when it was published) until it is rendered (record).
type entry struct {
	rec *domain.VersionRecord // a stored record; nil for an upstream version
	uv  *upVersion
	up  *upstreamView
}

func (e entry) version() string {
	if e.rec != nil {
		return e.rec.Version
	}
	return e.uv.version
}

func (e entry) publishedAt() time.Time {
	if e.rec != nil {
		return e.rec.PublishedAt
	}
	return e.uv.published
}

// listed reports whether clients see the version: an upstream's always.
func (e entry) listed() bool {
	return e.rec == nil || e.rec.Status.Listed() && tarballAsset(e.rec.Assets) != nil
}

// record returns version i with its manifest in hand; the manifest of an
// upstream version is valid until the next call.
func (v visibleView) record(i int) domain.VersionRecord {
	e := v.versions[i]
	if e.rec != nil {
		return *e.rec
	}
	return e.up.record(e.uv)
}

// visible applies CodeArtifact's visibility rules to a package's stored
// versions (see visibleOf).
func visible(pv domain.PackageView) (v visibleView, ok bool) {
	es := make([]entry, len(pv.Versions))
	for i := range pv.Versions {
		es[i] = entry{rec: &pv.Versions[i]}
	}
	return visibleOf(nameOf(pv.Package.PackageRef), es, pv.DistTags)
}

// visibleOf applies CodeArtifact's visibility rules: only Published
// versions are listed; tags naming other versions are dropped. When
// "latest" is missing or hidden it falls back to the highest listed
// release (or, failing that, the highest listed version) so installers
// always find one. ok is false when nothing is visible. all is oldest
// first; when every entry is listed (an upstream's always are) it is
// used as it is, not copied.
func visibleOf(name Name, all []entry, tags map[string]string) (v visibleView, ok bool) {
	v.name = name
	v.versions = all
	for i, e := range all {
		if !e.listed() {
			v.versions = slices.Clone(all[:i])
			for _, e := range all[i+1:] {
				if e.listed() {
					v.versions = append(v.versions, e)
				}
			}
			break
		}
	}
	if len(v.versions) == 0 {
		return v, false
	}
	v.tags = liveTags(v.versions, tags)
	if _, ok := v.tags["latest"]; !ok {
		v.tags["latest"] = fallbackLatest(v.versions)
	}
	v.latest = v.tags["latest"]
	return v, true
}

// liveTags returns the tags naming one of versions: a set of the few
// versions tags name, not of every version.
func liveTags(versions []entry, tags map[string]string) map[string]string {
	named := make(map[string]bool, len(tags))
	for _, ver := range tags {
		named[ver] = false
	}
	for _, e := range versions {
		if _, ok := named[e.version()]; ok {
			named[e.version()] = true
		}
	}
	live := make(map[string]string, len(tags)+1)
	for t, ver := range tags {
		if named[ver] {
			live[t] = ver
		}
	}
	return live
}

// fallbackLatest returns the highest release among versions, or the
// highest version when all are prereleases.
func fallbackLatest(versions []entry) string {
	var best, bestPre *semver.Version
	var bestS, bestPreS string
	for _, e := range versions {
		sv, err := semver.StrictNewVersion(e.version())
		if err != nil {
			continue
		}
		if sv.Prerelease() == "" && (best == nil || sv.GreaterThan(best)) {
			best, bestS = sv, e.version()
		}
		if bestPre == nil || sv.GreaterThan(bestPre) {
			bestPre, bestPreS = sv, e.version()
		}
	}
	switch {
	case best != nil:
		return bestS
	case bestPre != nil:
		return bestPreS
	}
	return versions[len(versions)-1].version()
}

// tarballAsset returns a version's tarball: the asset named package.tgz,
// else the only asset ending in .tgz.
func tarballAsset(as []domain.Asset) *domain.Asset {
	var tgz *domain.Asset
	for i := range as {
		if as[i].Name == assetName {
			return &as[i]
		}
		if strings.HasSuffix(as[i].Name, ".tgz") {
			tgz = &as[i]
		}
	}
	return tgz
}

// renderFull renders the full packument. prefix is the repository
// endpoint tarball URLs start with ("{base}/npm/{domain}/{repo}/"); rev is
// the document revision npm sends back when it changes the package.
func renderFull(b jsonWriter, v visibleView, readme, prefix, rev string) {
	// from the latest version's manifest: the description of a record
	// read from an upstream document (not decoded for every version) and
	// the readme's file name
	var lm struct {
		Description    string `json:"description"`
		ReadmeFilename string `json:"readmeFilename"`
	}
	if i := latestIndex(v); i >= 0 {
		latest := v.record(i)
		json.Unmarshal(latest.Metadata, &lm)
		if latest.Summary != "" {
			lm.Description = latest.Summary
		}
	}
	b.WriteString(`{"_id":`)
	writeString(b, v.name.String())
	b.WriteString(`,"_rev":`)
	writeString(b, rev)
	b.WriteString(`,"name":`)
	writeString(b, v.name.String())
	if lm.Description != "" {
		b.WriteString(`,"description":`)
		writeString(b, lm.Description)
	}
	b.WriteString(`,"dist-tags":`)
	writeTags(b, v.tags)
	b.WriteString(`,"versions":{`)
	for i := range v.versions {
		if i > 0 {
			b.WriteByte(',')
		}
		r := v.record(i)
		writeString(b, r.Version)
		b.WriteByte(':')
		writeVersion(b, r, v.name, prefix, false)
	}
	b.WriteString(`},"time":{"created":`)
	created, modified := times(v.versions)
	writeString(b, isoTime(created))
	b.WriteString(`,"modified":`)
	writeString(b, isoTime(modified))
	for _, e := range v.versions {
		b.WriteByte(',')
		writeString(b, e.version())
		b.WriteByte(':')
		writeString(b, isoTime(e.publishedAt()))
	}
	b.WriteByte('}')
	if readme != "" {
		b.WriteString(`,"readme":`)
		writeString(b, readme)
	}
	if lm.ReadmeFilename != "" {
		b.WriteString(`,"readmeFilename":`)
		writeString(b, lm.ReadmeFilename)
	}
	b.WriteByte('}')
}

// renderAbbreviated renders the abbreviated packument installers read.
func renderAbbreviated(b jsonWriter, v visibleView, prefix string) {
	_, modified := times(v.versions)
	b.WriteString(`{"name":`)
	writeString(b, v.name.String())
	b.WriteString(`,"modified":`)
	writeString(b, isoTime(modified))
	b.WriteString(`,"dist-tags":`)
	writeTags(b, v.tags)
	b.WriteString(`,"versions":{`)
	for i := range v.versions {
		if i > 0 {
			b.WriteByte(',')
		}
		r := v.record(i)
		writeString(b, r.Version)
		b.WriteByte(':')
		writeVersion(b, r, v.name, prefix, true)
	}
	b.WriteString(`}}`)
}

// renderForm renders form fm of v into a Doc: the full packument (whose
// readme comes from readme, called only then, and whose _rev is rev), the
// abbreviated one, or the dist-tags. The bytes stream into the Doc's
// compressor, so a big packument is never held whole.
func renderForm(fm form, v visibleView, prefix, rev string, readme func(version string) (string, error)) (*rendered.Doc, error) {
	w := rendered.NewWriter()
	switch fm {
	case formAbbreviated:
		renderAbbreviated(w, v, prefix)
	case formDistTags:
		writeTags(w, v.tags)
	default:
		text, err := readme(v.latest)
		if err != nil {
			return nil, err
		}
		renderFull(w, v, text, prefix, rev)
	}
	return w.Doc()
}

// latestIndex returns the index of the latest version, -1 if none.
func latestIndex(v visibleView) int {
	for i, e := range v.versions {
		if e.version() == v.latest {
			return i
		}
	}
	return -1
}

// times returns when the first version was published and the last
// change (a publish, or a stored record's update).
func times(versions []entry) (created, modified time.Time) {
	for i, e := range versions {
		p := e.publishedAt()
		if i == 0 || p.Before(created) {
			created = p
		}
		if p.After(modified) {
			modified = p
		}
		if e.rec != nil {
			if u := time.UnixMilli(e.rec.UpdatedAt); u.After(modified) {
				modified = u
			}
		}
	}
	return created, modified
}

// isoTime formats t as npm does (JavaScript's Date.toISOString).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// writeVersion writes the manifest of one version as served: the stored
// manifest (or, abbreviated, its installer fields) with _id, name, version
// and dist set by the registry, dist.tarball pointing at this server and
// the digests taken from the stored asset (an upstream record's asset
// has none: the manifest's own are served). The stored manifest is spliced
// member by member, never decoded.
func writeVersion(b jsonWriter, r domain.VersionRecord, n Name, prefix string, abbreviated bool) {
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	var dist, bundled []byte
	haveBundle, haveHIS, installScript := false, false, false
	members(r.Metadata, func(key, val []byte) {
		k := unquotedKey(key)
		if unservedField(k) {
			return
		}
		switch k {
		case "_id", "name", "version":
			return
		case "dist":
			dist = val
			return
		case "bundleDependencies":
			haveBundle = true
		case "bundledDependencies":
			bundled = val
		case "hasInstallScript":
			haveHIS = true
		case "scripts":
			installScript = hasInstallScript(val)
		}
		if abbreviated && !abbreviatedField(k) {
			return
		}
		sep()
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	})
	if abbreviated {
		if !haveBundle && bundled != nil {
			sep()
			b.WriteString(`"bundleDependencies":`)
			b.Write(bundled)
		}
		if installScript && !haveHIS {
			sep()
			b.WriteString(`"hasInstallScript":true`)
		}
	} else {
		sep()
		b.WriteString(`"_id":`)
		writeString(b, n.String()+"@"+r.Version)
	}
	sep()
	b.WriteString(`"name":`)
	writeString(b, n.String())
	b.WriteString(`,"version":`)
	writeString(b, r.Version)
	b.WriteString(`,"dist":{`)
	a := tarballAsset(r.Assets)
	if a != nil && a.Hashes.SHA512 == "" && a.Hashes.SHA1 == "" {
		a = nil // an upstream record's: the dist's own digests are served
	}
	members(dist, func(key, val []byte) {
		switch unquotedKey(key) {
		case "integrity", "shasum", "tarball":
			if a != nil || unquotedKey(key) == "tarball" {
				return
			}
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
		b.WriteByte(',')
	})
	if a != nil {
		var sum [sha512Size]byte
		if n, err := hex.Decode(sum[:], []byte(a.Hashes.SHA512)); err == nil && n == sha512Size {
			b.WriteString(`"integrity":"sha512-`)
			var enc [88]byte
			base64.StdEncoding.Encode(enc[:], sum[:])
			b.Write(enc[:])
			b.WriteString(`",`)
		}
		if a.Hashes.SHA1 != "" {
			b.WriteString(`"shasum":`)
			writeString(b, a.Hashes.SHA1)
			b.WriteByte(',')
		}
	}
	b.WriteString(`"tarball":`)
	writeString(b, prefix+n.String()+"/-/"+n.tarballFile(r.Version))
	b.WriteString(`}}`)
}

const sha512Size = 64

// unservedField reports whether a manifest member is left out of served
// manifests: the fields the registry does not store (manifests from an
// upstream are served as upstream sent them, less these).
func unservedField(k string) bool {
	if k != "readme" && !strings.HasPrefix(k, "_") {
		return false
	}
	return slices.Contains(unstoredFields, k)
}

func abbreviatedField(k string) bool {
	for _, f := range abbreviatedFields {
		if f == k {
			return true
		}
	}
	return false
}

// hasInstallScript reports whether a scripts object runs at install time.
func hasInstallScript(scripts []byte) bool {
	found := false
	members(scripts, func(key, _ []byte) {
		switch unquotedKey(key) {
		case "preinstall", "install", "postinstall":
			found = true
		}
	})
	return found
}

// docRev returns the _rev of a package state: CouchDB's "N-hash" shape,
// N the package revision, hash over the whole stamp so a package that was
// deleted and created again never repeats a _rev.
func docRev(stamp string) string {
	n, _, _ := strings.Cut(stamp, ".")
	sum := sha256.Sum256([]byte(stamp))
	return n + "-" + hex.EncodeToString(sum[:16])
}
