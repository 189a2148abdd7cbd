package engine

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

// TestEventsInOutbox: every state change handed to Options.Events is also
// in the outbox, written by the change's own transaction (so it is there
// as soon as the hook sees it), in the same order, with the same dedup id
// and body, under codepipeline.<pipeline> with dots replaced.
func TestEventsInOutbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(decl("out.box", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Build", cmds("Make", 1, []string{"Src"}, nil, "true"))))
	id := h.start("out.box")
	h.waitStatus("out.box", id, pipeline.StatusSucceeded)
	h.waitFor("the last event", func() bool { return len(h.events.states(id)) >= 10 })
	msgs, err := h.e.Outbox().Pending(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	var hookIDs, boxIDs []string
	for _, ev := range h.events.evs {
		if ev.Envelope.Detail.ExecutionID == id {
			hookIDs = append(hookIDs, ev.DedupID)
		}
	}
	for _, m := range msgs {
		var env Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Fatalf("outbox body %s: %v", m.Data, err)
		}
		if m.Subject != "codepipeline.out_box" || env.Source != "aws.codepipeline" {
			t.Errorf("outbox message %s %s", m.Subject, m.Data)
		}
		if env.Detail.ExecutionID == id {
			boxIDs = append(boxIDs, m.DedupID)
		}
	}
	if len(hookIDs) != 10 || !slices.Equal(hookIDs, boxIDs) {
		t.Errorf("dedup ids\n hook   %v\n outbox %v", hookIDs, boxIDs)
	}
	if err := h.e.Outbox().MarkSent(context.Background(), []int64{msgs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.e.Outbox().Len(context.Background()); n != len(msgs)-1 {
		t.Errorf("after marking one sent: %d of %d left", n, len(msgs))
	}
}
