package traffic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runShifter starts s in a goroutine and returns a channel with its result.
func runShifter(ctx context.Context, s *Shifter) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return done
}

type progressLog struct {
	mu    sync.Mutex
	steps []Progress
}

func (l *progressLog) add(p Progress) {
	l.mu.Lock()
	l.steps = append(l.steps, p)
	l.mu.Unlock()
}

func (l *progressLog) percents() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int, len(l.steps))
	for i, p := range l.steps {
		out[i] = p.Percent
	}
	return out
}

func (l *progressLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.steps)
}

func TestShifterCanary(t *testing.T) {
	clk := newFakeClock()
	p := NewProxy(Options{Now: clk.Now})
	mustSet(t, p, Blue, named(t, "blue").URL)
	mustSet(t, p, Green, named(t, "green").URL)
	url := listen(t, p)
	sched, err := canary(10, 5).Schedule(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var log progressLog
	done := runShifter(context.Background(), &Shifter{Proxy: p, Schedule: sched, Clock: clk, OnProgress: log.add})

	waitFor(t, "the canary step", func() bool { return log.len() == 1 && clk.Waiters() == 1 })
	if got := tally(t, url, 100); got["green"] != 10 || got["blue"] != 90 {
		t.Fatalf("canary step: %v", got)
	}
	clk.Advance(5*time.Minute - time.Second)
	if got := tally(t, url, 100); got["green"] != 10 {
		t.Fatalf("just before the interval: %v", got)
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := tally(t, url, 20); got["green"] != 20 {
		t.Fatalf("after the interval: %v", got)
	}
	if got := log.percents(); len(got) != 2 || got[0] != 10 || got[1] != 100 {
		t.Fatalf("progress %v", got)
	}
	if log.steps[1].Steps != 2 || log.steps[1].Step != 1 || !log.steps[1].At.Equal(log.steps[0].At.Add(5*time.Minute)) {
		t.Fatalf("progress detail %+v", log.steps)
	}
}

func TestShifterLinearWithAlarmPolling(t *testing.T) {
	clk := newFakeClock()
	p := NewProxy(Options{Now: clk.Now})
	mustSet(t, p, Blue, named(t, "blue").URL)
	mustSet(t, p, Green, named(t, "green").URL)
	alarms, err := NewAlarms(p.Metrics(), []Rule{{Name: "e", Metric: ErrorRate, Set: Green, Threshold: 0.01, Window: time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := linear(25, 2).Schedule(time.Minute)
	var log progressLog
	done := runShifter(context.Background(), &Shifter{Proxy: p, Schedule: sched, Clock: clk, Alarms: alarms,
		AlarmInterval: 30 * time.Second, Bake: time.Minute, OnProgress: log.add})

	// Step every 2 minutes, alarms every 30s: 4 polls per step.
	wantWeights := []int{25, 25, 25, 25, 50, 50, 50, 50, 75, 75, 75, 75, 100, 100}
	for i, w := range wantWeights {
		waitFor(t, "the shifter to wait", func() bool { return clk.Waiters() == 1 })
		if p.Weight() != w {
			t.Fatalf("after %d polls: weight %d, want %d", i, p.Weight(), w)
		}
		clk.Advance(30 * time.Second)
	}
	// The bake ends at 6+1 minutes.
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := log.percents(); len(got) != 4 || got[3] != 100 {
		t.Fatalf("progress %v", got)
	}
}

// TestShifterAlarmRollsBack is the bad-revision story: green starts
// answering 500s during the canary, the error-rate alarm fires, traffic
// goes back to blue, and no request outside the canary share failed.
func TestShifterAlarmRollsBack(t *testing.T) {
	var greenBroken atomic.Bool
	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if greenBroken.Load() {
			http.Error(w, "green-broken", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "green")
	}))
	t.Cleanup(green.Close)
	clk := newFakeClock()
	p := NewProxy(Options{Now: clk.Now})
	mustSet(t, p, Blue, named(t, "blue").URL)
	mustSet(t, p, Green, green.URL)
	p.AllowTraffic(Green) // the AllowTraffic lifecycle event
	url := listen(t, p)

	alarms, err := NewAlarms(p.Metrics(), []Rule{
		{Name: "green-5xx", Metric: ErrorRate, Set: Green, Threshold: 0.05, Window: time.Minute, MinRequests: 5},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := canary(10, 5).Schedule(time.Minute)
	var aborted atomic.Pointer[AlarmError]
	done := runShifter(context.Background(), &Shifter{Proxy: p, Schedule: sched, Clock: clk, Alarms: alarms,
		AlarmInterval: 10 * time.Second, OnAbort: func(e *AlarmError) { aborted.Store(e) }})

	waitFor(t, "the canary step", func() bool { return p.Weight() == 10 && clk.Waiters() == 1 })
	// Healthy canary: 100 requests, 10 on green, all fine.
	if got := tally(t, url, 100); got["green"] != 10 {
		t.Fatalf("healthy canary: %v", got)
	}
	clk.Advance(10 * time.Second)
	waitFor(t, "the next alarm poll", func() bool { return clk.Waiters() == 1 })
	if p.Weight() != 10 {
		t.Fatal("a healthy canary was rolled back")
	}

	// The bad revision: green fails; the canary share fails, no other request.
	greenBroken.Store(true)
	failed := 0
	for range 100 {
		r := get(t, url)
		switch {
		case r.status == 200 && r.target == "blue" && r.body == "blue":
		case r.status == 500 && r.target == "green":
			failed++
		default:
			t.Fatalf("unexpected reply %+v", r)
		}
	}
	if failed != 10 {
		t.Fatalf("%d requests failed, want the 10%% canary share", failed)
	}
	waitFor(t, "the failures to be recorded", func() bool { return p.Metrics().Snapshot(time.Minute).Green.Errors == 10 })

	clk.Advance(10 * time.Second) // the next poll sees 10 of 20 green requests failed
	err = <-done
	var ae *AlarmError
	if !errors.As(err, &ae) || names(ae.Firings) != "green-5xx" || ae.Percent != 10 {
		t.Fatalf("Run = %v", err)
	}
	if !strings.Contains(err.Error(), "50.0%") || aborted.Load() != ae {
		t.Fatalf("error %q, OnAbort saw %v", err, aborted.Load())
	}
	if p.Weight() != 0 || !p.Blocked(Green) {
		t.Fatalf("after the alarm: weight %d, green blocked %v", p.Weight(), p.Blocked(Green))
	}
	// Blue serves everything again, without failures.
	if got := tally(t, url, 50); got["blue"] != 50 {
		t.Fatalf("after rollback: %v", got)
	}
}

func TestShifterStop(t *testing.T) {
	clk := newFakeClock()
	p := NewProxy(Options{Now: clk.Now})
	sched, _ := linear(10, 1).Schedule(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := runShifter(ctx, &Shifter{Proxy: p, Schedule: sched, Clock: clk})
	waitFor(t, "the first step", func() bool { return p.Weight() == 10 && clk.Waiters() == 1 })
	clk.Advance(time.Minute)
	waitFor(t, "the second step", func() bool { return p.Weight() == 20 && clk.Waiters() == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "20%") {
		t.Fatalf("Run = %v", err)
	}
	if p.Weight() != 20 {
		t.Fatalf("a stop changed the weight to %d", p.Weight())
	}
	if err := (&Shifter{Proxy: p}).Run(context.Background()); err == nil {
		t.Fatal("empty schedule accepted")
	}
}

func TestShifterAllAtOnce(t *testing.T) {
	p := NewProxy(Options{})
	sched, _ := RoutingConfig{Type: TypeAllAtOnce}.Schedule(time.Minute)
	// The system clock: an all-at-once shift never waits.
	if err := (&Shifter{Proxy: p, Schedule: sched}).Run(context.Background()); err != nil || p.Weight() != 100 {
		t.Fatalf("Run = %v, weight %d", err, p.Weight())
	}
}
