package secrets

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

// Options configures Open.
type Options struct {
	// Path is the SQLite database file (secrets.db in the data directory).
	Path string
	// KeyFile is the AES key file (secrets.key), created if missing.
	KeyFile string
	// Region and Account go into the ARNs of parameters and secrets.
	Region, Account string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store keeps SSM parameters and Secrets Manager secrets, encrypted at
// rest. It is safe for concurrent use.
type Store struct {
	db              *sql.DB
	seal            *sealer
	region, account string
	now             func() time.Time
}

// Open opens (creating if needed) the store and its key file.
func Open(ctx context.Context, o Options) (*Store, error) {
	key, err := loadKey(o.KeyFile)
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.Open(ctx, o.Path, migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	s := &Store{db: db, seal: seal, region: o.Region, account: o.Account, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// tx runs fn in a write transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := sqlitedb.Tx(ctx, s.db, fn); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
