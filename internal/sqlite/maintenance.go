package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// BlobRef is a blob row as the metadata knows it.
type BlobRef struct {
	SHA256     string
	Size       int64
	Referenced bool // some asset points at it
}

// Blobs returns every blob row keyed by sha256, with whether an asset
// references it.
func (d *DB) Blobs(ctx context.Context) (map[string]BlobRef, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT b.sha256, b.size, EXISTS (SELECT 1 FROM assets a WHERE a.sha256 = b.sha256) FROM blobs b`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: blobs: %w", err)
	}
	defer rows.Close()
	out := map[string]BlobRef{}
	for rows.Next() {
		var b BlobRef
		if err := rows.Scan(&b.SHA256, &b.Size, &b.Referenced); err != nil {
			return nil, err
		}
		out[b.SHA256] = b
	}
	return out, rows.Err()
}

// IsReferenced reports whether any asset references the blob.
func (d *DB) IsReferenced(ctx context.Context, sha string) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM assets WHERE sha256 = ?)`, sha).Scan(&n)
	return n == 1, err
}

// DropBlobRow deletes a blob row unless an asset references it, and
// reports whether it was deleted.
func (d *DB) DropBlobRow(ctx context.Context, sha string) (bool, error) {
	res, err := d.exec(ctx, `DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM assets WHERE sha256 = ?)`, sha, sha)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Check runs SQLite's integrity and foreign key checks and returns the
// problems found.
func (d *DB) Check(ctx context.Context) ([]string, error) {
	var problems []string
	rows, err := d.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		if s != "ok" {
			problems = append(problems, "integrity: "+s)
		}
	}
	rows.Close()
	rows, err = d.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		problems = append(problems, "foreign key: "+strings.Join(parts, " "))
	}
	return problems, rows.Err()
}
