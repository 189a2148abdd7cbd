package traffic

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Metrics counts requests per target set over a sliding time window.
//
// Each set keeps a ring of slots, one per Resolution of wall time, covering
// MaxWindow; a slot holds a request count, a 5xx count and a log-linear
// latency histogram (latencyBuckets counters, each bucket at most 12.5%
// wide). Memory is fixed at construction: about
// 2 sets * slots * (latencyBuckets*4 + 24) bytes, 470 KB with the defaults.
// Recording takes one mutex per set and does not allocate.
type Metrics struct {
	now  func() time.Time
	res  time.Duration
	sets [2]setMetrics
}

type setMetrics struct {
	mu    sync.Mutex
	slots []slot
}

type slot struct {
	epoch    int64 // slot number since the Unix epoch (time / res); -1 when empty
	requests uint32
	errors   uint32
	hist     [latencyBuckets]uint32
}

// Default window geometry.
const (
	DefaultResolution = time.Second
	DefaultMaxWindow  = 5 * time.Minute
)

// MetricsOptions shapes a Metrics; the zero value means the defaults and
// the system clock.
type MetricsOptions struct {
	Now        func() time.Time // clock that places a request in a slot
	Resolution time.Duration    // slot width; windows are whole slots
	MaxWindow  time.Duration    // longest window Snapshot can answer
}

// NewMetrics returns an empty Metrics.
func NewMetrics(o MetricsOptions) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Resolution <= 0 {
		o.Resolution = DefaultResolution
	}
	if o.MaxWindow <= 0 {
		o.MaxWindow = DefaultMaxWindow
	}
	n := int((o.MaxWindow + o.Resolution - 1) / o.Resolution)
	n = max(n, 1) + 1 // one more slot for the current, partial one
	m := &Metrics{now: o.Now, res: o.Resolution}
	for i := range m.sets {
		m.sets[i].slots = make([]slot, n)
		for j := range m.sets[i].slots {
			m.sets[i].slots[j].epoch = -1
		}
	}
	return m
}

// MaxWindow is the longest window a Snapshot can cover.
func (m *Metrics) MaxWindow() time.Duration {
	return time.Duration(len(m.sets[0].slots)-1) * m.res
}

// Record counts one request served by set at time at, with its response
// status and latency. A status of 500 or more counts as an error; a status
// of 0 (the client went away before any answer) counts as a request only.
func (m *Metrics) Record(set Set, status int, latency time.Duration, at time.Time) {
	if set != Blue && set != Green {
		return
	}
	e := at.UnixNano() / int64(m.res)
	sm := &m.sets[set]
	sm.mu.Lock()
	s := &sm.slots[int(uint64(e)%uint64(len(sm.slots)))]
	if s.epoch != e {
		*s = slot{epoch: e}
	}
	s.requests++
	if status >= 500 {
		s.errors++
	}
	s.hist[latencyBucket(latency)]++
	sm.mu.Unlock()
}

// Stats is what one set (or both) served over a window.
type Stats struct {
	Requests  int
	Errors    int           // responses with status >= 500, and proxy failures (502)
	ErrorRate float64       // Errors / Requests, 0 with no requests
	P99       time.Duration // 99th-percentile latency, rounded up to its histogram bucket; 0 with no requests
}

// Snapshot is the traffic of the last Window, per set and in total.
type Snapshot struct {
	Window time.Duration
	Blue   Stats
	Green  Stats
	All    Stats
}

// Of returns the stats of set: Blue, Green, or Any for both.
func (s Snapshot) Of(set Set) Stats {
	switch set {
	case Blue:
		return s.Blue
	case Green:
		return s.Green
	default:
		return s.All
	}
}

// Snapshot returns the traffic of the last window up to the clock's now.
func (m *Metrics) Snapshot(window time.Duration) Snapshot {
	return m.SnapshotAt(m.now(), window)
}

// SnapshotAt returns the traffic of the window ending at now. The window is
// rounded up to whole slots and includes the current slot; it is capped at
// the MaxWindow the Metrics was built for.
func (m *Metrics) SnapshotAt(now time.Time, window time.Duration) Snapshot {
	end := now.UnixNano() / int64(m.res)
	n := int64((window + m.res - 1) / m.res)
	n = max(min(n, int64(len(m.sets[0].slots)-1)), 1)
	first := end - n + 1
	snap := Snapshot{Window: time.Duration(n) * m.res}
	var all [latencyBuckets]uint32
	var per [2][latencyBuckets]uint32
	var req, errs [2]int
	for i := range m.sets {
		sm := &m.sets[i]
		sm.mu.Lock()
		for j := range sm.slots {
			s := &sm.slots[j]
			if s.epoch < first || s.epoch > end || s.requests == 0 {
				continue
			}
			req[i] += int(s.requests)
			errs[i] += int(s.errors)
			for b, c := range s.hist {
				per[i][b] += c
			}
		}
		sm.mu.Unlock()
		for b, c := range per[i] {
			all[b] += c
		}
	}
	snap.Blue = stats(req[0], errs[0], &per[0])
	snap.Green = stats(req[1], errs[1], &per[1])
	snap.All = stats(req[0]+req[1], errs[0]+errs[1], &all)
	return snap
}

func stats(req, errs int, hist *[latencyBuckets]uint32) Stats {
	s := Stats{Requests: req, Errors: errs}
	if req == 0 {
		return s
	}
	s.ErrorRate = float64(errs) / float64(req)
	// The smallest latency at or above which no more than 1% of requests lie.
	rank := uint64(math.Ceil(0.99 * float64(req)))
	var seen uint64
	for b, c := range hist {
		seen += uint64(c)
		if seen >= rank {
			s.P99 = bucketUpper(b)
			break
		}
	}
	return s
}

// The latency histogram is log-linear over microseconds: values below 16µs
// have a bucket each; above, every power of two is split into 8 equal
// buckets, so a bucket is at most 12.5% wide. Latencies past the last
// bucket (about 67 s) are counted in it.
const (
	subBits        = 3
	subCount       = 1 << subBits            // 8 buckets per power of two
	linearMax      = 1 << (subBits + 1)      // 16: below this, one bucket per µs
	latencyBuckets = linearMax + 22*subCount // up to 2^26 µs
)

func latencyBucket(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < linearMax {
		return int(us)
	}
	shift := bits.Len64(us) - (subBits + 1) // >= 1
	mant := us >> uint(shift)               // in [8, 16)
	b := linearMax + (shift-1)*subCount + int(mant-subCount)
	return min(b, latencyBuckets-1)
}

// bucketUpper is the largest latency that falls in bucket b.
func bucketUpper(b int) time.Duration {
	if b < linearMax {
		return time.Duration(b) * time.Microsecond
	}
	shift := (b-linearMax)/subCount + 1
	mant := uint64((b-linearMax)%subCount + subCount)
	return time.Duration(((mant+1)<<uint(shift))-1) * time.Microsecond
}
