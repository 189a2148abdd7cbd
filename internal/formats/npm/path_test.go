package npm

import (
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name        string
		old, forNew bool // valid for existing / new packages
	}{
		{"left-pad", true, true},
		{"@acme/ui", true, true},
		{"a.b_c-d~e", true, false}, // ~ only for old packages
		{"Uppercase", true, false},
		{strings.Repeat("a", 215), true, false},
		{strings.Repeat("a", 214), true, true},
		{"it's", true, false},
		{"", false, false},
		{".hidden", false, false},
		{"_under", false, false},
		{"-dash", false, false},
		{" space", false, false},
		{"node_modules", false, false},
		{"FAVICON.ICO", false, false},
		{"a/b", false, false},
		{"@acme", false, false},
		{"@/ui", false, false},
		{"@acme/", false, false},
		{"@acme/.ui", false, false},
		{"@.acme/ui", false, false},
		{"@acme/ui/x", false, false},
		{"with space", false, false},
		{"ümlaut", false, false},
		{"a@b", false, false},
	} {
		_, err := ParseName(tc.name, false)
		if (err == nil) != tc.old {
			t.Errorf("ParseName(%q, old) = %v, want valid=%v", tc.name, err, tc.old)
		}
		if err != nil && domain.KindOf(err) != domain.ErrInvalid {
			t.Errorf("ParseName(%q): error kind %v", tc.name, domain.KindOf(err))
		}
		if _, err := ParseName(tc.name, true); (err == nil) != tc.forNew {
			t.Errorf("ParseName(%q, new) = %v, want valid=%v", tc.name, err, tc.forNew)
		}
	}
	n, _ := ParseName("@acme/ui", true)
	if ref := n.Ref(); ref.Format != domain.FormatNPM || ref.Namespace != "acme" || ref.Name != "ui" {
		t.Errorf("Ref() = %+v", ref)
	}
}

func TestParsePath(t *testing.T) {
	ui := Name{Scope: "acme", Pkg: "ui"}
	for _, tc := range []struct {
		path string
		want route
		kind error
	}{
		{"left-pad", route{ep: epPackument, name: Name{Pkg: "left-pad"}}, nil},
		{"@acme/ui", route{ep: epPackument, name: ui}, nil},
		{"@acme%2fui", route{ep: epPackument, name: ui}, nil},
		{"%40acme%2Fui", route{ep: epPackument, name: ui}, nil},
		{"%40acme/ui", route{ep: epPackument, name: ui}, nil},
		{"@acme/ui/-rev/3-abc", route{ep: epRev, name: ui, rev: "3-abc"}, nil},
		{"@acme%2fui/-rev/3-abc", route{ep: epRev, name: ui, rev: "3-abc"}, nil},
		{"@acme/ui/-/ui-1.0.0.tgz", route{ep: epTarball, name: ui, file: "ui-1.0.0.tgz"}, nil},
		{"@acme/ui/-/ui-1.0.0.tgz/-rev/4-x", route{ep: epTarballRev, name: ui, file: "ui-1.0.0.tgz", rev: "4-x"}, nil},
		{"-/package/@acme%2fui/dist-tags", route{ep: epDistTags, name: ui}, nil},
		{"-/package/@acme/ui/dist-tags/beta", route{ep: epDistTag, name: ui, tag: "beta"}, nil},
		{"-/package/left-pad/dist-tags/next%2dgen", route{ep: epDistTag, name: Name{Pkg: "left-pad"}, tag: "next-gen"}, nil},
		{"-/ping", route{ep: epPing}, nil},
		{"-/whoami", route{ep: epWhoami}, nil},
		{"-/v1/search", route{ep: epSearch}, nil},
		{"-/user/org.couchdb.user:bob", route{ep: epLogin}, nil},
		{"-/v1/login", route{ep: epLogin}, nil},
		{"", route{}, domain.ErrNotFound},
		{"-/nothing", route{}, domain.ErrNotFound},
		{"left-pad/1.0.0", route{}, domain.ErrNotFound},
		{"..", route{}, domain.ErrInvalid},
		{"a/./b", route{}, domain.ErrInvalid},
		{"%2E%2e", route{}, domain.ErrInvalid},
		{"left%2fpad", route{}, domain.ErrInvalid},
		{"@acme%2fui%2fx", route{}, domain.ErrInvalid},
		{"@acme/ui%2fx", route{}, domain.ErrInvalid},
		{"@acme%2f..", route{}, domain.ErrInvalid},
		{"@acme/ui/-/a%2fb.tgz", route{}, domain.ErrInvalid},
		{"-/package/@acme/ui/dist-tags/a%2fb", route{}, domain.ErrInvalid},
		{"left-pad/", route{}, domain.ErrInvalid},
		{"%zz", route{}, domain.ErrInvalid},
		{"@acme", route{}, domain.ErrInvalid},
	} {
		got, err := parsePath(tc.path)
		if domain.KindOf(err) != tc.kind {
			t.Errorf("parsePath(%q): error %v, want kind %v", tc.path, err, tc.kind)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parsePath(%q) = %+v, want %+v", tc.path, got, tc.want)
		}
	}
}

func TestTarballFileNames(t *testing.T) {
	n := Name{Scope: "acme", Pkg: "ui"}
	if f := n.tarballFile("1.0.0-rc.1+b"); f != "ui-1.0.0-rc.1+b.tgz" || n.versionOfFile(f) != "1.0.0-rc.1+b" {
		t.Errorf("round trip: %s %s", f, n.versionOfFile(f))
	}
	for _, f := range []string{"ui.tgz", "uix-1.0.0.tgz", "ui-1.0.0.tar.gz"} {
		if v := n.versionOfFile(f); v != "" {
			t.Errorf("versionOfFile(%q) = %q", f, v)
		}
	}
}

// FuzzParsePath checks that the path parser never panics, refuses every
// relative or slash-smuggling segment, and yields names that are valid and
// parse back to themselves from npm's escaped form.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"left-pad", "@acme/ui", "@acme%2fui", "%40acme%2Fui/-rev/1-a", "@acme/ui/-/ui-1.0.0.tgz",
		"@acme/ui/-/ui-1.0.0.tgz/-rev/2-b", "-/package/@acme%2fui/dist-tags/beta", "-/v1/search", "..", "%2e%2e/x", "a%2fb", "@a%2f%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, err := parsePath(path)
		if err != nil {
			if k := domain.KindOf(err); k != domain.ErrInvalid && k != domain.ErrNotFound {
				t.Fatalf("parsePath(%q): unkinded error %v", path, err)
			}
			return
		}
		for _, s := range []string{rt.file, rt.rev, rt.tag} {
			if strings.Contains(s, "/") || s == "." || s == ".." {
				t.Fatalf("parsePath(%q) = %+v: a part contains a slash or is relative", path, rt)
			}
		}
		if rt.name == (Name{}) {
			return
		}
		if _, err := ParseName(rt.name.String(), false); err != nil {
			t.Fatalf("parsePath(%q) accepted invalid name %q: %v", path, rt.name, err)
		}
		if strings.Contains(rt.name.Scope, "/") || strings.Contains(rt.name.Pkg, "/") {
			t.Fatalf("parsePath(%q) = %+v: a name part contains a slash", path, rt.name)
		}
		back, err := parsePath(rt.name.escaped())
		if err != nil || back.name != rt.name {
			t.Fatalf("escaped form %q of %q parses to %+v, %v", rt.name.escaped(), rt.name, back, err)
		}
	})
}
