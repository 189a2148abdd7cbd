package npm

import (
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/artifactd/registry/internal/domain"
)

// Versions are SemVer 2.0.0 (https://semver.org/spec/v2.0.0.html) in the
// canonical form npm's client publishes (semver.clean: no leading "v" or
// "=", no spaces). Ordering is SemVer precedence; build metadata is
// ignored for ordering, and versions equal in precedence fall back to
// string order so the result is total.

// checkVersion returns the parsed version, or an ErrInvalid error if v is
// not a canonical semantic version.
func checkVersion(v string) (*semver.Version, error) {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return nil, domain.Invalid("version %q is not a valid semantic version (semver.org 2.0.0)", v)
	}
	return sv, nil
}

// looseVersion parses a version the way semver.clean does (surrounding
// spaces, a leading "v" or "=") and returns its canonical form, or "".
func looseVersion(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimLeft(v, "=v")
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return ""
	}
	return sv.String()
}

// sortVersions sorts versions by SemVer precedence, lowest first; strings
// that do not parse sort before every version, by string.
func sortVersions(vs []string) {
	parsed := make(map[string]*semver.Version, len(vs))
	for _, v := range vs {
		if sv, err := semver.StrictNewVersion(v); err == nil {
			parsed[v] = sv
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return compareVersions(parsed[vs[i]], parsed[vs[j]], vs[i], vs[j]) < 0 })
}

func compareVersions(a, b *semver.Version, as, bs string) int {
	switch {
	case a == nil && b == nil:
		return strings.Compare(as, bs)
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if c := a.Compare(b); c != 0 {
		return c
	}
	return strings.Compare(as, bs)
}

// isRange reports whether s parses as a semver range; npm refuses such
// strings as dist-tag names because "npm install pkg@<tag>" would read
// them as ranges.
func isRange(s string) bool {
	_, err := semver.NewConstraint(s)
	return err == nil
}
