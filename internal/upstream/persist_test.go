package upstream

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// TestMetadataPersisted: a restarted Client reads documents saved by the
// previous one, serving them while the upstream is down.
func TestMetadataPersisted(t *testing.T) {
	dir := t.TempDir()
	dc, err := NewDiskCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.Persist = dc
		c.MetadataTTL = time.Minute
		c.StaleAfter = 50 * time.Millisecond
	})
	body := payload(10, 50_000)
	e.origin.set(docPath, body)
	ctx := context.Background()
	first, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}

	restarted := e.newClient(e.cfg)
	d, err := restarted.Metadata(ctx, "k", "lodash", MetaOptions{})
	if err != nil || d.Stale || !bytes.Equal(d.Body, body) || d.ETag != first.ETag || !d.FetchedAt.Equal(first.FetchedAt) {
		t.Fatalf("fresh persisted copy: stale=%v etag=%q err=%v", d.Stale, d.ETag, err)
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}

	e.srv.Close()
	e.clock.advance(time.Hour)
	again := e.newClient(e.cfg)
	d, err = again.Metadata(ctx, "k", "lodash", MetaOptions{})
	if err != nil || !d.Stale || !bytes.Equal(d.Body, body) {
		t.Fatalf("expired persisted copy, upstream down: stale=%v err=%v", d.Stale, err)
	}
	if err := again.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Load(ctx, "test", "k"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("after purge the persisted copy is still there: %v", err)
	}
}

// TestDiskCacheTornFile: a file cut short reads as missing, not as a
// shorter document.
func TestDiskCacheTornFile(t *testing.T) {
	dir := t.TempDir()
	dc, err := NewDiskCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := Doc{Body: []byte("0123456789"), ETag: `"e"`, Status: 200, FetchedAt: time.Unix(1700000000, 0).UTC()}
	if err := dc.Save(ctx, "up", "key", doc); err != nil {
		t.Fatal(err)
	}
	got, err := dc.Load(ctx, "up", "key")
	if err != nil || string(got.Body) != "0123456789" || got.ETag != `"e"` || !got.FetchedAt.Equal(doc.FetchedAt) {
		t.Fatalf("load: %+v, %v", got, err)
	}
	if _, err := dc.Load(ctx, "other-upstream", "key"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another upstream's key: %v", err)
	}
	sec, hdr, err := dc.OpenSection(ctx, "up", "key")
	if err != nil {
		t.Fatal(err)
	}
	var part [4]byte
	if hdr.ETag != `"e"` || !hdr.FetchedAt.Equal(doc.FetchedAt) || hdr.Body != nil {
		t.Fatalf("section header: %+v", hdr)
	}
	if n, err := sec.ReadAt(part[:], 3); err != nil || string(part[:n]) != "3456" || sec.Size() != 10 {
		t.Fatalf("section: %q %v, size %d", part[:n], err, sec.Size())
	}
	sec.Close()
	p := dc.path("up", "key")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Load(ctx, "up", "key"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("torn file: %v, want ErrNotFound", err)
	}
	if _, _, err := dc.OpenSection(ctx, "up", "key"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("torn file, section: %v, want ErrNotFound", err)
	}
	if err := dc.Delete(ctx, "up", "key"); err != nil {
		t.Fatal(err)
	}
	if err := dc.Delete(ctx, "up", "key"); err != nil {
		t.Fatalf("deleting a missing document: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
