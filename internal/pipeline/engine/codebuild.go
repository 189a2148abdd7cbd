package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// codeBuild is the CodeBuild Build/Test provider, running builds through
// the Builder port. The build id is recorded as soon as the build starts,
// so a restarted server waits for the same build instead of starting
// another. A build that outlives the action's timeout is stopped.
type codeBuild struct{ category string }

var _ Provider = codeBuild{}

func (c codeBuild) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(c.category, "CodeBuild"), MinInputs: 1, MaxInputs: 5, MaxOutputs: 5,
		Required: []string{"ProjectName"}, Optional: []string{"PrimarySource", "EnvironmentVariables", "BatchEnabled", "CombineArtifacts"},
		Check: func(a *pipeline.Action) error {
			if raw := a.Configuration["EnvironmentVariables"]; raw != "" {
				if _, err := buildEnv(raw); err != nil {
					return fmt.Errorf("configuration.EnvironmentVariables: %v", err)
				}
			}
			if ps := a.Configuration["PrimarySource"]; ps != "" {
				for _, in := range a.InputArtifacts {
					if in.Name == ps {
						return nil
					}
				}
				return fmt.Errorf("configuration.PrimarySource: %q is not an input artifact of the action", ps)
			}
			return nil
		}}
}

// buildEnv parses the EnvironmentVariables configuration: a JSON array of
// {"name","value","type"} (type PLAINTEXT; PARAMETER_STORE and
// SECRETS_MANAGER are passed to the builder as references).
func buildEnv(raw string) (map[string]string, error) {
	var vars []struct {
		Name, Value, Type string
	}
	if err := json.Unmarshal([]byte(raw), &vars); err != nil {
		return nil, fmt.Errorf("not a JSON array of {name, value, type}: %v", err)
	}
	out := map[string]string{}
	for _, v := range vars {
		if v.Name == "" {
			return nil, errors.New("a variable has no name")
		}
		switch v.Type {
		case "", "PLAINTEXT":
			out[v.Name] = v.Value
		default:
			return nil, fmt.Errorf("variable %s: type %s is not supported in pipeline configuration (use the project's environment)", v.Name, v.Type)
		}
	}
	return out, nil
}

func (codeBuild) Run(ctx context.Context, j *Job) (Result, error) {
	b := j.engine.opts.Builder
	if b == nil {
		return Result{}, errors.New("no CodeBuild builder is configured")
	}
	id := j.ExternalID
	start := func() error {
		in := BuildInput{Sources: j.Inputs, Initiator: "codepipeline/" + j.Pipeline}
		if ps := j.Config["PrimarySource"]; ps != "" {
			in.Sources = nil
			for _, s := range j.Inputs {
				if s.Name == ps {
					in.Sources = append([]Artifact{s}, in.Sources...)
				} else {
					in.Sources = append(in.Sources, s)
				}
			}
		}
		if raw := j.Config["EnvironmentVariables"]; raw != "" {
			env, err := buildEnv(raw)
			if err != nil {
				return err
			}
			in.Env = env
		}
		for _, o := range j.Outputs {
			in.Outputs = append(in.Outputs, o.Name)
		}
		var err error
		if in.Repositories, in.SourceVersion, err = j.sourceRepositories(ctx); err != nil {
			return err
		}
		if id, err = b.StartBuild(ctx, j.Config["ProjectName"], in); err != nil {
			return &ActionError{Code: "JobFailed", Message: fmt.Sprintf("starting a build of project %s: %v", j.Config["ProjectName"], err)}
		}
		return j.SetExternal(ctx, id, "")
	}
	if id == "" {
		if err := start(); err != nil {
			return Result{}, err
		}
	}
	res, err := b.WaitBuild(ctx, id)
	if errors.Is(err, ErrUnknownBuild) && j.ExternalID != "" {
		if err := start(); err != nil { // the builder lost it across a restart
			return Result{}, err
		}
		res, err = b.WaitBuild(ctx, id)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		b.StopBuild(sctx, id)
		cancel()
	}
	if err != nil {
		return Result{}, err
	}
	out := Result{ExternalID: id, ExternalURL: res.LogURL, Variables: res.ExportedVariables, Summary: "Build " + id + " " + res.Status}
	if res.Status != "SUCCEEDED" {
		msg := fmt.Sprintf("Build %s ended %s", id, res.Status)
		if res.Message != "" {
			msg += ": " + res.Message
		}
		return out, &ActionError{Code: "JobFailed", Message: msg}
	}
	for i, o := range j.Outputs {
		var found *Artifact
		for k := range res.Outputs {
			if res.Outputs[k].Name == o.Name || (res.Outputs[k].Name == "" && k == i) {
				found = &res.Outputs[k]
				break
			}
		}
		if found == nil {
			return out, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("Build %s produced no artifact for output %s", id, o.Name)}
		}
		out.Outputs = append(out.Outputs, Artifact{Name: o.Name, SHA256: found.SHA256, Size: found.Size})
	}
	return out, nil
}

// sourceRepositories returns the repositories the execution's succeeded
// CodeArtifact Source actions read (from their output variables), and the
// package version the first of them fetched.
func (j *Job) sourceRepositories(ctx context.Context) ([]Repository, string, error) {
	rows, err := j.engine.db.sql.QueryContext(ctx, `SELECT input, output FROM action_executions
		WHERE execution_id = ? AND status = ? ORDER BY n`, j.ExecutionID, pipeline.StatusSucceeded)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []Repository
	version := ""
	caSource := awsType(pipeline.CategorySource, "CodeArtifact")
	for rows.Next() {
		var in, res string
		if err := rows.Scan(&in, &res); err != nil {
			return nil, "", err
		}
		var ai actionInput
		var ao actionOutput
		if json.Unmarshal([]byte(in), &ai) != nil || ai.ActionTypeID != caSource || json.Unmarshal([]byte(res), &ao) != nil {
			continue
		}
		v := ao.OutputVariables
		r := Repository{Domain: v["DomainName"], Repository: v["RepositoryName"], Format: v["PackageFormat"]}
		if r.Domain == "" || r.Repository == "" || slices.Contains(out, r) {
			continue
		}
		if version == "" {
			version = v["PackageVersion"]
		}
		out = append(out, r)
	}
	return out, version, rows.Err()
}
