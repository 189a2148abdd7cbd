package pypi

import (
	"sort"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Django": "django", "my_lib": "my-lib", "My.Lib": "my-lib", "a-_.-b": "a-b", "zope.interface": "zope-interface",
		"A": "a", "x__y": "x-y", "Foo-Bar_Baz.9": "foo-bar-baz-9",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	for _, ok := range []string{"a", "A1", "my_lib", "zope.interface", "x-y_z.1", "1"} {
		if !ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "_a", "a.", "a b", "a/b", "..", "é", "a\x00", strings.Repeat("a", 256)} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

// The expectations come from pypa/packaging's Version (as vendored by pip
// 23.2), the reference implementation of PEP 440.
func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.0": "1.0", "v1.0": "1.0", "1.0.0": "1.0.0", "01.02.003": "1.2.3", "1.0-alpha1": "1.0a1", "1.0.ALPHA.1": "1.0a1",
		"1.0a": "1.0a0", "1.0b2": "1.0b2", "1.0c1": "1.0rc1", "1.0pre3": "1.0rc3", "1.0preview4": "1.0rc4", "1.0rc1": "1.0rc1",
		"1.0-1": "1.0.post1", "1.0.post": "1.0.post0", "1.0-post2": "1.0.post2", "1.0r3": "1.0.post3", "1.0rev4": "1.0.post4",
		"1.0.dev": "1.0.dev0", "1.0-dev5": "1.0.dev5", "1.0a1.post2.dev3": "1.0a1.post2.dev3", "1!2.0": "1!2.0", "0!1.0": "1.0",
		"1.0+Ubuntu-1": "1.0+ubuntu.1", "1.0+abc.007": "1.0+abc.7", "1.0+a_b-c.D": "1.0+a.b.c.d", " 1.0 ": "1.0",
		"1.0a1-1": "1.0a1.post1", "99999999999999999999999.1": "99999999999999999999999.1", "1.0-a-1": "1.0a1",
		"1.0post-": "1.0.post0", "1.0.post.dev": "1.0.post0.dev0",
	} {
		got, ok := NormalizeVersion(in)
		if !ok || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1.0+", "1.0+_a", "a1.0", "1..0", "1.0-", "1.0.", "1.0 b1", "1.0_1", "+1", "1.0+a..b", "1.0.dev1.post1", "1.0/2"} {
		if v, ok := NormalizeVersion(bad); ok {
			t.Errorf("NormalizeVersion(%q) = %q, want invalid", bad, v)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// In ascending order, from PEP 440's examples plus epochs and local
	// versions; packaging agrees.
	order := []string{"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456",
		"1.0.15", "1.1.dev1", "2", "10", "1!0.1"}
	parse := func(s string) Version {
		v, ok := ParseVersion(s)
		if !ok {
			t.Fatalf("ParseVersion(%q) failed", s)
		}
		return v
	}
	for i := range order {
		for j := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := parse(order[i]).Compare(parse(order[j])); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	shuffled := append([]string(nil), order...)
	sort.Slice(shuffled, func(i, j int) bool { return shuffled[i] > shuffled[j] })
	sort.Slice(shuffled, func(i, j int) bool { return parse(shuffled[i]).Compare(parse(shuffled[j])) < 0 })
	if strings.Join(shuffled, " ") != strings.Join(order, " ") {
		t.Errorf("sorted: %v", shuffled)
	}
	for _, eq := range [][2]string{{"1.0", "1.0.0"}, {"1.0", "v1.0.0.0"}, {"1.0a", "1.0alpha0"}, {"0!1", "1"}, {"1.0+A.01", "1.0+a.1"}} {
		if parse(eq[0]).Compare(parse(eq[1])) != 0 {
			t.Errorf("%s != %s", eq[0], eq[1])
		}
	}
	for _, lt := range [][2]string{{"1.0+a", "1.0+1"}, {"1.0+a", "1.0+a.1"}, {"1.0+1.a", "1.0+1.0"}, {"9", "10"}} {
		if parse(lt[0]).Compare(parse(lt[1])) >= 0 {
			t.Errorf("want %s < %s", lt[0], lt[1])
		}
	}
}

func TestParseFilename(t *testing.T) {
	for in, want := range map[string]Filename{
		"my_lib-1.0-py3-none-any.whl":        {Kind: Wheel, Name: "my_lib", Version: "1.0", Python: "py3", ABI: "none", Platform: "any", Ext: ".whl"},
		"my_lib-1.0-1b-py2.py3-none-any.whl": {Kind: Wheel, Name: "my_lib", Version: "1.0", Build: "1b", Python: "py2.py3", ABI: "none", Platform: "any", Ext: ".whl"},
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": {Kind: Wheel, Name: "numpy", Version: "2.1.0",
			Python: "cp312", ABI: "cp312", Platform: "manylinux_2_17_x86_64.manylinux2014_x86_64", Ext: ".whl"},
		"pkg-1!2.0+local.1-py3-none-any.whl": {Kind: Wheel, Name: "pkg", Version: "1!2.0+local.1", Python: "py3", ABI: "none", Platform: "any", Ext: ".whl"},
		"my_lib-1.0.tar.gz":                  {Kind: Sdist, Name: "my_lib", Version: "1.0", Ext: ".tar.gz"},
		"My-Lib-2.0rc1.tar.gz":               {Kind: Sdist, Name: "My-Lib", Version: "2.0rc1", Ext: ".tar.gz"},
		"foo-2-bar-1.0.zip":                  {Kind: Sdist, Name: "foo-2-bar", Version: "1.0", Ext: ".zip"},
		"foo-1.0-1.tar.gz":                   {Kind: Sdist, Name: "foo", Version: "1.0-1", Ext: ".tar.gz"},
	} {
		got, err := ParseFilename(in)
		if err != nil || got != want {
			t.Errorf("ParseFilename(%q) = %+v, %v\nwant %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"", "x.whl", "my_lib-1.0-py3-none.whl", "my_lib-1.0-x-y-py3-none-any.whl", "my-lib-1.0-py3-none-any.whl",
		"my_lib-1.0-b1-py3-none-any.whl", "my_lib-nope-py3-none-any.whl", "my_lib-1.0-py3-none-any.egg", "my_lib-1.0.tar.bz2",
		"../my_lib-1.0.tar.gz", "a/my_lib-1.0.tar.gz", `a\my_lib-1.0.tar.gz`, "my_lib-1.0.tar.gz\x00", "my lib-1.0.tar.gz",
		"my_lib.tar.gz", "-1.0.tar.gz", "my_lib-.tar.gz", "my%2flib-1.0.tar.gz", strings.Repeat("a", 240) + "-1.0.tar.gz",
	} {
		if f, err := ParseFilename(bad); err == nil {
			t.Errorf("ParseFilename(%q) = %+v, want an error", bad, f)
		}
	}
	f, _ := ParseFilename("My.Lib-1.0.0-py3-none-any.whl")
	if !f.Matches("my-lib", "1.0.0") || f.Matches("my-lib", "1.0") || f.Matches("other", "1.0.0") {
		t.Error("Matches")
	}
}

const sampleMetadata = `Metadata-Version: 2.1
Name: My_Lib
Version: 1.2.0
Summary: A library
Home-page: https://example.com/my-lib
License: MIT License
        (long form follows)
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
Requires-Python: >=3.8
Requires-Dist: requests (>=2.0)
Requires-Dist: Idna[all]>=3; python_version < "3.12"
Requires-Dist: tomli ; extra == "toml"
Project-URL: Source Code, https://git.example.com/my-lib
Description-Content-Type: text/markdown

# My lib

Hello.
`

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata([]byte(sampleMetadata))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "My_Lib" || m.Version() != "1.2.0" || m.RequiresPython() != ">=3.8" || m.Get("license") != "MIT License\n(long form follows)" {
		t.Fatalf("fields: %+v", m.fields)
	}
	if m.Description() != "# My lib\n\nHello.\n" {
		t.Fatalf("description %q", m.Description())
	}
	vm := m.versionMeta()
	if vm.DisplayName != "My_Lib" || vm.Summary != "A library" || vm.HomePage != "https://example.com/my-lib" ||
		vm.SourceCodeRepository != "https://git.example.com/my-lib" || len(vm.Licenses) != 1 || vm.Licenses[0].Name != "MIT License" {
		t.Fatalf("version meta: %+v", vm)
	}
	deps := m.dependencies()
	want := []string{"requests >=2.0", `idna [all]>=3; python_version < "3.12"`, `tomli ; extra == "toml"`}
	if len(deps) != len(want) {
		t.Fatalf("deps %+v", deps)
	}
	for i, d := range deps {
		if got := d.Name + " " + d.VersionRequirement; got != want[i] || d.Type != "Requires-Dist" {
			t.Errorf("dep %d: %q (%s), want %q", i, got, d.Type, want[i])
		}
	}

	// License fallbacks: PEP 639 expression first, classifiers last.
	m, _ = ParseMetadata([]byte("Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: Apache-2.0 OR MIT\nLicense: ignored\n"))
	if l := m.licenses(); len(l) != 1 || l[0].Name != "Apache-2.0 OR MIT" {
		t.Errorf("license expression: %v", l)
	}
	m, _ = ParseMetadata([]byte("Metadata-Version: 1.2\nName: a\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\nProject-URL: Homepage, https://h.example\n"))
	if l := m.licenses(); len(l) != 1 || l[0].Name != "BSD License" || m.versionMeta().HomePage != "https://h.example" {
		t.Errorf("classifier license / homepage: %v %+v", l, m.versionMeta())
	}

	for name, bad := range map[string]string{
		"empty":              "",
		"no name":            "Metadata-Version: 2.1\nVersion: 1.0\n",
		"no version":         "Metadata-Version: 2.1\nName: a\n",
		"no metadata ver":    "Name: a\nVersion: 1.0\n",
		"two names":          "Metadata-Version: 2.1\nName: a\nName: b\nVersion: 1.0\n",
		"bad name":           "Metadata-Version: 2.1\nName: a b\nVersion: 1.0\n",
		"bad version":        "Metadata-Version: 2.1\nName: a\nVersion: one\n",
		"metadata 3":         "Metadata-Version: 3.0\nName: a\nVersion: 1.0\n",
		"not a field":        "Metadata-Version: 2.1\nName: a\nthis is not a field\nVersion: 1.0\n",
		"space in field":     "Metadata-Version: 2.1\nName: a\nBad Field: x\nVersion: 1.0\n",
		"leading continue":   " x\nMetadata-Version: 2.1\nName: a\nVersion: 1.0\n",
		"dynamic name":       "Metadata-Version: 2.2\nName: a\nVersion: 1.0\nDynamic: Name\n",
		"bad requires-dist":  "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: >=1.0\n",
		"unclosed extras":    "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b[x>=1\n",
		"not utf-8":          "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nSummary: \xff\n",
		"control character":  "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nSummary: a\x00b\n",
		"body before fields": "\nMetadata-Version: 2.1\nName: a\nVersion: 1.0\n",
	} {
		if _, err := ParseMetadata([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := ParseMetadata([]byte("Metadata-Version: 2.2\r\nName: a\r\nVersion: 1.0\r\nDynamic: Requires-Dist\r\n\r\nbody")); err != nil {
		t.Errorf("CRLF metadata with Dynamic: %v", err)
	}
}

// TestParseMetadataLongFields parses a file as large as accepted made of
// continuation lines (a few kilobytes once deflated in a wheel): the
// parser must be linear in the input, so this finishes at once.
func TestParseMetadataLongFields(t *testing.T) {
	head := "Metadata-Version: 2.1\nName: a\nVersion: 1\nLicense: x\n"
	n := (maxMetadataBytes - len(head)) / 3
	m, err := ParseMetadata([]byte(head + strings.Repeat(" y\n", n)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(m.Get("License"), "\n"); got != n {
		t.Fatalf("License has %d continuation lines, want %d", got, n)
	}
	if _, err := ParseMetadata([]byte(head + " a\x01b\n")); err == nil {
		t.Fatal("a control character in a continuation line was accepted")
	}
}

func BenchmarkParseMetadata(b *testing.B) {
	long := []byte("Metadata-Version: 2.1\nName: a\nVersion: 1\nLicense: x\n" + strings.Repeat(" y\n", 1<<20))
	for name, in := range map[string][]byte{"sample": []byte(sampleMetadata), "3MiB-continuations": long} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseMetadata(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	pip := "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	for accept, want := range map[string]media{
		"":                                    mediaHTML,
		"*/*":                                 mediaHTML,
		pip:                                   mediaJSON,
		"text/html":                           mediaHTML,
		"text/*":                              mediaHTML,
		"application/vnd.pypi.simple.v1+json": mediaJSON,
		"application/vnd.pypi.simple.latest+json": mediaJSON,
		"application/vnd.pypi.simple.v1+html":     mediaHTMLv1,
		"application/vnd.pypi.simple.latest+html": mediaHTMLv1,
		"application/*": mediaJSON,
		"text/html, application/vnd.pypi.simple.v1+json":             mediaJSON,
		"text/html, application/vnd.pypi.simple.v1+json;q=0.5":       mediaHTML,
		"*/*, application/vnd.pypi.simple.v1+json;q=0":               mediaHTML,
		"application/vnd.pypi.simple.v1+json;q=0.2, */*;q=0.1":       mediaJSON,
		"APPLICATION/VND.PYPI.SIMPLE.V1+JSON":                        mediaJSON,
		"application/json, text/html;q=0.9":                          mediaHTML,
		"application/vnd.pypi.simple.v1+html;q=0.4, text/html;q=0.3": mediaHTMLv1,
	} {
		if got, ok := negotiate(accept); !ok || got != want {
			t.Errorf("negotiate(%q) = %v, %v; want %v", accept, got, ok, want)
		}
	}
	for _, bad := range []string{"application/json", "application/vnd.pypi.simple.v2+json", "image/png", "text/html;q=0", "*/*;q=0", "text/plain"} {
		if got, ok := negotiate(bad); ok {
			t.Errorf("negotiate(%q) = %v, want 406", bad, got)
		}
	}
}
