package pypi

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseFilename: a file name that parses is made of valid parts and
// is exactly the concatenation of them, so nothing (a path, a stray
// character) can hide in it.
func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{"my_lib-1.0-py3-none-any.whl", "my_lib-1.0-1b-py2.py3-none-any.whl", "My-Lib-2.0rc1.tar.gz",
		"foo-1.0-1.tar.gz", "foo-2-bar-1.0.zip", "pkg-1!2.0+local.1-py3-none-any.whl", "../x-1.0.tar.gz", "x.whl", "a-b-c-d-e-f-g.whl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseFilename(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "/\\\x00 ") || len(s) > maxFilenameLen {
			t.Fatalf("accepted %q", s)
		}
		if _, ok := ParseVersion(fn.Version); !ok {
			t.Fatalf("%q: version %q does not parse", s, fn.Version)
		}
		if !fn.Matches(fn.Name, fn.Version) {
			t.Fatalf("%q does not match its own parts", s)
		}
		switch fn.Kind {
		case Wheel:
			parts := []string{fn.Name, fn.Version}
			if fn.Build != "" {
				parts = append(parts, fn.Build)
			}
			if got := strings.Join(append(parts, fn.Python, fn.ABI, fn.Platform), "-") + ".whl"; got != s {
				t.Fatalf("%q rebuilds as %q", s, got)
			}
		case Sdist:
			if !ValidName(fn.Name) {
				t.Fatalf("%q: name %q", s, fn.Name)
			}
			if got := fn.Name + "-" + fn.Version + fn.Ext; got != s {
				t.Fatalf("%q rebuilds as %q", s, got)
			}
		default:
			t.Fatalf("%q: kind %d", s, fn.Kind)
		}
	})
}

// FuzzParseVersion: normalising is idempotent and keeps the order.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0", "v1.0.post1.dev2", "1!2.0a1+local-7", "1.0-1", "01.2.RC3", "1.0+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseVersion(s)
		if !ok {
			return
		}
		n := v.String()
		w, ok := ParseVersion(n)
		if !ok || w.String() != n || v.Compare(w) != 0 || w.Compare(v) != 0 {
			t.Fatalf("%q normalises to %q, which reparses as %q", s, n, w.String())
		}
	})
}

// FuzzParseMetadata: whatever parses has a valid name and version, and
// every derived value can be computed.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(sampleMetadata))
	f.Add([]byte("Metadata-Version: 2.2\r\nName: a\r\nVersion: 1\r\nDynamic: Requires-Dist\r\n\r\nbody"))
	f.Add([]byte("Metadata-Version: 1.0\nName: a\nVersion: 1\nDescription: x\n        |y\nRequires-Dist: b[c] (>1) ; d\n"))
	f.Add([]byte("Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: MIT\nProject-URL: Home, h\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err != nil {
			return
		}
		if !ValidName(m.Name()) {
			t.Fatalf("name %q", m.Name())
		}
		if _, ok := ParseVersion(m.Version()); !ok {
			t.Fatalf("version %q", m.Version())
		}
		vm := m.versionMeta()
		if vm.DisplayName != m.Name() {
			t.Fatalf("display name %q", vm.DisplayName)
		}
		for _, d := range m.dependencies() {
			if !ValidName(d.Name) || d.Name != Normalize(d.Name) {
				t.Fatalf("dependency %+v", d)
			}
		}
	})
}

// FuzzInspectWheel: reading an uploaded wheel never panics or reads
// without bound, whatever the zip holds.
func FuzzInspectWheel(f *testing.F) {
	d := dist{name: "my-lib", version: "1.0", kind: Wheel}
	f.Add(d.bytes())
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	fn, _ := ParseFilename(d.fileName())
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := inspect(bytes.NewReader(b), int64(len(b)), fn)
		if err == nil && (info.raw == nil || info.meta == nil || !fn.Matches(info.meta.Name(), info.meta.Version())) {
			t.Fatalf("accepted without matching metadata: %+v", info)
		}
	})
}

// FuzzUpstreamPage: reading an upstream project page (PEP 503 HTML or
// PEP 691 JSON) never panics, and everything it keeps is a distribution
// file of the project with a PEP 440 version, a well-formed digest and a
// URL that is relative or http(s).
func FuzzUpstreamPage(f *testing.F) {
	h := strings.Repeat("0f", 32)
	f.Add([]byte(`<a href="../../p/foo-1.0.tar.gz#sha256=`+h+`" data-yanked="" data-core-metadata="sha256=`+h+`">foo-1.0.tar.gz</a>`), false)
	f.Add([]byte(`<a href="foo-1.0-py3-none-any.whl">foo-1.0-py3-none-any.whl<a href="x">foo-2.0.tar.gz</a>`), false)
	f.Add([]byte(`{"files":[{"filename":"foo-1.0.tar.gz","url":"u","hashes":{"sha256":"`+h+`"},"yanked":"r","core-metadata":true}]}`), true)
	f.Add([]byte(`{"files":[{"filename":"foo-1.0.tar.gz","url":"javascript:x","yanked":{},"core-metadata":{"sha256":1}}]}`), true)
	f.Fuzz(func(t *testing.T, b []byte, asJSON bool) {
		ct := "text/html"
		if asJSON {
			ct = ctJSON
		}
		files, err := parseUpstreamPage(b, ct, "foo")
		if err != nil {
			return
		}
		for _, u := range files {
			fn, err := ParseFilename(u.name)
			if err != nil || Normalize(fn.Name) != "foo" {
				t.Fatalf("kept %q", u.name)
			}
			if _, ok := ParseVersion(u.version); !ok {
				t.Fatalf("version %q", u.version)
			}
			if u.sha256 != "" && !validSHA256(u.sha256) || u.metadataSHA256 != "" && !validSHA256(u.metadataSHA256) {
				t.Fatalf("digests %q %q", u.sha256, u.metadataSHA256)
			}
			if u.ref == "" || strings.Contains(u.ref, "#") {
				t.Fatalf("ref %q", u.ref)
			}
			if i := strings.Index(u.ref, ":"); i >= 0 && !strings.HasPrefix(u.ref, "http://") && !strings.HasPrefix(u.ref, "https://") && !strings.HasPrefix(u.ref, "foo/") && strings.IndexAny(u.ref[:i], "/?") < 0 {
				t.Fatalf("ref with a scheme %q", u.ref)
			}
		}
		upstreamVersions(files, "foo", "public:pypi")
	})
}
