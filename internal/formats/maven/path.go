package maven

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// The repository layout below /maven/{domain}/{repo}/ is Maven 2's
// (https://maven.apache.org/repository/layout.html), with groupId dots
// turned into directories:
//
//	{g1}/{g2}/{artifactId}/maven-metadata.xml                                  artifact-level metadata
//	{g1}/{g2}/{artifactId}/{base}-SNAPSHOT/maven-metadata.xml                  snapshot-level metadata
//	{g1}/{g2}/{artifactId}/{version}/{artifactId}-{version}[-{classifier}].{ext}
//	                                                                           a release file
//	{g1}/{g2}/{artifactId}/{base}-SNAPSHOT/{artifactId}-{base}-{yyyyMMdd.HHmmss}-{build}[-{classifier}].{ext}
//	                                                                           a file of a snapshot build
//	any of these + .md5 | .sha1 | .sha256 | .sha512                            its checksum (computed, never stored)
//
// In the control plane the groupId is the package namespace, the
// artifactId the package name, and a file's name its asset name. A release
// file belongs to version {version}; a snapshot build file to version
// {base}-{timestamp}-{build} (e.g. 1.0-20261121.101530-3), one version per
// build. A name like {artifactId}-{base}-SNAPSHOT.jar is a non-unique
// (Maven 2) snapshot file: it can be read (it resolves to the newest
// build) but not uploaded.
//
// The path is parsed from the raw, still percent-encoded request path:
// encoded separators, "." and ".." segments, empty segments (absolute or
// doubled slashes) and control characters are refused.

// Kind says what a path names.
type Kind uint8

// Path kinds.
const (
	KindFile             Kind = iota // a file of a version
	KindMetadata                     // artifact-level maven-metadata.xml
	KindSnapshotMetadata             // snapshot-level maven-metadata.xml
)

// MetadataFile is the name of Maven's repository metadata files.
const MetadataFile = "maven-metadata.xml"

// Checksum algorithms the server computes, by file suffix.
var checksumSuffixes = []string{"md5", "sha1", "sha256", "sha512"}

// Path is a parsed repository path.
type Path struct {
	Kind       Kind
	GroupID    string
	ArtifactID string
	// Dir is the version directory ("1.0", "1.0-SNAPSHOT"); "" for
	// artifact-level metadata.
	Dir string
	// Version is the control-plane version a file belongs to: Dir for a
	// release, base-timestamp-build for a snapshot build file, Dir for a
	// non-unique snapshot file.
	Version string
	// File is the file name without a checksum suffix.
	File string
	// Classifier and Extension are read from a file's name.
	Classifier, Extension string
	// Checksum is "md5", "sha1", "sha256" or "sha512" for a checksum path.
	Checksum string
	// Timestamp (yyyyMMdd.HHmmss) and Build are set for a snapshot build
	// file.
	Timestamp string
	Build     int
	// NonUnique marks a non-unique snapshot file ({artifactId}-1.0-SNAPSHOT.jar).
	NonUnique bool
}

// Ref returns the control-plane package the path belongs to.
func (p Path) Ref() domain.PackageRef {
	return domain.PackageRef{Format: domain.FormatMaven, Namespace: p.GroupID, Name: p.ArtifactID}
}

// Coordinates returns groupId:artifactId, as messages name packages.
func (p Path) Coordinates() string { return p.GroupID + ":" + p.ArtifactID }

// Snapshot reports whether the path is inside a -SNAPSHOT directory.
func (p Path) Snapshot() bool { return IsSnapshot(p.Dir) }

// POM reports whether the path names the version's main POM.
func (p Path) POM() bool {
	return p.Kind == KindFile && p.Checksum == "" && p.Classifier == "" && p.Extension == "pom"
}

// IsSnapshot reports whether a version is a snapshot base version
// ("1.0-SNAPSHOT").
func IsSnapshot(v string) bool { return strings.HasSuffix(v, "-SNAPSHOT") && len(v) > len("-SNAPSHOT") }

var (
	// Maven's model validator: groupId and artifactId are [A-Za-z0-9_\-.]+.
	idRE       = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	groupSegRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Classifiers and extensions as found in practice (jdk15, linux-x86_64, tar.gz, jar.asc).
	classifierRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)
	extensionRE  = regexp.MustCompile(`^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*$`)
	// A snapshot build: yyyyMMdd.HHmmss-N.
	buildRE = regexp.MustCompile(`^([0-9]{8}\.[0-9]{6})-([0-9]{1,9})`)
)

// maxSegment bounds a path segment; asset names and versions are at most
// 255 characters in the control plane.
const maxSegment = 255

func invalid(format string, args ...any) error { return domain.Invalid(format, args...) }

// Segments splits a raw (percent-encoded) path below the repository
// endpoint into decoded segments, refusing anything that could name
// something other than what it seems to: encoded "/" or "\", "." and ".."
// segments, empty segments, control characters and whitespace.
func Segments(raw string) ([]string, error) {
	if raw == "" {
		return nil, invalid("the path is empty")
	}
	if strings.HasPrefix(raw, "/") {
		return nil, invalid("the path %q is absolute", raw)
	}
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(raw, `\`) {
		return nil, invalid("the path %q contains an encoded or backslash separator", raw)
	}
	parts := strings.Split(raw, "/")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		seg, err := url.PathUnescape(p)
		if err != nil {
			return nil, invalid("the path %q is not correctly percent-encoded", raw)
		}
		switch {
		case seg == "":
			return nil, invalid("the path %q has an empty segment", raw)
		case seg == "." || seg == "..":
			return nil, invalid("the path %q has a %q segment", raw, seg)
		case len(seg) > maxSegment:
			return nil, invalid("a segment of the path is longer than %d characters", maxSegment)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || r == ' ' || r == '\t' || r == '\\' || r == '#' || r == '?' {
				return nil, invalid("the path %q contains a forbidden character %q", raw, r)
			}
		}
		out = append(out, seg)
	}
	return out, nil
}

// ParsePath parses a raw path below the repository endpoint. Errors wrap
// domain.ErrInvalid and say what is wrong.
func ParsePath(raw string) (Path, error) {
	segs, err := Segments(raw)
	if err != nil {
		return Path{}, err
	}
	var p Path
	file := segs[len(segs)-1]
	for _, sum := range checksumSuffixes {
		if base, ok := strings.CutSuffix(file, "."+sum); ok && base != "" {
			p.Checksum, file = sum, base
			break
		}
	}
	p.File = file
	dirs := segs[:len(segs)-1]
	if file == MetadataFile {
		if len(dirs) >= 3 && IsSnapshot(dirs[len(dirs)-1]) {
			p.Kind = KindSnapshotMetadata
			p.Dir, p.Version = dirs[len(dirs)-1], dirs[len(dirs)-1]
			dirs = dirs[:len(dirs)-1]
		} else {
			p.Kind = KindMetadata
		}
		if len(dirs) < 2 {
			return Path{}, invalid("%s must be inside {groupId}/{artifactId}/", MetadataFile)
		}
		return p, p.setCoordinates(dirs)
	}
	if len(dirs) < 3 {
		return Path{}, invalid("the path %q is not {groupId}/{artifactId}/{version}/{file}", raw)
	}
	p.Kind = KindFile
	p.Dir = dirs[len(dirs)-1]
	if err := p.setCoordinates(dirs[:len(dirs)-1]); err != nil {
		return Path{}, err
	}
	if err := checkVersion(p.Dir); err != nil {
		return Path{}, err
	}
	if err := p.parseFile(); err != nil {
		return Path{}, err
	}
	return p, nil
}

func (p *Path) setCoordinates(dirs []string) error {
	for _, g := range dirs[:len(dirs)-1] {
		// The groupId's dots are the directory separators, so a dot inside
		// a directory would give one groupId two paths.
		if !groupSegRE.MatchString(g) {
			return invalid("groupId directory %q must match [A-Za-z0-9_-]+ (the groupId's dots are directory separators)", g)
		}
	}
	p.GroupID = strings.Join(dirs[:len(dirs)-1], ".")
	p.ArtifactID = dirs[len(dirs)-1]
	if !idRE.MatchString(p.ArtifactID) {
		return invalid("artifactId %q must match [A-Za-z0-9_.-]+", p.ArtifactID)
	}
	if len(p.GroupID) > maxSegment {
		return invalid("groupId %q is longer than %d characters", p.GroupID, maxSegment)
	}
	return nil
}

// checkVersion applies Maven's rule for version strings (no \ / : " < > |
// ? *) and the control plane's (no # or whitespace, at most 255).
func checkVersion(v string) error {
	if strings.ContainsAny(v, `\/:"<>|?*#`) {
		return invalid("version %q contains a character Maven does not allow in versions", v)
	}
	return domain.ValidateVersion(v)
}

// parseFile reads version, classifier and extension from p.File, which
// must start with {artifactId}-{version}.
func (p *Path) parseFile() error {
	rest, ok := strings.CutPrefix(p.File, p.ArtifactID+"-")
	if !ok {
		return invalid("file %q in %s/%s does not start with %s-", p.File, p.ArtifactID, p.Dir, p.ArtifactID)
	}
	p.Version = p.Dir
	if base, ok := strings.CutSuffix(p.Dir, "-SNAPSHOT"); ok && base != "" {
		after, ok := strings.CutPrefix(rest, base+"-")
		if !ok {
			return invalid("file %q does not belong to version %s", p.File, p.Dir)
		}
		if r, ok := strings.CutPrefix(after, "SNAPSHOT"); ok && (r == "" || r[0] == '.' || r[0] == '-') {
			p.NonUnique = true
			rest = r
		} else if m := buildRE.FindStringSubmatch(after); m != nil {
			p.Timestamp = m[1]
			p.Build, _ = strconv.Atoi(m[2])
			if p.Build < 1 {
				return invalid("file %q has snapshot build number %d; build numbers start at 1", p.File, p.Build)
			}
			p.Version = base + "-" + m[1] + "-" + m[2]
			rest = after[len(m[0]):]
		} else {
			return invalid("file %q in %s is neither %s-%s nor a timestamped snapshot %s-%s-yyyyMMdd.HHmmss-N", p.File, p.Dir,
				p.ArtifactID, p.Dir, p.ArtifactID, base)
		}
	} else {
		r, ok := strings.CutPrefix(rest, p.Dir)
		if !ok {
			return invalid("file %q does not belong to version %s", p.File, p.Dir)
		}
		rest = r
	}
	switch {
	case strings.HasPrefix(rest, "."):
		p.Extension = rest[1:]
	case strings.HasPrefix(rest, "-"):
		cls, ext, ok := strings.Cut(rest[1:], ".")
		if !ok {
			return invalid("file %q has no extension", p.File)
		}
		p.Classifier, p.Extension = cls, ext
		if !classifierRE.MatchString(cls) {
			return invalid("file %q has an invalid classifier %q", p.File, cls)
		}
	default:
		return invalid("file %q does not belong to version %s", p.File, p.Dir)
	}
	if !extensionRE.MatchString(p.Extension) {
		return invalid("file %q has an invalid extension %q", p.File, p.Extension)
	}
	return domain.ValidateAssetName(p.File)
}

// FileName returns the name of the file of artifactID at version with a
// classifier and extension.
func FileName(artifactID, version, classifier, extension string) string {
	if classifier != "" {
		return artifactID + "-" + version + "-" + classifier + "." + extension
	}
	return artifactID + "-" + version + "." + extension
}

// SplitFileName reads the classifier and extension of an asset name of
// artifactID at version (the inverse of FileName); ok is false for a name
// that does not belong to that version.
func SplitFileName(name, artifactID, version string) (classifier, extension string, ok bool) {
	rest, ok := strings.CutPrefix(name, artifactID+"-"+version)
	if !ok {
		return "", "", false
	}
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
		return "", rest[1:], true
	case strings.HasPrefix(rest, "-"):
		cls, ext, ok := strings.Cut(rest[1:], ".")
		return cls, ext, ok && cls != "" && ext != ""
	}
	return "", "", false
}

// Build is a snapshot build of a base version.
type Build struct {
	Base      string // 1.0-SNAPSHOT
	Timestamp string // yyyyMMdd.HHmmss
	Number    int
}

// Version returns the build's version string (1.0-20261121.101530-3).
func (b Build) Version() string {
	return strings.TrimSuffix(b.Base, "-SNAPSHOT") + "-" + b.Timestamp + "-" + strconv.Itoa(b.Number)
}

// Newer reports whether b is a later build than c.
func (b Build) Newer(c Build) bool {
	if b.Timestamp != c.Timestamp {
		return b.Timestamp > c.Timestamp
	}
	return b.Number > c.Number
}

// ParseBuild reads a snapshot build version of base (1.0-SNAPSHOT):
// 1.0-yyyyMMdd.HHmmss-N.
func ParseBuild(base, version string) (Build, bool) {
	prefix, ok := strings.CutSuffix(base, "-SNAPSHOT")
	if !ok || prefix == "" {
		return Build{}, false
	}
	rest, ok := strings.CutPrefix(version, prefix+"-")
	if !ok {
		return Build{}, false
	}
	m := buildRE.FindStringSubmatch(rest)
	if m == nil || len(m[0]) != len(rest) {
		return Build{}, false
	}
	n, _ := strconv.Atoi(m[2])
	return Build{Base: base, Timestamp: m[1], Number: n}, true
}
