package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Package group patterns, as CodeArtifact defines them
// (https://docs.aws.amazon.com/codeartifact/latest/ug/package-group-definition-syntax-matching-behavior.html).
//
// A pattern is a package path /<format>/<namespace>/<name>, cut short,
// ending in a suffix:
//
//	/*                              every package                   (GroupAll)
//	/npm/*                          every package of a format       (GroupFormat)
//	/maven/com.anycompany~          namespaces with a word prefix   (GroupNamespacePrefix)
//	/npm/space/*                    one namespace ("" for none)     (GroupNamespace)
//	/npm/space/anycompany-ui~       names with a word prefix        (GroupNamePrefix)
//	/maven/org.apache/log4j-core$   one package                     (GroupExact)
//
// "~" matches a prefix ending on a word boundary: /npm/space/foo~ matches
// foo and foo-bar, not food. A word is [\p{L}\p{N}][\p{L}\p{N}\p{M}]*, so
// the prefix must end in a word character. A package belongs to the most
// specific group whose pattern matches it: the kinds rank in the order
// above, and of two matching prefixes the longer wins. The match sets of
// any two patterns are nested or disjoint, which makes the groups a tree
// rooted at /*.

// GroupKind is the shape of a package group pattern, least specific first.
type GroupKind int

// Pattern kinds, in increasing specificity.
const (
	GroupAll GroupKind = iota
	GroupFormat
	GroupNamespacePrefix
	GroupNamespace
	GroupNamePrefix
	GroupExact
)

// RootGroupPattern is the pattern of the group every domain has.
const RootGroupPattern = "/*"

// MaxGroupPatternLength is the longest pattern accepted (botocore
// PackageGroupPattern).
const MaxGroupPatternLength = 520

// GroupFormats are the formats a pattern may name: botocore's
// PackageFormat enum, so groups can be defined ahead of a format's support.
var GroupFormats = []Format{"npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo"}

// namespaceless formats have no namespace; their patterns carry an empty
// namespace segment (/pypi//requests$).
var namespaceless = map[Format]bool{"pypi": true, "nuget": true, "ruby": true, "cargo": true}

// namespaceRequired formats need a namespace whenever a name is given.
var namespaceRequired = map[Format]bool{"maven": true, "generic": true, "swift": true}

// GroupPattern is a parsed package group pattern. Namespace and Name hold
// the prefix for the prefix kinds.
type GroupPattern struct {
	Kind      GroupKind
	Format    Format
	Namespace string
	Name      string
}

// ParseGroupPattern parses and validates a package group pattern. Errors
// wrap ErrInvalid and name the packageGroup field.
func ParseGroupPattern(s string) (GroupPattern, error) {
	bad := func(why string, args ...any) (GroupPattern, error) {
		return GroupPattern{}, Invalid("packageGroup %q is not a valid package group pattern: "+why, append([]any{s}, args...)...)
	}
	if !utf8.ValidString(s) {
		return bad("not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n < 2 || n > MaxGroupPatternLength {
		return bad("it must be 2-%d characters", MaxGroupPatternLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.C) {
			return bad("it contains whitespace or a control character")
		}
	}
	if s[0] != '/' {
		return bad("it must start with '/'")
	}
	suffix, body := s[len(s)-1], s[1:len(s)-1]
	var p GroupPattern
	var parts []string
	switch suffix {
	case '*':
		if body == "" {
			return GroupPattern{Kind: GroupAll}, nil
		}
		if !strings.HasSuffix(body, "/") {
			return bad("'*' must follow a '/'")
		}
		parts = strings.Split(strings.TrimSuffix(body, "/"), "/")
		switch len(parts) {
		case 1:
			p = GroupPattern{Kind: GroupFormat, Format: Format(parts[0])}
		case 2:
			p = GroupPattern{Kind: GroupNamespace, Format: Format(parts[0]), Namespace: parts[1]}
		default:
			return bad("'*' may only follow a format or a namespace")
		}
	case '~':
		parts = strings.Split(body, "/")
		switch len(parts) {
		case 2:
			p = GroupPattern{Kind: GroupNamespacePrefix, Format: Format(parts[0]), Namespace: parts[1]}
			if p.Namespace == "" {
				return bad("'~' needs a namespace prefix")
			}
		case 3:
			p = GroupPattern{Kind: GroupNamePrefix, Format: Format(parts[0]), Namespace: parts[1], Name: parts[2]}
		default:
			return bad("'~' may only end a namespace or a name")
		}
		if last, _ := utf8.DecodeLastRuneInString(body); !isWordRune(last) {
			return bad("a '~' prefix must end in a letter or digit (use '*' after a non-word character)")
		}
	case '$':
		parts = strings.Split(body, "/")
		if len(parts) != 3 {
			return bad("'$' must end a full /format/namespace/name")
		}
		p = GroupPattern{Kind: GroupExact, Format: Format(parts[0]), Namespace: parts[1], Name: parts[2]}
	default:
		return bad("it must end in '*', '~' or '$'")
	}
	if !isGroupFormat(p.Format) {
		return bad("format %q is not one of npm, pypi, maven, nuget, generic, ruby, swift, cargo", string(p.Format))
	}
	for _, part := range parts[1:] {
		if strings.ContainsRune(part, '#') {
			return bad("a namespace or name may not contain '#'")
		}
		if utf8.RuneCountInString(part) > 255 {
			return bad("a namespace or name may be at most 255 characters")
		}
	}
	hasName := p.Kind == GroupNamePrefix || p.Kind == GroupExact
	if hasName && p.Name == "" {
		return bad("the package name is empty")
	}
	if namespaceless[p.Format] && p.Namespace != "" {
		return bad("%s packages have no namespace; leave the namespace segment empty", string(p.Format))
	}
	if namespaceless[p.Format] && p.Kind == GroupNamespacePrefix {
		return bad("%s packages have no namespace", string(p.Format))
	}
	if namespaceRequired[p.Format] && hasName && p.Namespace == "" {
		return bad("%s packages need a namespace when a name is given", string(p.Format))
	}
	return p, nil
}

func isGroupFormat(f Format) bool {
	for _, k := range GroupFormats {
		if f == k {
			return true
		}
	}
	return false
}

// isWordRune reports whether r may continue a word: [\p{L}\p{N}\p{M}].
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) }

// wordPrefix reports whether prefix matches v on a word boundary: v is
// prefix, or starts with it and continues with a non-word character.
func wordPrefix(v, prefix string) bool {
	if !strings.HasPrefix(v, prefix) {
		return false
	}
	if len(v) == len(prefix) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(v[len(prefix):])
	return !isWordRune(r)
}

// String renders the pattern in its canonical form.
func (p GroupPattern) String() string {
	switch p.Kind {
	case GroupAll:
		return "/*"
	case GroupFormat:
		return "/" + string(p.Format) + "/*"
	case GroupNamespacePrefix:
		return "/" + string(p.Format) + "/" + p.Namespace + "~"
	case GroupNamespace:
		return "/" + string(p.Format) + "/" + p.Namespace + "/*"
	case GroupNamePrefix:
		return "/" + string(p.Format) + "/" + p.Namespace + "/" + p.Name + "~"
	default:
		return "/" + string(p.Format) + "/" + p.Namespace + "/" + p.Name + "$"
	}
}

// Matches reports whether the package ref matches the pattern.
func (p GroupPattern) Matches(ref PackageRef) bool {
	return p.covers(GroupPattern{Kind: GroupExact, Format: ref.Format, Namespace: ref.Namespace, Name: ref.Name})
}

// covers reports whether every package q matches also matches p (for q
// of a kind at least as specific as p's).
func (p GroupPattern) covers(q GroupPattern) bool {
	if p.Kind == GroupAll {
		return true
	}
	if q.Kind < p.Kind || q.Format != p.Format {
		return false
	}
	switch p.Kind {
	case GroupFormat:
		return true
	case GroupNamespacePrefix:
		return wordPrefix(q.Namespace, p.Namespace)
	case GroupNamespace:
		return q.Namespace == p.Namespace
	case GroupNamePrefix:
		return q.Namespace == p.Namespace && wordPrefix(q.Name, p.Name)
	default:
		return q.Namespace == p.Namespace && q.Name == p.Name
	}
}

// MoreSpecific reports whether p ranks strictly above q: a later kind, or
// the same prefix kind with a longer prefix. Of the patterns matching one
// package, the highest ranked is its group.
func (p GroupPattern) MoreSpecific(q GroupPattern) bool {
	if p.Kind != q.Kind {
		return p.Kind > q.Kind
	}
	switch p.Kind {
	case GroupNamespacePrefix:
		return len(p.Namespace) > len(q.Namespace)
	case GroupNamePrefix:
		return len(p.Name) > len(q.Name)
	}
	return false
}

// Contains reports whether q's packages are a proper subset of p's, that
// is p is an ancestor of q in the group tree.
func (p GroupPattern) Contains(q GroupPattern) bool { return q.MoreSpecific(p) && p.covers(q) }

// GroupRestrictionType is an origin restriction type of a package group.
type GroupRestrictionType string

// Restriction types.
const (
	RestrictPublish          GroupRestrictionType = "PUBLISH"
	RestrictExternalUpstream GroupRestrictionType = "EXTERNAL_UPSTREAM"
	RestrictInternalUpstream GroupRestrictionType = "INTERNAL_UPSTREAM"
)

// GroupRestrictionTypes lists the restriction types in a fixed order.
var GroupRestrictionTypes = []GroupRestrictionType{RestrictExternalUpstream, RestrictInternalUpstream, RestrictPublish}

// GroupMode is a package group origin restriction mode.
type GroupMode string

// Modes.
const (
	ModeAllow         GroupMode = "ALLOW"
	ModeBlock         GroupMode = "BLOCK"
	ModeAllowSpecific GroupMode = "ALLOW_SPECIFIC_REPOSITORIES"
	ModeInherit       GroupMode = "INHERIT"
)

// ValidGroupRestrictionType reports whether t is a known restriction type.
func ValidGroupRestrictionType(t GroupRestrictionType) bool {
	return t == RestrictPublish || t == RestrictExternalUpstream || t == RestrictInternalUpstream
}

// ValidGroupMode reports whether m is a known mode.
func ValidGroupMode(m GroupMode) bool {
	return m == ModeAllow || m == ModeBlock || m == ModeAllowSpecific || m == ModeInherit
}

// PackageGroup is a package group of a domain. Modes holds a mode for
// every restriction type; Allowed the allowed repositories of each type.
type PackageGroup struct {
	Domain      string
	Pattern     GroupPattern
	Description string
	ContactInfo string
	CreatedAt   time.Time
	Modes       map[GroupRestrictionType]GroupMode
	Allowed     map[GroupRestrictionType][]string // sorted
}

// EffectiveRestriction is a restriction with INHERIT resolved: Mode is the
// group's own, Effective the first non-INHERIT mode up the tree, From the
// pattern of the group it came from ("" when it is the group's own).
type EffectiveRestriction struct {
	Mode      GroupMode
	Effective GroupMode
	From      string
	Allowed   []string // the allowed repositories of the group it came from
}

// Allows reports whether the restriction lets repository repo through.
func (e EffectiveRestriction) Allows(repo string) bool {
	switch e.Effective {
	case ModeBlock:
		return false
	case ModeAllowSpecific:
		for _, r := range e.Allowed {
			if r == repo {
				return true
			}
		}
		return false
	}
	return true
}

// GroupUpdate is an UpdatePackageGroupOriginConfiguration request.
type GroupUpdate struct {
	Modes  map[GroupRestrictionType]GroupMode
	Add    map[GroupRestrictionType][]string
	Remove map[GroupRestrictionType][]string
}
