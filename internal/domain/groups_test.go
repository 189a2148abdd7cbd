package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseGroupPattern(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want GroupPattern
		err  bool
	}{
		{"/*", GroupPattern{Kind: GroupAll}, false},
		{"/npm/*", GroupPattern{Kind: GroupFormat, Format: "npm"}, false},
		{"/maven/com.anycompany~", GroupPattern{Kind: GroupNamespacePrefix, Format: "maven", Namespace: "com.anycompany"}, false},
		{"/npm/space/*", GroupPattern{Kind: GroupNamespace, Format: "npm", Namespace: "space"}, false},
		{"/npm//*", GroupPattern{Kind: GroupNamespace, Format: "npm"}, false},
		{"/npm/space/anycompany-ui~", GroupPattern{Kind: GroupNamePrefix, Format: "npm", Namespace: "space", Name: "anycompany-ui"}, false},
		{"/maven/org.apache.logging.log4j/log4j-core$", GroupPattern{Kind: GroupExact, Format: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core"}, false},
		{"/pypi//requests$", GroupPattern{Kind: GroupExact, Format: "pypi", Name: "requests"}, false},
		{"/npm//left~", GroupPattern{Kind: GroupNamePrefix, Format: "npm", Name: "left"}, false},
		{"/cargo/*", GroupPattern{Kind: GroupFormat, Format: "cargo"}, false},
		{"/npm/acmé~", GroupPattern{Kind: GroupNamespacePrefix, Format: "npm", Namespace: "acmé"}, false},

		{"", GroupPattern{}, true},
		{"/", GroupPattern{}, true},
		{"*", GroupPattern{}, true},
		{"npm/*", GroupPattern{}, true},
		{"/npm", GroupPattern{}, true},
		{"/npm*", GroupPattern{}, true},
		{"/npm/space*", GroupPattern{}, true},
		{"/npm/space/x/*", GroupPattern{}, true},
		{"/npm/space/x/y$", GroupPattern{}, true},
		{"/npm/space$", GroupPattern{}, true},
		{"/npm/~", GroupPattern{}, true},
		{"/npm/space/foo-~", GroupPattern{}, true},
		{"/npm/space/~", GroupPattern{}, true},
		{"/npm/space/$", GroupPattern{}, true},
		{"/npm/a b/*", GroupPattern{}, true},
		{"/npm/a#b/*", GroupPattern{}, true},
		{"/npm/a\x00b/*", GroupPattern{}, true},
		{"/rpm/*", GroupPattern{}, true},
		{"/NPM/*", GroupPattern{}, true},
		{"/pypi/ns/*", GroupPattern{}, true},
		{"/pypi/ns~", GroupPattern{}, true},
		{"/maven//guava$", GroupPattern{}, true},
		{"/generic//x~", GroupPattern{}, true},
		{"/npm/" + strings.Repeat("a", 600) + "/*", GroupPattern{}, true},
		{"/npm/\xff/*", GroupPattern{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseGroupPattern(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("accepted, parsed as %+v", got)
				}
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "packageGroup") {
					t.Errorf("error %v does not wrap ErrInvalid naming packageGroup", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parsed %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func ref(f Format, ns, name string) PackageRef {
	return PackageRef{Format: f, Namespace: ns, Name: name}
}

func TestGroupPatternMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ref     PackageRef
		want    bool
	}{
		{"/*", ref("npm", "", "react"), true},
		{"/npm/*", ref("npm", "", "react"), true},
		{"/npm/*", ref("pypi", "", "react"), false},
		{"/npm/space/*", ref("npm", "space", "aui.components"), true},
		{"/npm/space/*", ref("npm", "spaces", "x"), false},
		{"/npm/space/*", ref("npm", "", "space"), false},
		{"/npm//*", ref("npm", "", "react"), true},
		{"/npm//*", ref("npm", "space", "react"), false},
		{"/maven/com.anycompany~", ref("maven", "com.anycompany", "a"), true},
		{"/maven/com.anycompany~", ref("maven", "com.anycompany.tools", "a"), true},
		{"/maven/com.anycompany~", ref("maven", "com.anycompany-x", "a"), true},
		{"/maven/com.anycompany~", ref("maven", "com.anycompanyx", "a"), false},
		{"/maven/com.anycompany~", ref("maven", "com.any", "a"), false},
		{"/maven/com.anycompany~", ref("generic", "com.anycompany", "a"), false},
		{"/npm/space/foo~", ref("npm", "space", "foo"), true},
		{"/npm/space/foo~", ref("npm", "space", "foo-bar"), true},
		{"/npm/space/foo~", ref("npm", "space", "foo.bar"), true},
		{"/npm/space/foo~", ref("npm", "space", "food"), false},
		{"/npm/space/foo~", ref("npm", "space", "foo1"), false},
		{"/npm/space/foo~", ref("npm", "space", "fo"), false},
		{"/npm/space/foo~", ref("npm", "other", "foo"), false},
		{"/npm/space/foo~", ref("npm", "space", "foo\u0301"), false}, // a combining mark continues the word
		{"/maven/org.apache.logging.log4j/log4j-core$", ref("maven", "org.apache.logging.log4j", "log4j-core"), true},
		{"/maven/org.apache.logging.log4j/log4j-core$", ref("maven", "org.apache.logging.log4j", "log4j-core-x"), false},
		{"/maven/org.apache.logging.log4j/log4j-core$", ref("maven", "org.apache.logging.log4j", "Log4j-core"), false},
		{"/pypi//requests$", ref("pypi", "", "requests"), true},
	} {
		p, err := ParseGroupPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Matches(tc.ref); got != tc.want {
			t.Errorf("%s matches %+v = %v, want %v", tc.pattern, tc.ref, got, tc.want)
		}
	}
}

func group(tb testing.TB, pattern string, modes map[GroupRestrictionType]GroupMode, allowed map[GroupRestrictionType][]string) PackageGroup {
	tb.Helper()
	p, err := ParseGroupPattern(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	if modes == nil {
		modes = map[GroupRestrictionType]GroupMode{}
	}
	return PackageGroup{Pattern: p, Modes: modes, Allowed: allowed}
}

// TestGroupTree follows the documentation's hierarchy example and checks
// parents, association by the most specific pattern, and INHERIT.
func TestGroupTree(t *testing.T) {
	ext := RestrictExternalUpstream
	tree := NewGroupTree([]PackageGroup{
		group(t, "/npm/*", nil, nil),
		group(t, "/npm/space/*", map[GroupRestrictionType]GroupMode{ext: ModeBlock}, nil),
		group(t, "/npm/space/foo~", nil, nil),
		group(t, "/npm/space/foo-bar~", map[GroupRestrictionType]GroupMode{ext: ModeAllowSpecific}, map[GroupRestrictionType][]string{ext: {"proxy"}}),
		group(t, "/npm/space/foo-bar-baz$", map[GroupRestrictionType]GroupMode{ext: ModeAllow}, nil),
		group(t, "/maven/com~", nil, nil),
		group(t, "/maven/com.acme~", nil, nil),
		group(t, "/maven/com.acme/*", nil, nil),
	}, DefaultRootGroup("d", time.Time{}))

	parents := map[string]string{
		"/npm/*": "/*", "/npm/space/*": "/npm/*", "/npm/space/foo~": "/npm/space/*", "/npm/space/foo-bar~": "/npm/space/foo~",
		"/npm/space/foo-bar-baz$": "/npm/space/foo-bar~", "/maven/com~": "/*", "/maven/com.acme~": "/maven/com~",
		"/maven/com.acme/*": "/maven/com.acme~",
	}
	for child, want := range parents {
		p, ok := tree.Parent(child)
		if !ok || p.Pattern.String() != want {
			t.Errorf("parent of %s = %s (%v), want %s", child, p.Pattern, ok, want)
		}
	}
	if _, ok := tree.Parent("/*"); ok {
		t.Error("the root has a parent")
	}
	if got := len(tree.Children("/npm/space/*")); got != 1 {
		t.Errorf("/npm/space/* has %d direct children, want 1", got)
	}

	for _, tc := range []struct {
		ref      PackageRef
		group    string
		mode     GroupMode
		from     string
		proxy    bool // allowed for repository "proxy"
		other    bool // allowed for repository "other"
		inherits bool
	}{
		{ref("npm", "", "react"), "/npm/*", ModeAllow, "/*", true, true, true},
		{ref("npm", "space", "x"), "/npm/space/*", ModeBlock, "", false, false, false},
		{ref("npm", "space", "food"), "/npm/space/*", ModeBlock, "", false, false, false},
		{ref("npm", "space", "foo"), "/npm/space/foo~", ModeBlock, "/npm/space/*", false, false, true},
		{ref("npm", "space", "foo-bar"), "/npm/space/foo-bar~", ModeAllowSpecific, "", true, false, false},
		{ref("npm", "space", "foo-bar-baz"), "/npm/space/foo-bar-baz$", ModeAllow, "", true, true, false},
		{ref("maven", "com.acme", "x"), "/maven/com.acme/*", ModeAllow, "/*", true, true, true},
		{ref("maven", "com.acme.tools", "x"), "/maven/com.acme~", ModeAllow, "/*", true, true, true},
		{ref("maven", "com.acmex", "x"), "/maven/com~", ModeAllow, "/*", true, true, true},
		{ref("pypi", "", "requests"), "/*", ModeAllow, "", true, true, false},
	} {
		g := tree.Associated(tc.ref)
		if g.Pattern.String() != tc.group {
			t.Errorf("%+v: group %s, want %s", tc.ref, g.Pattern, tc.group)
			continue
		}
		e := tree.Restriction(tc.ref, ext)
		if e.Effective != tc.mode || e.From != tc.from || (e.Mode == ModeInherit) != tc.inherits {
			t.Errorf("%+v: restriction %+v, want effective %s from %q (inherits %v)", tc.ref, e, tc.mode, tc.from, tc.inherits)
		}
		if e.Allows("proxy") != tc.proxy || e.Allows("other") != tc.other {
			t.Errorf("%+v: allows proxy %v other %v, want %v %v", tc.ref, e.Allows("proxy"), e.Allows("other"), tc.proxy, tc.other)
		}
	}
	// A group that would be created under /npm/space/foo~ gets it as parent.
	p, _ := ParseGroupPattern("/npm/space/foo-x$")
	if got := tree.ParentOf(p).Pattern.String(); got != "/npm/space/foo~" {
		t.Errorf("ParentOf(/npm/space/foo-x$) = %s", got)
	}
}

// FuzzPackageGroupPattern parses arbitrary patterns: no panic, errors
// wrap ErrInvalid, accepted patterns render back to themselves, and a
// pattern's match set is consistent with the tree order (anything a
// pattern contains it also matches).
func FuzzPackageGroupPattern(f *testing.F) {
	for _, s := range []string{"/*", "/npm/*", "/maven/com.anycompany~", "/npm/space/*", "/npm/space/anycompany-ui~",
		"/maven/org.apache.logging.log4j/log4j-core$", "/pypi//requests$", "/npm//*", "//*", "/npm/space/foo-~", "/npm/~",
		"/a/b/c/d$", "/npm/é~", "/npm/x\u0301~", "/\x00/*", "/npm/space/foo~"} {
		f.Add(s, "space", "foo-bar")
	}
	f.Fuzz(func(t *testing.T, s, ns, name string) {
		p, err := ParseGroupPattern(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("%q renders as %q", s, p.String())
		}
		q, err := ParseGroupPattern(p.String())
		if err != nil || q != p {
			t.Fatalf("%q does not parse back: %+v %v", s, q, err)
		}
		r := PackageRef{Format: p.Format, Namespace: ns, Name: name}
		root := GroupPattern{Kind: GroupAll}
		if !root.Matches(r) {
			t.Fatalf("/* does not match %+v", r)
		}
		if p.Kind != GroupAll && !root.Contains(p) {
			t.Fatalf("/* does not contain %q", s)
		}
		if p.Contains(p) {
			t.Fatalf("%q contains itself", s)
		}
		exact := GroupPattern{Kind: GroupExact, Format: r.Format, Namespace: ns, Name: name}
		if p.Matches(r) != (p.Kind == GroupExact && p == exact || p.Contains(exact)) {
			t.Fatalf("%q: Matches(%+v) = %v disagrees with Contains", s, r, p.Matches(r))
		}
	})
}
