package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

const tarPath = "/registry/pkg/-/pkg-1.0.0.tgz"

// TestFetchFanIn: 100 concurrent Fetch calls of one uncached artifact make
// exactly one upstream request and read 100 identical, verified bodies,
// also when the caller that started the fill gives up early.
func TestFetchFanIn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel string // how the first caller gives up: "", "before-headers", "mid-body"
	}{
		{"all-stay", ""},
		{"first-cancels-before-headers", "before-headers"},
		{"first-cancels-mid-body", "mid-body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body := payload(1, 1<<20+123)
			e.origin.set(tarPath, body)
			s256, s1, sri := declared(body)
			want := mustSRI(t, sri)
			want.SHA1 = s1

			// The upstream sends headers and a third of the body, then waits,
			// so every caller joins a fill in progress and the late ones
			// start from the spool.
			hold, gate := make(chan struct{}), make(chan struct{})
			ft := fault{gateAfter: int64(len(body) / 3), gate: gate}
			if tc.cancel == "before-headers" {
				ft.hold = hold
			} else {
				close(hold)
			}
			e.faults.push(ft)

			const n = 100
			firstCtx, cancelFirst := context.WithCancel(context.Background())
			defer cancelFirst()
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				results = make([][]byte, n)
				errs    = make([]error, n)
			)
			fetch := func(i int, ctx context.Context, ready chan<- struct{}) {
				defer wg.Done()
				d, err := e.c.Fetch(ctx, "pkg-1.0.0", "pkg/-/pkg-1.0.0.tgz", want)
				if ready != nil {
					ready <- struct{}{}
				}
				if err != nil {
					errs[i] = err
					return
				}
				defer d.Close()
				if i == 0 && tc.cancel == "mid-body" {
					buf := make([]byte, 1000)
					if _, err := io.ReadFull(d, buf); err != nil {
						errs[i] = err
						return
					}
					cancelFirst()
				}
				got, err := io.ReadAll(d)
				mu.Lock()
				results[i], errs[i] = got, err
				mu.Unlock()
			}

			ready := make(chan struct{}, n)
			wg.Add(1)
			go fetch(0, firstCtx, ready)
			waitFor(t, 5*time.Second, requestsAre(e.faults, 1))
			if tc.cancel == "before-headers" {
				cancelFirst()
				<-ready // Fetch returned its ctx error
				close(hold)
			}
			wg.Add(n - 1)
			for i := 1; i < n; i++ {
				go fetch(i, context.Background(), ready)
			}
			for range n - 1 {
				<-ready
			}
			if tc.cancel != "before-headers" {
				<-ready
			}
			close(gate)
			wg.Wait()

			if got := e.faults.requests.Load(); got != 1 {
				t.Fatalf("upstream saw %d requests, want 1", got)
			}
			for i := range n {
				if i == 0 && tc.cancel != "" {
					if !errors.Is(errs[0], context.Canceled) {
						t.Errorf("first caller: err %v, want context.Canceled", errs[0])
					}
					continue
				}
				if errs[i] != nil {
					t.Fatalf("caller %d: %v", i, errs[i])
				}
				if !bytes.Equal(results[i], body) {
					t.Fatalf("caller %d read %d bytes that differ from the %d upstream sent", i, len(results[i]), len(body))
				}
			}
			// The fill committed once; the next caller reads the blob store.
			waitFor(t, 5*time.Second, func() error {
				if n := e.blobCount(); n != 1 {
					return fmt.Errorf("%d blobs committed, want 1", n)
				}
				return nil
			})
			d, err := e.c.Fetch(context.Background(), "pkg-1.0.0", "pkg/-/pkg-1.0.0.tgz", want)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			put, err := d.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if put.Hashes.SHA256 != s256 || put.Hashes.SHA1 != s1 || put.Size != int64(len(body)) {
				t.Fatalf("committed %+v, want sha256 %s sha1 %s size %d", put, s256, s1, len(body))
			}
			if got, _ := io.ReadAll(d); !bytes.Equal(got, body) {
				t.Fatal("read from the blob store differs")
			}
			if got := e.faults.requests.Load(); got != 1 {
				t.Fatalf("upstream saw %d requests after a committed fill, want 1", got)
			}
			if h := e.metrics.lookup(KindArtifact, Hit); h != 1 {
				t.Errorf("artifact hits = %d, want 1", h)
			}
			if left, _ := os.ReadDir(e.cfg.SpoolDir); len(left) != 0 {
				t.Errorf("spool files left: %v", left)
			}
		})
	}
}

// TestFetchIntegrityMismatch: bytes that do not match what upstream
// declared fail every waiting caller before the end of the body, commit
// nothing, are not remembered, and the next call goes upstream again.
func TestFetchIntegrityMismatch(t *testing.T) {
	body := payload(2, 300_000)
	s256, s1, sri := declared(body)
	for _, tc := range []struct {
		name string
		want Integrity
	}{
		{"sha256 (PyPI #sha256=)", Integrity{SHA256: s256}},
		{"sha1 (npm shasum, Maven .sha1)", Integrity{SHA1: s1}},
		{"sha512 (npm integrity SRI)", mustSRI(t, sri)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.origin.set(tarPath, body)
			gate := make(chan struct{})
			e.faults.push(fault{corrupt: true, corruptAt: 1000, gateAfter: 100_000, gate: gate})

			const n = 20
			var wg sync.WaitGroup
			ready := make(chan struct{}, n)
			errs := make([]error, n)
			lens := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", tc.want)
					ready <- struct{}{}
					if err != nil {
						errs[i] = err
						return
					}
					defer d.Close()
					got, err := io.ReadAll(d)
					lens[i], errs[i] = len(got), err
				}()
			}
			for range n {
				<-ready
			}
			close(gate)
			wg.Wait()
			for i := range n {
				if !errors.Is(errs[i], ErrIntegrity) {
					t.Fatalf("caller %d: err %v, want ErrIntegrity", i, errs[i])
				}
				if lens[i] >= len(body) {
					t.Fatalf("caller %d read the whole body (%d bytes) before the error", i, lens[i])
				}
			}
			if got := e.faults.requests.Load(); got != 1 {
				t.Fatalf("upstream saw %d requests, want 1", got)
			}
			if n := e.blobCount(); n != 0 {
				t.Fatalf("%d blobs committed after a mismatch, want 0", n)
			}

			// Not cached: the next call asks upstream, which now sends good bytes.
			d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", tc.want)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, body) {
				t.Fatalf("retry: %d bytes, err %v", len(got), err)
			}
			if got := e.faults.requests.Load(); got != 2 {
				t.Fatalf("upstream saw %d requests, want 2", got)
			}
			if n := e.blobCount(); n != 1 {
				t.Fatalf("%d blobs after the good fetch, want 1", n)
			}
		})
	}
}

// TestFetchJoinerDeclaresOtherBytes: a caller that joins a fill while
// declaring a different digest fails alone; the fill commits what its own
// declaration verified.
func TestFetchJoinerDeclaresOtherBytes(t *testing.T) {
	e := newEnv(t, nil)
	body := payload(3, 200_000)
	e.origin.set(tarPath, body)
	s256, _, _ := declared(body)
	other, _, _ := declared([]byte("other bytes"))
	gate := make(chan struct{})
	e.faults.push(fault{gateAfter: 50_000, gate: gate})

	good, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{SHA256: s256})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	bad, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{SHA256: other})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	close(gate)
	if got, err := io.ReadAll(good); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("declared correctly: %d bytes, %v", len(got), err)
	}
	if got, err := io.ReadAll(bad); !errors.Is(err, ErrIntegrity) || len(got) >= len(body) {
		t.Fatalf("declared otherwise: %d bytes, err %v; want ErrIntegrity before the end", len(got), err)
	}
	if got := e.faults.requests.Load(); got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
}

// TestFetchFailures: what each kind of broken upstream answer becomes.
func TestFetchFailures(t *testing.T) {
	body := payload(4, 256<<10)
	s256, _, _ := declared(body)
	for _, tc := range []struct {
		name     string
		faults   []fault
		wantErr  error // from Fetch or from reading
		requests int64
		ok       bool // the body is read in the end (after retries)
	}{
		{"404 is not found, not retried", nil, domain.ErrNotFound, 1, false},
		{"500 is not retried", []fault{{status: 500}}, ErrUpstreamUnavailable, 1, false},
		{"503 twice then the bytes", []fault{{status: 503}, {status: 503, retryAfter: "0"}}, nil, 3, true},
		{"502 until retries run out", []fault{{status: 502}, {status: 502}, {status: 502}}, ErrUpstreamUnavailable, 3, false},
		{"connection reset then the bytes", []fault{{reset: true}}, nil, 2, true},
		{"truncated body with a wrong Content-Length", []fault{{truncate: 100_000}}, ErrUpstreamUnavailable, 1, false},
		{"stall mid-body hits the idle-read timeout", []fault{{stallAfter: 64 << 10}}, ErrUpstreamTimeout, 1, false},
		{"slow first byte within the response-header timeout", []fault{{delayHeader: 30 * time.Millisecond}}, nil, 1, true},
		{"slow first byte hits the response-header timeout, then retried", []fault{{hold: make(chan struct{})}}, nil, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				// Only the stalled cases wait this long; the others finish
				// well within these however loaded the machine.
				c.IdleReadTimeout = 300 * time.Millisecond
				c.ResponseHeaderTimeout = 300 * time.Millisecond
			})
			if !errors.Is(tc.wantErr, domain.ErrNotFound) {
				e.origin.set(tarPath, body)
			}
			e.faults.push(tc.faults...)
			err := func() error {
				d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{SHA256: s256})
				if err != nil {
					return err
				}
				defer d.Close()
				got, err := io.ReadAll(d)
				if err == nil && !bytes.Equal(got, body) {
					return fmt.Errorf("read %d bytes that differ", len(got))
				}
				return err
			}()
			switch {
			case tc.ok && err != nil:
				t.Fatalf("err %v, want success", err)
			case !tc.ok && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			waitFor(t, 5*time.Second, requestsAre(e.faults, tc.requests))
			wantBlobs := 0
			if tc.ok {
				wantBlobs = 1
			}
			if n := e.blobCount(); n != wantBlobs {
				t.Fatalf("%d blobs committed, want %d", n, wantBlobs)
			}
		})
	}
}

// TestFetchSlowButSteady: a body that takes far longer than the idle-read
// timeout in total, but never pauses that long, streams to the end: there
// is no whole-request deadline.
func TestFetchSlowButSteady(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleReadTimeout = time.Second })
	body := payload(5, 30*4096)
	e.origin.set(tarPath, body)
	e.faults.always(fault{chunkDelay: 50 * time.Millisecond})
	start := time.Now()
	d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := io.ReadAll(d)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("%d bytes, err %v", len(got), err)
	}
	if took := time.Since(start); took < e.cfg.IdleReadTimeout {
		t.Logf("the body took %v, less than the idle-read timeout; the test proves nothing on this machine", took)
	}
}

// TestFetchUnknownLength: without a Content-Length (chunked), the body
// streams and the Download reports Size -1.
func TestFetchSizeReported(t *testing.T) {
	e := newEnv(t, nil)
	body := payload(6, 10_000)
	e.origin.set(tarPath, body)
	d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Size() != int64(len(body)) {
		t.Fatalf("Size %d, want %d", d.Size(), len(body))
	}
	if _, err := io.Copy(io.Discard, d); err != nil {
		t.Fatal(err)
	}
}

// TestFetchInvalidIntegrity: a malformed declaration is the caller's error.
func TestFetchInvalidIntegrity(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.c.Fetch(context.Background(), "k", "x.tgz", Integrity{SHA256: "abc"})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	if e.faults.requests.Load() != 0 {
		t.Fatal("a request went upstream")
	}
}

// TestFetchAfterCollected: a remembered fill whose blob was deleted (by
// garbage collection) is fetched again rather than failing.
func TestFetchAfterCollected(t *testing.T) {
	e := newEnv(t, nil)
	body := payload(7, 5000)
	e.origin.set(tarPath, body)
	s256, _, _ := declared(body)
	for round := range 2 {
		d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{SHA256: s256})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("round %d: %d bytes, %v", round, len(got), err)
		}
		d.Close()
		if err := e.blobs.Delete(context.Background(), s256); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.faults.requests.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests, want 2", got)
	}
}

// TestFetchRemembersMisses: a 404 for an artifact is remembered for
// NegativeTTL (upstream is not asked again), forgotten after it, on Purge,
// and once the file exists and is fetched.
func TestFetchRemembersMisses(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NegativeTTL = time.Minute })
	body := payload(5, 64<<10)
	s256, _, _ := declared(body)
	ctx := context.Background()
	fetch := func() error {
		d, err := e.c.Fetch(ctx, "k", "pkg/-/pkg-1.0.0.tgz", Integrity{SHA256: s256})
		if err == nil {
			_, err = io.ReadAll(d)
			d.Close()
		}
		return err
	}
	for range 3 {
		if err := fetch(); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	}
	waitFor(t, 5*time.Second, requestsAre(e.faults, 1))
	e.clock.advance(time.Minute)
	if err := fetch(); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing after the TTL: %v", err)
	}
	waitFor(t, 5*time.Second, requestsAre(e.faults, 2))
	e.origin.set(tarPath, body)
	if err := fetch(); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("published meanwhile, still remembered as missing: %v", err)
	}
	if err := e.c.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := fetch(); err != nil {
		t.Fatalf("after Purge: %v", err)
	}
	waitFor(t, 5*time.Second, requestsAre(e.faults, 3))
	if e.metrics.lookups["artifact/negative_hit"] != 3 {
		t.Errorf("lookups %v", e.metrics.lookups)
	}
}
