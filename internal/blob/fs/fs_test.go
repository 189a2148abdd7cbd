package fs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/blob/blobtest"
)

// newStore returns a store in a fresh directory that fails the test if a
// put leaves a temporary file behind.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := tempFiles(t, s); len(left) > 0 {
			t.Errorf("files left in %s: %v", s.tempRoot(), left)
		}
	})
	return s
}

func tempFiles(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.tempRoot())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	p, err := s.Put(t.Context(), strings.NewReader("hello"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Hashes.SHA256
	path := filepath.Join(s.Root(), "sha256", d[:2], d)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("blob not at %s: %v", path, err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("blob mode = %v, want 0644", fi.Mode().Perm())
	}
	rc, _, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File so net/http can sendfile", rc)
	}
}

func TestNoTempAfterFailedPut(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wrong := strings.Repeat("0", 64)
	for name, put := range map[string]func() error{
		"mismatch":  func() error { _, err := s.Put(t.Context(), strings.NewReader("data"), wrong); return err },
		"cancelled": func() error { _, err := s.Put(ctx, strings.NewReader("data"), ""); return err },
		"reader":    func() error { _, err := s.Put(t.Context(), errReader{}, ""); return err },
	} {
		if err := put(); err == nil {
			t.Errorf("%s: Put succeeded", name)
		}
		if left := tempFiles(t, s); len(left) > 0 {
			t.Errorf("%s: files left in tmp/: %v", name, left)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestPutExistingRefreshesModTime(t *testing.T) {
	s := newStore(t)
	p, err := s.Put(t.Context(), strings.NewReader("old"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Hashes.SHA256
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(s.blobPath(d), old, old); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", d} {
		if err := os.Chtimes(s.blobPath(d), old, old); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(t.Context(), strings.NewReader("old"), want); err != nil {
			t.Fatal(err)
		}
		info, err := s.Stat(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(info.ModTime) > time.Hour {
			t.Errorf("Put(want %q) of existing bytes left ModTime at %v", want, info.ModTime)
		}
	}
}

func TestCleanTemp(t *testing.T) {
	s := newStore(t)
	stale := filepath.Join(s.tempRoot(), "put-stale")
	fresh := filepath.Join(s.tempRoot(), "put-fresh")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanTemp(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file survived CleanTemp: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed by CleanTemp: %v", err)
	}
	if err := s.CleanTemp(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, s); len(left) > 0 {
		t.Errorf("CleanTemp(0) left %v", left)
	}
}

// TestWalkSkipsStrays checks that Walk lists only blobs of the layout, not
// temporary files or foreign names, even ones that look like digests.
func TestWalkSkipsStrays(t *testing.T) {
	s := newStore(t)
	p, err := s.Put(t.Context(), strings.NewReader("real"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Hashes.SHA256
	other := strings.Repeat("ab", 32)
	strays := []string{
		filepath.Join("sha256", other),                                              // digest outside a shard
		filepath.Join("sha256", "cd", other),                                        // digest in the wrong shard
		filepath.Join("sha256", d[:2], "notes.txt"),                                 // foreign name in a shard
		filepath.Join("sha256", "zz", "deeper", other),                              // not a shard directory
		filepath.Join("sha256", other[:2], other, "file"),                           // directory named like a digest
		filepath.Join("other", other[:2], other),                                    // outside sha256/
		filepath.Join("sha256", strings.ToUpper(other[:2]), strings.ToUpper(other)), // uppercase
	}
	for _, rel := range strays {
		path := filepath.Join(s.Root(), rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpBlob := filepath.Join(s.tempRoot(), other)
	if err := os.WriteFile(tmpBlob, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmpBlob)

	var got []string
	if err := s.Walk(t.Context(), func(i blob.Info) error { got = append(got, i.Digest); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != d {
		t.Errorf("Walk = %v, want only %s", got, d)
	}
}

func TestNewRejectsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
}

func TestReopen(t *testing.T) {
	root := t.TempDir()
	s1, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Repeat([]byte("z"), 10_000)
	p, err := s1.Put(t.Context(), bytes.NewReader(b), "")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s2.Stat(t.Context(), p.Hashes.SHA256); err != nil || info.Size != int64(len(b)) {
		t.Errorf("Stat after reopening = %+v, %v", info, err)
	}
}
