package deploy

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeZip(t testing.TB, entries func(*zip.Writer)) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries(zw)
	zw.Close()
	p := filepath.Join(t.TempDir(), "b.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnpack(t *testing.T) {
	t.Parallel()
	file := func(name string, mode os.FileMode) func(*zip.Writer) {
		return func(zw *zip.Writer) {
			h := &zip.FileHeader{Name: name}
			h.SetMode(mode)
			w, _ := zw.CreateHeader(h)
			w.Write([]byte("x"))
		}
	}
	for _, tc := range []struct {
		name    string
		entries func(*zip.Writer)
		want    string // "" for success
	}{
		{"plain", file("a/b.sh", 0o755), ""},
		{"zip slip", file("../../etc/passwd", 0o644), "leaves the bundle"},
		{"nested slip", file("a/../../x", 0o644), "leaves the bundle"},
		{"backslash slip", file(`..\..\x`, 0o644), "leaves the bundle"},
		{"symlink", file("link", os.ModeSymlink|0o777), "symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := Unpack(writeZip(t, tc.entries), "zip", dst)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if info, err := os.Stat(filepath.Join(dst, "a", "b.sh")); err != nil || info.Mode().Perm() != 0o755 {
					t.Errorf("unpacked file %v %v", info, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid containing %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "x")); err == nil {
				t.Error("a file was written outside the destination")
			}
		})
	}
	t.Run("tar symlink", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
		tw.Close()
		p := filepath.Join(t.TempDir(), "b.tar")
		os.WriteFile(p, buf.Bytes(), 0o600)
		if err := Unpack(p, "tar", t.TempDir()); !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v", err)
		}
	})
	if err := Unpack(writeZip(t, file("a", 0o644)), "rar", t.TempDir()); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown bundle type: %v", err)
	}
}

// FuzzUnpack feeds arbitrary bytes as zip and tar bundles: no panic, and
// nothing lands outside the destination.
func FuzzUnpack(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("appspec.yml")
	w.Write([]byte("version: 0.0\nos: linux\n"))
	zw.Close()
	f.Add(buf.Bytes(), false)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "../x", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	f.Add(tb.Bytes(), true)
	f.Fuzz(func(t *testing.T, b []byte, isTar bool) {
		base := t.TempDir()
		src := filepath.Join(base, "bundle")
		os.WriteFile(src, b, 0o600)
		dst := filepath.Join(base, "out")
		os.Mkdir(dst, 0o700)
		typ := "zip"
		if isTar {
			typ = "tar"
		}
		Unpack(src, typ, dst)
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.Name() != "bundle" && e.Name() != "out" {
				t.Fatalf("wrote %s outside the destination", e.Name())
			}
		}
	})
}
