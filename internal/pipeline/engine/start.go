package engine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// lookup returns the variable lookup of an execution: the reserved
// namespace, pipeline variables and the namespaces of finished actions.
func (e *Engine) lookup(ctx context.Context, q querier, x *execRow) (pipeline.Lookup, error) {
	rows, err := q.QueryContext(ctx, `SELECT namespace, name, value FROM variables WHERE execution_id = ?`, x.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := map[string]string{"codepipeline.PipelineExecutionId": x.ID}
	for _, v := range x.Variables {
		vals["variables."+v.Name] = v.Value
	}
	for rows.Next() {
		var ns, n, v string
		if err := rows.Scan(&ns, &n, &v); err != nil {
			return nil, err
		}
		vals[ns+"."+n] = v
	}
	return func(ns, name string) (string, bool) {
		v, ok := vals[ns+"."+name]
		return v, ok
	}, rows.Err()
}

// startAction records a new run of an action and schedules it: its
// configuration, commands and environment resolved, its input artifacts
// found. A run that cannot start is recorded Failed with the reason.
func (e *Engine) startAction(ctx context.Context, tx *sql.Tx, x *execRow, d *pipeline.Declaration, stage *pipeline.Stage, st *stageRow,
	a *pipeline.Action, fx *effects) error {
	now := e.nowMs()
	row := &actionRow{ID: newUUID(), ExecutionID: x.ID, Pipeline: x.Pipeline, Version: x.Version, Stage: stage.Name, Action: a.Name,
		RunOrder: a.RunOrder, Attempt: st.Attempt, Status: pipeline.StatusInProgress, Started: now, Updated: now}
	row.Input = actionInput{ActionTypeID: a.ActionTypeID, Configuration: a.Configuration, RoleArn: a.RoleArn, Region: a.Region, Namespace: a.Namespace}
	if row.Input.Region == "" {
		row.Input.Region = e.opts.Region
	}
	problem := ""
	lookup, err := e.lookup(ctx, tx, x)
	if err != nil {
		return err
	}
	resolve := func(field, s string) string {
		v, err := pipeline.Resolve(s, lookup)
		if err != nil && problem == "" {
			problem = field + ": " + err.Error()
		}
		return v
	}
	if len(a.Configuration) > 0 {
		row.Input.ResolvedConfiguration = map[string]string{}
		for k, v := range a.Configuration {
			row.Input.ResolvedConfiguration[k] = resolve("configuration."+k, v)
		}
	}
	for i, c := range a.Commands {
		row.Input.Commands = append(row.Input.Commands, resolve(fmt.Sprintf("commands[%d]", i), c))
	}
	for _, ev := range a.EnvironmentVariables {
		if row.Input.Env == nil {
			row.Input.Env = map[string]string{}
		}
		v := resolve("environmentVariables."+ev.Name, ev.Value)
		if ev.Type == "SECRETS_MANAGER" {
			v = secretPrefix + v
		}
		row.Input.Env[ev.Name] = v
	}
	for _, in := range a.InputArtifacts {
		var art Artifact
		err := tx.QueryRowContext(ctx, `SELECT name, digest, size FROM artifacts WHERE execution_id = ? AND name = ?`, x.ID, in.Name).
			Scan(&art.Name, &art.SHA256, &art.Size)
		if err == sql.ErrNoRows {
			if problem == "" {
				problem = fmt.Sprintf("input artifact '%s' was not produced in this execution", in.Name)
			}
			continue
		}
		if err != nil {
			return err
		}
		row.Input.InputArtifacts = append(row.Input.InputArtifacts, art)
	}
	p, ok := e.providers[a.ActionTypeID]
	if !ok && problem == "" {
		problem = fmt.Sprintf("no provider for action type %s/%s/%s/%s", a.ActionTypeID.Category, a.ActionTypeID.Owner, a.ActionTypeID.Provider, a.ActionTypeID.Version)
	}
	if problem != "" {
		row.Status, row.ErrorCode, row.ErrorMessage, row.Summary = pipeline.StatusFailed, "JobFailed", problem, problem
		if err := insertAction(ctx, tx, row); err != nil {
			return err
		}
		fx.events = append(fx.events, e.actionEvent(x, row, StateFailed))
		return nil
	}
	if _, isApproval := p.(approval); isApproval {
		row.Token = newUUID()
		timeout := e.opts.ApprovalTimeout
		if a.TimeoutInMinutes > 0 {
			timeout = time.Duration(a.TimeoutInMinutes) * time.Minute
		}
		row.Deadline = now + timeout.Milliseconds()
		fx.timers = append(fx.timers, timer{x.Pipeline, row.ID, time.UnixMilli(row.Deadline)})
	} else {
		fx.start = append(fx.start, e.job(x, a, row))
	}
	if err := insertAction(ctx, tx, row); err != nil {
		return err
	}
	fx.events = append(fx.events, e.actionEvent(x, row, StateStarted))
	return nil
}

// secretPrefix marks an environment value that names a secret.
const secretPrefix = "\x00secret:"

// job builds the work of a run from its stored row (also after a restart).
func (e *Engine) job(x *execRow, a *pipeline.Action, row *actionRow) *Job {
	j := &Job{
		Pipeline: x.Pipeline, ExecutionID: x.ID, Stage: row.Stage, Action: row.Action, ActionExecutionID: row.ID,
		Type: a.ActionTypeID, Config: row.Input.ResolvedConfiguration, Commands: row.Input.Commands, Inputs: row.Input.InputArtifacts,
		Outputs: a.OutputArtifacts, OutputVariables: a.OutputVariables, ExternalID: row.ExternalID, engine: e,
	}
	if j.Config == nil {
		j.Config = map[string]string{}
	}
	for k, v := range row.Input.Env {
		if j.Env == nil {
			j.Env, j.secrets = map[string]string{}, map[string]string{}
		}
		if ref, ok := strings.CutPrefix(v, secretPrefix); ok {
			j.secrets[k] = ref
		} else {
			j.Env[k] = v
		}
	}
	j.Timeout = e.opts.ActionTimeout
	if a.TimeoutInMinutes > 0 {
		j.Timeout = time.Duration(a.TimeoutInMinutes) * time.Minute
	}
	if x.Source.Event != nil && slices.Contains(x.Source.Actions, row.Action) {
		ev := *x.Source.Event
		j.Trigger = &ev
	}
	return j
}
