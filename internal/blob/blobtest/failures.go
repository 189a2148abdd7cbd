package blobtest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

func testInvalidDigest(t *testing.T, s blob.Store) {
	valid := wantHashes([]byte("x")).SHA256
	bad := map[string]string{
		"path escape":  "../etc/passwd",
		"deep escape":  "../../" + valid[6:],
		"uppercase":    strings.ToUpper(valid),
		"short":        valid[:63],
		"long":         valid + "0",
		"not hex":      valid[:63] + "g",
		"slash inside": valid[:2] + "/" + valid[3:],
		"prefixed":     "sha256:" + valid,
		"empty":        "",
	}
	for name, d := range bad {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if _, err := s.Stat(ctx, d); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("Stat(%q) error = %v; want one wrapping domain.ErrInvalid", d, err)
			}
			rc, _, err := s.Open(ctx, d)
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("Open(%q) error = %v; want one wrapping domain.ErrInvalid", d, err)
			}
			if err := s.Delete(ctx, d); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("Delete(%q) error = %v; want one wrapping domain.ErrInvalid", d, err)
			}
			if d == "" {
				return // an empty want means "no expectation"
			}
			_, err = s.Put(ctx, strings.NewReader("x"), d)
			if !errors.Is(err, domain.ErrInvalid) || errors.Is(err, blob.ErrDigestMismatch) {
				t.Errorf("Put(want %q) error = %v; want one wrapping domain.ErrInvalid, not a mismatch", d, err)
			}
		})
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after invalid puts = %v, want nothing", got)
	}
}

func testCancelledBefore(t *testing.T, s blob.Store) {
	ctx, cancel := withCancel(t)
	cancel()
	b := randomBytes(12, 100_000)
	_, err := s.Put(ctx, onlyReader{strings.NewReader(string(b))}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: error = %v; want one wrapping context.Canceled", err)
	}
	absent(t, s, wantHashes(b).SHA256)
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want nothing", got)
	}
}

// cancelReader cancels its context once after bytes have been read, then
// keeps serving data as a client that does not notice would.
type cancelReader struct {
	r      io.Reader
	after  int
	read   int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.read >= c.after {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func testCancelledDuring(t *testing.T, s blob.Store) {
	ctx, cancel := withCancel(t)
	b := randomBytes(13, 2<<20)
	r := &cancelReader{r: strings.NewReader(string(b)), after: 64 << 10, cancel: cancel}
	_, err := s.Put(ctx, r, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled while reading: error = %v; want one wrapping context.Canceled", err)
	}
	absent(t, s, wantHashes(b).SHA256)
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want nothing", got)
	}
}

// failingReader serves n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func testReaderError(t *testing.T, s blob.Store) {
	boom := errors.New("client went away")
	_, err := s.Put(t.Context(), &failingReader{n: 100_000, err: boom}, "")
	if !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader: error = %v; want one wrapping the reader's error", err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want nothing", got)
	}
}
