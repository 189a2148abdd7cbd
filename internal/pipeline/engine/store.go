package engine

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// db is the engine's own SQLite database (pipelines.db): WAL, writes take
// the lock at BEGIN (IMMEDIATE) so transactions never deadlock upgrading.
//
// Every write of this process holds writes (the outbox's deletes too), so
// writers queue on a Go mutex, handed over the moment the previous commit
// is done, instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10,
// ... up to 100 ms between retries: under load those sleeps were the
// tail of event-to-start latency. Lock order: a pipeline's lock, then
// writes.
type db struct {
	sql    *sql.DB
	ro     *sql.DB // read-only snapshots (deferred BEGIN)
	writes sync.Mutex
}

func openDB(ctx context.Context, path string) (*db, error) {
	s, err := sqlitedb.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	ro, err := sqlitedb.OpenReadOnly(path)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return &db{sql: s, ro: ro}, nil
}

func (d *db) close() error {
	err := d.ro.Close()
	if err2 := d.sql.Close(); err == nil {
		err = err2
	}
	return err
}

// tx runs fn in a write transaction, committing if it returns nil.
func (d *db) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	d.writes.Lock()
	defer d.writes.Unlock()
	if err := sqlitedb.Tx(ctx, d.sql, fn); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// exec runs one write statement outside a transaction.
func (d *db) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.writes.Lock()
	defer d.writes.Unlock()
	return d.sql.ExecContext(ctx, query, args...)
}

// querier is what reads need: the database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func nextSeq(ctx context.Context, q querier) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value`).Scan(&v)
	return v, err
}

// pipelineRow is a pipeline's current version and metadata.
type pipelineRow struct {
	Name             string
	Version          int
	Tags             []Tag
	Created, Updated int64
}

// Tag is a resource tag of a pipeline.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func notFound(name string) error {
	return pipeline.Errorf(pipeline.ErrPipelineNotFound, "Account does not have a pipeline with name '%s'", name)
}

func loadPipeline(ctx context.Context, q querier, name string) (pipelineRow, error) {
	var p pipelineRow
	var tags string
	err := q.QueryRowContext(ctx, `SELECT name, version, tags, created, updated FROM pipelines WHERE name = ?`, name).
		Scan(&p.Name, &p.Version, &tags, &p.Created, &p.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound(name)
	}
	if err != nil {
		return p, err
	}
	json.Unmarshal([]byte(tags), &p.Tags)
	return p, nil
}

func loadDeclaration(ctx context.Context, q querier, name string, version int) (*pipeline.Declaration, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT declaration FROM pipeline_versions WHERE pipeline = ? AND version = ?`, name, version).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pipeline.Errorf(pipeline.ErrPipelineVersionNotFound, "Pipeline '%s' has no version %d", name, version)
	}
	if err != nil {
		return nil, err
	}
	var d pipeline.Declaration
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, fmt.Errorf("pipeline: stored declaration %s v%d: %w", name, version, err)
	}
	return &d, nil
}

// transition is the state of one stage transition.
type transition struct {
	Enabled   bool
	Reason    string
	ChangedBy string
	ChangedAt int64
}

// transitionKey is a stage and a direction (Inbound, Outbound).
type transitionKey struct{ Stage, Direction string }

func loadTransitions(ctx context.Context, q querier, name string) (map[transitionKey]transition, error) {
	rows, err := q.QueryContext(ctx, `SELECT stage, direction, enabled, reason, changed_by, changed_at FROM transitions WHERE pipeline = ?`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[transitionKey]transition{}
	for rows.Next() {
		var k transitionKey
		var t transition
		if err := rows.Scan(&k.Stage, &k.Direction, &t.Enabled, &t.Reason, &t.ChangedBy, &t.ChangedAt); err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, rows.Err()
}

// execRow is a pipeline execution.
type execRow struct {
	ID, Pipeline               string
	Seq                        int64
	Version                    int
	Mode, Status, Summary      string
	TriggerType, TriggerDetail string
	Variables                  []ResolvedVariable
	Source                     execSource
	ClientToken                string
	StageIndex                 int
	Waiting                    bool
	WaitSeq                    int64
	StopMode, StopReason       string
	Started, Updated           int64
	dirty                      bool // in-memory: needs saving
}

// execSource is what started an execution: for a package event, the
// CodeArtifact Source actions it matched and the version.
type execSource struct {
	Actions []string               `json:"actions,omitempty"`
	Event   *pipeline.PackageEvent `json:"event,omitempty"`
}

const execCols = `id, pipeline, seq, version, mode, status, summary, trigger_type, trigger_detail, variables, source, client_token,
	stage_index, waiting, wait_seq, stop_mode, stop_reason, started, updated`

func scanExec(sc interface{ Scan(...any) error }) (*execRow, error) {
	var x execRow
	var vars, src string
	err := sc.Scan(&x.ID, &x.Pipeline, &x.Seq, &x.Version, &x.Mode, &x.Status, &x.Summary, &x.TriggerType, &x.TriggerDetail,
		&vars, &src, &x.ClientToken, &x.StageIndex, &x.Waiting, &x.WaitSeq, &x.StopMode, &x.StopReason, &x.Started, &x.Updated)
	if err != nil {
		return nil, err
	}
	json.Unmarshal([]byte(vars), &x.Variables)
	json.Unmarshal([]byte(src), &x.Source)
	return &x, nil
}

func insertExec(ctx context.Context, q querier, x *execRow) error {
	vars, _ := json.Marshal(nonNil(x.Variables))
	src, _ := json.Marshal(x.Source)
	_, err := q.ExecContext(ctx, `INSERT INTO executions(`+execCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.Pipeline, x.Seq, x.Version, x.Mode, x.Status, x.Summary, x.TriggerType, x.TriggerDetail, string(vars), string(src),
		x.ClientToken, x.StageIndex, x.Waiting, x.WaitSeq, x.StopMode, x.StopReason, x.Started, x.Updated)
	return err
}

// saveExec writes the mutable columns of an execution.
func saveExec(ctx context.Context, q querier, x *execRow) error {
	_, err := q.ExecContext(ctx, `UPDATE executions SET status = ?, summary = ?, stage_index = ?, waiting = ?, wait_seq = ?, stop_mode = ?,
		stop_reason = ?, updated = ? WHERE id = ?`,
		x.Status, x.Summary, x.StageIndex, x.Waiting, x.WaitSeq, x.StopMode, x.StopReason, x.Updated, x.ID)
	x.dirty = false
	return err
}

func loadExec(ctx context.Context, q querier, pipelineName, id string) (*execRow, error) {
	x, err := scanExec(q.QueryRowContext(ctx, `SELECT `+execCols+` FROM executions WHERE id = ? AND pipeline = ?`, id, pipelineName))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pipeline.Errorf(pipeline.ErrPipelineExecutionNotFound, "Pipeline execution '%s' of pipeline '%s' does not exist", id, pipelineName)
	}
	return x, err
}

func loadActiveExecs(ctx context.Context, q querier, pipelineName string) ([]*execRow, error) {
	return queryExecs(ctx, q, `SELECT `+execCols+` FROM executions WHERE pipeline = ? AND status IN ('InProgress', 'Stopping') ORDER BY seq`, pipelineName)
}

// queryExecs runs a query selecting execCols and scans every row.
func queryExecs(ctx context.Context, q querier, query string, args ...any) ([]*execRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*execRow
	for rows.Next() {
		x, err := scanExec(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// loadMovableExecs returns the pipeline's active executions that are
// waiting before a stage or whose ids are in touched, ordered by seq: the
// ones a scheduling round can move when no rule compares an execution
// with the others (PARALLEL). It reads no other execution, so its cost
// does not grow with the executions in flight.
func loadMovableExecs(ctx context.Context, q querier, pipelineName string, touched map[string]bool) ([]*execRow, error) {
	query := `SELECT ` + execCols + ` FROM executions WHERE pipeline = ? AND waiting = 1 AND status IN ('InProgress', 'Stopping')`
	args := []any{pipelineName}
	if len(touched) > 0 {
		query += ` UNION SELECT ` + execCols + ` FROM executions WHERE id IN (?` + strings.Repeat(",?", len(touched)-1) + `)
			AND pipeline = ? AND status IN ('InProgress', 'Stopping')`
		for id := range touched {
			args = append(args, id)
		}
		args = append(args, pipelineName)
	}
	return queryExecs(ctx, q, query+` ORDER BY seq`, args...)
}

// stageRow is one stage of one execution.
type stageRow struct {
	ExecutionID, Stage, Status string
	EnteredSeq                 int64
	Attempt, BaseAttempt       int
	Started, Updated           int64
}

func loadStage(ctx context.Context, q querier, execID, stage string) (*stageRow, error) {
	var s stageRow
	err := q.QueryRowContext(ctx, `SELECT execution_id, stage, status, entered_seq, attempt, base_attempt, started, updated
		FROM stage_executions WHERE execution_id = ? AND stage = ?`, execID, stage).
		Scan(&s.ExecutionID, &s.Stage, &s.Status, &s.EnteredSeq, &s.Attempt, &s.BaseAttempt, &s.Started, &s.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &s, err
}

func saveStage(ctx context.Context, q querier, s *stageRow) error {
	_, err := q.ExecContext(ctx, `INSERT INTO stage_executions(execution_id, stage, status, entered_seq, attempt, base_attempt, started, updated)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(execution_id, stage) DO UPDATE SET status = excluded.status, entered_seq = excluded.entered_seq,
		attempt = excluded.attempt, base_attempt = excluded.base_attempt, updated = excluded.updated`,
		s.ExecutionID, s.Stage, s.Status, s.EnteredSeq, s.Attempt, s.BaseAttempt, s.Started, s.Updated)
	return err
}

// actionRow is one run of an action.
type actionRow struct {
	N                          int64
	ID, ExecutionID, Pipeline  string
	Version                    int
	Stage, Action              string
	RunOrder, Attempt          int
	Status, Summary, Token     string
	ExternalID, ExternalURL    string
	ErrorCode, ErrorMessage    string
	UpdatedBy                  string
	Input                      actionInput
	Output                     actionOutput
	Deadline, Started, Updated int64
}

// actionInput is the ActionExecutionInput of a run, as ListActionExecutions
// returns it.
type actionInput struct {
	ActionTypeID          pipeline.ActionTypeID `json:"actionTypeId"`
	Configuration         map[string]string     `json:"configuration,omitempty"`
	ResolvedConfiguration map[string]string     `json:"resolvedConfiguration,omitempty"`
	RoleArn               string                `json:"roleArn,omitempty"`
	Region                string                `json:"region,omitempty"`
	InputArtifacts        []Artifact            `json:"inputArtifacts,omitempty"`
	Namespace             string                `json:"namespace,omitempty"`
	// Engine-internal: resolved commands and environment variables.
	Commands []string          `json:"commands,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
}

// actionOutput is what a finished run produced.
type actionOutput struct {
	OutputArtifacts []Artifact        `json:"outputArtifacts,omitempty"`
	OutputVariables map[string]string `json:"outputVariables,omitempty"`
	ExternalSummary string            `json:"externalSummary,omitempty"`
	Revision        *Revision         `json:"revision,omitempty"`
}

// Revision is the revision a source action fetched.
type Revision struct {
	ID       string    `json:"id"`
	ChangeID string    `json:"changeId,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	URL      string    `json:"url,omitempty"`
	Created  time.Time `json:"created"`
}

const actionCols = `n, id, execution_id, pipeline, version, stage, action, run_order, attempt, status, summary, token, external_id, external_url,
	error_code, error_message, updated_by, input, output, deadline, started, updated`

func scanAction(sc interface{ Scan(...any) error }) (*actionRow, error) {
	var a actionRow
	var in, out string
	err := sc.Scan(&a.N, &a.ID, &a.ExecutionID, &a.Pipeline, &a.Version, &a.Stage, &a.Action, &a.RunOrder, &a.Attempt, &a.Status, &a.Summary,
		&a.Token, &a.ExternalID, &a.ExternalURL, &a.ErrorCode, &a.ErrorMessage, &a.UpdatedBy, &in, &out, &a.Deadline, &a.Started, &a.Updated)
	if err != nil {
		return nil, err
	}
	json.Unmarshal([]byte(in), &a.Input)
	json.Unmarshal([]byte(out), &a.Output)
	return &a, nil
}

func insertAction(ctx context.Context, q querier, a *actionRow) error {
	in, _ := json.Marshal(a.Input)
	out, _ := json.Marshal(a.Output)
	res, err := q.ExecContext(ctx, `INSERT INTO action_executions(id, execution_id, pipeline, version, stage, action, run_order, attempt, status, summary,
		token, external_id, external_url, error_code, error_message, updated_by, input, output, deadline, started, updated)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.ExecutionID, a.Pipeline, a.Version, a.Stage, a.Action, a.RunOrder, a.Attempt, a.Status, a.Summary, a.Token, a.ExternalID,
		a.ExternalURL, a.ErrorCode, a.ErrorMessage, a.UpdatedBy, string(in), string(out), a.Deadline, a.Started, a.Updated)
	if err != nil {
		return err
	}
	a.N, _ = res.LastInsertId()
	return nil
}

// saveAction writes the mutable columns of an action run.
func saveAction(ctx context.Context, q querier, a *actionRow) error {
	out, _ := json.Marshal(a.Output)
	_, err := q.ExecContext(ctx, `UPDATE action_executions SET status = ?, summary = ?, external_id = ?, external_url = ?, error_code = ?,
		error_message = ?, updated_by = ?, output = ?, updated = ? WHERE id = ?`,
		a.Status, a.Summary, a.ExternalID, a.ExternalURL, a.ErrorCode, a.ErrorMessage, a.UpdatedBy, string(out), a.Updated, a.ID)
	return err
}

func loadAction(ctx context.Context, q querier, id string) (*actionRow, error) {
	a, err := scanAction(q.QueryRowContext(ctx, `SELECT `+actionCols+` FROM action_executions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

// latestActions returns the newest run of each action of a stage of an
// execution whose attempt is at least base.
func latestActions(ctx context.Context, q querier, execID, stage string, base int) (map[string]*actionRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionCols+` FROM action_executions WHERE execution_id = ? AND stage = ? AND attempt >= ? ORDER BY n`,
		execID, stage, base)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*actionRow{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		out[a.Action] = a // later rows win
	}
	return out, rows.Err()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
