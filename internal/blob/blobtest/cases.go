package blobtest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// largeSize is above 16 MiB, the part size S3 clients commonly upload in,
// so a backend that splits uploads crosses a part boundary.
const largeSize = 17<<20 + 12345

func testRoundTrip(t *testing.T, s blob.Store) {
	b := randomBytes(1, 100_007)
	p := put(t, s, b, "")
	info, err := s.Stat(t.Context(), p.Hashes.SHA256)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Digest != p.Hashes.SHA256 || info.Size != int64(len(b)) || info.ModTime.IsZero() {
		t.Errorf("Stat = %+v, want digest %s, size %d and a ModTime", info, p.Hashes.SHA256, len(b))
	}
	readAll(t, s, p.Hashes.SHA256, b)
}

func testPutWant(t *testing.T, s blob.Store) {
	b := randomBytes(2, 5000)
	digest := wantHashes(b).SHA256
	put(t, s, b, digest)
	readAll(t, s, digest, b)
}

func testPutWrongWant(t *testing.T, s blob.Store) {
	b := randomBytes(3, 5000)
	other := randomBytes(4, 5000)
	got, wrong := wantHashes(b).SHA256, wantHashes(other).SHA256
	_, err := s.Put(t.Context(), onlyReader{strings.NewReader(string(b))}, wrong)
	if !errors.Is(err, blob.ErrDigestMismatch) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("Put with a wrong want: error = %v; want one wrapping blob.ErrDigestMismatch", err)
	}
	absent(t, s, got)
	absent(t, s, wrong)

	// The same when the wanted blob exists: it must stay intact.
	put(t, s, other, "")
	_, err = s.Put(t.Context(), onlyReader{strings.NewReader(string(b))}, wrong)
	if !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Put with the digest of another stored blob: error = %v; want blob.ErrDigestMismatch", err)
	}
	absent(t, s, got)
	readAll(t, s, wrong, other)
	if got, want := sizes(t, s), map[string]int64{wrong: int64(len(other))}; !maps.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
}

func testPutTwice(t *testing.T, s blob.Store) {
	b := randomBytes(5, 70_000)
	digest := wantHashes(b).SHA256
	p1 := put(t, s, b, "")
	p2 := put(t, s, b, "")
	p3 := put(t, s, b, digest)
	if p1 != p2 || p1 != p3 {
		t.Errorf("Put of identical bytes reported %+v, %+v, %+v", p1, p2, p3)
	}
	if got, want := sizes(t, s), map[string]int64{digest: int64(len(b))}; !maps.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
	readAll(t, s, digest, b)
}

func testEmpty(t *testing.T, s blob.Store) {
	p := put(t, s, nil, "")
	if p.Hashes.SHA256 != emptySHA256 {
		t.Fatalf("empty blob digest = %s, want %s", p.Hashes.SHA256, emptySHA256)
	}
	put(t, s, nil, emptySHA256)
	info, err := s.Stat(t.Context(), emptySHA256)
	if err != nil || info.Size != 0 {
		t.Errorf("Stat(empty) = %+v, %v; want size 0", info, err)
	}
	readAll(t, s, emptySHA256, nil)
	if got, want := sizes(t, s), map[string]int64{emptySHA256: 0}; !maps.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
}

// stream is n pseudo-random bytes behind a plain io.Reader, never held in
// memory whole.
func stream(seed uint64, n int64) io.Reader {
	return onlyReader{io.LimitReader(rand.NewChaCha8(seedOf(seed)), n)}
}

// hashesOf reads r to EOF and returns its size and digests.
func hashesOf(t *testing.T, r io.Reader) (int64, domain.Hashes) {
	t.Helper()
	hs := []hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New()}
	n, err := io.Copy(io.MultiWriter(hs[0], hs[1], hs[2], hs[3]), r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	sum := func(i int) string { return hex.EncodeToString(hs[i].Sum(nil)) }
	return n, domain.Hashes{MD5: sum(0), SHA1: sum(1), SHA256: sum(2), SHA512: sum(3)}
}

func testLargeStream(t *testing.T, s blob.Store) {
	_, want := hashesOf(t, stream(6, largeSize))
	p, err := s.Put(t.Context(), stream(6, largeSize), "")
	if err != nil {
		t.Fatalf("Put(%d streamed bytes): %v", largeSize, err)
	}
	if p.Size != largeSize || p.Hashes != want {
		t.Fatalf("Put = %+v, want size %d and %+v", p, largeSize, want)
	}
	if _, err := s.Put(t.Context(), stream(6, largeSize), want.SHA256); err != nil {
		t.Fatalf("Put again with want: %v", err)
	}
	rc, info, err := s.Open(t.Context(), want.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if n, got := hashesOf(t, rc); n != largeSize || got != want || info.Size != largeSize {
		t.Errorf("read back %d bytes (Info.Size %d) hashing %+v; want %d bytes hashing %+v", n, info.Size, got, largeSize, want)
	}
}

func testSeek(t *testing.T, s blob.Store) {
	b := randomBytes(7, 1<<20+3)
	p := put(t, s, b, "")
	rc, _, err := s.Open(t.Context(), p.Hashes.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	seek := func(off int64, whence int, want int64) {
		t.Helper()
		if got, err := rc.Seek(off, whence); err != nil || got != want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", off, whence, got, err, want)
		}
	}
	read := func(from, to int) {
		t.Helper()
		got := make([]byte, to-from)
		if _, err := io.ReadFull(rc, got); err != nil {
			t.Fatalf("read [%d:%d]: %v", from, to, err)
		}
		if string(got) != string(b[from:to]) {
			t.Errorf("read [%d:%d] returned other bytes", from, to)
		}
	}
	seek(300_001, io.SeekStart, 300_001)
	read(300_001, 301_001)
	seek(0, io.SeekCurrent, 301_001)
	seek(10, io.SeekCurrent, 301_011)
	read(301_011, 301_111)
	seek(-10, io.SeekEnd, int64(len(b)-10))
	read(len(b)-10, len(b))
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, io.EOF", n, err)
	}
	seek(0, io.SeekStart, 0)
	read(0, 5)
}

func testDelete(t *testing.T, s blob.Store) {
	p := put(t, s, randomBytes(8, 1000), "")
	keep := put(t, s, randomBytes(9, 1000), "")
	if err := s.Delete(t.Context(), p.Hashes.SHA256); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	absent(t, s, p.Hashes.SHA256)
	if err := s.Delete(t.Context(), p.Hashes.SHA256); err != nil {
		t.Errorf("Delete again: %v", err)
	}
	if got, want := sizes(t, s), map[string]int64{keep.Hashes.SHA256: 1000}; !maps.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
}

func testDeleteMissing(t *testing.T, s blob.Store) {
	if err := s.Delete(t.Context(), wantHashes(randomBytes(10, 10)).SHA256); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
	if err := s.Delete(t.Context(), emptySHA256); err != nil {
		t.Errorf("Delete of a missing empty blob: %v", err)
	}
}

func testWalk(t *testing.T, s blob.Store) {
	if got := walk(t, s); len(got) != 0 {
		t.Fatalf("Walk of an empty store = %v", got)
	}
	want := map[string]int64{}
	for i, n := range []int{0, 1, 1000, 70_000, 3} {
		p := put(t, s, randomBytes(uint64(20+i), n), "")
		want[p.Hashes.SHA256] = int64(n)
	}
	if got := sizes(t, s); !maps.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
	for d, i := range walk(t, s) {
		if i.Digest != d || i.ModTime.IsZero() {
			t.Errorf("Walk info %+v lacks a digest or ModTime", i)
		}
	}
}

func testWalkStops(t *testing.T, s blob.Store) {
	for i := range 3 {
		put(t, s, randomBytes(uint64(30+i), 100), "")
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(t.Context(), func(blob.Info) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk with fn failing = %v after %d calls; want the error of fn after 1 call", err, calls)
	}
}

func testConcurrentPut(t *testing.T, s blob.Store) {
	b := randomBytes(11, 300_000)
	want := wantHashes(b)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			w := ""
			if i%2 == 1 {
				w = want.SHA256
			}
			p, err := s.Put(t.Context(), onlyReader{strings.NewReader(string(b))}, w)
			if err != nil || p.Hashes != want || p.Size != int64(len(b)) {
				t.Errorf("concurrent Put %d = %+v, %v", i, p, err)
			}
		})
	}
	wg.Wait()
	if got, w := sizes(t, s), map[string]int64{want.SHA256: int64(len(b))}; !maps.Equal(got, w) {
		t.Errorf("Walk = %v, want %v", got, w)
	}
	readAll(t, s, want.SHA256, b)
}
