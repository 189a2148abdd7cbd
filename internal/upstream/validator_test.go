package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// bigEnv is an env with a DiskCache and a 64 KiB memory-entry limit.
func bigEnv(t testing.TB, mods ...func(*Config)) (*env, *DiskCache) {
	t.Helper()
	dc, err := NewDiskCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.Persist = dc
		c.MetadataTTL = time.Minute
		c.MemoryEntryBytes = 64 << 10
		for _, mod := range mods {
			mod(c)
		}
	})
	return e, dc
}

// TestValidatorBodyNotInMemory: a document over MemoryEntryBytes, and
// with DiskBodies any document, is fetched once, served twice (the second
// time from disk through Doc.Bytes), and the memory cache holds its
// validators only; so does a restarted client, which reads only the
// header of the saved copy.
func TestValidatorBodyNotInMemory(t *testing.T) {
	for _, tc := range []struct {
		name       string
		size       int
		diskBodies bool
	}{{"big", 1 << 20, false}, {"small with DiskBodies", 1000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := bigEnv(t, func(c *Config) { c.DiskBodies = tc.diskBodies })
			body := payload(21, tc.size)
			e.origin.set(docPath, body)
			ctx := context.Background()

			first, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if b, err := first.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
				t.Fatalf("first: %d bytes, %v", len(b), err)
			}
			if used := e.c.meta.bytes(); used > 1<<10 {
				t.Fatalf("memory cache holds %d bytes for a %d byte document", used, len(body))
			}
			for _, c := range []*Client{e.c, e.newClient(e.cfg)} { // the second, a restart
				second, err := c.Validator(ctx, "k", "lodash", MetaOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if second.Body != nil {
					t.Fatalf("Validator handed out a %d byte body held in memory", len(second.Body))
				}
				if second.ETag == "" || second.ETag != first.ETag || !second.FetchedAt.Equal(first.FetchedAt) {
					t.Fatalf("validators: %q@%v, first %q@%v", second.ETag, second.FetchedAt, first.ETag, first.FetchedAt)
				}
				if b, err := second.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
					t.Fatalf("second: %d bytes, %v", len(b), err)
				}
				sec, err := second.Open(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if sec.close == nil {
					t.Fatal("Open of a document on disk did not open the file")
				}
				if b, err := io.ReadAll(sec); err != nil || !bytes.Equal(b, body) {
					t.Fatalf("Open: %d bytes, %v", len(b), err)
				}
				sec.Close()
				m, err := c.Metadata(ctx, "k", "lodash", MetaOptions{})
				if err != nil || !bytes.Equal(m.Body, body) {
					t.Fatalf("Metadata: %d bytes, %v", len(m.Body), err)
				}
				if used := c.meta.bytes(); used > 1<<10 {
					t.Fatalf("after reads the memory cache holds %d bytes", used)
				}
			}
			if got := e.faults.requests.Load(); got != 1 {
				t.Fatalf("upstream saw %d requests, want 1", got)
			}
		})
	}
}

// TestValidatorSmallDocumentInMemory: a document under the limit keeps
// its body in memory and Validator hands it out.
func TestValidatorSmallDocumentInMemory(t *testing.T) {
	e, _ := bigEnv(t)
	body := payload(22, 1000)
	e.origin.set(docPath, body)
	ctx := context.Background()
	for range 2 {
		d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
		if err != nil || !bytes.Equal(d.Body, body) {
			t.Fatalf("%d bytes, %v", len(d.Body), err)
		}
	}
	if used := e.c.meta.bytes(); used < int64(len(body)) {
		t.Fatalf("memory cache holds %d bytes, less than the %d byte body", used, len(body))
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
}

// TestValidatorBigDocumentRevalidates: past the TTL the big document is
// revalidated with its ETag; a 304 keeps the body on disk, a change
// brings the new body and validators.
func TestValidatorBigDocumentRevalidates(t *testing.T) {
	e, _ := bigEnv(t)
	body := payload(23, 512<<10)
	e.origin.set(docPath, body)
	ctx := context.Background()
	first, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}

	e.clock.advance(2 * time.Minute)
	d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil || d.Stale || d.ETag != first.ETag || !d.FetchedAt.After(first.FetchedAt) {
		t.Fatalf("after 304: etag %q fetched %v stale %v err %v", d.ETag, d.FetchedAt, d.Stale, err)
	}
	if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("after 304: %d bytes, %v", len(b), err)
	}
	if got, want := e.faults.answered(), []int{200, 304}; !slices.Equal(got, want) {
		t.Fatalf("upstream answered %v, want %v", got, want)
	}
	if got := e.origin.conditionals(docPath); !slices.Equal(got, []string{"", first.ETag}) {
		t.Fatalf("If-None-Match sent: %q", got)
	}

	changed := payload(24, 600<<10)
	e.origin.set(docPath, changed)
	e.clock.advance(2 * time.Minute)
	d, err = e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil || d.ETag == first.ETag {
		t.Fatalf("after change: etag %q, %v", d.ETag, err)
	}
	if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, changed) {
		t.Fatalf("after change: %d bytes, %v", len(b), err)
	}
	again, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil || again.Body != nil || again.ETag != d.ETag {
		t.Fatalf("cached after change: body %d etag %q err %v", len(again.Body), again.ETag, err)
	}
	if b, err := again.Bytes(ctx); err != nil || !bytes.Equal(b, changed) {
		t.Fatalf("cached after change: %d bytes, %v", len(b), err)
	}
	if got := e.faults.requests.Load(); got != 3 {
		t.Fatalf("upstream saw %d requests, want 3", got)
	}
}

// TestValidatorBigDocumentPurge: Purge drops the validators from memory
// and the body from disk; the next call asks upstream.
func TestValidatorBigDocumentPurge(t *testing.T) {
	e, dc := bigEnv(t)
	body := payload(25, 256<<10)
	e.origin.set(docPath, body)
	ctx := context.Background()
	if _, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Load(ctx, "test", "k"); err != nil {
		t.Fatalf("not on disk: %v", err)
	}
	if err := e.c.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.c.meta.get("k"); ok {
		t.Fatal("purged entry still in memory")
	}
	if _, err := dc.Load(ctx, "test", "k"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("purged document still on disk: %v", err)
	}
	d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("after purge: %d bytes, %v", len(b), err)
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2", got)
	}
}

// TestValidatorBodyLostFromDisk: a body deleted from disk behind the
// client's back is fetched again rather than served empty.
func TestValidatorBodyLostFromDisk(t *testing.T) {
	e, dc := bigEnv(t)
	body := payload(26, 256<<10)
	e.origin.set(docPath, body)
	ctx := context.Background()
	if _, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil || d.Body != nil {
		t.Fatalf("body %d, %v", len(d.Body), err)
	}
	if err := dc.Delete(ctx, "test", "k"); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("lost body: %d bytes, %v", len(b), err)
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2", got)
	}
}

// TestValidatorBigDocumentPersistedRestart: a restarted client reads a
// big persisted document once and keeps only its validators in memory.
func TestValidatorBigDocumentPersistedRestart(t *testing.T) {
	e, _ := bigEnv(t)
	body := payload(27, 256<<10)
	e.origin.set(docPath, body)
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := e.newClient(e.cfg)
	for range 2 {
		d, err := restarted.Validator(ctx, "k", "lodash", MetaOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
			t.Fatalf("%d bytes, %v", len(b), err)
		}
	}
	if used := restarted.meta.bytes(); used > 4<<10 {
		t.Fatalf("memory cache holds %d bytes", used)
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
}

// TestSharedMemoryCache: two Clients on one MemoryCache keep their
// documents apart under the same key, count against one budget, and a
// purge on one leaves the other's copy.
func TestSharedMemoryCache(t *testing.T) {
	shared := NewMemoryCache(1 << 20)
	e := newEnv(t, func(c *Config) { c.MetadataTTL = time.Minute; c.Memory = shared })
	body := payload(28, 10_000)
	e.origin.set(docPath, body)
	otherCfg := e.cfg
	otherCfg.Name = "other"
	other := e.newClient(otherCfg)
	ctx := context.Background()
	for _, c := range []*Client{e.c, other, e.c, other} {
		d, err := c.Validator(ctx, "k", "lodash", MetaOptions{})
		if err != nil || !bytes.Equal(d.Body, body) {
			t.Fatalf("%s: %d bytes, %v", c.Name(), len(d.Body), err)
		}
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2 (one per client)", got)
	}
	if used := shared.Bytes(); used < 2*int64(len(body)) {
		t.Fatalf("shared cache holds %d bytes, want both %d byte bodies", used, len(body))
	}
	if err := e.c.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Validator(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("a purge on one client made the other ask upstream: %d requests", got)
	}
	if _, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.faults.requests.Load(); got != 3 {
		t.Fatalf("purged client: upstream saw %d requests, want 3", got)
	}
}

// TestValidatorBigDocumentAfterRestart: a restarted client learns a big
// persisted document's validators from the disk cache's header and
// serves its body from disk, without asking upstream.
func TestValidatorBigDocumentAfterRestart(t *testing.T) {
	e, _ := bigEnv(t)
	body := payload(22, 1<<20)
	e.origin.set(docPath, body)
	ctx := context.Background()
	first, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	restarted := e.newClient(e.cfg)
	d, err := restarted.Validator(ctx, "k", "lodash", MetaOptions{})
	if err != nil || d.Body != nil || d.ETag != first.ETag || !d.FetchedAt.Equal(first.FetchedAt) {
		t.Fatalf("restarted: body %d bytes, etag %q (first %q), %v", len(d.Body), d.ETag, first.ETag, err)
	}
	sec, err := d.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sec)
	sec.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Open after restart: %d bytes, %v", len(got), err)
	}
	if m, err := restarted.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil || !bytes.Equal(m.Body, body) {
		t.Fatalf("Metadata after restart: %d bytes, %v", len(m.Body), err)
	}
	if n := e.faults.requests.Load(); n != 1 {
		t.Fatalf("upstream saw %d requests, want 1", n)
	}
}

// TestBigDocumentStreamedToDisk: a document over MemoryEntryBytes goes
// from the answer to the disk cache as it arrives, whether its length is
// declared or not (a gzip answer decoded on the fly): the client never
// holds it (allocations stay far below its size), and it reads back whole.
func TestBigDocumentStreamedToDisk(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			e, dc := bigEnv(t)
			body := payload(31, 8<<20)
			if gz {
				e.origin.setGzip(docPath, body)
			} else {
				e.origin.set(docPath, body)
			}
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
			runtime.ReadMemStats(&after)
			if err != nil || d.Body != nil {
				t.Fatalf("body %d, %v", len(d.Body), err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 2<<20 {
				t.Fatalf("fetching an %d byte document allocated %d bytes", len(body), n)
			}
			if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, body) {
				t.Fatalf("read back: %d bytes, %v", len(b), err)
			}
			if sec, _, err := dc.OpenSection(ctx, "test", "k"); err != nil || sec.Size() != int64(len(body)) {
				t.Fatalf("disk cache: %v", err)
			} else {
				sec.Close()
			}
		})
	}
}

// TestBigDocumentCutShortKeepsOldCopy: a revalidation whose big body
// breaks off or outgrows MaxMetadataBytes leaves the saved copy as it was
// (served stale) and no temporary file behind.
func TestBigDocumentCutShortKeepsOldCopy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fault
		size  int
	}{
		{"cut short", fault{truncate: 300 << 10}, 1 << 20},
		{"over the limit", fault{}, 5 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, dc := bigEnv(t, func(c *Config) { c.MaxMetadataBytes = 4 << 20 })
			old := payload(41, 1<<20)
			e.origin.setGzip(docPath, old)
			ctx := context.Background()
			if _, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{}); err != nil {
				t.Fatal(err)
			}
			e.origin.setGzip(docPath, payload(42, tc.size))
			e.faults.always(tc.fault)
			e.clock.advance(2 * time.Minute)
			d, err := e.c.Validator(ctx, "k", "lodash", MetaOptions{})
			if err != nil || !d.Stale || !errors.Is(d.StaleReason, ErrUpstreamUnavailable) {
				t.Fatalf("stale %v (%v), %v", d.Stale, d.StaleReason, err)
			}
			if b, err := d.Bytes(ctx); err != nil || !bytes.Equal(b, old) {
				t.Fatalf("old copy: %d bytes, %v", len(b), err)
			}
			left, _ := filepath.Glob(filepath.Join(dc.dir, "*", ".tmp-*"))
			if len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}
