package npm

import (
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// Name is an npm package name: "name" or "@scope/name". Scope is "" for an
// unscoped package and never includes the '@'.
type Name struct {
	Scope string
	Pkg   string
}

// String returns the name as npm writes it ("@scope/name" or "name").
func (n Name) String() string {
	if n.Scope == "" {
		return n.Pkg
	}
	return "@" + n.Scope + "/" + n.Pkg
}

// Ref returns the control-plane reference: format npm, namespace the scope
// without '@' (CodeArtifact's convention).
func (n Name) Ref() domain.PackageRef {
	return domain.PackageRef{Format: domain.FormatNPM, Namespace: n.Scope, Name: n.Pkg}
}

// nameOf is the inverse of Name.Ref.
func nameOf(ref domain.PackageRef) Name { return Name{Scope: ref.Namespace, Pkg: ref.Name} }

// MaxNameLength is the longest name a new package may have.
const MaxNameLength = 214

// urlSafe reports whether c is left alone by JavaScript's
// encodeURIComponent: A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func urlSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

func allURLSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !urlSafe(s[i]) {
			return false
		}
	}
	return true
}

// ParseName parses and checks an npm package name as a string (the "name"
// of a document). forNew applies the stricter rules for names of new
// packages; existing packages are still readable under the older rules.
//
// The rules are validate-npm-package-name's
// (https://github.com/npm/validate-npm-package-name, lib/index.js):
// errors for every package: empty, a leading '.', '-' or '_', leading or
// trailing spaces, "node_modules" and "favicon.ico", characters that
// encodeURIComponent would escape (a scope "@scope/" aside); for new
// packages also: capital letters, more than 214 characters, and any of
// ~'!()* in the part after the scope. Stricter than npm, a scope may not
// start with '.' (it becomes a control-plane namespace and an ARN part).
func ParseName(s string, forNew bool) (Name, error) {
	var n Name
	switch {
	case s == "":
		return n, domain.Invalid("name length must be greater than zero")
	case s[0] == '.':
		return n, domain.Invalid("name cannot start with a period")
	case s[0] == '-':
		return n, domain.Invalid("name cannot start with a hyphen")
	case s[0] == '_':
		return n, domain.Invalid("name cannot start with an underscore")
	case strings.TrimSpace(s) != s:
		return n, domain.Invalid("name cannot contain leading or trailing spaces")
	case strings.EqualFold(s, "node_modules"), strings.EqualFold(s, "favicon.ico"):
		return n, domain.Invalid("%s is not a valid package name", strings.ToLower(s))
	}
	if s[0] == '@' {
		scope, pkg, ok := strings.Cut(s[1:], "/")
		if !ok || scope == "" || pkg == "" || !allURLSafe(scope) || !allURLSafe(pkg) {
			return n, domain.Invalid("name %q can only contain URL-friendly characters", s)
		}
		if pkg[0] == '.' || scope[0] == '.' {
			return n, domain.Invalid("name cannot start with a period")
		}
		n = Name{Scope: scope, Pkg: pkg}
	} else {
		if !allURLSafe(s) {
			return n, domain.Invalid("name %q can only contain URL-friendly characters", s)
		}
		n = Name{Pkg: s}
	}
	if forNew {
		switch {
		case len(s) > MaxNameLength:
			return n, domain.Invalid("name can no longer contain more than %d characters", MaxNameLength)
		case strings.ToLower(s) != s:
			return n, domain.Invalid("name can no longer contain capital letters")
		case strings.ContainsAny(n.Pkg, "~'!()*"):
			return n, domain.Invalid(`name can no longer contain special characters ("~'!()*")`)
		}
	}
	return n, nil
}
