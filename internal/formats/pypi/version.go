package pypi

import (
	"regexp"
	"strings"
)

// Versions follow PEP 440 as pypa/packaging implements it
// (https://packaging.python.org/en/latest/specifications/version-specifiers/,
// "Appendix B: Parsing version strings with regular expressions"): the
// same accepted spellings, the same normalised form, the same order.
// Numbers are kept as digit strings, so no version is too large to parse.
var versionRE = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?` +
	`\s*$`)

var versionGroups = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionRE.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// maxVersionLen bounds version strings (the control plane's limit).
const maxVersionLen = 255

// Version is a parsed PEP 440 version.
type Version struct {
	epoch   string   // digits without leading zeros; "0" when absent
	release []string // digits without leading zeros
	pre     string   // "a", "b", "rc" or ""
	preN    string
	post    bool
	postN   string
	dev     bool
	devN    string
	local   []string // lower case, split on separators
}

// ParseVersion parses a PEP 440 version; ok is false for anything else.
func ParseVersion(s string) (v Version, ok bool) {
	if len(s) > maxVersionLen {
		return v, false
	}
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return v, false
	}
	g := func(name string) string { return m[versionGroups[name]] }
	v.epoch = trimZeros(g("epoch"))
	for _, r := range strings.Split(g("release"), ".") {
		v.release = append(v.release, trimZeros(r))
	}
	if l := strings.ToLower(g("pre_l")); l != "" {
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		v.pre, v.preN = l, trimZeros(g("pre_n"))
	}
	if g("post") != "" {
		v.post = true
		v.postN = trimZeros(g("post_n1") + g("post_n2"))
	}
	if g("dev") != "" {
		v.dev, v.devN = true, trimZeros(g("dev_n"))
	}
	if l := g("local"); l != "" {
		v.local = strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
		for i, part := range v.local {
			if isDigits(part) {
				v.local[i] = trimZeros(part) // packaging keeps numeric parts as integers
			}
		}
	}
	return v, true
}

// trimZeros returns a digit string without leading zeros ("0" for none).
func trimZeros(d string) string {
	d = strings.TrimLeft(d, "0")
	if d == "" {
		return "0"
	}
	return d
}

// String returns the normalised form ("1.0a1.post2.dev3+local.4").
func (v Version) String() string {
	var b strings.Builder
	if v.epoch != "0" {
		b.WriteString(v.epoch)
		b.WriteByte('!')
	}
	b.WriteString(strings.Join(v.release, "."))
	if v.pre != "" {
		b.WriteString(v.pre)
		b.WriteString(v.preN)
	}
	if v.post {
		b.WriteString(".post")
		b.WriteString(v.postN)
	}
	if v.dev {
		b.WriteString(".dev")
		b.WriteString(v.devN)
	}
	if len(v.local) > 0 {
		b.WriteByte('+')
		b.WriteString(strings.Join(v.local, "."))
	}
	return b.String()
}

// NormalizeVersion returns the normalised form of a PEP 440 version.
func NormalizeVersion(s string) (string, bool) {
	v, ok := ParseVersion(s)
	if !ok {
		return "", false
	}
	return v.String(), true
}

// cmpNum compares digit strings without leading zeros.
func cmpNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Compare orders versions as PEP 440 does: -1, 0 or +1 as v sorts before,
// with or after w. Trailing zeros of the release do not count (1.0 ==
// 1.0.0); a pre-release sorts before its release, a dev release before
// its pre-release, a post-release after its release, and a local version
// after the same public version.
func (v Version) Compare(w Version) int {
	if c := cmpNum(v.epoch, w.epoch); c != 0 {
		return c
	}
	for i := 0; i < len(v.release) || i < len(w.release); i++ {
		a, b := "0", "0"
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if c := cmpNum(a, b); c != 0 {
			return c
		}
	}
	if c := cmpInt(v.preRank(), w.preRank()); c != 0 {
		return c
	}
	if v.pre != "" {
		if c := cmpNum(v.preN, w.preN); c != 0 {
			return c
		}
	}
	if c := cmpInt(b2i(v.post), b2i(w.post)); c != 0 {
		return c
	}
	if v.post {
		if c := cmpNum(v.postN, w.postN); c != 0 {
			return c
		}
	}
	if c := cmpInt(b2i(!v.dev), b2i(!w.dev)); c != 0 { // no dev segment sorts last
		return c
	}
	if v.dev {
		if c := cmpNum(v.devN, w.devN); c != 0 {
			return c
		}
	}
	return compareLocal(v.local, w.local)
}

// preRank places the pre-release segment: a dev-only release sorts before
// any pre-release, which sorts a < b < rc, and a final release after all.
func (v Version) preRank() int {
	switch {
	case v.pre == "" && !v.post && v.dev:
		return 0
	case v.pre == "a":
		return 1
	case v.pre == "b":
		return 2
	case v.pre == "rc":
		return 3
	}
	return 4
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareLocal orders local segments: none first; then part by part,
// numeric parts after alphanumeric ones, numbers numerically, strings
// lexically; a longer segment after its prefix.
func compareLocal(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		an, bn := isDigits(a[i]), isDigits(b[i])
		switch {
		case an && bn:
			if c := cmpNum(a[i], b[i]); c != 0 {
				return c
			}
		case an != bn:
			if an {
				return 1
			}
			return -1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
