package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

const docPath = "/registry/lodash"

// TestMetadataTTLThenRevalidation: within the TTL a copy is served without
// upstream traffic; after it, one conditional GET per TTL: a 304 keeps the
// bytes, a 200 replaces them.
func TestMetadataTTLThenRevalidation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetadataTTL = time.Minute })
	v1 := []byte(`{"name":"lodash","versions":{"1.0.0":{}}}`)
	e.origin.set(docPath, v1)
	ctx := context.Background()

	get := func() Doc {
		t.Helper()
		d, err := e.c.Metadata(ctx, "packument/lodash", "lodash", MetaOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Stale {
			t.Fatalf("stale copy: %v", d.StaleReason)
		}
		return d
	}
	first := get()
	if !bytes.Equal(first.Body, v1) || first.ETag == "" || first.Status != 200 {
		t.Fatalf("first fetch: %+v", first)
	}
	for range 10 {
		get()
	}
	e.clock.advance(59 * time.Second)
	get()
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("within the TTL upstream saw %d requests, want 1", got)
	}

	e.clock.advance(2 * time.Second)
	again := get()
	if !bytes.Equal(again.Body, v1) || !again.FetchedAt.After(first.FetchedAt) {
		t.Fatalf("after a 304: body %q fetched at %v (first %v)", again.Body, again.FetchedAt, first.FetchedAt)
	}
	get()
	if got, want := e.faults.answered(), []int{200, 304}; !slices.Equal(got, want) {
		t.Fatalf("upstream answered %v, want %v", got, want)
	}
	if got := e.origin.conditionals(docPath); !slices.Equal(got, []string{"", first.ETag}) {
		t.Fatalf("If-None-Match sent: %q, want none then %q", got, first.ETag)
	}
	if e.metrics.revalidated(304) != 1 {
		t.Fatalf("304 revalidations counted: %d", e.metrics.revalidated(304))
	}

	v2 := []byte(`{"name":"lodash","versions":{"1.0.0":{},"2.0.0":{}}}`)
	e.origin.set(docPath, v2)
	e.clock.advance(2 * time.Minute)
	if d := get(); !bytes.Equal(d.Body, v2) {
		t.Fatalf("after a 200: %q", d.Body)
	}
	if got, want := e.faults.answered(), []int{200, 304, 200}; !slices.Equal(got, want) {
		t.Fatalf("upstream answered %v, want %v", got, want)
	}
	if e.metrics.revalidated(200) != 1 {
		t.Fatalf("200 revalidations counted: %d", e.metrics.revalidated(200))
	}
	if hits := e.metrics.lookup(KindMetadata, Hit); hits != 12 {
		t.Fatalf("hits counted: %d, want 12", hits)
	}
}

// TestMetadataServesStale: with an expired copy, an upstream that fails or
// hangs past StaleAfter gives the old copy marked stale, not an error.
func TestMetadataServesStale(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  fault
		reason error
	}{
		{"503", fault{status: 503}, ErrUpstreamUnavailable},
		{"reset", fault{reset: true}, ErrUpstreamUnavailable},
		{"truncated", fault{truncate: 10}, ErrUpstreamUnavailable},
		{"hangs past the deadline", fault{hold: make(chan struct{})}, ErrUpstreamTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.MetadataTTL = time.Minute
				c.StaleAfter = 100 * time.Millisecond
			})
			body := []byte(`<html><body><a href="x-1.0.tar.gz">x-1.0.tar.gz</a></body></html>`)
			e.origin.set(docPath, body)
			ctx := context.Background()
			if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
				t.Fatal(err)
			}
			e.origin.set(docPath, []byte("changed, so the revalidation is a 200 with a body"))
			e.clock.advance(2 * time.Minute)
			e.faults.always(tc.fault)

			d, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
			if err != nil {
				t.Fatalf("err %v, want the stale copy", err)
			}
			if !d.Stale || !bytes.Equal(d.Body, body) || !errors.Is(d.StaleReason, tc.reason) {
				t.Fatalf("stale %v, reason %v (want %v), body %q", d.Stale, d.StaleReason, tc.reason, d.Body)
			}
			if n := e.metrics.lookup(KindMetadata, Stale); n != 1 {
				t.Fatalf("stale serves counted: %d", n)
			}
		})
	}
}

// TestMetadataSlowRevalidationCompletes: a revalidation slower than
// StaleAfter still lands in the cache for the next caller.
func TestMetadataSlowRevalidationCompletes(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MetadataTTL = time.Minute
		c.StaleAfter = 20 * time.Millisecond
	})
	e.origin.set(docPath, []byte("v1"))
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	e.origin.set(docPath, []byte("v2"))
	e.clock.advance(2 * time.Minute)
	hold := make(chan struct{})
	e.faults.push(fault{hold: hold})
	d, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
	if err != nil || !d.Stale || string(d.Body) != "v1" {
		t.Fatalf("got %q stale=%v err=%v, want v1 stale", d.Body, d.Stale, err)
	}
	close(hold)
	waitFor(t, 5*time.Second, func() error {
		d, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
		if err != nil || d.Stale || string(d.Body) != "v2" {
			return fmt.Errorf("got %q stale=%v err=%v, want v2", d.Body, d.Stale, err)
		}
		return nil
	})
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2", got)
	}
}

// TestMetadataRevalidatedOnce: callers that find a copy stale while its
// revalidation is ending (looked before it stored, asked after it left)
// take its answer; upstream sees one revalidation however many ask.
func TestMetadataRevalidatedOnce(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MetadataTTL = time.Minute
		c.StaleAfter = time.Millisecond
	})
	e.origin.set(docPath, []byte("v1"))
	ctx := context.Background()
	for round := 1; round <= 20; round++ {
		if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(2 * time.Minute) // stale again
		before := e.faults.requests.Load()
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if got := e.faults.requests.Load() - before; got != 1 {
			t.Fatalf("round %d: upstream saw %d revalidations, want 1", round, got)
		}
	}
}

// TestMetadataNegativeCache: a definitive 404 is remembered for
// NegativeTTL; a 500 or a timeout never is.
func TestMetadataNegativeCache(t *testing.T) {
	ctx := context.Background()
	t.Run("404 is remembered", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.NegativeTTL = time.Minute })
		for range 3 {
			if _, err := e.c.Metadata(ctx, "k", "nope", MetaOptions{}); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("err %v, want ErrNotFound", err)
			}
		}
		if got := e.faults.requests.Load(); got != 1 {
			t.Fatalf("upstream saw %d requests, want 1", got)
		}
		if n := e.metrics.lookup(KindMetadata, NegativeHit); n != 2 {
			t.Fatalf("negative hits: %d, want 2", n)
		}
		// Published meanwhile: seen once the negative entry expires.
		e.origin.set("/registry/nope", []byte("now here"))
		e.clock.advance(61 * time.Second)
		d, err := e.c.Metadata(ctx, "k", "nope", MetaOptions{})
		if err != nil || string(d.Body) != "now here" {
			t.Fatalf("after the negative TTL: %q, %v", d.Body, err)
		}
	})
	t.Run("410 is remembered", func(t *testing.T) {
		e := newEnv(t, nil)
		e.faults.always(fault{status: 410})
		for range 2 {
			if _, err := e.c.Metadata(ctx, "k", "gone", MetaOptions{}); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("err %v, want ErrNotFound", err)
			}
		}
		if got := e.faults.requests.Load(); got != 1 {
			t.Fatalf("upstream saw %d requests, want 1", got)
		}
	})
	for _, tc := range []struct {
		name  string
		fault fault
		want  error
	}{
		{"500 is not remembered", fault{status: 500}, ErrUpstreamUnavailable},
		{"timeout is not remembered", fault{hold: make(chan struct{})}, ErrUpstreamTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.MaxRetries = -1
				c.ResponseHeaderTimeout = 100 * time.Millisecond
			})
			e.faults.always(tc.fault)
			for i := range 3 {
				_, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
				if !errors.Is(err, tc.want) || errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("call %d: err %v, want %v", i, err, tc.want)
				}
			}
			if got := e.faults.requests.Load(); got != 3 {
				t.Fatalf("upstream saw %d requests, want 3", got)
			}
		})
	}
}

// TestMetadataPreferCached: with PreferCached a copy of any age is served
// while the upstream is down, with no request and no stale mark.
func TestMetadataPreferCached(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetadataTTL = time.Minute })
	e.origin.set(docPath, []byte("doc"))
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{PreferCached: true}); err != nil {
		t.Fatal(err)
	}
	e.srv.Close() // upstream down: connections refused
	e.clock.advance(240 * time.Hour)
	d, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{PreferCached: true})
	if err != nil || d.Stale || string(d.Body) != "doc" {
		t.Fatalf("got %q stale=%v err=%v", d.Body, d.Stale, err)
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
	// Without it, the same call tries upstream and falls back to stale.
	d, err = e.c.Metadata(ctx, "k", "lodash", MetaOptions{})
	if err != nil || !d.Stale || !errors.Is(d.StaleReason, ErrUpstreamUnavailable) {
		t.Fatalf("got stale=%v reason=%v err=%v", d.Stale, d.StaleReason, err)
	}
	// A document never fetched is an error, PreferCached or not.
	if _, err := e.c.Metadata(ctx, "other", "other", MetaOptions{PreferCached: true}); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("uncached with upstream down: %v", err)
	}
}

// TestMetadataPurge: Purge forces the next call upstream, for documents
// and for negative entries.
func TestMetadataPurge(t *testing.T) {
	e := newEnv(t, nil)
	e.origin.set(docPath, []byte("v1"))
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	e.origin.set(docPath, []byte("v2"))
	if d, _ := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); string(d.Body) != "v1" {
		t.Fatalf("before purge: %q", d.Body)
	}
	if err := e.c.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.c.Metadata(ctx, "k", "lodash", MetaOptions{}); string(d.Body) != "v2" {
		t.Fatalf("after purge: %q", d.Body)
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2", got)
	}

	if _, err := e.c.Metadata(ctx, "n", "new", MetaOptions{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatal(err)
	}
	e.origin.set("/registry/new", []byte("published"))
	if err := e.c.Purge(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	if d, err := e.c.Metadata(ctx, "n", "new", MetaOptions{}); err != nil || string(d.Body) != "published" {
		t.Fatalf("after purging a negative entry: %q %v", d.Body, err)
	}
}

// TestMetadataCoalesced: concurrent callers of a cold key share one
// request, which outlives the caller that started it.
func TestMetadataCoalesced(t *testing.T) {
	e := newEnv(t, nil)
	body := payload(9, 200_000)
	e.origin.set(docPath, body)
	hold := make(chan struct{})
	e.faults.push(fault{hold: hold})

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := e.c.Metadata(firstCtx, "k", "lodash", MetaOptions{})
		firstErr <- err
	}()
	waitFor(t, 5*time.Second, requestsAre(e.faults, 1))

	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := e.c.Metadata(context.Background(), "k", "lodash", MetaOptions{})
			if err == nil && !bytes.Equal(d.Body, body) {
				err = fmt.Errorf("%d bytes differ", len(d.Body))
			}
			errs[i] = err
		}()
	}
	waitFor(t, 5*time.Second, func() error {
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		if fl := e.c.flights["k"]; fl != nil && fl.waiters.Load() == n+1 {
			return nil
		}
		return errors.New("callers have not joined yet")
	})
	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v", err)
	}
	close(hold)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
}

// TestReadBodyExactSize: a body whose length is declared is read into one
// buffer of about that size (ReadFrom doubled an exactly sized one).
func TestReadBodyExactSize(t *testing.T) {
	body := payload(7, 1<<20)
	got, err := readBody(bytes.NewReader(body), int64(len(body)), 1<<30)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	if cap(got) > len(body)+64<<10 {
		t.Fatalf("a %d byte body took a %d byte buffer", len(body), cap(got))
	}
}

// TestReadMetadataBodyUnknownLength: a long body of unknown length (a
// gzip answer decoded on the fly) comes back whole in a buffer of its
// size, through a spool file that does not outlive the read; a short one
// stays in memory; the limit holds.
func TestReadMetadataBodyUnknownLength(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxMetadataBytes = 8 << 20 })
	for _, size := range []int{10, spoolAbove - 1, spoolAbove, 3<<20 + 17} {
		body := payload(uint64(size), size)
		got, err := e.c.readMetadataBody(struct{ io.Reader }{bytes.NewReader(body)}, -1)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: got %d, %v", size, len(got), err)
		}
		if cap(got) > size+size/4+bytes.MinRead {
			t.Fatalf("a %d byte body took a %d byte buffer", size, cap(got))
		}
	}
	if ents, _ := os.ReadDir(e.cfg.SpoolDir); len(ents) != 0 {
		t.Fatalf("spool files left: %d", len(ents))
	}
	if _, err := e.c.readMetadataBody(bytes.NewReader(make([]byte, 9<<20)), -1); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("over the limit: %v", err)
	}
}
