package upstream

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
)

// env is one upstream (an origin behind a fault injector, on a real
// listener), a real filesystem blob store and a Client between them.
type env struct {
	t       testing.TB
	origin  *origin
	faults  *faulty
	srv     *httptest.Server
	blobs   *blobfs.Store
	metrics *counters
	clock   *clock
	cfg     Config
	c       *Client
}

// newEnv starts the parts; mod adjusts the Config before New. Defaults are
// short delays so retries do not slow the tests.
func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, origin: newOrigin(), metrics: newCounters(), clock: newClock()}
	e.faults = newFaulty(e.origin)
	e.srv = httptest.NewServer(e.faults)
	t.Cleanup(e.srv.Close)                        // runs last
	t.Cleanup(func() { close(e.faults.release) }) // unblocks handlers before that
	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.blobs = blobs
	e.cfg = Config{
		Name:           "test",
		BaseURL:        e.srv.URL + "/registry/",
		Blobs:          blobs,
		SpoolDir:       t.TempDir(),
		Metrics:        e.metrics,
		Now:            e.clock.Now,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  5 * time.Millisecond,
		StaleAfter:     5 * time.Second,
	}
	if mod != nil {
		mod(&e.cfg)
	}
	e.c = e.newClient(e.cfg)
	return e
}

// newClient builds another Client (closed at the end of the test).
func (e *env) newClient(cfg Config) *Client {
	e.t.Helper()
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() }) // runs before the server closes
	return c
}

// blobCount walks the blob store.
func (e *env) blobCount() int {
	e.t.Helper()
	n := 0
	if err := e.blobs.Walk(context.Background(), func(blob.Info) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// clock is a settable clock for TTLs and the breaker cool-down.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// counters is a Metrics that counts, for assertions.
type counters struct {
	mu       sync.Mutex
	lookups  map[string]int // "metadata/hit"
	revals   map[int]int
	breaker  []string // "closed->open"
	requests int
	bgErrs   []error
}

func newCounters() *counters {
	return &counters{lookups: make(map[string]int), revals: make(map[int]int)}
}

func (m *counters) Lookup(_ string, k Kind, o Outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups[k.String()+"/"+o.String()]++
}

func (m *counters) Revalidated(_ string, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revals[status]++
}

func (m *counters) BreakerChanged(_ string, from, to BreakerState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.breaker = append(m.breaker, from.String()+"->"+to.String())
}

func (m *counters) Request(string, Kind, int, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
}

func (m *counters) BackgroundError(_ string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bgErrs = append(m.bgErrs, err)
}

func (m *counters) lookup(k Kind, o Outcome) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups[k.String()+"/"+o.String()]
}

func (m *counters) revalidated(status int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revals[status]
}

func (m *counters) transitions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.breaker...)
}

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// requestsAre is a waitFor condition on the upstream's request count.
func requestsAre(f *faulty, n int64) func() error {
	return func() error {
		if got := f.requests.Load(); got != n {
			return fmt.Errorf("upstream saw %d requests, want %d", got, n)
		}
		return nil
	}
}

// payload returns n reproducible pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// declared returns every digest an upstream could declare for b.
func declared(b []byte) (hexSHA256, hexSHA1, sri string) {
	s256 := sha256.Sum256(b)
	s1 := sha1.Sum(b)
	s512 := sha512.Sum512(b)
	return hex.EncodeToString(s256[:]), hex.EncodeToString(s1[:]), "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
}

func mustSRI(t testing.TB, s string) Integrity {
	t.Helper()
	in, err := ParseSRI(s)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
