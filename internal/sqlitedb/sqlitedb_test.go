package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// files builds a migrations directory "m" from name/SQL pairs.
func files(kv ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		fsys["m/"+kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return fsys
}

// openTable opens a new database in a temporary directory with one
// migration creating table t, and closes it when the test ends.
func openTable(t *testing.T, opts ...Option) (path string, db *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "x.db")
	db, err := Open(context.Background(), path, files("0001_init.sql", `CREATE TABLE t (id INTEGER PRIMARY KEY)`), "m", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return path, db
}

func versions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatalf("pragma %s: %v", name, err)
	}
	return v
}

func TestOpenSettings(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        []Option
		foreignKeys string
	}{
		{"default", nil, "1"},
		{"no foreign keys", []Option{ForeignKeys(false)}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, db := openTable(t, tc.opts...)
			db.SetMaxOpenConns(1) // PRAGMA values are per connection
			for name, want := range map[string]string{
				"journal_mode": "wal",
				"synchronous":  "2", // FULL
				"busy_timeout": "10000",
				"foreign_keys": tc.foreignKeys,
			} {
				if got := pragma(t, db, name); got != want {
					t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("file mode %o, want 600", mode)
			}
		})
	}
}

func TestOpenImmediateTx(t *testing.T) {
	ctx := context.Background()
	path, db := openTable(t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// BEGIN IMMEDIATE holds the write lock before any statement runs, so a
	// second writer that does not wait fails at once.
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`INSERT INTO t(id) VALUES (1)`); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("write during an open transaction: err = %v, want database is locked", err)
	}
}

func TestMigrationsInVersionOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	// 10 sorts before 9 by name; 10 needs the table 9 creates.
	fsys := files(
		"10_add.sql", `ALTER TABLE t ADD COLUMN b TEXT`,
		"9_create.sql", `CREATE TABLE t (a TEXT)`,
		"0001_first.sql", `CREATE TABLE first (x INTEGER)`,
		"README", `not a migration`,
	)
	db, err := Open(ctx, path, fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions(t, db), []int{1, 9, 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	if _, err := db.Exec(`INSERT INTO t(a, b) VALUES ('x', 'y')`); err != nil {
		t.Errorf("schema after migrations: %v", err)
	}
	db.Close()

	// Reopening applies nothing twice (each ALTER would fail), and a new
	// migration is applied on its own.
	fsys["m/0011_more.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE more (y INTEGER)`)}
	db, err = Open(ctx, path, fsys, "m")
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got, want := versions(t, db), []int{1, 9, 10, 11}; !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen applied %v, want %v", got, want)
	}
}

// TestExistingDatabase opens a database migrated by the stores' earlier
// code: the same table, version 1 recorded, its schema present.
func TestExistingDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`CREATE TABLE t (id INTEGER PRIMARY KEY)`,
		`INSERT INTO schema_migrations(version, applied_at) VALUES (1, 1700000000000)`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	db, err := Open(ctx, path, files(
		"0001_init.sql", `CREATE TABLE t (id INTEGER PRIMARY KEY)`,
		"0002_more.sql", `CREATE TABLE u (id INTEGER PRIMARY KEY)`,
	), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := versions(t, db), []int{1, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	_, err := Open(ctx, path, files(
		"0001_ok.sql", `CREATE TABLE ok (id INTEGER)`,
		"0002_bad.sql", `CREATE TABLE half (id INTEGER); SELECT * FROM missing;`,
		"0003_later.sql", `CREATE TABLE later (id INTEGER)`,
	), "m")
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("err = %v, want one naming 0002_bad.sql", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := versions(t, db), []int{1}; !reflect.DeepEqual(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	for _, table := range []string{"half", "later"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("table %s exists after the failed migration", table)
		}
	}
}

func TestBadMigrationNames(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"no version", files("init.sql", `SELECT 1`), "bad name"},
		{"duplicate version", files("0001_a.sql", `SELECT 1`, "1_b.sql", `SELECT 1`), "already used"},
		{"missing directory", fstest.MapFS{}, "migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db, err := Open(ctx, path, tc.fsys, "m")
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	path, db := openTable(t)
	if _, err := db.Exec(`INSERT INTO t(id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Errorf("read: n = %d, err = %v; want 1, nil", n, err)
	}
	if _, err := ro.Exec(`INSERT INTO t(id) VALUES (2)`); err == nil {
		t.Error("write through the read-only handle succeeded")
	}
}

func TestTxAndIsUnique(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = Tx(ctx, db, func(tx *sql.Tx) error {
		tx.Exec(`INSERT INTO t VALUES ('a', 'x')`)
		return boom
	})
	var n int
	db.QueryRow(`SELECT count(*) FROM t`).Scan(&n)
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("a failed fn must roll back and return its error: %v, %d rows", err, n)
	}
	if err := Tx(ctx, db, func(tx *sql.Tx) error { _, err := tx.Exec(`INSERT INTO t VALUES ('a', 'x')`); return err }); err != nil {
		t.Fatal(err)
	}
	_, errKey := db.Exec(`INSERT INTO t VALUES ('a', 'y')`)
	_, errUnique := db.Exec(`INSERT INTO t VALUES ('b', 'x')`)
	_, errOther := db.Exec(`INSERT INTO nope VALUES (1)`)
	if !IsUnique(errKey) || !IsUnique(errUnique) || IsUnique(errOther) || IsUnique(nil) {
		t.Fatalf("IsUnique: key %v, unique %v, other %v", errKey, errUnique, errOther)
	}
}

func TestCloseIdle(t *testing.T) {
	_, db := openTable(t)
	// two rows open at once hold two connections; closed, both go idle
	r1, err := db.Query(`SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := db.Query(`SELECT 2`)
	if err != nil {
		t.Fatal(err)
	}
	r1.Close()
	r2.Close()
	if idle := db.Stats().Idle; idle != 2 {
		t.Fatalf("%d idle connections before, want 2", idle)
	}
	CloseIdle(db)
	if s := db.Stats(); s.Idle != 0 || s.OpenConnections != 0 {
		t.Fatalf("after CloseIdle: %d idle of %d open", s.Idle, s.OpenConnections)
	}
	// the pool opens again, and keeps idle connections again
	if _, err := db.Exec(`INSERT INTO t(id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if idle := db.Stats().Idle; idle != 1 {
		t.Errorf("%d idle connections after a statement, want 1", idle)
	}
}
