package events

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/internal/domain"
)

// Outbox is where committed package-version changes wait to be published.
type Outbox interface {
	PendingEvents(ctx context.Context, limit int) ([]domain.OutboxEvent, error)
	MarkEventsSent(ctx context.Context, ids []int64) error
	// EventsChanged is signalled after writes, so the relay need not poll
	// hard.
	EventsChanged() <-chan struct{}
}

// DetailType and Source are the EventBridge names of package events.
const (
	DetailType = "CodeArtifact Package Version State Change"
	Source     = "aws.codeartifact"
)

// StreamName is the JetStream stream holding every subject under the
// prefix.
const StreamName = "REGISTRY"

// Relay publishes outbox events to JetStream, at least once: an event is
// marked sent only after JetStream acknowledged it, and every publish
// carries the event's dedup id as Nats-Msg-Id, so a republish after a
// crash is dropped by the stream's duplicate window and recognisable by
// consumers.
type Relay struct {
	Outbox  Outbox
	JS      jetstream.JetStream
	Prefix  string // subject prefix, "registry" by default
	Region  string
	Account string
	Log     *slog.Logger
	// Poll is the fallback interval between outbox scans.
	Poll time.Duration
}

// EnsureStream creates or updates the stream over "<prefix>.>".
func EnsureStream(ctx context.Context, js jetstream.JetStream, prefix string) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: StreamName, Subjects: []string{prefix + ".>"}, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute, MaxAge: 7 * 24 * time.Hour,
	})
	if err != nil {
		return fmt.Errorf("events: stream %s: %w", StreamName, err)
	}
	return nil
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	poll := r.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	backoff := 100 * time.Millisecond
	for {
		n, err := r.drain(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.Log.Warn("event relay", "err", err, "retry_in", backoff)
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
		case <-r.Outbox.EventsChanged():
		case <-t.C:
		}
	}
}

// drain publishes one batch of pending events and returns how many.
func (r *Relay) drain(ctx context.Context) (int, error) {
	evs, err := r.Outbox.PendingEvents(ctx, 256)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	sent := make([]int64, 0, len(evs))
	defer func() {
		if len(sent) > 0 {
			if err := r.Outbox.MarkEventsSent(context.WithoutCancel(ctx), sent); err != nil {
				r.Log.Warn("marking events sent", "err", err) // they will be republished with the same id
			}
		}
	}()
	for _, e := range evs {
		body, err := r.Envelope(e)
		if err != nil {
			return len(sent), err
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = r.JS.Publish(pctx, r.Prefix+"."+e.Subject, body, jetstream.WithMsgID(e.DedupID))
		cancel()
		if err != nil {
			return len(sent), fmt.Errorf("events: publish %s: %w", e.DedupID, err)
		}
		sent = append(sent, e.ID)
	}
	return len(sent), nil
}

// Envelope renders an outbox event as the EventBridge event CodeArtifact
// sends. The same outbox row always renders to the same bytes.
func (r *Relay) Envelope(e domain.OutboxEvent) ([]byte, error) {
	sum := sha256.Sum256([]byte(e.DedupID))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": DetailType, "source": Source, "account": r.Account,
		"time": e.Time.UTC().Format(time.RFC3339), "region": r.Region,
		"resources": []string{"arn:aws:codeartifact:" + r.Region + ":" + r.Account + ":package/" + e.Resource},
		"detail":    e.Detail,
	})
}
