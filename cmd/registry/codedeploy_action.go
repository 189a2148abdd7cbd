package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

// pipelineArtifactBucket is the revision bucket that names a pipeline
// artifact: key is the sha256 digest of the artifact's zip in the blob
// store.
const pipelineArtifactBucket = "codepipeline-artifacts"

// codeDeployAction is CodePipeline's CodeDeploy Deploy action
// (configuration ApplicationName, DeploymentGroupName; one input artifact,
// a zip with appspec.yml at its root). Like AWS's, it drives CodeDeploy
// through its API: CreateDeployment with the artifact as the revision,
// then GetDeployment until the deployment ends, StopDeployment when the
// action is abandoned. It calls the running server with the root key of
// the data directory, so it needs nothing wired before the pipeline
// engine starts.
type codeDeployAction struct{ a *app }

var _ engine.Provider = codeDeployAction{}

// codeDeployAction returns the provider for engine.Options.Providers.
func (a *app) codeDeployAction() engine.Provider { return codeDeployAction{a} }

func (codeDeployAction) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: pipeline.ActionTypeID{Category: pipeline.CategoryDeploy, Owner: "AWS", Provider: "CodeDeploy", Version: "1"},
		MinInputs: 1, MaxInputs: 1, Required: []string{"ApplicationName", "DeploymentGroupName"}}
}

// pollEvery is how often the action asks for the deployment's status.
const pollEvery = 250 * time.Millisecond

func (p codeDeployAction) Run(ctx context.Context, j *engine.Job) (engine.Result, error) {
	cl, err := newDeployClient(p.a.cfg)
	if err != nil {
		return engine.Result{}, err
	}
	id := j.ExternalID // set when the server restarted during this run
	if id == "" {
		out, err := cl.call(ctx, "CreateDeployment", map[string]any{
			"applicationName": j.Config["ApplicationName"], "deploymentGroupName": j.Config["DeploymentGroupName"],
			"description": fmt.Sprintf("CodePipeline %s execution %s", j.Pipeline, j.ExecutionID),
			"revision": map[string]any{"revisionType": "S3", "s3Location": map[string]any{
				"bucket": pipelineArtifactBucket, "key": j.Inputs[0].SHA256, "bundleType": "zip"}},
		})
		if err != nil {
			return engine.Result{}, &engine.ActionError{Code: "JobFailed", Message: err.Error()}
		}
		var res struct{ DeploymentID string }
		json.Unmarshal(out, &res)
		id = res.DeploymentID
		if err := j.SetExternal(ctx, id, ""); err != nil {
			return engine.Result{}, err
		}
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		out, err := cl.call(context.WithoutCancel(ctx), "GetDeployment", map[string]any{"deploymentId": id})
		if err != nil {
			return engine.Result{}, &engine.ActionError{Code: "JobFailed", Message: err.Error()}
		}
		var res struct {
			DeploymentInfo struct {
				Status           string
				ErrorInformation struct{ Code, Message string }
			}
		}
		json.Unmarshal(out, &res)
		d := res.DeploymentInfo
		switch d.Status {
		case "Succeeded":
			return engine.Result{ExternalID: id, Summary: "Deployment " + id + " succeeded"}, nil
		case "Failed", "Stopped":
			return engine.Result{}, &engine.ActionError{Code: "JobFailed",
				Message: fmt.Sprintf("Deployment %s %s: %s: %s", id, d.Status, d.ErrorInformation.Code, d.ErrorInformation.Message)}
		}
		select {
		case <-ctx.Done():
			cl.call(context.WithoutCancel(ctx), "StopDeployment", map[string]any{"deploymentId": id})
			return engine.Result{}, ctx.Err()
		case <-t.C:
		}
	}
}
