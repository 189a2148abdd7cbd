package build

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

// store is builds.db: SQLite in WAL mode, synchronous=FULL, so a phase
// transition written before the phase starts survives a crash.
type store struct{ db *sql.DB }

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlitedb.Open(ctx, path, migrations, "migrations", sqlitedb.ForeignKeys(false))
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := sqlitedb.Tx(ctx, s.db, fn); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return nil
}

func (s *store) createProject(ctx context.Context, p Project) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO projects(name, doc, created_ms, modified_ms) VALUES (?, ?, ?, ?)`,
		p.Name, string(doc), p.Created.UnixMilli(), p.LastModified.UnixMilli())
	if sqlitedb.IsUnique(err) {
		return errorf(ErrExists, "Project already exists: %s", p.Name)
	}
	return err
}

// updateProject applies fn to the stored project in one transaction.
func (s *store) updateProject(ctx context.Context, name string, fn func(*Project) error) (Project, error) {
	var p Project
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var doc string
		err := tx.QueryRowContext(ctx, `SELECT doc FROM projects WHERE name = ?`, name).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "Project cannot be found: %s", name)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(doc), &p); err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET doc = ?, modified_ms = ? WHERE name = ?`, string(b), p.LastModified.UnixMilli(), name)
		return err
	})
	return p, err
}

func (s *store) deleteProject(ctx context.Context, name string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM projects WHERE name = ?`, name)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (s *store) project(ctx context.Context, name string) (Project, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM projects WHERE name = ?`, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, errorf(ErrNotFound, "Project cannot be found: %s", name)
	}
	if err != nil {
		return Project{}, err
	}
	var p Project
	return p, json.Unmarshal([]byte(doc), &p)
}

func (s *store) projects(ctx context.Context) ([]Project, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM projects ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var p Project
		if err := json.Unmarshal([]byte(doc), &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// insertBuild numbers b (the project's next build number) and stores it.
func (s *store) insertBuild(ctx context.Context, b *Build, events func(b *Build) []Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `INSERT INTO counters(project, last) VALUES (?, 1)
			ON CONFLICT(project) DO UPDATE SET last = last + 1 RETURNING last`, b.Project).Scan(&last)
		if err != nil {
			return err
		}
		b.Number = last
		doc, err := json.Marshal(b)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO builds(id, project, number, start_ms, complete, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			b.ID, b.Project, b.Number, b.StartTime.UnixMilli(), b.Complete, string(doc))
		if err != nil {
			return err
		}
		return record(ctx, tx, events(b))
	})
}

// saveBuild writes the current state of b and, in the same transaction,
// the events of the change.
func (s *store) saveBuild(ctx context.Context, b *Build, evs []Event) error {
	doc, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE builds SET complete = ?, doc = ? WHERE id = ?`, b.Complete, string(doc), b.ID); err != nil {
			return err
		}
		return record(ctx, tx, evs)
	})
}

func (s *store) build(ctx context.Context, id string) (Build, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM builds WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Build{}, errorf(ErrNotFound, "Build cannot be found: %s", id)
	}
	if err != nil {
		return Build{}, err
	}
	var b Build
	return b, json.Unmarshal([]byte(doc), &b)
}

// buildIDs lists build ids, newest first unless ascending, of one project
// or (project "") of all.
func (s *store) buildIDs(ctx context.Context, project string, ascending bool) ([]string, error) {
	order := "DESC"
	if ascending {
		order = "ASC"
	}
	q := `SELECT id FROM builds ORDER BY start_ms ` + order + `, number ` + order
	args := []any{}
	if project != "" {
		q = `SELECT id FROM builds WHERE project = ? ORDER BY start_ms ` + order + `, number ` + order
		args = append(args, project)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// incomplete returns the builds not marked complete.
func (s *store) incomplete(ctx context.Context) ([]Build, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM builds WHERE complete = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Build
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var b Build
		if err := json.Unmarshal([]byte(doc), &b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
