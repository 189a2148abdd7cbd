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
