package events

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/internal/events/outbox"
)

// openOutbox is a SQLite database on disk with the outbox table.
func openOutbox(t *testing.T) (*sql.DB, *outbox.Table) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "o.db")+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(outbox.Schema); err != nil {
		t.Fatal(err)
	}
	return db, outbox.New(db)
}

// insert commits n events in one transaction.
func insert(t *testing.T, db *sql.DB, from, n int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		if err := outbox.Insert(context.Background(), tx, "codebuild.p", fmt.Sprintf("dedup-%d", i), []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestForwarderDeliversInOrderOnce: committed events reach the stream in
// order with their dedup ids; a second forwarder over the same rows (a
// restart before they were marked sent) adds no duplicates to the
// stream; sent rows leave the outbox.
func TestForwarderDeliversInOrderOnce(t *testing.T) {
	_, js, ctx := streamFixture(t)
	db, table := openOutbox(t)
	insert(t, db, 0, 5)

	// Publish the rows twice, as after a crash before MarkSent.
	msgs, err := table.Pending(ctx, 100)
	if err != nil || len(msgs) != 5 {
		t.Fatalf("pending: %v %v", msgs, err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	replay := &Forwarder{Queue: keepQueue{table}, JS: js, Log: log}
	if n, _, err := replay.drain(ctx); n != 5 || err != nil {
		t.Fatalf("first drain: %d %v", n, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Forwarder{Queue: table, JS: js, Log: log, Poll: time.Hour}).Run(runCtx)
	}()
	insert(t, db, 5, 3)
	table.Notify()

	cons, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"registry.codebuild.p"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := m.Headers().Get(nats.MsgIdHdr); got != fmt.Sprintf("dedup-%d", i) || string(m.Data()) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("message %d: id %q data %s", i, got, m.Data())
		}
	}
	waitEmpty(t, ctx, table)
	info, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if si, _ := info.Info(ctx); si.State.Msgs != 8 {
		t.Fatalf("stream holds %d messages, want 8 (duplicates dropped)", si.State.Msgs)
	}
	stop()
	<-done
}

// keepQueue publishes without ever marking sent.
type keepQueue struct{ *outbox.Table }

func (keepQueue) MarkSent(context.Context, []int64) error { return nil }

// slowMarkQueue holds MarkSent until release is closed.
type slowMarkQueue struct {
	*outbox.Table
	marking chan []int64
	release chan struct{}
}

func (q slowMarkQueue) MarkSent(ctx context.Context, ids []int64) error {
	q.marking <- ids
	<-q.release
	return q.Table.MarkSent(ctx, ids)
}

// TestForwarderPublishesWhileMarking: an event committed while the
// marking of earlier ones waits (for the database's write lock, say) is
// published at once, the events still waiting to be marked are not
// published twice, and all are marked once marking proceeds.
func TestForwarderPublishesWhileMarking(t *testing.T) {
	conn, js, ctx := streamFixture(t)
	seen, err := conn.NC.SubscribeSync("registry.codebuild.p")
	if err != nil {
		t.Fatal(err)
	}
	db, table := openOutbox(t)
	q := slowMarkQueue{Table: table, marking: make(chan []int64, 16), release: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Forwarder{Queue: q, JS: js, Log: log, Poll: 5 * time.Millisecond}).Run(runCtx)
	}()
	cons, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"registry.codebuild.p"}})
	if err != nil {
		t.Fatal(err)
	}
	next := func(i int) {
		t.Helper()
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := m.Headers().Get(nats.MsgIdHdr); got != fmt.Sprintf("dedup-%d", i) {
			t.Fatalf("message %d: id %q", i, got)
		}
	}

	insert(t, db, 0, 2)
	table.Notify()
	next(0)
	next(1)
	select {
	case ids := <-q.marking: // blocked in MarkSent from here on
		if len(ids) == 0 || len(ids) > 2 {
			t.Fatalf("marking %v", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the forwarder never marked the published events")
	}
	insert(t, db, 2, 1)
	table.Notify()
	next(2) // published while the marking of 0 and 1 waits
	// The forwarder has scanned the outbox again and again (Poll) while
	// marking waited: nothing but the three events reached the stream.
	close(q.release)
	waitEmpty(t, ctx, table)
	stop()
	<-done
	info, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.State.Msgs != 3 {
		t.Fatalf("stream holds %d messages, want 3", si.State.Msgs)
	}
	// Core subscribers see every publish, duplicates the stream dropped
	// included.
	if err := conn.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := seen.Pending(); n != 3 {
		t.Fatalf("%d publishes, want 3 (none repeated)", n)
	}
}

// waitEmpty polls until the forwarder has marked every event of table
// sent (deleted), for at most 10 s.
func waitEmpty(t *testing.T, ctx context.Context, table *outbox.Table) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := table.Len(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still in the outbox", n)
		}
		time.Sleep(10 * time.Millisecond) // polling the forwarder's progress
	}
}

// streamFixture starts an embedded NATS server with the registry's
// stream; ctx ends with the test (at most 30 s).
func streamFixture(t *testing.T) (*Conn, jetstream.JetStream, context.Context) {
	t.Helper()
	conn, err := StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	js, _ := jetstream.New(conn.NC)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := EnsureStream(ctx, js, "registry"); err != nil {
		t.Fatal(err)
	}
	return conn, js, ctx
}
