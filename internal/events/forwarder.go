package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/internal/events/outbox"
)

// Queue is an outbox a Forwarder drains: outbox.Table for the pipeline
// and build databases, an adapter over the registry's outbox for package
// events (Relay).
type Queue interface {
	// Pending returns up to limit unpublished events, oldest first.
	Pending(ctx context.Context, limit int) ([]outbox.Message, error)
	// MarkSent records that events were acknowledged by JetStream.
	MarkSent(ctx context.Context, ids []int64) error
	// Changed is signalled after writes, so the forwarder need not poll
	// hard.
	Changed() <-chan struct{}
}

// Forwarder publishes the events of a Queue to JetStream, at least once:
// an event is marked sent only after JetStream acknowledged it, and every
// publish carries the event's dedup id as Nats-Msg-Id, so a republish
// after a crash is dropped by the stream's duplicate window and
// recognisable by consumers. Events are published in order.
//
// Marking events sent is a write to the outbox's database, which may have
// to wait for that database's other writers (under a burst of publishes,
// tens of milliseconds). It therefore runs beside the publishing, in a
// goroutine of its own that marks in one call whatever was acknowledged
// meanwhile: a new event is published as soon as it is committed, never
// after the previous batch's marking. Events published but not yet marked
// are remembered in memory and not published again by this process.
type Forwarder struct {
	Queue  Queue
	JS     jetstream.JetStream
	Prefix string // subject prefix, "registry" by default
	Log    *slog.Logger
	// Poll is the fallback interval between scans; default 1s.
	Poll time.Duration

	mu       sync.Mutex
	unmarked map[int64]bool   // acknowledged, waiting for the marker
	marking  []int64          // the marker's next call, in order
	recent   map[int64]uint64 // marked in generation n (see drain)
	gen      uint64           // successful MarkSent calls so far
	work     chan struct{}    // signalled when marking has ids
	marked   chan struct{}    // signalled after every successful MarkSent
}

// batch is how many events one scan of the queue reads.
const batch = 256

// Run forwards until ctx is done. Events acknowledged by then are marked
// sent before it returns (if the database allows; otherwise they are
// published again, with the same dedup id, after a restart).
func (f *Forwarder) Run(ctx context.Context) error {
	f.init()
	poll := f.Poll
	if poll <= 0 {
		poll = time.Second
	}
	markerDone := make(chan struct{})
	go func() {
		defer close(markerDone)
		f.mark(ctx)
	}()
	defer func() { <-markerDone }()
	t := time.NewTicker(poll)
	defer t.Stop()
	backoff := 100 * time.Millisecond
	for {
		n, waiting, err := f.drain(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			f.Log.Warn("event relay", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if n > 0 {
			continue // more may be waiting
		}
		marked := (<-chan struct{})(nil)
		if waiting {
			marked = f.marked // every pending event is published: wait for the marker
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.Queue.Changed():
		case <-marked:
		case <-t.C:
		}
	}
}

func (f *Forwarder) init() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unmarked == nil {
		f.unmarked, f.recent = map[int64]bool{}, map[int64]uint64{}
		f.work, f.marked = make(chan struct{}, 1), make(chan struct{}, 1)
	}
}

// drain publishes the pending events this process has not published yet,
// in order, and returns how many it published; waiting reports that the
// scan found only events already published, whose marking is pending.
func (f *Forwarder) drain(ctx context.Context) (n int, waiting bool, err error) {
	f.init()
	// An event marked in a generation up to start was marked before this
	// scan began, so the scan cannot return it; one marked later may still
	// be in the scan's snapshot, so recent remembers it until then.
	f.mu.Lock()
	start := f.gen
	for id, g := range f.recent {
		if g <= start {
			delete(f.recent, id)
		}
	}
	f.mu.Unlock()
	published := func(id int64) bool {
		_, done := f.recent[id]
		return done || f.unmarked[id]
	}
	var msgs, fresh []outbox.Message
	if q, ok := f.Queue.(skippingQueue); ok {
		var scanned int
		fresh, scanned, err = q.pendingSkipping(ctx, batch, func(id int64) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return published(id)
		})
		if err != nil || scanned == 0 {
			return 0, false, err
		}
	} else {
		msgs, err = f.Queue.Pending(ctx, batch)
		if err != nil || len(msgs) == 0 {
			return 0, false, err
		}
		f.mu.Lock()
		for _, m := range msgs {
			if !published(m.ID) {
				fresh = append(fresh, m)
			}
		}
		f.mu.Unlock()
	}
	if len(fresh) == 0 {
		return 0, true, nil
	}
	prefix := f.Prefix
	if prefix == "" {
		prefix = "registry"
	}
	for _, m := range fresh {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = f.JS.Publish(pctx, prefix+"."+m.Subject, m.Data, jetstream.WithMsgID(m.DedupID))
		cancel()
		if err != nil {
			return n, false, fmt.Errorf("events: publish %s: %w", m.DedupID, err)
		}
		f.acked(m.ID)
		n++
	}
	return n, false, nil
}

// skippingQueue is a Queue that can leave out the events a forwarder
// already published before preparing them (Relay renders each event).
type skippingQueue interface {
	// pendingSkipping is Pending without the events skip reports; scanned
	// is how many pending events it looked at.
	pendingSkipping(ctx context.Context, limit int, skip func(id int64) bool) (msgs []outbox.Message, scanned int, err error)
}

// acked hands a published event to the marker.
func (f *Forwarder) acked(id int64) {
	f.mu.Lock()
	f.unmarked[id] = true
	f.marking = append(f.marking, id)
	f.mu.Unlock()
	select {
	case f.work <- struct{}{}:
	default:
	}
}

// mark records acknowledged events as sent until ctx is done, then once
// more for what is left.
func (f *Forwarder) mark(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			f.markLast(ctx)
			return
		case <-f.work:
		}
		for {
			err := f.markOnce(ctx)
			if err == nil {
				break
			}
			// The events stay published; this process does not publish
			// them again, a restart does (with the same dedup id).
			f.Log.Warn("marking events sent", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				f.markLast(ctx)
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
		backoff = 100 * time.Millisecond
	}
}

// markLast marks what is left when the forwarder stops.
func (f *Forwarder) markLast(ctx context.Context) {
	if err := f.markOnce(context.WithoutCancel(ctx)); err != nil {
		f.Log.Warn("marking events sent", "err", err) // they are published again after a restart
	}
}

// markOnce marks everything acknowledged so far in one call.
func (f *Forwarder) markOnce(ctx context.Context) error {
	f.mu.Lock()
	ids := f.marking
	f.marking = nil
	f.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if err := f.Queue.MarkSent(ctx, ids); err != nil {
		f.mu.Lock()
		f.marking = append(ids, f.marking...)
		f.mu.Unlock()
		return err
	}
	f.mu.Lock()
	f.gen++
	for _, id := range ids {
		delete(f.unmarked, id)
		f.recent[id] = f.gen
	}
	f.mu.Unlock()
	select {
	case f.marked <- struct{}{}:
	default:
	}
	return nil
}
