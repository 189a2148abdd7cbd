package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/artifactd/registry/internal/pipeline"
)

// PipelineMeta is the metadata GetPipeline returns.
type PipelineMeta struct {
	ARN              string
	Created, Updated time.Time
}

// PipelineSummary is one entry of ListPipelines.
type PipelineSummary struct {
	Name                        string
	Version                     int
	PipelineType, ExecutionMode string
	Created, Updated            time.Time
}

// CreatePipeline validates d and stores it as version 1 of a new
// pipeline. It returns the stored declaration (defaults filled).
func (e *Engine) CreatePipeline(ctx context.Context, d pipeline.Declaration, tags []Tag) (pipeline.Declaration, error) {
	d = d.Normalize()
	d.Version = 1
	if err := pipeline.Validate(&d, e.Catalog()); err != nil {
		return d, err
	}
	if err := checkTags(tags); err != nil {
		return d, err
	}
	raw, _ := json.Marshal(d)
	tj, _ := json.Marshal(nonNil(tags))
	err := e.db.tx(ctx, func(tx *sql.Tx) error {
		now := e.nowMs()
		res, err := tx.ExecContext(ctx, `INSERT INTO pipelines(name, version, tags, created, updated) VALUES (?, 1, ?, ?, ?) ON CONFLICT(name) DO NOTHING`,
			d.Name, string(tj), now, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return pipeline.Errorf(pipeline.ErrPipelineNameInUse, "A pipeline with the name '%s' already exists in account '%s'", d.Name, e.opts.Account)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO pipeline_versions(pipeline, version, declaration, created) VALUES (?, 1, ?, ?)`, d.Name, string(raw), now)
		return err
	})
	if err != nil {
		return d, err
	}
	e.forget(d.Name) // a pipeline of the same name may have been deleted
	return e.redacted(d), nil
}

func checkTags(tags []Tag) error {
	if len(tags) > 50 {
		return pipeline.Errorf(pipeline.ErrInvalidTags, "a pipeline may have at most 50 tags, got %d", len(tags))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 {
			return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value at 'tags.%d.member.key' failed to satisfy constraint: Member must have length between 1 and 128", i+1)
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value at 'tags.%d.member.value' failed to satisfy constraint: Member must have length between 0 and 256", i+1)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return pipeline.Errorf(pipeline.ErrInvalidTags, "tags.%d.member.key: tag keys starting with 'aws:' are reserved", i+1)
		}
		if seen[t.Key] {
			return pipeline.Errorf(pipeline.ErrInvalidTags, "tags.%d.member.key: duplicate tag key '%s'", i+1, t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// GetPipeline returns a version of a pipeline (version 0: the current
// one) and the pipeline's metadata.
func (e *Engine) GetPipeline(ctx context.Context, name string, version int) (pipeline.Declaration, PipelineMeta, error) {
	p, err := loadPipeline(ctx, e.db.sql, name)
	if err != nil {
		return pipeline.Declaration{}, PipelineMeta{}, err
	}
	if version == 0 {
		version = p.Version
	}
	d, err := e.decl(ctx, e.db.sql, name, version)
	if err != nil {
		return pipeline.Declaration{}, PipelineMeta{}, err
	}
	return e.redacted(*d), PipelineMeta{ARN: e.pipelineARN(name), Created: time.UnixMilli(p.Created), Updated: time.UnixMilli(p.Updated)}, nil
}

// Tags returns the tags of a pipeline.
func (e *Engine) Tags(ctx context.Context, name string) ([]Tag, error) {
	p, err := loadPipeline(ctx, e.db.sql, name)
	return p.Tags, err
}

// UpdatePipeline validates d and stores it as the next version of the
// existing pipeline d.Name. Executions of older versions finish the stage
// they are in and then end Cancelled.
func (e *Engine) UpdatePipeline(ctx context.Context, d pipeline.Declaration) (pipeline.Declaration, error) {
	d = d.Normalize()
	if err := pipeline.Validate(&d, e.Catalog()); err != nil {
		return d, err
	}
	err := e.change(ctx, d.Name, func(tx *sql.Tx, fx *effects) error {
		p, err := loadPipeline(ctx, tx, d.Name)
		if err != nil {
			return err
		}
		old, err := e.decl(ctx, tx, d.Name, p.Version)
		if err != nil {
			return err
		}
		if err := e.keepSecrets(&d, old); err != nil {
			return err
		}
		d.Version = p.Version + 1
		raw, _ := json.Marshal(d)
		now := e.nowMs()
		if _, err := tx.ExecContext(ctx, `INSERT INTO pipeline_versions(pipeline, version, declaration, created) VALUES (?, ?, ?, ?)`,
			d.Name, d.Version, string(raw), now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE pipelines SET version = ?, updated = ? WHERE name = ?`, d.Version, now, d.Name)
		return err
	})
	return e.redacted(d), err
}

// DeletePipeline deletes a pipeline with its history, abandoning running
// actions. Deleting a pipeline that does not exist succeeds.
func (e *Engine) DeletePipeline(ctx context.Context, name string) error {
	err := e.change(ctx, name, func(tx *sql.Tx, fx *effects) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, external_id, input FROM action_executions WHERE pipeline = ? AND status = 'InProgress'`, name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, ext, in string
			if err := rows.Scan(&id, &ext, &in); err != nil {
				rows.Close()
				return err
			}
			fx.cancel = append(fx.cancel, id)
			fx.cancelTimers = append(fx.cancelTimers, id)
			var input actionInput
			json.Unmarshal([]byte(in), &input)
			if ext != "" && input.ActionTypeID.Provider == "CodeBuild" && e.opts.Builder != nil {
				fx.stopBuilds = append(fx.stopBuilds, ext)
			}
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `DELETE FROM action_executions WHERE pipeline = ?`, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pipelines WHERE name = ?`, name)
		return err
	})
	e.forget(name)
	return err
}

// ListPipelines returns up to limit pipelines by name, after the name
// after; next is the name to continue from ("" at the end).
func (e *Engine) ListPipelines(ctx context.Context, after string, limit int) (out []PipelineSummary, next string, err error) {
	rows, err := e.db.sql.QueryContext(ctx, `SELECT p.name, p.version, p.created, p.updated, v.declaration FROM pipelines p
		JOIN pipeline_versions v ON v.pipeline = p.name AND v.version = p.version WHERE p.name > ? ORDER BY p.name LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var s PipelineSummary
		var created, updated int64
		var raw string
		if err := rows.Scan(&s.Name, &s.Version, &created, &updated, &raw); err != nil {
			return nil, "", err
		}
		var d pipeline.Declaration
		json.Unmarshal([]byte(raw), &d)
		s.PipelineType, s.ExecutionMode = d.PipelineType, d.ExecutionMode
		s.Created, s.Updated = time.UnixMilli(created), time.UnixMilli(updated)
		out = append(out, s)
	}
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Name
	}
	return out, next, rows.Err()
}

// SetTransition enables or disables the Inbound or Outbound transition of
// a stage. Disabling needs a reason; by is the caller's ARN.
func (e *Engine) SetTransition(ctx context.Context, name, stage, direction string, enabled bool, reason, by string) error {
	return e.change(ctx, name, func(tx *sql.Tx, fx *effects) error {
		p, err := loadPipeline(ctx, tx, name)
		if err != nil {
			return err
		}
		d, err := e.decl(ctx, tx, name, p.Version)
		if err != nil {
			return err
		}
		if s, _ := d.Stage(stage); s == nil {
			return pipeline.Errorf(pipeline.ErrStageNotFound, "Stage '%s' does not exist in pipeline '%s'", stage, name)
		}
		if direction != "Inbound" && direction != "Outbound" {
			return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'transitionType' failed to satisfy constraint: Member must satisfy enum value set: [Inbound, Outbound]", direction)
		}
		if enabled {
			reason = ""
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO transitions(pipeline, stage, direction, enabled, reason, changed_by, changed_at) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT(pipeline, stage, direction) DO UPDATE SET enabled = excluded.enabled, reason = excluded.reason,
			changed_by = excluded.changed_by, changed_at = excluded.changed_at`, name, stage, direction, enabled, reason, by, e.nowMs())
		return err
	})
}
