// Package sqlitedb opens the SQLite database files this module's stores keep
// (builds.db, pipelines.db, secrets.db, the registry's metadata database)
// and brings their schema up to date.
//
// A database is opened in WAL mode with synchronous=FULL, a 10 s busy
// timeout, foreign keys enforced and write transactions that take the lock
// at BEGIN (IMMEDIATE), so they never deadlock upgrading a read lock. The
// file is created with mode 0600; SQLite gives its -wal and -shm files the
// same mode.
//
// Migrations are SQL files named NNNN_description.sql. Each is applied once,
// in version order, in its own transaction that also records the version in
// the table
//
//	schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)
//
// with applied_at in Unix milliseconds.
//
// The package knows nothing of what the databases hold: it imports only the
// standard library and the SQLite driver, so any package may use it.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // also the database/sql driver "sqlite3"
)

// busyTimeout is how long, in milliseconds, a statement waits for a lock
// held by another connection before failing with SQLITE_BUSY.
const busyTimeout = "10000"

// An Option changes how Open opens a database.
type Option func(*options)

type options struct {
	maxOpenConns int
	foreignKeys  bool
}

// MaxOpenConns limits the pool of the handle Open returns to n connections
// (default 4).
func MaxOpenConns(n int) Option { return func(o *options) { o.maxOpenConns = n } }

// ForeignKeys sets whether SQLite enforces foreign key constraints (default
// true).
func ForeignKeys(on bool) Option { return func(o *options) { o.foreignKeys = on } }

// Open opens the database file at path for reading and writing, creating it
// with mode 0600 if it does not exist, and applies the migrations in the
// directory dir of migrations that are not yet recorded in
// schema_migrations. The caller owns the returned handle and must Close it.
func Open(ctx context.Context, path string, migrations fs.FS, dir string, opts ...Option) (*sql.DB, error) {
	o := options{maxOpenConns: 4, foreignKeys: true}
	for _, opt := range opts {
		opt(&o)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	f.Close()
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=" + busyTimeout
	if o.foreignKeys {
		dsn += "&_foreign_keys=on"
	}
	dsn += "&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.maxOpenConns)
	if err := Migrate(ctx, db, migrations, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	return db, nil
}

// CloseIdle closes db's idle connections and restores database/sql's
// default of keeping two: a pool keeps the connections of its last burst
// open, and a SQLite connection holds its page cache (up to 2 MiB by
// default) and its parsed schema in the C heap for as long as it is open.
func CloseIdle(db *sql.DB) {
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(2)
}

// OpenReadOnly opens a second, read-only handle on a database that Open has
// already created and migrated. Its transactions begin DEFERRED, so a
// multi-statement read sees one snapshot without taking the write lock. The
// pool is unlimited unless the caller limits it.
func OpenReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout="+busyTimeout+"&_foreign_keys=on&_txlock=deferred&_query_only=true")
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	return db, nil
}

// Migrate applies the migrations in the directory dir of migrations that
// are not yet recorded in db's schema_migrations table, in version order,
// each in its own transaction. A file's version is the number before the
// first "_" of its name; files not ending in ".sql" are ignored. It fails,
// applying nothing, if a name has no version or two files share one.
func Migrate(ctx context.Context, db *sql.DB, migrations fs.FS, dir string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	list, err := scan(migrations, dir)
	if err != nil {
		return err
	}
	for _, m := range list {
		body, err := fs.ReadFile(migrations, path.Join(dir, m.name))
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := apply(ctx, db, m, string(body)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// migration is one file of a migrations directory.
type migration struct {
	version int
	name    string
}

// scan lists the migrations in dir, in version order.
func scan(migrations fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var list []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", e.Name())
		}
		if other, ok := seen[v]; ok {
			return nil, fmt.Errorf("migration %s: version %d already used by %s", e.Name(), v, other)
		}
		seen[v] = e.Name()
		list = append(list, migration{version: v, name: e.Name()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

// apply runs the migration m with SQL body in one transaction, unless its
// version is already recorded.
func apply(ctx context.Context, db *sql.DB, m migration, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("apply %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, m.version, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("record %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", m.name, err)
	}
	return nil
}

// Tx runs fn in one transaction of db: committed when fn returns nil,
// rolled back otherwise (fn's error returned as is).
func Tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUnique reports whether err is a UNIQUE or PRIMARY KEY constraint
// violation.
func IsUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}
