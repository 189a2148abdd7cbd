package build

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"**/*", "a.txt", true},
		{"**/*", "a/b/c.txt", true},
		{"*", "a.txt", true},
		{"*", "a/b.txt", false},
		{"*.txt", "a.txt", true},
		{"*.txt", "dir/a.txt", false},
		{"**/*.txt", "dir/sub/a.txt", true},
		{"**/*.txt", "a.txt", true},
		{"**/*.txt", "a.js", false},
		{"dist/**/*", "dist/a/b.js", true},
		{"dist/**/*", "dist/b.js", true},
		{"dist/**/*", "src/b.js", false},
		{"dist/**", "dist/a/b.js", true},
		{"./target/app.jar", "target/app.jar", true},
		{"target/*.jar", "target/app.jar", true},
		{"a/**/b/*.x", "a/b/1.x", true},
		{"a/**/b/*.x", "a/q/r/b/1.x", true},
		{"a/**/b/*.x", "a/q/r/c/1.x", false},
		{"[ab].txt", "b.txt", true},
		{"?.txt", "ab.txt", false},
	} {
		if got := matchGlob(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// tree creates files (slash paths -> content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func names(files []fileEntry) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.name)
	}
	return out
}

func TestCollect(t *testing.T) {
	root := tree(t, map[string]string{
		"README.md": "r", "dist/app.js": "a", "dist/app.js.map": "m", "dist/lib/util.js": "u",
		"dist/lib/util.js.map": "m", "build/one/x.bin": "1", "build/two/y.bin": "2", "build/two/sub/x.bin": "3",
	})
	for _, tc := range []struct {
		name string
		set  SpecArtifactSet
		want []string
	}{
		{"everything", SpecArtifactSet{Files: []string{"**/*"}}, []string{"README.md", "build/one/x.bin", "build/two/sub/x.bin", "build/two/y.bin", "dist/app.js", "dist/app.js.map", "dist/lib/util.js", "dist/lib/util.js.map"}},
		{"top level", SpecArtifactSet{Files: []string{"*"}}, []string{"README.md"}},
		{"base-directory", SpecArtifactSet{Files: []string{"**/*"}, BaseDirectory: "dist", ExcludePaths: []string{"**/*.map"}}, []string{"app.js", "lib/util.js"}},
		{"discard-paths", SpecArtifactSet{Files: []string{"dist/**/*.js"}, DiscardPaths: true}, []string{"app.js", "util.js"}},
		{"directory by name", SpecArtifactSet{Files: []string{"dist/lib"}}, []string{"dist/lib/util.js", "dist/lib/util.js.map"}},
		{"glob base-directory strips the matched dirs", SpecArtifactSet{Files: []string{"**/*.bin"}, BaseDirectory: "build/*"}, []string{"sub/x.bin", "x.bin", "y.bin"}},
		{"discard-paths collision keeps the first", SpecArtifactSet{Files: []string{"build/**/x.bin"}, DiscardPaths: true}, []string{"x.bin"}},
		{"nothing", SpecArtifactSet{Files: []string{"*.none"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(root, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if n := names(got); !reflect.DeepEqual(n, tc.want) {
				t.Errorf("got %q, want %q", n, tc.want)
			}
		})
	}
	if _, err := collect(root, SpecArtifactSet{Files: []string{"*"}, BaseDirectory: "../.."}); err == nil {
		t.Error("a base-directory outside the source was accepted")
	}
}

func TestZipRoundTrip(t *testing.T) {
	root := tree(t, map[string]string{"bin/run.sh": "#!/bin/sh\necho hi\n", "data/a.txt": "a"})
	os.Chmod(filepath.Join(root, "bin/run.sh"), 0o755)
	os.Symlink("a.txt", filepath.Join(root, "data/link"))
	files, err := collect(root, SpecArtifactSet{Files: []string{"**/*"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeZip(&buf, files, true); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := extractZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "bin/run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("executable bit lost: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "data/link")); err != nil || l != "a.txt" {
		t.Errorf("link = %q, %v", l, err)
	}
	// Without enable-symlinks the link's target is stored.
	buf.Reset()
	writeZip(&buf, files, false)
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, f := range zr.File {
		if f.Name == "data/link" {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			if string(b) != "a" || f.Mode()&os.ModeSymlink != 0 {
				t.Errorf("followed link holds %q mode %v", b, f.Mode())
			}
		}
	}
}

func TestExtractZipRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/abs/evil", "a/../../evil"} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		w.Write([]byte("x"))
		zw.Close()
		dest := t.TempDir()
		if err := extractZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), filepath.Join(dest, "src")); err == nil {
			t.Errorf("entry %q was extracted", name)
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "link"}
	h.SetMode(os.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	w.Write([]byte("../../etc/passwd"))
	zw.Close()
	if err := extractZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), t.TempDir()); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("escaping link: %v", err)
	}
}

func TestCacheSaveRestore(t *testing.T) {
	src := tree(t, map[string]string{"node_modules/a/index.js": "a", "node_modules/b/index.js": "b", "other.txt": "o"})
	absDir := tree(t, map[string]string{"m2/repo/x.jar": "jar"})
	cache := filepath.Join(t.TempDir(), "cache", "proj")
	n, err := saveCache(cache, src, []string{"node_modules/**/*", filepath.Join(absDir, "m2/**/*")})
	if err != nil || n != 3 {
		t.Fatalf("saveCache = %d, %v", n, err)
	}
	os.RemoveAll(filepath.Join(absDir, "m2"))
	fresh := t.TempDir()
	if err := restoreCache(cache, fresh); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(fresh, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(fresh, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"node_modules/a/index.js", "node_modules/b/index.js"}) {
		t.Errorf("restored %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(absDir, "m2/repo/x.jar")); err != nil || string(b) != "jar" {
		t.Errorf("absolute path not restored: %q %v", b, err)
	}
}
