package traffic

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

func names(f []Firing) string {
	s := make([]string, len(f))
	for i := range f {
		s[i] = f[i].Name
	}
	return strings.Join(s, ",")
}

func TestAlarmRules(t *testing.T) {
	clk := newFakeClock()
	m := NewMetrics(MetricsOptions{Now: clk.Now})
	a, err := NewAlarms(m, []Rule{
		{Name: "green-errors", Metric: ErrorRate, Set: Green, Threshold: 0.1, Window: 30 * time.Second, MinRequests: 10},
		{Name: "any-slow", Metric: P99Latency, Set: Any, Threshold: 0.5, Window: 10 * time.Second},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f := a.Evaluate(ctx, clk.Now()); len(f) != 0 {
		t.Fatalf("no traffic: %v", f)
	}
	for range 5 {
		m.Record(Green, 500, time.Millisecond, clk.Now())
	}
	if f := a.Evaluate(ctx, clk.Now()); len(f) != 0 {
		t.Fatalf("5 of minimum 10 requests: %v", f)
	}
	for range 40 {
		m.Record(Green, 200, time.Millisecond, clk.Now())
	}
	// 5 of 45 = 11.1% > 10%.
	f := a.Evaluate(ctx, clk.Now())
	if names(f) != "green-errors" || !strings.Contains(f[0].Reason, "11.1%") {
		t.Fatalf("11%% errors: %v", f)
	}
	// Blue errors do not count against a green rule.
	clk.Advance(time.Minute)
	for range 20 {
		m.Record(Blue, 502, time.Millisecond, clk.Now())
	}
	if f := a.Evaluate(ctx, clk.Now()); len(f) != 0 {
		t.Fatalf("blue errors only: %v", f)
	}
	// A slow blue request among few fires the Any latency rule.
	m.Record(Blue, 200, 700*time.Millisecond, clk.Now())
	if f := a.Evaluate(ctx, clk.Now()); names(f) != "any-slow" {
		t.Fatalf("slow request: %v", f)
	}
	// Evaluate at a later time, not the clock's: the window has moved on.
	if f := a.Evaluate(ctx, clk.Now().Add(11*time.Second)); len(f) != 0 {
		t.Fatalf("11s later: %v", f)
	}
}

func TestHealthCheckURL(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	a, err := NewAlarms(nil, nil, []HealthCheck{{Name: "web", URL: srv.URL + "/health", FailureThreshold: 3}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	want := func(fired string) {
		t.Helper()
		if got := names(a.Evaluate(ctx, now)); got != fired {
			t.Fatalf("fired %q, want %q", got, fired)
		}
	}
	want("")
	status.Store(500)
	want("")
	want("")
	status.Store(204)
	want("")          // the success resets the count
	status.Store(302) // a redirect is not healthy
	want("")
	want("")
	f := a.Evaluate(ctx, now)
	if names(f) != "web" || !strings.Contains(f[0].Reason, "3 consecutive") || !strings.Contains(f[0].Reason, "302") {
		t.Fatalf("third failure: %v", f)
	}
	srv.Close()
	if f := a.Evaluate(ctx, now); names(f) != "web" || !strings.Contains(f[0].Reason, "4 consecutive") {
		t.Fatalf("server gone: %v", f)
	}
}

func TestHealthCheckCommand(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := NewAlarms(nil, nil, []HealthCheck{{Name: "proc", Command: []string{"sh", "-c", "test -e healthy || { echo not healthy >&2; exit 3; }"}, Dir: dir, FailureThreshold: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f := a.Evaluate(ctx, time.Now()); len(f) != 0 {
		t.Fatalf("healthy: %v", f)
	}
	os.Remove(flag)
	if f := a.Evaluate(ctx, time.Now()); len(f) != 0 {
		t.Fatalf("one failure of two: %v", f)
	}
	f := a.Evaluate(ctx, time.Now())
	if names(f) != "proc" || !strings.Contains(f[0].Reason, "not healthy") || !strings.Contains(f[0].Reason, "exit status 3") {
		t.Fatalf("two failures: %v", f)
	}

	// A probe that outlives its timeout fails.
	slow, err := NewAlarms(nil, nil, []HealthCheck{{Name: "slow", Command: []string{"sleep", "10"}, Timeout: 50 * time.Millisecond, FailureThreshold: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if f := slow.Evaluate(ctx, time.Now()); names(f) != "slow" {
		t.Fatalf("timed-out probe: %v", f)
	}
	// A cancelled evaluation says nothing about health.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if f := slow.Evaluate(cctx, time.Now()); len(f) != 0 {
		t.Fatalf("cancelled: %v", f)
	}
}

func TestAlarmValidation(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	ok := Rule{Name: "r", Metric: ErrorRate, Set: Green, Threshold: 0.1, Window: time.Minute}
	okCheck := HealthCheck{Name: "h", URL: "http://127.0.0.1:1/health", FailureThreshold: 1}
	tests := []struct {
		name   string
		rules  []Rule
		checks []HealthCheck
		metr   *Metrics
		want   string
	}{
		{"no name", []Rule{{Metric: ErrorRate, Window: time.Second}}, nil, m, "name is required"},
		{"bad metric", []Rule{{Name: "r", Metric: "Latency", Window: time.Second}}, nil, m, "metric"},
		{"bad set", []Rule{{Name: "r", Metric: ErrorRate, Set: 7, Window: time.Second}}, nil, m, "set"},
		{"rate of 1", []Rule{{Name: "r", Metric: ErrorRate, Threshold: 1, Window: time.Second}}, nil, m, "threshold"},
		{"no window", []Rule{{Name: "r", Metric: P99Latency, Threshold: 1}}, nil, m, "window"},
		{"duplicate", []Rule{ok}, []HealthCheck{{Name: "r", URL: "http://x", FailureThreshold: 1}}, m, "used twice"},
		{"no metrics", []Rule{ok}, nil, nil, "metrics"},
		{"window too long", []Rule{{Name: "r", Metric: ErrorRate, Window: time.Hour}}, nil, m, "longer than the 5m0s"},
		{"url and command", nil, []HealthCheck{{Name: "h", URL: "http://x", Command: []string{"true"}, FailureThreshold: 1}}, m, "exactly one"},
		{"neither", nil, []HealthCheck{{Name: "h", FailureThreshold: 1}}, m, "exactly one"},
		{"bad url", nil, []HealthCheck{{Name: "h", URL: "file:///etc/passwd", FailureThreshold: 1}}, m, "not an absolute"},
		{"threshold 0", nil, []HealthCheck{{Name: "h", URL: "http://x"}}, m, "failureThreshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAlarms(tt.metr, tt.rules, tt.checks)
			if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := NewAlarms(m, []Rule{ok}, []HealthCheck{okCheck}); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	clk := newFakeClock()
	m := NewMetrics(MetricsOptions{Now: clk.Now})
	a, err := NewAlarms(m, []Rule{{Name: "errors", Metric: ErrorRate, Set: Any, Threshold: 0.2, Window: 10 * time.Second, MinRequests: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	var calls atomic.Int32
	w := &Watcher{Alarms: a, Ticks: ticks, OnFire: func([]Firing) { calls.Add(1) }}
	done := make(chan []Firing)
	go func() { done <- w.Run(context.Background()) }()

	m.Record(Blue, 200, time.Millisecond, clk.Now())
	ticks <- clk.Now()
	ticks <- clk.Now() // the second send completes only after the first tick was evaluated
	if calls.Load() != 0 {
		t.Fatal("fired on healthy traffic")
	}
	m.Record(Blue, 500, time.Millisecond, clk.Now())
	var f []Firing
	for f == nil {
		select {
		case ticks <- clk.Now():
		case f = <-done:
		}
	}
	if names(f) != "errors" || calls.Load() != 1 {
		t.Fatalf("fired %v, %d callbacks", f, calls.Load())
	}

	// A closed tick channel or a cancelled context ends the watcher quietly.
	closed := make(chan time.Time)
	close(closed)
	if f := (&Watcher{Alarms: a, Ticks: closed}).Run(context.Background()); f != nil {
		t.Fatalf("closed ticks: %v", f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f := (&Watcher{Alarms: a, Ticks: make(chan time.Time)}).Run(ctx); f != nil {
		t.Fatalf("cancelled: %v", f)
	}
}
