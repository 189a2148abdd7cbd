package upstream

import (
	"sync"
	"time"
)

// BreakerState is the state of an upstream's circuit breaker.
//
//	          N consecutive failures
//	Closed ─────────────────────────▶ Open ◀──────────┐
//	  ▲                                │ cool-down     │ probe fails
//	  │ probe succeeds                 ▼ elapsed       │
//	  └──────────────────────────── HalfOpen ──────────┘
//
// Closed lets every request through. Open fails every request at once with
// ErrCircuitOpen. HalfOpen lets exactly one probe through at a time; the
// others fail fast as in Open.
type BreakerState uint8

const (
	// Closed: requests flow; failures are counted.
	Closed BreakerState = iota
	// Open: requests fail fast until the cool-down has elapsed.
	Open
	// HalfOpen: one probe is in flight or may be sent.
	HalfOpen
)

// String returns the state as a metric label value.
func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "unknown"
}

// breaker is a consecutive-failure circuit breaker. What counts as a
// failure is decided by the caller: no response, a 5xx or 429, a body that
// broke off. A 404 is a success: the upstream is healthy.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	changed   func(from, to BreakerState)

	mu       sync.Mutex
	state    BreakerState
	failures int       // consecutive, while Closed
	until    time.Time // end of the cool-down, while Open
	probing  bool      // a probe is in flight, while HalfOpen
}

// allow reports whether a request may be sent now; it returns false while
// Open and while a HalfOpen probe is in flight. A true answer must be
// followed by exactly one of success, failure or abandon.
func (b *breaker) allow() bool {
	b.mu.Lock()
	switch b.state {
	case Open:
		if b.now().Before(b.until) {
			b.mu.Unlock()
			return false
		}
		b.state, b.probing = HalfOpen, true
		b.mu.Unlock()
		b.changed(Open, HalfOpen)
		return true
	case HalfOpen:
		if b.probing {
			b.mu.Unlock()
			return false
		}
		b.probing = true
	}
	b.mu.Unlock()
	return true
}

// success records a healthy answer; it closes a HalfOpen breaker. While
// Open, answers to requests sent before it opened are ignored.
func (b *breaker) success() {
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		b.failures = 0
	case HalfOpen:
		b.state, b.probing, b.failures = Closed, false, 0
	}
	to := b.state
	b.mu.Unlock()
	if from != to {
		b.changed(from, to)
	}
}

// failure records an unhealthy answer; it opens a Closed breaker after
// threshold of them in a row and reopens a HalfOpen one.
func (b *breaker) failure() {
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		b.failures++
		if b.failures >= b.threshold {
			b.state, b.until = Open, b.now().Add(b.cooldown)
		}
	case HalfOpen:
		b.state, b.probing, b.until = Open, false, b.now().Add(b.cooldown)
	}
	to := b.state
	b.mu.Unlock()
	if from != to {
		b.changed(from, to)
	}
}

// abandon records a request that ended with no verdict on the upstream (the
// work was cancelled); a HalfOpen breaker may send another probe.
func (b *breaker) abandon() {
	b.mu.Lock()
	if b.state == HalfOpen {
		b.probing = false
	}
	b.mu.Unlock()
}

// State returns the current state (Open until a probe is let through, even
// after the cool-down has elapsed).
func (b *breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
