// Package outbox keeps events in a SQLite table of the database whose
// changes they describe, written in the same transaction as the change,
// until a relay (events.Forwarder) has published them. A change that
// committed therefore has its event on disk, and a crash between commit
// and publish only delays it.
//
// The owning database creates the table with a migration holding Schema.
// The package imports only database/sql, so stores that must not import
// the registry (the pipeline engine, the build service) can use it.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Schema creates the events table; put it in a migration of the owning
// database.
//
//	events(id, subject, dedup_id, data, created)
//
// id orders events; subject is relative to the relay's prefix; dedup_id is
// the Nats-Msg-Id, the same for every publish of the same change; data is
// the message body; created is Unix milliseconds.
const Schema = `CREATE TABLE events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  subject  TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  data     BLOB NOT NULL,
  created  INTEGER NOT NULL
);`

// Message is an event waiting to be published.
type Message struct {
	ID      int64
	Subject string // relative to the relay's prefix
	DedupID string
	Data    []byte
}

// Execer is a transaction (or database) events are written with.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Insert writes an event in tx. Call Table.Notify after the commit.
func Insert(ctx context.Context, tx Execer, subject, dedupID string, data []byte) error {
	if subject == "" || dedupID == "" {
		return fmt.Errorf("outbox: an event needs a subject and a dedup id")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events(subject, dedup_id, data, created) VALUES (?, ?, ?, ?)`,
		subject, dedupID, data, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("outbox: insert: %w", err)
	}
	return nil
}

// Table is the events table of one database, read by a relay. It is safe
// for concurrent use.
type Table struct {
	db      *sql.DB
	writes  sync.Locker // held around MarkSent's deletes; nil: none
	changed chan struct{}
}

// New returns the events table of db (created by Schema).
func New(db *sql.DB) *Table {
	return &Table{db: db, changed: make(chan struct{}, 1)}
}

// NewLocked is New for an owner that serialises its own writes on
// writes: MarkSent holds it around its deletes, so the relay's writes
// queue with the owner's instead of waiting in SQLite's busy handler.
// Never call MarkSent while holding writes.
func NewLocked(db *sql.DB, writes sync.Locker) *Table {
	return &Table{db: db, writes: writes, changed: make(chan struct{}, 1)}
}

// Notify tells the relay that events were committed.
func (t *Table) Notify() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled after Notify.
func (t *Table) Changed() <-chan struct{} { return t.changed }

// Pending returns up to limit unpublished events, oldest first.
func (t *Table) Pending(ctx context.Context, limit int) ([]Message, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT id, subject, dedup_id, data FROM events ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: pending: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Subject, &m.DedupID, &m.Data); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MarkSent removes published events.
func (t *Table) MarkSent(ctx context.Context, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		q := `DELETE FROM events WHERE id IN (?` + strings.Repeat(",?", n-1) + `)`
		if err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("outbox: mark sent: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

func (t *Table) exec(ctx context.Context, q string, args ...any) error {
	if t.writes != nil {
		t.writes.Lock()
		defer t.writes.Unlock()
	}
	_, err := t.db.ExecContext(ctx, q, args...)
	return err
}

// Len returns how many events wait to be published.
func (t *Table) Len(ctx context.Context) (int, error) {
	var n int
	err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}
