package engine

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// StopExecution stops an execution. Without abandon, running actions
// finish first (the execution is Stopping meanwhile); with abandon they
// are marked Abandoned at once and their work is cancelled (processes
// killed, builds stopped).
func (e *Engine) StopExecution(ctx context.Context, name, id string, abandon bool, reason string) error {
	return e.change(ctx, name, func(tx *sql.Tx, fx *effects) error {
		if _, err := loadPipeline(ctx, tx, name); err != nil {
			return err
		}
		x, err := loadExec(ctx, tx, name, id)
		if err != nil {
			return err
		}
		fx.touch(x.ID)
		switch {
		case x.Status == pipeline.StatusStopping && !abandon:
			return pipeline.Errorf(pipeline.ErrDuplicatedStopRequest, "Execution '%s' is already stopping; only stop and abandon can follow a stop and wait", id)
		case x.Status != pipeline.StatusInProgress && x.Status != pipeline.StatusStopping:
			return pipeline.Errorf(pipeline.ErrPipelineExecutionNotStop, "Unable to stop pipeline execution '%s': its status is %s", id, x.Status)
		}
		if x.Status == pipeline.StatusInProgress {
			x.StopReason = reason
		}
		x.Status, x.Updated = pipeline.StatusStopping, e.nowMs()
		x.StopMode = "wait"
		if abandon {
			x.StopMode = "abandon"
		}
		if err := saveExec(ctx, tx, x); err != nil {
			return err
		}
		fx.events = append(fx.events, e.pipelineEvent(x, StateStopping))
		if x.Waiting {
			return nil // advance ends it Stopped
		}
		d, err := e.decl(ctx, tx, name, x.Version)
		if err != nil {
			return err
		}
		stage := d.Stages[x.StageIndex]
		st, err := loadStage(ctx, tx, x.ID, stage.Name)
		if err != nil || st == nil {
			return err
		}
		if st.Status != pipeline.StatusStopping {
			st.Status, st.Updated = pipeline.StatusStopping, e.nowMs()
			if err := saveStage(ctx, tx, st); err != nil {
				return err
			}
			fx.events = append(fx.events, e.stageEvent(x, st, StateStopping))
		}
		if !abandon {
			return nil
		}
		rows, err := latestActions(ctx, tx, x.ID, stage.Name, st.BaseAttempt)
		if err != nil {
			return err
		}
		for _, a := range rows {
			if a.Status != pipeline.StatusInProgress {
				continue
			}
			a.Status, a.Updated = pipeline.StatusAbandoned, e.nowMs()
			a.Summary = "Abandoned: the execution was stopped"
			if reason != "" {
				a.Summary += ": " + reason
			}
			if err := saveAction(ctx, tx, a); err != nil {
				return err
			}
			fx.cancel = append(fx.cancel, a.ID)
			fx.cancelTimers = append(fx.cancelTimers, a.ID)
			if a.ExternalID != "" && a.Input.ActionTypeID.Provider == "CodeBuild" && e.opts.Builder != nil {
				fx.stopBuilds = append(fx.stopBuilds, a.ExternalID)
			}
			fx.events = append(fx.events, e.actionEvent(x, a, StateAbandoned))
		}
		return nil
	})
}

// RetryStage retries the failed (or stopped) stage of an execution:
// FAILED_ACTIONS runs its failed and abandoned actions again (and any that
// never ran), ALL_ACTIONS runs every action again from the first runOrder.
// The execution must be the latest to have entered the stage and the
// pipeline's structure unchanged since it ran.
func (e *Engine) RetryStage(ctx context.Context, name, stageName, id, mode string) error {
	if mode != pipeline.RetryFailedActions && mode != pipeline.RetryAllActions {
		return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'retryMode' failed to satisfy constraint: Member must satisfy enum value set: [FAILED_ACTIONS, ALL_ACTIONS]", mode)
	}
	return e.change(ctx, name, func(tx *sql.Tx, fx *effects) error {
		p, err := loadPipeline(ctx, tx, name)
		if err != nil {
			return err
		}
		d, err := e.decl(ctx, tx, name, p.Version)
		if err != nil {
			return err
		}
		stage, idx := d.Stage(stageName)
		if stage == nil {
			return pipeline.Errorf(pipeline.ErrStageNotFound, "Stage '%s' does not exist in pipeline '%s'", stageName, name)
		}
		x, err := loadExec(ctx, tx, name, id)
		if err != nil {
			return err
		}
		var latest string
		err = tx.QueryRowContext(ctx, `SELECT se.execution_id FROM stage_executions se JOIN executions x ON x.id = se.execution_id
			WHERE x.pipeline = ? AND se.stage = ? ORDER BY se.entered_seq DESC LIMIT 1`, name, stageName).Scan(&latest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if latest != id {
			return pipeline.Errorf(pipeline.ErrNotLatestPipelineExecution, "Execution '%s' is not the latest execution of stage '%s'", id, stageName)
		}
		if x.Status != pipeline.StatusFailed && x.Status != pipeline.StatusStopped {
			return pipeline.Errorf(pipeline.ErrStageNotRetryable, "Unable to retry stage '%s': execution '%s' is %s", stageName, id, x.Status)
		}
		if x.Version != p.Version {
			return pipeline.Errorf(pipeline.ErrStageNotRetryable, "Unable to retry stage '%s': the pipeline structure changed (version %d) since execution '%s' (version %d)",
				stageName, p.Version, id, x.Version)
		}
		st, err := loadStage(ctx, tx, x.ID, stageName)
		if err != nil {
			return err
		}
		if st == nil || x.StageIndex != idx || x.Waiting || (st.Status != pipeline.StatusFailed && st.Status != pipeline.StatusStopped) {
			return pipeline.Errorf(pipeline.ErrStageNotRetryable, "Unable to retry stage '%s' of execution '%s': the stage did not fail or stop", stageName, id)
		}
		if d.ExecutionMode != pipeline.ModeParallel {
			cur, err := loadActiveExecs(ctx, tx, name)
			if err != nil {
				return err
			}
			for _, o := range cur {
				if !o.Waiting && o.StageIndex == idx {
					return pipeline.Errorf(pipeline.ErrConflict, "Stage '%s' is in use by execution '%s'", stageName, o.ID)
				}
			}
		}
		now := e.nowMs()
		seq, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		st.Attempt++
		if mode == pipeline.RetryAllActions {
			st.BaseAttempt = st.Attempt
		}
		st.Status, st.EnteredSeq, st.Updated = pipeline.StatusInProgress, seq, now
		if err := saveStage(ctx, tx, st); err != nil {
			return err
		}
		fx.touch(x.ID)
		x.Status, x.Summary, x.StopMode, x.StopReason, x.Updated = pipeline.StatusInProgress, "", "", "", now
		if err := saveExec(ctx, tx, x); err != nil {
			return err
		}
		fx.events = append(fx.events, e.pipelineEvent(x, StateResumed), e.stageEvent(x, st, StateResumed))
		return nil
	})
}

// ApprovalInput is a PutApprovalResult.
type ApprovalInput struct {
	Pipeline, Stage, Action string
	Token                   string
	Status                  string // Approved or Rejected
	Summary                 string
	By                      string // the caller's ARN
}

// PutApprovalResult approves or rejects a running Manual approval whose
// token (from GetPipelineState) matches. A rejection fails the stage.
func (e *Engine) PutApprovalResult(ctx context.Context, in ApprovalInput) (time.Time, error) {
	var at time.Time
	if in.Status != pipeline.Approved && in.Status != pipeline.Rejected {
		return at, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'result.status' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected]", in.Status)
	}
	err := e.change(ctx, in.Pipeline, func(tx *sql.Tx, fx *effects) error {
		p, err := loadPipeline(ctx, tx, in.Pipeline)
		if err != nil {
			return err
		}
		d, err := e.decl(ctx, tx, in.Pipeline, p.Version)
		if err != nil {
			return err
		}
		stage, _ := d.Stage(in.Stage)
		if stage == nil {
			return pipeline.Errorf(pipeline.ErrStageNotFound, "Stage '%s' does not exist in pipeline '%s'", in.Stage, in.Pipeline)
		}
		a := stage.Action(in.Action)
		if a == nil {
			return pipeline.Errorf(pipeline.ErrActionNotFound, "Action '%s' does not exist in stage '%s'", in.Action, in.Stage)
		}
		if a.ActionTypeID.Category != pipeline.CategoryApproval {
			return pipeline.Errorf(pipeline.ErrInvalidApprovalToken, "Action '%s' is not an approval action", in.Action)
		}
		row, err := scanAction(tx.QueryRowContext(ctx, `SELECT `+actionCols+` FROM action_executions
			WHERE pipeline = ? AND stage = ? AND action = ? AND token = ?`, in.Pipeline, in.Stage, in.Action, in.Token))
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.ErrInvalidApprovalToken, "The token '%s' is not the token of an approval request of action '%s'", in.Token, in.Action)
		}
		if err != nil {
			return err
		}
		if row.Status != pipeline.StatusInProgress {
			return pipeline.Errorf(pipeline.ErrApprovalAlreadyCompleted, "The approval request of action '%s' has already been completed (%s)", in.Action, row.Status)
		}
		x, err := loadExec(ctx, tx, in.Pipeline, row.ExecutionID)
		if err != nil {
			return err
		}
		fx.touch(x.ID)
		at = e.now()
		row.Updated, row.UpdatedBy, row.Summary = at.UnixMilli(), in.By, in.Summary
		state := StateSucceeded
		if in.Status == pipeline.Approved {
			row.Status = pipeline.StatusSucceeded
		} else {
			row.Status, row.ErrorCode, state = pipeline.StatusFailed, "ApprovalRejected", StateFailed
			row.ErrorMessage = "Rejected by " + in.By
			if in.Summary != "" {
				row.ErrorMessage += ": " + in.Summary
			}
		}
		if err := saveAction(ctx, tx, row); err != nil {
			return err
		}
		fx.cancelTimers = append(fx.cancelTimers, row.ID)
		fx.events = append(fx.events, e.actionEvent(x, row, state))
		return nil
	})
	return at, err
}
