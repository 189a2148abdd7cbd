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

// Provider runs the actions of one action type.
type Provider interface {
	// Type describes the action type and what its declarations accept.
	Type() pipeline.ActionType
	// Run performs one run of an action. It returns when the work is done
	// or ctx is cancelled (stop-and-abandon, timeout, shutdown), having
	// stopped whatever it started. An error fails the action; an
	// *ActionError chooses the error code.
	Run(ctx context.Context, j *Job) (Result, error)
}

// Job is one run of an action, with everything resolved.
type Job struct {
	Pipeline, ExecutionID, Stage, Action, ActionExecutionID string
	Type                                                    pipeline.ActionTypeID
	// Config is the action's configuration with variables resolved.
	Config map[string]string
	// Commands and Env (PLAINTEXT values) of a Commands action, resolved.
	Commands []string
	Env      map[string]string
	secrets  map[string]string // env name -> secret reference
	// Inputs are the input artifacts, in declaration order.
	Inputs []Artifact
	// Outputs are the declared output artifacts.
	Outputs         []pipeline.OutputArtifact
	OutputVariables []string
	Timeout         time.Duration
	// Trigger is the package event that started the execution, for the
	// CodeArtifact Source actions it matched.
	Trigger *pipeline.PackageEvent
	// ExternalID is what a previous run of this same action execution
	// recorded with SetExternal before the server restarted ("" for a
	// fresh run).
	ExternalID string

	engine *Engine
}

// Result is what a successful run produced.
type Result struct {
	Outputs     []Artifact
	Variables   map[string]string
	Summary     string
	ExternalID  string
	ExternalURL string
	Revision    *Revision
}

// ActionError fails an action with an error code (errorDetails.code).
type ActionError struct {
	Code    string
	Message string
}

func (e *ActionError) Error() string { return e.Message }

// SetExternal durably records the id (and URL) of the external work a run
// started, such as a build id, so that after a restart the run can
// re-attach to it through Job.ExternalID.
func (j *Job) SetExternal(ctx context.Context, id, url string) error {
	j.ExternalID = id
	_, err := j.engine.db.exec(ctx, `UPDATE action_executions SET external_id = ?, external_url = ? WHERE id = ? AND status = 'InProgress'`,
		id, url, j.ActionExecutionID)
	return err
}

// Workspace creates an empty directory for the run; remove it when done.
func (j *Job) Workspace() (string, error) {
	return os.MkdirTemp(j.engine.opts.WorkDir, "ws-"+j.ActionExecutionID[:8]+"-*")
}

// Extract unzips an input artifact into dir.
func (j *Job) Extract(ctx context.Context, a Artifact, dir string) error {
	return j.engine.unzip(ctx, a.SHA256, dir)
}

// Zip stores the files of dir matching globs (all when empty) as an
// output artifact called name.
func (j *Job) Zip(ctx context.Context, name, dir string, globs []string) (Artifact, error) {
	d, n, err := j.engine.zipDir(ctx, dir, globs)
	return Artifact{Name: name, SHA256: d, Size: n}, err
}

// run is an action goroutine.
func (e *Engine) run(ctx context.Context, cancel context.CancelFunc, j *Job) {
	defer e.wg.Done()
	defer func() {
		cancel()
		e.mu.Lock()
		delete(e.running, j.ActionExecutionID)
		e.mu.Unlock()
	}()
	p := e.providers[j.Type]
	rctx, rcancel := context.WithTimeout(ctx, j.Timeout)
	res, err := p.Run(rctx, j)
	timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
	rcancel()
	if err != nil && ctx.Err() != nil {
		// Abandoned (the row is no longer InProgress) or shutting down (the
		// run resumes at the next Start): nothing to record.
		return
	}
	if err != nil && timedOut {
		err = &ActionError{Code: "JobFailed", Message: fmt.Sprintf("The action did not complete within its timeout of %s: %v", j.Timeout, err)}
	}
	e.complete(j, res, err)
}

// complete records the outcome of a run.
func (e *Engine) complete(j *Job, res Result, runErr error) {
	err := e.changeGrouped(j.Pipeline, func(tx *sql.Tx, fx *effects) error {
		ctx := context.Background()
		row, err := loadAction(ctx, tx, j.ActionExecutionID)
		if err != nil || row == nil || row.Status != pipeline.StatusInProgress {
			return err
		}
		x, err := loadExec(ctx, tx, j.Pipeline, j.ExecutionID)
		if err != nil {
			return err
		}
		fx.touch(x.ID)
		row.Updated = e.nowMs()
		if res.ExternalID != "" {
			row.ExternalID = res.ExternalID
		}
		if res.ExternalURL != "" {
			row.ExternalURL = res.ExternalURL
		}
		if runErr != nil {
			code := "JobFailed"
			var ae *ActionError
			if errors.As(runErr, &ae) && ae.Code != "" {
				code = ae.Code
			}
			row.Status, row.ErrorCode, row.ErrorMessage = pipeline.StatusFailed, code, truncate(runErr.Error(), 5000)
			row.Summary = truncate(runErr.Error(), 2048)
			if err := saveAction(ctx, tx, row); err != nil {
				return err
			}
			fx.events = append(fx.events, e.actionEvent(x, row, StateFailed))
			return nil
		}
		row.Status, row.Summary = pipeline.StatusSucceeded, truncate(res.Summary, 2048)
		row.Output = actionOutput{OutputArtifacts: res.Outputs, OutputVariables: res.Variables, Revision: res.Revision}
		for _, a := range res.Outputs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO artifacts(execution_id, name, digest, size) VALUES (?,?,?,?)
				ON CONFLICT(execution_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size`, x.ID, a.Name, a.SHA256, a.Size); err != nil {
				return err
			}
		}
		if ns := row.Input.Namespace; ns != "" {
			for k, v := range res.Variables {
				if _, err := tx.ExecContext(ctx, `INSERT INTO variables(execution_id, namespace, name, value) VALUES (?,?,?,?)
					ON CONFLICT(execution_id, namespace, name) DO UPDATE SET value = excluded.value`, x.ID, ns, k, v); err != nil {
					return err
				}
			}
		}
		if err := saveAction(ctx, tx, row); err != nil {
			return err
		}
		fx.events = append(fx.events, e.actionEvent(x, row, StateSucceeded))
		return nil
	})
	if err != nil {
		e.log.Error("recording an action result", "pipeline", j.Pipeline, "action_execution_id", j.ActionExecutionID, "err", err)
	}
}

// expireApproval fails an approval whose deadline passed.
func (e *Engine) expireApproval(pipelineName, id string) {
	err := e.change(context.Background(), pipelineName, func(tx *sql.Tx, fx *effects) error {
		ctx := context.Background()
		row, err := loadAction(ctx, tx, id)
		if err != nil || row == nil || row.Status != pipeline.StatusInProgress {
			return err
		}
		x, err := loadExec(ctx, tx, pipelineName, row.ExecutionID)
		if err != nil {
			return err
		}
		fx.touch(x.ID)
		row.Status, row.ErrorCode, row.Updated = pipeline.StatusFailed, "ApprovalExpired", e.nowMs()
		row.ErrorMessage = fmt.Sprintf("The approval request expired: no response by %s", time.UnixMilli(row.Deadline).UTC().Format(time.RFC3339))
		row.Summary = row.ErrorMessage
		if err := saveAction(ctx, tx, row); err != nil {
			return err
		}
		fx.events = append(fx.events, e.actionEvent(x, row, StateFailed))
		return nil
	})
	e.mu.Lock()
	delete(e.timers, id)
	e.mu.Unlock()
	if err != nil {
		e.log.Error("expiring an approval", "pipeline", pipelineName, "action_execution_id", id, "err", err)
	}
}

// resume re-schedules the runs a stopped server left InProgress.
func (e *Engine) resume(ctx context.Context, tx *sql.Tx, name string, fx *effects) error {
	fx.all = true
	rows, err := tx.QueryContext(ctx, `SELECT `+actionCols+` FROM action_executions WHERE pipeline = ? AND status = 'InProgress' ORDER BY n`, name)
	if err != nil {
		return err
	}
	var runs []*actionRow
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, a)
	}
	rows.Close()
	for _, row := range runs {
		x, err := loadExec(ctx, tx, name, row.ExecutionID)
		if err != nil {
			return err
		}
		fail := func(reason string) error {
			row.Status, row.ErrorCode, row.ErrorMessage, row.Summary, row.Updated = pipeline.StatusFailed, "JobFailed", reason, reason, e.nowMs()
			if err := saveAction(ctx, tx, row); err != nil {
				return err
			}
			fx.events = append(fx.events, e.actionEvent(x, row, StateFailed))
			return nil
		}
		d, err := e.decl(ctx, tx, name, row.Version)
		if err != nil {
			if err := fail("The server restarted while the action was running and its pipeline version is gone: " + err.Error()); err != nil {
				return err
			}
			continue
		}
		stage, _ := d.Stage(row.Stage)
		var a *pipeline.Action
		if stage != nil {
			a = stage.Action(row.Action)
		}
		p, ok := e.providers[row.Input.ActionTypeID]
		switch {
		case a == nil:
			err = fail("The server restarted while the action was running and the action is no longer declared")
		case !ok:
			err = fail(fmt.Sprintf("The server restarted while the action was running and provider %s is no longer available", row.Input.ActionTypeID.Provider))
		default:
			if _, isApproval := p.(approval); isApproval {
				fx.timers = append(fx.timers, timer{name, row.ID, time.UnixMilli(row.Deadline)})
			} else {
				e.log.Info("resuming an action after a restart", "pipeline", name, "execution_id", x.ID, "stage", row.Stage, "action", row.Action)
				fx.start = append(fx.start, e.job(x, a, row))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
