package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// PipelineState is what GetPipelineState returns.
type PipelineState struct {
	Name             string
	Version          int
	Created, Updated time.Time
	Stages           []StageState
}

// StageState is the state of one stage of the current structure.
type StageState struct {
	Name string
	// Inbound are the executions waiting to enter the stage.
	Inbound    []StageExecution
	Transition TransitionState
	// Latest is the execution that most recently entered the stage.
	Latest  *StageExecution
	Actions []ActionState
	// RetryAttempt counts manual retries of Latest's run of the stage.
	RetryAttempt int
}

// StageExecution is an execution's status in a stage.
type StageExecution struct {
	ExecutionID, Status string
}

// TransitionState is a stage's inbound transition.
type TransitionState struct {
	Enabled        bool
	LastChangedBy  string
	LastChangedAt  time.Time
	DisabledReason string
}

// ActionState is one action of a stage and its latest run in the stage's
// latest execution.
type ActionState struct {
	Name     string
	Latest   *ActionRun
	Revision *Revision // source actions
}

// ActionRun is the state of one run of an action.
type ActionRun struct {
	ID, Status, Summary string
	LastStatusChange    time.Time
	Token               string // a running approval's token
	LastUpdatedBy       string
	ExternalID          string
	ExternalURL         string
	ErrorCode           string
	ErrorMessage        string
}

// GetState returns the state of every stage of the pipeline's current
// structure.
func (e *Engine) GetState(ctx context.Context, name string) (PipelineState, error) {
	tx, err := e.db.ro.BeginTx(ctx, nil)
	if err != nil {
		return PipelineState{}, err
	}
	defer tx.Rollback()
	p, err := loadPipeline(ctx, tx, name)
	if err != nil {
		return PipelineState{}, err
	}
	d, err := e.decl(ctx, tx, name, p.Version)
	if err != nil {
		return PipelineState{}, err
	}
	trans, err := loadTransitions(ctx, tx, name)
	if err != nil {
		return PipelineState{}, err
	}
	active, err := loadActiveExecs(ctx, tx, name)
	if err != nil {
		return PipelineState{}, err
	}
	out := PipelineState{Name: name, Version: p.Version, Created: time.UnixMilli(p.Created), Updated: time.UnixMilli(p.Updated)}
	for i := range d.Stages {
		s := &d.Stages[i]
		ss := StageState{Name: s.Name, Transition: TransitionState{Enabled: true}}
		if t, ok := trans[transitionKey{s.Name, "Inbound"}]; ok {
			ss.Transition = TransitionState{Enabled: t.Enabled, LastChangedBy: t.ChangedBy, LastChangedAt: time.UnixMilli(t.ChangedAt), DisabledReason: t.Reason}
		}
		for _, x := range active {
			if x.Waiting && x.StageIndex == i && x.Version == p.Version {
				ss.Inbound = append(ss.Inbound, StageExecution{x.ID, pipeline.StatusInProgress})
			}
		}
		var st stageRow
		err := tx.QueryRowContext(ctx, `SELECT se.execution_id, se.status, se.attempt, se.base_attempt FROM stage_executions se
			JOIN executions x ON x.id = se.execution_id WHERE x.pipeline = ? AND se.stage = ? ORDER BY se.entered_seq DESC LIMIT 1`, name, s.Name).
			Scan(&st.ExecutionID, &st.Status, &st.Attempt, &st.BaseAttempt)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return PipelineState{}, err
		}
		var runs map[string]*actionRow
		if err == nil {
			ss.Latest = &StageExecution{st.ExecutionID, st.Status}
			ss.RetryAttempt = st.Attempt - 1
			if runs, err = latestActions(ctx, tx, st.ExecutionID, s.Name, st.BaseAttempt); err != nil {
				return PipelineState{}, err
			}
		}
		for _, a := range s.Actions {
			as := ActionState{Name: a.Name}
			if r := runs[a.Name]; r != nil {
				as.Latest = runOf(r)
				as.Revision = r.Output.Revision
			}
			ss.Actions = append(ss.Actions, as)
		}
		out.Stages = append(out.Stages, ss)
	}
	return out, nil
}

func runOf(r *actionRow) *ActionRun {
	a := &ActionRun{ID: r.ID, Status: r.Status, Summary: r.Summary, LastStatusChange: time.UnixMilli(r.Updated), LastUpdatedBy: r.UpdatedBy,
		ExternalID: r.ExternalID, ExternalURL: r.ExternalURL, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
	if r.Status == pipeline.StatusInProgress {
		a.Token = r.Token
	}
	return a
}

// Execution is what GetPipelineExecution and ListPipelineExecutions
// return about an execution.
type Execution struct {
	Pipeline                   string
	Version                    int
	ID, Status, Summary        string
	Mode                       string
	TriggerType, TriggerDetail string
	StopReason                 string
	Started, Updated           time.Time
	Variables                  []ResolvedVariable
	// SourceRevisions are the revisions of the source actions, with
	// ArtifactRevisions the artifacts they produced.
	SourceRevisions   []SourceRevision
	ArtifactRevisions []ArtifactRevision
}

// SourceRevision is the revision one source action fetched.
type SourceRevision struct {
	Action string
	Revision
}

// ArtifactRevision is a source artifact and its revision.
type ArtifactRevision struct {
	Name string
	Revision
}

// GetExecution returns an execution of the pipeline.
func (e *Engine) GetExecution(ctx context.Context, name, id string) (Execution, error) {
	if _, err := loadPipeline(ctx, e.db.sql, name); err != nil {
		return Execution{}, err
	}
	x, err := loadExec(ctx, e.db.sql, name, id)
	if err != nil {
		return Execution{}, err
	}
	return e.executionOf(ctx, x)
}

func (e *Engine) executionOf(ctx context.Context, x *execRow) (Execution, error) {
	out := Execution{Pipeline: x.Pipeline, Version: x.Version, ID: x.ID, Status: x.Status, Summary: x.Summary, Mode: x.Mode,
		TriggerType: x.TriggerType, TriggerDetail: x.TriggerDetail, StopReason: x.StopReason, Variables: x.Variables,
		Started: time.UnixMilli(x.Started), Updated: time.UnixMilli(x.Updated)}
	d, err := e.decl(ctx, e.db.sql, x.Pipeline, x.Version)
	if err != nil {
		return out, err
	}
	runs, err := latestActions(ctx, e.db.sql, x.ID, d.Stages[0].Name, 0)
	if err != nil {
		return out, err
	}
	for _, a := range d.Stages[0].Actions {
		r := runs[a.Name]
		if r == nil || r.Output.Revision == nil {
			continue
		}
		out.SourceRevisions = append(out.SourceRevisions, SourceRevision{a.Name, *r.Output.Revision})
		for _, o := range r.Output.OutputArtifacts {
			out.ArtifactRevisions = append(out.ArtifactRevisions, ArtifactRevision{o.Name, *r.Output.Revision})
		}
	}
	return out, nil
}

// ListExecutions returns a pipeline's executions, newest first, up to
// limit, starting below seq before (0: from the newest). With
// succeededInStage only executions that succeeded in that stage are
// listed. next is the cursor of the following page (0 at the end).
func (e *Engine) ListExecutions(ctx context.Context, name, succeededInStage string, before int64, limit int) (out []Execution, next int64, err error) {
	if _, err := loadPipeline(ctx, e.db.sql, name); err != nil {
		return nil, 0, err
	}
	if before <= 0 {
		before = 1 << 62
	}
	q := `SELECT ` + execCols + ` FROM executions WHERE pipeline = ? AND seq < ? ORDER BY seq DESC LIMIT ?`
	args := []any{name, before, limit + 1}
	if succeededInStage != "" {
		q = `SELECT ` + execCols + ` FROM executions WHERE pipeline = ? AND seq < ? AND EXISTS (SELECT 1 FROM stage_executions se
			WHERE se.execution_id = executions.id AND se.stage = ? AND se.status = 'Succeeded') ORDER BY seq DESC LIMIT ?`
		args = []any{name, before, succeededInStage, limit + 1}
	}
	rows, err := e.db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	var xs []*execRow
	for rows.Next() {
		x, err := scanExec(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		xs = append(xs, x)
	}
	rows.Close()
	if len(xs) > limit {
		xs = xs[:limit]
		next = xs[limit-1].Seq
	}
	for _, x := range xs {
		ex, err := e.executionOf(ctx, x)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ex)
	}
	return out, next, nil
}

// ActionExecution is one run of an action, as ListActionExecutions
// returns it.
type ActionExecution struct {
	ExecutionID, ID string
	Version         int
	Stage, Action   string
	Started         time.Time
	Updated         time.Time
	UpdatedBy       string
	Status          string

	Type                  pipeline.ActionTypeID
	Configuration         map[string]string
	ResolvedConfiguration map[string]string
	RoleArn, Region       string
	Namespace             string
	InputArtifacts        []Artifact

	OutputArtifacts []Artifact
	OutputVariables map[string]string
	ExternalID      string
	ExternalURL     string
	Summary         string
	ErrorCode       string
	ErrorMessage    string

	n int64 // listing cursor
}

// ActionFilter narrows ListActionExecutions to one execution; Latest
// keeps only the newest run of each action in it.
type ActionFilter struct {
	ExecutionID string
	Latest      bool
}

// ListActionExecutions returns runs of a pipeline's actions, newest first,
// up to limit, starting below cursor before (0: from the newest); next
// continues (0 at the end).
func (e *Engine) ListActionExecutions(ctx context.Context, name string, f ActionFilter, before int64, limit int) (out []ActionExecution, next int64, err error) {
	if _, err := loadPipeline(ctx, e.db.sql, name); err != nil {
		return nil, 0, err
	}
	if f.ExecutionID != "" {
		if _, err := loadExec(ctx, e.db.sql, name, f.ExecutionID); err != nil {
			return nil, 0, err
		}
	}
	if before <= 0 {
		before = 1 << 62
	}
	q := `SELECT ` + actionCols + ` FROM action_executions WHERE pipeline = ? AND n < ?`
	args := []any{name, before}
	if f.ExecutionID != "" {
		q += ` AND execution_id = ?`
		args = append(args, f.ExecutionID)
		if f.Latest {
			q += ` AND n = (SELECT MAX(n) FROM action_executions a2 WHERE a2.execution_id = action_executions.execution_id
				AND a2.stage = action_executions.stage AND a2.action = action_executions.action)`
		}
	}
	q += ` ORDER BY n DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := e.db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAction(rows)
		if err != nil {
			return nil, 0, err
		}
		if len(out) == limit {
			next = out[limit-1].n
			break
		}
		out = append(out, ActionExecution{
			ExecutionID: r.ExecutionID, ID: r.ID, Version: r.Version, Stage: r.Stage, Action: r.Action,
			Started: time.UnixMilli(r.Started), Updated: time.UnixMilli(r.Updated), UpdatedBy: r.UpdatedBy, Status: r.Status,
			Type: r.Input.ActionTypeID, Configuration: e.redact(r.Input.ActionTypeID, r.Input.Configuration),
			ResolvedConfiguration: e.redact(r.Input.ActionTypeID, r.Input.ResolvedConfiguration),
			RoleArn:               r.Input.RoleArn, Region: r.Input.Region, Namespace: r.Input.Namespace, InputArtifacts: r.Input.InputArtifacts,
			OutputArtifacts: r.Output.OutputArtifacts, OutputVariables: r.Output.OutputVariables, ExternalID: r.ExternalID,
			ExternalURL: r.ExternalURL, Summary: r.Summary, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, n: r.N,
		})
	}
	return out, next, rows.Err()
}

// ReferencedBlobs calls fn with the digest of every artifact the engine
// database at dbPath references, for the registry's garbage collector
// (artifacts are blobs no registry row references). A missing database
// references nothing. It may run while a server uses the database.
func ReferencedBlobs(ctx context.Context, dbPath string, fn func(digest string) error) error {
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	d, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=10000&_query_only=true")
	if err != nil {
		return err
	}
	defer d.Close()
	rows, err := d.QueryContext(ctx, `SELECT DISTINCT digest FROM artifacts`)
	if err != nil {
		return fmt.Errorf("pipeline: artifacts of %s: %w", dbPath, err)
	}
	defer rows.Close()
	for rows.Next() {
		var digest string
		if err := rows.Scan(&digest); err != nil {
			return err
		}
		if err := fn(digest); err != nil {
			return err
		}
	}
	return rows.Err()
}
