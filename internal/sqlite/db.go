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
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the metadata store. It is safe for concurrent use.
type DB struct {
	db *sql.DB // writes take the lock at BEGIN (IMMEDIATE): no upgrade deadlocks
	ro *sql.DB // read-only snapshots (deferred BEGIN), for multi-statement reads

	account  string        // written into events
	eventsCh chan struct{} // signalled after commits that wrote events
}

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	// The database holds access key secrets: create it private; SQLite gives
	// its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	d := &DB{db: sdb, eventsCh: make(chan struct{}, 1)}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_foreign_keys=on&_txlock=deferred&_query_only=true")
	if err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ro.SetMaxOpenConns(16)
	d.ro = ro
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error {
	err := d.ro.Close()
	if err2 := d.db.Close(); err == nil {
		err = err2
	}
	return err
}

// SQL exposes the handle for packages of this module's tests and tools
// (fsck); callers outside must not write through it.
func (d *DB) SQL() *sql.DB { return d.db }

func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: bad name", e.Name())
		}
		body, err := fs.ReadFile(migrations, "migrations/"+e.Name())
		if err != nil {
			return err
		}
		err = d.rawTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", e.Name(), err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, now())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
	}
	return nil
}

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

// rawTx runs fn in a write transaction without event processing (for
// migrations).
func (d *DB) rawTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

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
	if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)`, key, value); err != nil {
		return "", fmt.Errorf("sqlite: meta %s: %w", key, err)
	}
	return d.Meta(ctx, key)
}

func now() int64 { return time.Now().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
