package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// TestBreaker: consecutive failures open the breaker, calls then fail fast
// without a request, and after the cool-down one probe is let through: a
// failing one reopens it, a succeeding one closes it.
func TestBreaker(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxRetries = -1
		c.BreakerFailures = 3
		c.BreakerCooldown = 30 * time.Second
	})
	e.origin.set(docPath, []byte("doc"))
	e.origin.set(tarPath, []byte("tar"))
	ctx := context.Background()
	e.faults.always(fault{status: 503})
	for i := range 3 {
		if _, err := e.c.Metadata(ctx, fmt.Sprint("k", i), "lodash", MetaOptions{}); !errors.Is(err, ErrUpstreamUnavailable) || errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if s := e.c.BreakerState(); s != Open {
		t.Fatalf("state %v after 3 failures, want open", s)
	}
	if _, err := e.c.Metadata(ctx, "k9", "lodash", MetaOptions{}); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("metadata while open: %v, want ErrCircuitOpen", err)
	}
	if _, err := e.c.Fetch(ctx, "t", "pkg/-/pkg-1.0.0.tgz", Integrity{}); !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("fetch while open: %v, want ErrCircuitOpen", err)
	}
	if got := e.faults.requests.Load(); got != 3 {
		t.Fatalf("upstream saw %d requests, want 3 (open calls must not go out)", got)
	}

	// Probe fails: open again.
	e.clock.advance(31 * time.Second)
	if _, err := e.c.Metadata(ctx, "k9", "lodash", MetaOptions{}); errors.Is(err, ErrCircuitOpen) || !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("probe: %v", err)
	}
	if s := e.c.BreakerState(); s != Open {
		t.Fatalf("state %v after a failed probe, want open", s)
	}
	if _, err := e.c.Metadata(ctx, "k9", "lodash", MetaOptions{}); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after a failed probe: %v, want ErrCircuitOpen", err)
	}

	// Only one probe at a time: while it hangs, others fail fast.
	e.clock.advance(31 * time.Second)
	e.faults.clear()
	hold := make(chan struct{})
	e.faults.push(fault{hold: hold})
	before := e.faults.requests.Load()
	probe := make(chan error, 1)
	go func() {
		_, err := e.c.Metadata(ctx, "k9", "lodash", MetaOptions{})
		probe <- err
	}()
	waitFor(t, 5*time.Second, requestsAre(e.faults, before+1))
	if _, err := e.c.Metadata(ctx, "k8", "lodash", MetaOptions{}); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("during the probe: %v, want ErrCircuitOpen", err)
	}
	close(hold)
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if s := e.c.BreakerState(); s != Closed {
		t.Fatalf("state %v after a good probe, want closed", s)
	}
	if _, err := e.c.Metadata(ctx, "k8", "lodash", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"closed->open", "open->half_open", "half_open->open", "open->half_open", "half_open->closed"}
	if got := e.metrics.transitions(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
}

// TestCredentialsStayHome: the Authorization header goes to the base URL's
// host only, and an encoded slash in a scoped npm name reaches upstream as
// it was given.
func TestCredentialsStayHome(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+" "+r.URL.EscapedPath()] = r.Header.Get("Authorization")
			mu.Unlock()
			w.Write([]byte("ok"))
		}
	}
	home := httptest.NewServer(record("home"))
	defer home.Close()
	files := httptest.NewServer(record("files"))
	defer files.Close()
	e := newEnv(t, func(c *Config) {
		c.BaseURL = home.URL
		c.Authorization = "Bearer s3cret"
	})
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "a", "@types%2fnode", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Metadata(ctx, "b", files.URL+"/packages/x.whl#sha256=00", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := seen["home /@types%2fnode"]; got != "Bearer s3cret" {
		t.Fatalf("home saw %v", seen)
	}
	if got, ok := seen["files /packages/x.whl"]; !ok || got != "" {
		t.Fatalf("files host saw %v", seen)
	}
}

// TestNewReportsEveryProblem: configuration errors come back together.
func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{BaseURL: "ftp://x", SpoolDir: "/nonexistent/dir", DialTimeout: -1})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	for _, want := range []string{"name is empty", "not an absolute http(s) URL", "no blob store", "dial timeout", "spool directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}

// TestNotFoundKeepsBreakerClosed: a 404 is a healthy answer.
func TestNotFoundKeepsBreakerClosed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BreakerFailures = 2 })
	for i := range 5 {
		if _, err := e.c.Metadata(context.Background(), fmt.Sprint("k", i), fmt.Sprint("missing-", i), MetaOptions{}); !errors.Is(err, domain.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if s := e.c.BreakerState(); s != Closed {
		t.Fatalf("state %v after 404s, want closed", s)
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{cfg: Config{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second}}
	for n := 1; n <= 40; n++ {
		ceil := min(100*time.Millisecond<<(n-1), time.Second)
		if n >= 30 {
			ceil = time.Second
		}
		for range 50 {
			if d := c.backoff(n, 0); d < 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", n, d, ceil)
			}
		}
	}
	if d := c.backoff(1, 700*time.Millisecond); d < 700*time.Millisecond || d > time.Second {
		t.Fatalf("Retry-After 700ms: backoff %v", d)
	}
	if d := c.backoff(1, time.Hour); d != time.Second {
		t.Fatalf("Retry-After 1h: backoff %v, want the 1s cap", d)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Wed, 01 Jan 2025 00:00:10 GMT": 10 * time.Second,
		"Tue, 31 Dec 2024 00:00:10 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
