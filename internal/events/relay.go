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
	"github.com/artifactd/registry/internal/events/outbox"
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
	f := &Forwarder{Queue: relaySource{r}, JS: r.JS, Prefix: r.Prefix, Log: r.Log, Poll: r.Poll}
	return f.Run(ctx)
}

// relaySource renders the registry's outbox rows as CodeArtifact events
// for the Forwarder.
type relaySource struct{ r *Relay }

func (s relaySource) Pending(ctx context.Context, limit int) ([]outbox.Message, error) {
	out, _, err := s.pendingSkipping(ctx, limit, func(int64) bool { return false })
	return out, err
}

// pendingSkipping renders only the events the forwarder has yet to
// publish (the others wait for their marking).
func (s relaySource) pendingSkipping(ctx context.Context, limit int, skip func(int64) bool) ([]outbox.Message, int, error) {
	evs, err := s.r.Outbox.PendingEvents(ctx, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]outbox.Message, 0, len(evs))
	for _, e := range evs {
		if skip(e.ID) {
			continue
		}
		body, err := s.r.Envelope(e)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, outbox.Message{ID: e.ID, Subject: e.Subject, DedupID: e.DedupID, Data: body})
	}
	return out, len(evs), nil
}

func (s relaySource) MarkSent(ctx context.Context, ids []int64) error {
	return s.r.Outbox.MarkEventsSent(ctx, ids)
}

func (s relaySource) Changed() <-chan struct{} { return s.r.Outbox.EventsChanged() }

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
