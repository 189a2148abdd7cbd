package traffic

import (
	"testing"
	"time"
)

func TestMetricsWindow(t *testing.T) {
	clk := newFakeClock()
	m := NewMetrics(MetricsOptions{Now: clk.Now, MaxWindow: time.Minute})

	// 10 blue requests, 2 of them 5xx, at t0.
	for i := range 10 {
		status := 200
		if i < 2 {
			status = 503
		}
		m.Record(Blue, status, 3*time.Millisecond, clk.Now())
	}
	clk.Advance(20 * time.Second)
	// 4 green requests, all 500, at t0+20s; a 404 is not an error.
	for range 4 {
		m.Record(Green, 500, time.Millisecond, clk.Now())
	}
	m.Record(Green, 404, time.Millisecond, clk.Now())

	s := m.Snapshot(30 * time.Second)
	if s.Blue.Requests != 10 || s.Blue.Errors != 2 || s.Blue.ErrorRate != 0.2 {
		t.Fatalf("blue = %+v", s.Blue)
	}
	if s.Green.Requests != 5 || s.Green.Errors != 4 || s.Green.ErrorRate != 0.8 {
		t.Fatalf("green = %+v", s.Green)
	}
	if s.All.Requests != 15 || s.All.Errors != 6 || s.Of(Any) != s.All || s.Of(Green) != s.Green {
		t.Fatalf("all = %+v", s.All)
	}

	// A 10s window no longer sees the blue requests.
	s = m.Snapshot(10 * time.Second)
	if s.Blue.Requests != 0 || s.Blue.ErrorRate != 0 || s.Blue.P99 != 0 || s.Green.Requests != 5 {
		t.Fatalf("10s window: %+v", s)
	}

	// 45s later nothing is left in a 30s window...
	clk.Advance(45 * time.Second)
	if s := m.Snapshot(30 * time.Second); s.All.Requests != 0 {
		t.Fatalf("after 45s: %+v", s.All)
	}
	// ...but a 1 minute window still sees green (65s after blue, 45s after green).
	if s := m.Snapshot(time.Minute); s.Green.Requests != 5 || s.Blue.Requests != 0 {
		t.Fatalf("1m window: %+v", s)
	}
	// A window longer than MaxWindow is capped.
	if s := m.Snapshot(time.Hour); s.Window != time.Minute {
		t.Fatalf("window = %v, want capped at 1m", s.Window)
	}

	// The slot blue's requests went to (t0) comes round again at t0+122s
	// (61 slots) and starts from zero.
	clk.Advance(57 * time.Second)
	m.Record(Blue, 200, time.Millisecond, clk.Now())
	if s := m.Snapshot(time.Second); s.Blue.Requests != 1 || s.Blue.Errors != 0 {
		t.Fatalf("reused slot: %+v", s.Blue)
	}
}

func TestMetricsP99(t *testing.T) {
	clk := newFakeClock()
	m := NewMetrics(MetricsOptions{Now: clk.Now})
	// 990 fast requests and 10 slow ones: p99 is the fastest of the slow
	// tail only if more than 1% are slow, so here it is still fast.
	for range 990 {
		m.Record(Green, 200, 2*time.Millisecond, clk.Now())
	}
	for range 10 {
		m.Record(Green, 200, 800*time.Millisecond, clk.Now())
	}
	p99 := m.Snapshot(time.Minute).Green.P99
	if p99 < 2*time.Millisecond || p99 > 2250*time.Microsecond {
		t.Fatalf("p99 with 1%% slow = %v, want about 2ms", p99)
	}
	for range 10 {
		m.Record(Green, 200, 800*time.Millisecond, clk.Now())
	}
	p99 = m.Snapshot(time.Minute).Green.P99
	if p99 < 800*time.Millisecond || p99 > 900*time.Millisecond {
		t.Fatalf("p99 with 2%% slow = %v, want about 800ms", p99)
	}
}

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{-time.Second, 0, time.Microsecond, 15 * time.Microsecond, 16 * time.Microsecond,
		17 * time.Microsecond, time.Millisecond, 123 * time.Millisecond, time.Second, 60 * time.Second, time.Hour} {
		b := latencyBucket(d)
		if b < 0 || b >= latencyBuckets || b < prev {
			t.Fatalf("bucket(%v) = %d after %d", d, b, prev)
		}
		prev = b
		if d >= 0 && d < 60*time.Second {
			up := bucketUpper(b)
			if up < d.Truncate(time.Microsecond) || float64(up) > float64(d)*1.125+float64(time.Microsecond) {
				t.Fatalf("bucket(%v) upper bound %v", d, up)
			}
		}
	}
	// Every bucket's upper bound falls in that bucket, and the next
	// microsecond in the next one.
	for b := range latencyBuckets - 1 {
		up := bucketUpper(b)
		if latencyBucket(up) != b || latencyBucket(up+time.Microsecond) != b+1 {
			t.Fatalf("bucket %d: upper %v maps to %d, +1µs to %d", b, up, latencyBucket(up), latencyBucket(up+time.Microsecond))
		}
	}
}
