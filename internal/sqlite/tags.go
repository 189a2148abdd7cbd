package sqlite

import (
	"context"
	"database/sql"

	"github.com/artifactd/registry/internal/domain"
)

// MaxTags is the most tags a resource may carry.
const MaxTags = 200

// TagResource adds or replaces tags on the resource named by arn. The
// caller has checked that the resource exists.
func (d *DB) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		for k, v := range tags {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO resource_tags(arn, key, value) VALUES (?, ?, ?)`, arn, k, v); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resource_tags WHERE arn = ?`, arn).Scan(&n); err != nil {
			return err
		}
		if n > MaxTags {
			return domain.Errorf(domain.ErrQuotaExceeded, "a resource can have at most %d tags", MaxTags)
		}
		return nil
	})
}

// UntagResource removes tags by key; missing keys are ignored.
func (d *DB) UntagResource(ctx context.Context, arn string, keys []string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM resource_tags WHERE arn = ? AND key = ?`, arn, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Tags returns the tags of a resource, sorted by key.
func (d *DB) Tags(ctx context.Context, arn string) ([][2]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT key, value FROM resource_tags WHERE arn = ? ORDER BY key`, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var kv [2]string
		if err := rows.Scan(&kv[0], &kv[1]); err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, rows.Err()
}

// DropTags removes every tag of a deleted resource.
func (d *DB) DropTags(ctx context.Context, arn string) error {
	_, err := d.exec(ctx, `DELETE FROM resource_tags WHERE arn = ?`, arn)
	return err
}

// DropTagsPrefix removes every tag of the resources whose ARN starts with
// prefix (the package groups of a deleted domain).
func (d *DB) DropTagsPrefix(ctx context.Context, prefix string) error {
	_, err := d.exec(ctx, `DELETE FROM resource_tags WHERE substr(arn, 1, length(?)) = ?`, prefix, prefix)
	return err
}
