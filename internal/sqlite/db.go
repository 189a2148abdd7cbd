// Package sqlite is the registry's metadata store: one SQLite database in
// WAL mode, with versioned migrations embedded in the binary.
//
// Every change is one transaction; a publish references blobs that are
// already committed to the blob store, so a crash at any point leaves either
// the whole change or none of it. It imports internal/domain and the SQLite
// driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/artifactd/registry/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the metadata store. It is safe for concurrent use.
type DB struct {
	db *sql.DB // writes take the lock at BEGIN (IMMEDIATE): no upgrade deadlocks
	ro *sql.DB // read-only snapshots (deferred BEGIN), for multi-statement reads

	account  string        // written into events
	eventsCh chan struct{} // signalled after commits that wrote events

	// writer admits one write at a time: SQLite allows one writer, and a
	// writer waiting in its busy handler sleeps (1 to 100 ms) instead of
	// starting when the previous commit ends, which under a burst of
	// publishes made the tail of a publish hundreds of milliseconds.
	writer chan struct{}

	groups groupCache // package groups per domain (groups.go)
	cache  *readCache // answers of per-request reads (readcache.go)
}

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	// The database holds access key secrets: sqlitedb creates it private.
	// Migrations run in plain transactions, without event processing.
	sdb, err := sqlitedb.Open(ctx, path, migrations, "migrations", sqlitedb.MaxOpenConns(8))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ro, err := sqlitedb.OpenReadOnly(path)
	if err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ro.SetMaxOpenConns(16)
	return &DB{db: sdb, ro: ro, eventsCh: make(chan struct{}, 1), cache: newReadCache(), writer: make(chan struct{}, 1)}, nil
}

// Close closes the database.
func (d *DB) Close() error {
	err := d.ro.Close()
	if err2 := d.db.Close(); err == nil {
		err = err2
	}
	return err
}

// ReleaseIdle closes the connections that no one is using (each holds its
// own page cache and parsed schema, up to a few hundred KiB of C heap);
// the pools open new ones when asked. For a server that has gone idle.
func (d *DB) ReleaseIdle() {
	sqlitedb.CloseIdle(d.db)
	sqlitedb.CloseIdle(d.ro)
}

// SQL exposes the handle for packages of this module's tests and tools
// (fsck); callers outside must not write through it.
func (d *DB) SQL() *sql.DB { return d.db }

// tx runs fn in a write transaction, committing if it returns nil. The
// package-version changes fn made become outbox events in the same
// transaction (see flushEvents).
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := d.rawTx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return d.flushEvents(ctx, tx)
	})
	if err == nil {
		select { // wake the relay; it finds nothing if no event was written
		case d.eventsCh <- struct{}{}:
		default:
		}
	}
	return err
}

// rawTx runs fn in a write transaction without event processing.
func (d *DB) rawTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := d.lockWriter(ctx); err != nil {
		return err
	}
	defer d.unlockWriter()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	// Even a failed commit may have changed the database.
	defer d.changed()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// lockWriter waits for the write turn, or for ctx to end.
func (d *DB) lockWriter(ctx context.Context) error {
	select {
	case d.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sqlite: waiting to write: %w", ctx.Err())
	}
}

func (d *DB) unlockWriter() { <-d.writer }

// Meta returns the value stored under key, or "" if none.
func (d *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// SetMetaIfAbsent stores value under key unless a value exists, and returns
// the value now stored.
func (d *DB) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := d.exec(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)`, key, value); err != nil {
		return "", fmt.Errorf("sqlite: meta %s: %w", key, err)
	}
	return d.Meta(ctx, key)
}

func now() int64 { return time.Now().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
