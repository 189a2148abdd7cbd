package engine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/artifactd/registry/internal/pipeline"
)

// The scheduler is a reconciliation loop over the database: after every
// change, in the change's transaction, advance reads a pipeline's active
// executions and moves each one step, again and again until nothing
// changes (only the executions the change touched and the waiters can
// move). Every decision is derived from the stored state, so a restarted
// server continues exactly where the old one stopped.
//
//	execution waiting before stage S ──enter──▶ inside S: run the pending
//	      ▲                                   actions of the lowest runOrder,
//	      │ S succeeded (S+1 exists)          one group after another
//	      └───────────────────────────────────┘
//
// Entering a stage needs its inbound transition (and the previous stage's
// outbound one) enabled and, unless the mode is PARALLEL, the stage free:
// no other active execution inside it (the stage lock). SUPERSEDED keeps
// one waiter per stage, the newest; QUEUED lets waiters in by arrival
// order (wait_seq). A stage fails when an action failed and none is still
// running; a stop waits for running actions (or abandons them) and then
// ends the execution Stopped.

// advance moves the pipeline's executions until they settle.
func (e *Engine) advance(ctx context.Context, tx *sql.Tx, name string, fx *effects) error {
	for round := 0; round < 10000; round++ {
		changed, err := e.step(ctx, tx, name, fx)
		if err != nil || !changed {
			return err
		}
	}
	return fmt.Errorf("pipeline %s: executions did not settle", name)
}

// step moves every active execution of the pipeline at most one step and
// reports whether anything changed.
func (e *Engine) step(ctx context.Context, tx *sql.Tx, name string, fx *effects) (bool, error) {
	p, err := loadPipeline(ctx, tx, name)
	if pipeline.CodeOf(err) == pipeline.ErrPipelineNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cur, err := e.decl(ctx, tx, name, p.Version)
	if err != nil {
		return false, err
	}
	trans, err := loadTransitions(ctx, tx, name)
	if err != nil {
		return false, err
	}
	// Only the touched executions and the waiters can move. Under PARALLEL
	// no rule compares an execution with the others (no stage lock, no
	// superseding), so the round reads just those and costs the same with
	// one execution in flight or thousands; the other modes need every
	// active execution for their stage locks.
	var execs []*execRow
	if cur.ExecutionMode == pipeline.ModeParallel && !fx.all {
		execs, err = loadMovableExecs(ctx, tx, name, fx.touched)
	} else {
		execs, err = loadActiveExecs(ctx, tx, name)
	}
	if err != nil {
		return false, err
	}
	changed := false
	for _, x := range execs {
		if x.Waiting || (!fx.all && !fx.touched[x.ID]) {
			continue // nothing happened to it: it cannot move
		}
		c, err := e.stepInStage(ctx, tx, x, execs, cur, fx)
		if err != nil {
			return false, fmt.Errorf("execution %s: %w", x.ID, err)
		}
		if c {
			fx.touch(x.ID)
		}
		changed = changed || c
	}
	var waiters []*execRow
	for _, x := range execs {
		if x.Waiting && !pipeline.Terminal(x.Status) {
			waiters = append(waiters, x)
		}
	}
	slices.SortFunc(waiters, func(a, b *execRow) int { return int(a.WaitSeq - b.WaitSeq) })
	for _, x := range waiters {
		if pipeline.Terminal(x.Status) {
			continue // superseded in this round
		}
		c, err := e.stepWaiting(ctx, tx, p, cur, trans, x, execs, fx)
		if err != nil {
			return false, fmt.Errorf("execution %s: %w", x.ID, err)
		}
		if c {
			fx.touch(x.ID)
		}
		changed = changed || c
	}
	return changed, nil
}

// actionStatus is the state of an action within the current attempt of
// its stage; "" means it has yet to run.
func actionStatus(row *actionRow, st *stageRow) string {
	if row == nil {
		return ""
	}
	if (row.Status == pipeline.StatusFailed || row.Status == pipeline.StatusAbandoned) && row.Attempt < st.Attempt {
		return "" // failed in an earlier attempt: a FAILED_ACTIONS retry runs it again
	}
	return row.Status
}

func (e *Engine) stepInStage(ctx context.Context, tx *sql.Tx, x *execRow, execs []*execRow, cur *pipeline.Declaration, fx *effects) (bool, error) {
	d, err := e.decl(ctx, tx, x.Pipeline, x.Version)
	if err != nil {
		return false, err
	}
	if x.StageIndex >= len(d.Stages) {
		return e.endExec(ctx, tx, x, pipeline.StatusFailed, "the execution is past the last stage", fx)
	}
	stage := &d.Stages[x.StageIndex]
	st, err := loadStage(ctx, tx, x.ID, stage.Name)
	if err != nil {
		return false, err
	}
	if st == nil {
		return e.endExec(ctx, tx, x, pipeline.StatusFailed, fmt.Sprintf("stage '%s' has no record of being entered", stage.Name), fx)
	}
	rows, err := latestActions(ctx, tx, x.ID, stage.Name, st.BaseAttempt)
	if err != nil {
		return false, err
	}
	var running, failed bool
	var firstFailed *actionRow
	pending := map[string]bool{}
	for _, a := range stage.Actions {
		switch s := actionStatus(rows[a.Name], st); s {
		case "":
			pending[a.Name] = true
		case pipeline.StatusInProgress:
			running = true
		case pipeline.StatusFailed, pipeline.StatusAbandoned:
			failed = true
			if firstFailed == nil {
				firstFailed = rows[a.Name]
			}
		}
	}
	now := e.nowMs()
	if x.Status == pipeline.StatusStopping {
		if running {
			return false, nil
		}
		st.Status, st.Updated = pipeline.StatusStopped, now
		if err := saveStage(ctx, tx, st); err != nil {
			return false, err
		}
		fx.events = append(fx.events, e.stageEvent(x, st, StateStopped))
		return e.endExec(ctx, tx, x, pipeline.StatusStopped, x.StopReason, fx)
	}
	if failed {
		if running {
			return false, nil // parallel actions finish first
		}
		st.Status, st.Updated = pipeline.StatusFailed, now
		if err := saveStage(ctx, tx, st); err != nil {
			return false, err
		}
		fx.events = append(fx.events, e.stageEvent(x, st, StateFailed))
		msg := fmt.Sprintf("Action '%s' in stage '%s' failed", firstFailed.Action, firstFailed.Stage)
		if firstFailed.ErrorMessage != "" {
			msg += ": " + firstFailed.ErrorMessage
		}
		return e.endExec(ctx, tx, x, pipeline.StatusFailed, msg, fx)
	}
	if running {
		return false, nil
	}
	if len(pending) == 0 {
		st.Status, st.Updated = pipeline.StatusSucceeded, now
		if err := saveStage(ctx, tx, st); err != nil {
			return false, err
		}
		fx.events = append(fx.events, e.stageEvent(x, st, StateSucceeded))
		if x.StageIndex == len(d.Stages)-1 {
			return e.endExec(ctx, tx, x, pipeline.StatusSucceeded, "", fx)
		}
		seq, err := nextSeq(ctx, tx)
		if err != nil {
			return false, err
		}
		x.StageIndex, x.Waiting, x.WaitSeq, x.Updated = x.StageIndex+1, true, seq, now
		if err := saveExec(ctx, tx, x); err != nil {
			return false, err
		}
		return true, e.arrive(ctx, tx, x, execs, cur, fx)
	}
	group := 0
	for _, a := range stage.Actions {
		if pending[a.Name] && (group == 0 || a.RunOrder < group) {
			group = a.RunOrder
		}
	}
	for i := range stage.Actions {
		a := &stage.Actions[i]
		if pending[a.Name] && a.RunOrder == group {
			if err := e.startAction(ctx, tx, x, d, stage, st, a, fx); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

func (e *Engine) stepWaiting(ctx context.Context, tx *sql.Tx, p pipelineRow, cur *pipeline.Declaration, trans map[transitionKey]transition,
	x *execRow, execs []*execRow, fx *effects) (bool, error) {
	if x.Status == pipeline.StatusStopping {
		return e.endExec(ctx, tx, x, pipeline.StatusStopped, x.StopReason, fx)
	}
	if x.Version != p.Version {
		return e.endExec(ctx, tx, x, pipeline.StatusCancelled,
			fmt.Sprintf("The pipeline was updated to version %d before this execution (version %d) could continue", p.Version, x.Version), fx)
	}
	stage := &cur.Stages[x.StageIndex]
	if t, ok := trans[transitionKey{stage.Name, "Inbound"}]; ok && !t.Enabled {
		return false, nil
	}
	if x.StageIndex > 0 {
		if t, ok := trans[transitionKey{cur.Stages[x.StageIndex-1].Name, "Outbound"}]; ok && !t.Enabled {
			return false, nil
		}
	}
	if cur.ExecutionMode != pipeline.ModeParallel {
		for _, o := range execs {
			if o == x || pipeline.Terminal(o.Status) || o.StageIndex != x.StageIndex {
				continue
			}
			if !o.Waiting {
				return false, nil // the stage is locked
			}
			if cur.ExecutionMode == pipeline.ModeQueued && o.WaitSeq < x.WaitSeq {
				return false, nil // an earlier arrival goes first
			}
		}
	}
	now := e.nowMs()
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return false, err
	}
	st := &stageRow{ExecutionID: x.ID, Stage: stage.Name, Status: pipeline.StatusInProgress, EnteredSeq: seq, Attempt: 1, BaseAttempt: 1, Started: now, Updated: now}
	if err := saveStage(ctx, tx, st); err != nil {
		return false, err
	}
	x.Waiting, x.Updated = false, now
	if err := saveExec(ctx, tx, x); err != nil {
		return false, err
	}
	fx.events = append(fx.events, e.stageEvent(x, st, StateStarted))
	return true, nil
}

// arrive registers x as a waiter before its stage. Under SUPERSEDED only
// the newest waiter stays; older ones end Superseded.
func (e *Engine) arrive(ctx context.Context, tx *sql.Tx, x *execRow, execs []*execRow, cur *pipeline.Declaration, fx *effects) error {
	if cur.ExecutionMode != pipeline.ModeSuperseded || x.Version != cur.Version {
		return nil // an execution of an older structure is cancelled instead
	}
	for _, o := range execs {
		if o == x || pipeline.Terminal(o.Status) || !o.Waiting || o.StageIndex != x.StageIndex || o.Status == pipeline.StatusStopping ||
			o.Version != cur.Version {
			continue
		}
		older, newer := o, x
		if o.Seq > x.Seq {
			older, newer = x, o
		}
		if _, err := e.endExec(ctx, tx, older, pipeline.StatusSuperseded, "Superseded by execution "+newer.ID, fx); err != nil {
			return err
		}
		if older == x {
			return nil
		}
	}
	return nil
}

// endExec ends an execution with a terminal status.
func (e *Engine) endExec(ctx context.Context, tx *sql.Tx, x *execRow, status, summary string, fx *effects) (bool, error) {
	x.Status, x.Summary, x.Updated = status, summary, e.nowMs()
	if err := saveExec(ctx, tx, x); err != nil {
		return false, err
	}
	fx.events = append(fx.events, e.pipelineEvent(x, eventState(status)))
	return true, nil
}

// decl returns a stored pipeline version (cached: versions never change).
func (e *Engine) decl(ctx context.Context, q querier, name string, version int) (*pipeline.Declaration, error) {
	k := declKey{name, version}
	e.declMu.Lock()
	d := e.decls[k]
	e.declMu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := loadDeclaration(ctx, q, name, version)
	if err != nil {
		return nil, err
	}
	e.declMu.Lock()
	e.decls[k] = d
	e.declMu.Unlock()
	return d, nil
}

// forget drops the cached versions of a deleted pipeline.
func (e *Engine) forget(name string) {
	e.declMu.Lock()
	defer e.declMu.Unlock()
	for k := range e.decls {
		if k.name == name {
			delete(e.decls, k)
		}
	}
}
