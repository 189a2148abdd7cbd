// Package blobtest is the conformance suite every blob.Store backend
// passes: the filesystem always, S3 against a real MinIO server. A backend's
// test calls Run with a constructor of empty stores; backend-specific checks
// (files left behind, layout) live next to the backend.
//
// The package imports the standard library, internal/blob and
// internal/domain; it is imported only by tests.
package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Run runs the conformance suite as parallel subtests of t. newStore must
// return a new, empty store for the subtest it is given, independent of
// every other store it returned (its own directory, bucket or prefix), and
// must be safe to call from several goroutines at once. Backends register
// their own teardown checks (nothing left in a temporary area) with
// t.Cleanup inside newStore; t.Context is already cancelled when those run.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	cases := []struct {
		name string
		test func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"PutWant", testPutWant},
		{"PutWrongWant", testPutWrongWant},
		{"PutTwice", testPutTwice},
		{"Empty", testEmpty},
		{"LargeStream", testLargeStream},
		{"Seek", testSeek},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"ConcurrentPut", testConcurrentPut},
		{"InvalidDigest", testInvalidDigest},
		{"CancelledBefore", testCancelledBefore},
		{"CancelledDuring", testCancelledDuring},
		{"ReaderError", testReaderError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newStore(t))
		})
	}
}

// emptySHA256 is the digest of zero bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedOf(seed)).Read(b)
	return b
}

func seedOf(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// onlyReader hides every method of r but Read (no Seek, no WriteTo), as a
// network body would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// wantHashes computes with crypto/* what a Put of b must report.
func wantHashes(b []byte) domain.Hashes {
	sum := func(h hash.Hash) string { h.Write(b); return hex.EncodeToString(h.Sum(nil)) }
	return domain.Hashes{MD5: sum(md5.New()), SHA1: sum(sha1.New()), SHA256: sum(sha256.New()), SHA512: sum(sha512.New())}
}

// put stores b and checks the reported size and hashes.
func put(t *testing.T, s blob.Store, b []byte, want string) blob.Put {
	t.Helper()
	p, err := s.Put(t.Context(), onlyReader{bytes.NewReader(b)}, want)
	if err != nil {
		t.Fatalf("Put(%d bytes, want %q): %v", len(b), want, err)
	}
	if p.Size != int64(len(b)) {
		t.Errorf("Put size = %d, want %d", p.Size, len(b))
	}
	if h := wantHashes(b); p.Hashes != h {
		t.Errorf("Put hashes = %+v, want %+v", p.Hashes, h)
	}
	return p
}

// readAll opens digest and checks its content and Info against b.
func readAll(t *testing.T, s blob.Store, digest string, b []byte) {
	t.Helper()
	rc, info, err := s.Open(t.Context(), digest)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	defer rc.Close()
	if info.Digest != digest || info.Size != int64(len(b)) {
		t.Errorf("Open info = %+v, want digest %s size %d", info, digest, len(b))
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", digest, err)
	}
	if !bytes.Equal(got, b) {
		t.Errorf("Open(%s) read %d bytes, not the %d put", digest, len(got), len(b))
	}
}

// absent checks that digest is not stored, by Stat, Open and Walk.
func absent(t *testing.T, s blob.Store, digest string) {
	t.Helper()
	if info, err := s.Stat(t.Context(), digest); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Stat(%s) = %+v, %v; want an error wrapping domain.ErrNotFound", digest, info, err)
	}
	rc, _, err := s.Open(t.Context(), digest)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Open(%s) error = %v; want one wrapping domain.ErrNotFound", digest, err)
	}
	if _, ok := walk(t, s)[digest]; ok {
		t.Errorf("Walk lists %s", digest)
	}
}

// walk returns every blob Walk visits, failing on a blob visited twice.
func walk(t *testing.T, s blob.Store) map[string]blob.Info {
	t.Helper()
	seen := map[string]blob.Info{}
	err := s.Walk(t.Context(), func(i blob.Info) error {
		if _, dup := seen[i.Digest]; dup {
			t.Errorf("Walk visits %s twice", i.Digest)
		}
		seen[i.Digest] = i
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return seen
}

// sizes maps each digest Walk visits to its size.
func sizes(t *testing.T, s blob.Store) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for d, i := range walk(t, s) {
		m[d] = i.Size
	}
	return m
}

// withCancel is a context.Context derived from t's that the test cancels.
func withCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}
