package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/artifactd/registry/internal/pipeline"
)

// webhook is the Webhook Invoke provider: an HTTP POST of the execution
// context (WebhookPayload) to Url. A 2xx response succeeds; a JSON object
// of strings in the response body becomes the action's output variables.
// With Secret set, the body is signed: X-Registry-Signature-256:
// sha256=<hex HMAC-SHA256 of the body keyed with Secret>.
type webhook struct{}

var _ Provider = webhook{}

func (webhook) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(pipeline.CategoryInvoke, "Webhook"), MaxInputs: 5, Required: []string{"Url"}, Optional: []string{"Secret"}, SecretKeys: []string{"Secret"},
		Check: func(a *pipeline.Action) error {
			raw := a.Configuration["Url"]
			if refs, _ := pipeline.Refs(raw); len(refs) > 0 {
				return nil // checked once resolved
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("configuration.Url: %q is not an http(s) URL", raw)
			}
			return nil
		}}
}

// WebhookPayload is the body the Webhook action posts.
type WebhookPayload struct {
	Pipeline            string                 `json:"pipeline"`
	PipelineExecutionID string                 `json:"pipelineExecutionId"`
	Stage               string                 `json:"stage"`
	Action              string                 `json:"action"`
	ActionExecutionID   string                 `json:"actionExecutionId"`
	Configuration       map[string]string      `json:"configuration"`
	InputArtifacts      []WebhookArtifact      `json:"inputArtifacts"`
	Trigger             *pipeline.PackageEvent `json:"trigger,omitempty"`
}

// WebhookArtifact describes an input artifact (a zip blob).
type WebhookArtifact struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

func (webhook) Run(ctx context.Context, j *Job) (Result, error) {
	cfg := map[string]string{}
	for k, v := range j.Config {
		if k != "Secret" {
			cfg[k] = v
		}
	}
	p := WebhookPayload{Pipeline: j.Pipeline, PipelineExecutionID: j.ExecutionID, Stage: j.Stage, Action: j.Action,
		ActionExecutionID: j.ActionExecutionID, Configuration: cfg, InputArtifacts: []WebhookArtifact{}, Trigger: j.Trigger}
	for _, in := range j.Inputs {
		p.InputArtifacts = append(p.InputArtifacts, WebhookArtifact{in.Name, in.SHA256, in.Size})
	}
	body, _ := json.Marshal(p)
	u, err := url.Parse(j.Config["Url"])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("Url %q is not an http(s) URL", j.Config["Url"])}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "registry-codepipeline")
	req.Header.Set("X-Registry-Pipeline-Execution-Id", j.ExecutionID)
	req.Header.Set("X-Registry-Action-Execution-Id", j.ActionExecutionID)
	if s := j.Config["Secret"]; s != "" {
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		req.Header.Set("X-Registry-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := j.engine.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("POST %s: %v", u.Redacted(), err)}
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("POST %s: %s: %s", u.Redacted(), resp.Status, truncate(string(rb), 512))}
	}
	res := Result{Summary: fmt.Sprintf("POST %s: %s", u.Redacted(), resp.Status), ExternalURL: u.Redacted()}
	var vars map[string]string
	if json.Unmarshal(rb, &vars) == nil && len(vars) > 0 {
		res.Variables = map[string]string{}
		for k, v := range vars {
			if pipeline.ValidVariableName(k) {
				res.Variables[k] = v
			}
		}
	}
	return res, nil
}
