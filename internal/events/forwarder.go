package events

import (
	"context"
	"fmt"
	"log/slog"
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
type Forwarder struct {
	Queue  Queue
	JS     jetstream.JetStream
	Prefix string // subject prefix, "registry" by default
	Log    *slog.Logger
	// Poll is the fallback interval between scans; default 1s.
	Poll time.Duration
}

// Run forwards until ctx is done.
func (f *Forwarder) Run(ctx context.Context) error {
	poll := f.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	backoff := 100 * time.Millisecond
	for {
		n, err := f.drain(ctx)
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
		select {
		case <-ctx.Done():
			return nil
		case <-f.Queue.Changed():
		case <-t.C:
		}
	}
}

// drain publishes one batch of pending events and returns how many.
func (f *Forwarder) drain(ctx context.Context) (int, error) {
	msgs, err := f.Queue.Pending(ctx, 256)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	prefix := f.Prefix
	if prefix == "" {
		prefix = "registry"
	}
	sent := make([]int64, 0, len(msgs))
	defer func() {
		if len(sent) > 0 {
			if err := f.Queue.MarkSent(context.WithoutCancel(ctx), sent); err != nil {
				f.Log.Warn("marking events sent", "err", err) // they will be republished with the same id
			}
		}
	}()
	for _, m := range msgs {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = f.JS.Publish(pctx, prefix+"."+m.Subject, m.Data, jetstream.WithMsgID(m.DedupID))
		cancel()
		if err != nil {
			return len(sent), fmt.Errorf("events: publish %s: %w", m.DedupID, err)
		}
		sent = append(sent, m.ID)
	}
	return len(sent), nil
}
