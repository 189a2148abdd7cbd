package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/sqlitedb"
)

// token encodes the sort key of the last row of a page.
func token(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func untoken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", domain.Invalid("nextToken is not valid")
	}
	return string(b), nil
}

func isUnique(err error) bool { return sqlitedb.IsUnique(err) }

func newRevision() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToUpper(fmt.Sprintf("%x", b[:]))
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func domainID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM domains WHERE name = ?`, name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, domain.NotFound("domain", name)
	}
	return id, err
}

func repoID(ctx context.Context, q querier, dom, repo string) (int64, error) {
	if _, err := domainID(ctx, q, dom); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT r.id FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.name = ? AND r.name = ?`, dom, repo).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, domain.NotFound("repository", repo)
	}
	return id, err
}
