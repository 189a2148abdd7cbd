package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/artifactd/registry/internal/pipeline"
)

// ResolvedVariable is a pipeline variable's value in an execution.
type ResolvedVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StartInput is a manual start of a pipeline.
type StartInput struct {
	Name string
	// Variables override pipeline variables' defaults.
	Variables []ResolvedVariable
	// ClientRequestToken makes the start idempotent: a second start with
	// the same token returns the first execution.
	ClientRequestToken string
	// By is the caller's ARN (the trigger detail).
	By string
}

// StartExecution starts an execution of the pipeline's current version
// and returns its id. Source actions fetch their newest revision.
func (e *Engine) StartExecution(ctx context.Context, in StartInput) (string, error) {
	var id string
	err := e.change(ctx, in.Name, func(tx *sql.Tx, fx *effects) error {
		p, err := loadPipeline(ctx, tx, in.Name)
		if err != nil {
			return err
		}
		if in.ClientRequestToken != "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM executions WHERE pipeline = ? AND client_token = ?`, in.Name, in.ClientRequestToken).Scan(&id)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		d, err := e.decl(ctx, tx, in.Name, p.Version)
		if err != nil {
			return err
		}
		vars, err := resolveVariables(d, in.Variables)
		if err != nil {
			return err
		}
		x := &execRow{ID: newUUID(), Pipeline: in.Name, Version: p.Version, Mode: d.ExecutionMode, Status: pipeline.StatusInProgress,
			TriggerType: pipeline.TriggerStartPipelineExecution, TriggerDetail: in.By, Variables: vars, ClientToken: in.ClientRequestToken}
		id = x.ID
		return e.startExec(ctx, tx, x, d, fx)
	})
	return id, err
}

// resolveVariables gives every declared pipeline variable its value:
// the override, else the default.
func resolveVariables(d *pipeline.Declaration, overrides []ResolvedVariable) ([]ResolvedVariable, error) {
	given := map[string]string{}
	for i, v := range overrides {
		if _, ok := d.Variable(v.Name); !ok {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "variables.%d.member.name: pipeline '%s' declares no variable '%s'", i+1, d.Name, v.Name)
		}
		if _, dup := given[v.Name]; dup {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "variables.%d.member.name: variable '%s' is given more than once", i+1, v.Name)
		}
		if n := utf8.RuneCountInString(v.Value); n < 1 || n > 1000 {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value at 'variables.%d.member.value' failed to satisfy constraint: Member must have length between 1 and 1000", i+1)
		}
		given[v.Name] = v.Value
	}
	var out []ResolvedVariable
	for _, v := range d.Variables {
		val, ok := given[v.Name]
		if !ok {
			val = v.DefaultValue
		}
		if val == "" {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "variables: pipeline variable '%s' has no default value, so StartPipelineExecution must give it one", v.Name)
		}
		out = append(out, ResolvedVariable{v.Name, val})
	}
	return out, nil
}

// startExec stores a new execution waiting before the first stage.
func (e *Engine) startExec(ctx context.Context, tx *sql.Tx, x *execRow, d *pipeline.Declaration, fx *effects) error {
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	now := e.nowMs()
	x.Seq, x.WaitSeq, x.Waiting, x.StageIndex, x.Started, x.Updated = seq, seq, true, 0, now, now
	if err := insertExec(ctx, tx, x); err != nil {
		return err
	}
	fx.touch(x.ID)
	fx.events = append(fx.events, e.pipelineEvent(x, StateStarted))
	if d.ExecutionMode != pipeline.ModeSuperseded {
		return nil // only superseding compares a new execution with the others
	}
	execs, err := loadActiveExecs(ctx, tx, x.Pipeline)
	if err != nil {
		return err
	}
	for i, o := range execs {
		if o.ID == x.ID {
			execs[i] = x
		}
	}
	return e.arrive(ctx, tx, x, execs, d, fx)
}

// HandlePackageEvent starts every pipeline whose CodeArtifact Source
// action (with DetectChanges on) matches a package event, once per
// pipeline and event deduplication id, and returns the ids of the
// executions it started.
func (e *Engine) HandlePackageEvent(ctx context.Context, ev pipeline.PackageEvent) ([]string, error) {
	return e.HandlePackageEvents(ctx, []pipeline.PackageEvent{ev})
}

// HandlePackageEvents is HandlePackageEvent for several events, in order:
// the executions one pipeline gets from them start in one transaction (one
// commit), which is what lets a burst of publishes start their pipelines
// as fast as they arrive. An error means that some pipeline started none
// of the executions the events asked of it; handling the events again
// starts only what is missing.
func (e *Engine) HandlePackageEvents(ctx context.Context, evs []pipeline.PackageEvent) ([]string, error) {
	rows, err := e.db.sql.QueryContext(ctx, `SELECT name, version FROM pipelines ORDER BY name`)
	if err != nil {
		return nil, err
	}
	type pv struct {
		name    string
		version int
	}
	var all []pv
	for rows.Next() {
		var p pv
		if err := rows.Scan(&p.name, &p.version); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, p)
	}
	rows.Close()
	var started []string
	var errs []error
	for _, p := range all {
		d, err := e.decl(ctx, e.db.sql, p.name, p.version)
		if err != nil {
			continue // deleted meanwhile
		}
		type trigger struct {
			ev      pipeline.PackageEvent
			matched []string
		}
		var triggers []trigger
		for _, ev := range evs {
			var matched []string
			for _, a := range d.Stages[0].Actions {
				if a.ActionTypeID == awsType(pipeline.CategorySource, "CodeArtifact") && pipeline.FilterOf(a.Configuration).Triggers(ev) {
					matched = append(matched, a.Name)
				}
			}
			if len(matched) > 0 {
				triggers = append(triggers, trigger{ev, matched})
			}
		}
		if len(triggers) == 0 {
			continue
		}
		var ids []string
		err = e.change(ctx, p.name, func(tx *sql.Tx, fx *effects) error {
			ids = nil
			cur, err := loadPipeline(ctx, tx, p.name)
			if err != nil || cur.Version != p.version {
				return err // deleted or updated meanwhile: the next event sees the new version
			}
			for _, t := range triggers {
				id, err := e.startForEvent(ctx, tx, p.name, p.version, d, t.ev, t.matched, fx)
				if err != nil {
					return err
				}
				if id != "" {
					ids = append(ids, id)
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", p.name, err))
			continue
		}
		started = append(started, ids...)
	}
	return started, errors.Join(errs...)
}

// startForEvent starts an execution of version version (d) of pipeline
// name for a package event that matched the source actions matched,
// unless one was started for the event's deduplication id already; it
// returns the new execution's id, or "".
func (e *Engine) startForEvent(ctx context.Context, tx *sql.Tx, name string, version int, d *pipeline.Declaration, ev pipeline.PackageEvent,
	matched []string, fx *effects) (string, error) {
	x := &execRow{ID: newUUID(), Pipeline: name, Version: version, Mode: d.ExecutionMode, Status: pipeline.StatusInProgress,
		TriggerType: pipeline.TriggerCloudWatchEvent, TriggerDetail: packageEventDetail(e.opts, ev),
		Source: execSource{Actions: matched, Event: &ev}}
	if ev.EventDeduplicationID != "" {
		res, err := tx.ExecContext(ctx, `INSERT INTO trigger_events(pipeline, dedup_id, execution_id, received) VALUES (?,?,?,?)
			ON CONFLICT DO NOTHING`, name, ev.EventDeduplicationID, x.ID, e.nowMs())
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil // already handled
		}
	}
	vars, err := resolveVariables(d, nil)
	if err != nil {
		x.Status, x.Summary = pipeline.StatusFailed, err.Error()
	}
	x.Variables = vars
	if x.Status == pipeline.StatusFailed {
		seq, err := nextSeq(ctx, tx)
		if err != nil {
			return "", err
		}
		x.Seq, x.WaitSeq, x.Started, x.Updated = seq, seq, e.nowMs(), e.nowMs()
		if err := insertExec(ctx, tx, x); err != nil {
			return "", err
		}
		fx.events = append(fx.events, e.pipelineEvent(x, StateFailed))
		return x.ID, nil
	}
	return x.ID, e.startExec(ctx, tx, x, d, fx)
}

// packageEventDetail is the trigger detail of an event-started execution:
// the package's ARN and version.
func packageEventDetail(o Options, ev pipeline.PackageEvent) string {
	return fmt.Sprintf("arn:aws:codeartifact:%s:%s:package/%s/%s/%s/%s/%s@%s", o.Region, o.Account, ev.DomainName, ev.RepositoryName,
		ev.PackageFormat, ev.PackageNamespace, ev.PackageName, ev.PackageVersion)
}
