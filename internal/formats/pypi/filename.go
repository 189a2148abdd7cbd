package pypi

import (
	"regexp"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// Kind is a kind of distribution file.
type Kind uint8

// Distribution kinds.
const (
	Sdist Kind = iota + 1 // source distribution: .tar.gz (or a legacy .zip)
	Wheel                 // built distribution: .whl
)

// Filename is a parsed distribution file name.
type Filename struct {
	Kind    Kind
	Name    string // the distribution name as the file name spells it
	Version string // the version as the file name spells it
	// Wheels only: the optional build tag and the compatibility tags.
	Build, Python, ABI, Platform string
	Ext                          string // ".whl", ".tar.gz" or ".zip"
}

// maxFilenameLen keeps "<file>.metadata" within the control plane's
// 255-character asset name limit.
const maxFilenameLen = 255 - len(metadataSuffix)

var (
	// Characters a distribution file name may contain at all: those of
	// escaped names, versions (with '!' epochs and '+' local parts) and
	// tags. No path separators, no '%', no spaces or controls.
	filenameCharsRE = regexp.MustCompile(`^[A-Za-z0-9._+!-]+$`)
	// A wheel's escaped distribution name (PEP 427: runs of characters
	// other than letters, digits and '.' become '_').
	wheelNameRE  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?$`)
	wheelBuildRE = regexp.MustCompile(`^[0-9][A-Za-z0-9_.]*$`)
	wheelTagRE   = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

// ParseFilename parses the name of a distribution file.
//
// Wheels (https://packaging.python.org/en/latest/specifications/binary-distribution-format/#file-name-convention):
// {name}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl.
//
// Source distributions (https://packaging.python.org/en/latest/specifications/source-distribution-format/#source-distribution-file-name):
// {name}-{version}.tar.gz, where legacy names may contain '-' (and legacy
// archives end in .zip); the version is the part after the leftmost '-'
// that leaves a valid name before it and a valid version after it.
//
// Anything else, including a name with a path separator, is ErrInvalid.
func ParseFilename(s string) (Filename, error) {
	bad := func(why string) (Filename, error) {
		return Filename{}, domain.Invalid("invalid distribution file name %q: %s", s, why)
	}
	if len(s) > maxFilenameLen {
		return bad("longer than 246 characters")
	}
	if !filenameCharsRE.MatchString(s) {
		return bad("only letters, digits and . _ + ! - are allowed")
	}
	switch {
	case strings.HasSuffix(s, ".whl"):
		parts := strings.Split(strings.TrimSuffix(s, ".whl"), "-")
		if len(parts) != 5 && len(parts) != 6 {
			return bad("a wheel is named {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl")
		}
		f := Filename{Kind: Wheel, Name: parts[0], Version: parts[1], Ext: ".whl"}
		tags := parts[2:]
		if len(parts) == 6 {
			f.Build, tags = parts[2], parts[3:]
			if !wheelBuildRE.MatchString(f.Build) {
				return bad("the build tag must start with a digit")
			}
		}
		f.Python, f.ABI, f.Platform = tags[0], tags[1], tags[2]
		if !wheelNameRE.MatchString(f.Name) {
			return bad("the distribution name is not escaped as PEP 427 requires")
		}
		if _, ok := ParseVersion(f.Version); !ok {
			return bad("the version is not a PEP 440 version")
		}
		for _, t := range tags {
			if !wheelTagRE.MatchString(t) {
				return bad("the compatibility tags are not valid")
			}
		}
		return f, nil
	case strings.HasSuffix(s, ".tar.gz"), strings.HasSuffix(s, ".zip"):
		ext := ".tar.gz"
		if strings.HasSuffix(s, ".zip") {
			ext = ".zip"
		}
		stem := strings.TrimSuffix(s, ext)
		for i := 0; i < len(stem); i++ {
			if stem[i] != '-' {
				continue
			}
			name, version := stem[:i], stem[i+1:]
			if !ValidName(name) {
				continue
			}
			if _, ok := ParseVersion(version); ok {
				return Filename{Kind: Sdist, Name: name, Version: version, Ext: ext}, nil
			}
		}
		return bad("a source distribution is named {name}-{version}.tar.gz")
	}
	return bad("only wheels (.whl) and source distributions (.tar.gz, .zip) are accepted")
}

// Matches reports whether the file name is for the project and version
// given (compared in normalised form).
func (f Filename) Matches(name, version string) bool {
	if Normalize(f.Name) != Normalize(name) {
		return false
	}
	a, ok1 := ParseVersion(f.Version)
	b, ok2 := ParseVersion(version)
	return ok1 && ok2 && a.String() == b.String()
}
