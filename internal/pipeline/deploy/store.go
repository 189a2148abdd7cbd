package deploy

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/artifactd/registry/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// store is deployments.db. Every row holds its object as a JSON document
// (the wire shape); the other columns are keys and indexes.
type store struct{ db *sql.DB }

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlitedb.Open(ctx, path, migrations, "migrations", sqlitedb.ForeignKeys(false))
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func isUnique(err error) bool { return sqlitedb.IsUnique(err) }

// get reads the document of the row where = args into v; false if none.
func (s *store) get(ctx context.Context, v any, query string, args ...any) (bool, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(doc), v)
}

// list reads the documents query returns, decoding each with add.
func (s *store) list(ctx context.Context, add func([]byte) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return err
		}
		if err := add([]byte(doc)); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *store) names(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func doc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the model types always marshal
	}
	return string(b)
}

// storedDeployment is a deployments row: the wire document and what only
// the service needs.
type storedDeployment struct {
	Deployment
	GroupID string `json:"groupId"`
	// Bundle is the unpacked revision's directory.
	Bundle string `json:"bundle,omitempty"`
}

func (s *store) saveDeployment(ctx context.Context, d *Deployment, insert bool) error {
	sd := storedDeployment{Deployment: *d, GroupID: d.GroupID, Bundle: d.Bundle}
	if insert {
		_, err := s.exec(ctx, `INSERT INTO deployments(id, application, deployment_group, create_ms, status, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			d.DeploymentID, d.ApplicationName, d.DeploymentGroupName, d.CreateTime.Time().UnixMilli(), d.Status, doc(sd))
		return err
	}
	_, err := s.exec(ctx, `UPDATE deployments SET status = ?, doc = ? WHERE id = ?`, d.Status, doc(sd), d.DeploymentID)
	return err
}

func (s *store) deployment(ctx context.Context, id string) (*Deployment, error) {
	var sd storedDeployment
	ok, err := s.get(ctx, &sd, `SELECT doc FROM deployments WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(ErrNotFound, "Deployment", "Deployment %s does not exist", id)
	}
	d := sd.Deployment
	d.GroupID, d.Bundle = sd.GroupID, sd.Bundle
	return &d, nil
}

func (s *store) saveTarget(ctx context.Context, t *Target) error {
	_, err := s.exec(ctx, `INSERT INTO targets(deployment_id, instance, doc) VALUES (?, ?, ?)
		ON CONFLICT(deployment_id, instance) DO UPDATE SET doc = excluded.doc`, t.DeploymentID, t.Instance, doc(t))
	return err
}

func (s *store) targets(ctx context.Context, id string) ([]Target, error) {
	var out []Target
	err := s.list(ctx, func(b []byte) error {
		var t Target
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	}, `SELECT doc FROM targets WHERE deployment_id = ? ORDER BY instance`, id)
	return out, err
}
