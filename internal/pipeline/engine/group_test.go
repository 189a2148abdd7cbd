package engine

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// TestGroupedChanges: changes that wait for a pipeline's lock together
// commit in one transaction, yet each keeps its own outcome: the one that
// fails leaves neither rows nor events behind and its caller gets its
// error, the others commit with their events.
func TestGroupedChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	errBroken := errors.New("broken change")
	change := func(name string, fail bool) func(tx *sql.Tx, fx *effects) error {
		return func(tx *sql.Tx, fx *effects) error {
			if _, err := tx.Exec(`INSERT INTO counters(name, value) VALUES (?, 1)`, name); err != nil {
				return err
			}
			fx.touch("x-" + name)
			fx.events = append(fx.events, Event{Pipeline: "grp", DedupID: "ev-" + name, Envelope: Envelope{DetailType: name}})
			if fail {
				return errBroken
			}
			return nil
		}
	}
	l := h.e.lock("grp")
	l.Lock() // the changes below queue behind this holder
	names := []string{"a", "b", "c", "d"}
	results := make(chan string, len(names))
	for _, n := range names {
		go func() {
			err := h.e.changeGrouped("grp", change(n, n == "b"))
			results <- fmt.Sprintf("%s:%v", n, err)
		}()
	}
	h.waitFor("four queued changes", func() bool {
		h.e.mu.Lock()
		defer h.e.mu.Unlock()
		return len(h.e.grouped["grp"]) == len(names)
	})
	l.Unlock()
	var got []string
	for range names {
		select {
		case r := <-results:
			got = append(got, r)
		case <-time.After(20 * time.Second):
			t.Fatal("a grouped change never returned")
		}
	}
	slices.Sort(got)
	if want := []string{"a:<nil>", "b:" + errBroken.Error(), "c:<nil>", "d:<nil>"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	var rows []string
	r, err := h.e.db.sql.Query(`SELECT name FROM counters WHERE name != 'seq' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n string
		r.Scan(&n)
		rows = append(rows, n)
	}
	r.Close()
	if !slices.Equal(rows, []string{"a", "c", "d"}) {
		t.Fatalf("rows %v, want a, c, d", rows)
	}
	msgs, err := h.e.Outbox().Pending(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for _, m := range msgs {
		evs = append(evs, m.DedupID)
	}
	slices.Sort(evs)
	if !slices.Equal(evs, []string{"ev-a", "ev-c", "ev-d"}) {
		t.Fatalf("events %v, want ev-a, ev-c, ev-d", evs)
	}
}

// TestManyActionsFinishTogether: executions whose actions finish at the
// same moment (their results committed in groups) all run to the end,
// each stage after the previous one.
func TestManyActionsFinishTogether(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.Providers = []Provider{instant{}} })
	step := pipeline.Action{Name: "Step", ActionTypeID: instant{}.Type().ID, InputArtifacts: []pipeline.InputArtifact{{Name: "Src"}}}
	d := decl("many", stage("Source", localSource(t.TempDir(), "Src")), stage("A", step), stage("B", step))
	d.ExecutionMode = pipeline.ModeParallel
	h.create(d)
	var ids []string
	for range 40 {
		id, err := h.e.StartExecution(t.Context(), StartInput{Name: "many"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		h.waitStatus("many", id, pipeline.StatusSucceeded)
	}
}
