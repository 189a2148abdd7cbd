package codepipeline

import (
	"encoding/base64"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

// artifactBucket is the bucket artifact locations report; keys are blob
// digests.
const artifactBucket = "registry-artifacts"

func (a *API) createPipeline(c echo.Context, body []byte) (any, error) {
	var in struct {
		Pipeline *pipeline.Declaration `json:"pipeline"`
		Tags     []engine.Tag          `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipeline", in.Pipeline != nil); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "CreatePipeline", in.Pipeline.Name); err != nil {
		return nil, err
	}
	d, err := a.Engine.CreatePipeline(c.Request().Context(), *in.Pipeline, in.Tags)
	if err != nil {
		return nil, err
	}
	out := struct {
		Pipeline pipeline.Declaration `json:"pipeline"`
		Tags     []engine.Tag         `json:"tags,omitempty"`
	}{d, in.Tags}
	return out, nil
}

func (a *API) getPipeline(c echo.Context, body []byte) (any, error) {
	var in struct {
		Name    string `json:"name"`
		Version *int   `json:"version"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("name", in.Name != ""); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetPipeline", in.Name); err != nil {
		return nil, err
	}
	v := 0
	if in.Version != nil {
		if *in.Version < 1 {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%d' at 'version' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Version)
		}
		v = *in.Version
	}
	d, meta, err := a.Engine.GetPipeline(c.Request().Context(), in.Name, v)
	if err != nil {
		return nil, err
	}
	return struct {
		Pipeline pipeline.Declaration `json:"pipeline"`
		Metadata pipelineMetadata     `json:"metadata"`
	}{d, pipelineMetadata{meta.ARN, ts(meta.Created), ts(meta.Updated)}}, nil
}

func (a *API) updatePipeline(c echo.Context, body []byte) (any, error) {
	var in struct {
		Pipeline *pipeline.Declaration `json:"pipeline"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipeline", in.Pipeline != nil); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "UpdatePipeline", in.Pipeline.Name); err != nil {
		return nil, err
	}
	d, err := a.Engine.UpdatePipeline(c.Request().Context(), *in.Pipeline)
	if err != nil {
		return nil, err
	}
	return struct {
		Pipeline pipeline.Declaration `json:"pipeline"`
	}{d}, nil
}

func (a *API) deletePipeline(c echo.Context, body []byte) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("name", in.Name != ""); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "DeletePipeline", in.Name); err != nil {
		return nil, err
	}
	return struct{}{}, a.Engine.DeletePipeline(c.Request().Context(), in.Name)
}

// Tokens of the list operations are opaque: base64 of the cursor.
func token(s string) string { return base64.RawURLEncoding.EncodeToString([]byte("v1:" + s)) }

func untoken(t string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) < 3 || string(b[:3]) != "v1:" {
		return "", pipeline.Errorf(pipeline.ErrInvalidNextToken, "The next token is not a token this service issued")
	}
	return string(b[3:]), nil
}

func seqToken(n int64) string {
	if n == 0 {
		return ""
	}
	return token(strconv.FormatInt(n, 10))
}

func unseqToken(t string) (int64, error) {
	if t == "" {
		return 0, nil
	}
	s, err := untoken(t)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, pipeline.Errorf(pipeline.ErrInvalidNextToken, "The next token is not a token this service issued")
	}
	return n, nil
}

func limit(max *int, upper, def int) (int, error) {
	if max == nil {
		return def, nil
	}
	if *max < 1 || *max > upper {
		return 0, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", *max, upper)
	}
	return *max, nil
}

func (a *API) listPipelines(c echo.Context, body []byte) (any, error) {
	var in struct {
		NextToken  string `json:"nextToken"`
		MaxResults *int   `json:"maxResults"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "ListPipelines", ""); err != nil {
		return nil, err
	}
	n, err := limit(in.MaxResults, 1000, 100)
	if err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != "" {
		if after, err = untoken(in.NextToken); err != nil {
			return nil, err
		}
	}
	list, next, err := a.Engine.ListPipelines(c.Request().Context(), after, n)
	if err != nil {
		return nil, err
	}
	out := struct {
		Pipelines []pipelineSummary `json:"pipelines"`
		NextToken string            `json:"nextToken,omitempty"`
	}{Pipelines: []pipelineSummary{}}
	for _, p := range list {
		out.Pipelines = append(out.Pipelines, pipelineSummary{p.Name, p.Version, p.PipelineType, p.ExecutionMode, ts(p.Created), ts(p.Updated)})
	}
	if next != "" {
		out.NextToken = token(next)
	}
	return out, nil
}

func (a *API) enableStageTransition(c echo.Context, body []byte) (any, error) {
	return a.setTransition(c, body, true)
}

func (a *API) disableStageTransition(c echo.Context, body []byte) (any, error) {
	return a.setTransition(c, body, false)
}

func (a *API) setTransition(c echo.Context, body []byte, enable bool) (any, error) {
	var in struct {
		PipelineName   string `json:"pipelineName"`
		StageName      string `json:"stageName"`
		TransitionType string `json:"transitionType"`
		Reason         string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		path string
		ok   bool
	}{{"pipelineName", in.PipelineName != ""}, {"stageName", in.StageName != ""}, {"transitionType", in.TransitionType != ""}, {"reason", enable || in.Reason != ""}} {
		if err := required(r.path, r.ok); err != nil {
			return nil, err
		}
	}
	op := "EnableStageTransition"
	if !enable {
		op = "DisableStageTransition"
		if len(in.Reason) > 300 || !disabledReasonRE.MatchString(in.Reason) {
			return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'reason' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]+", in.Reason)
		}
	}
	if err := a.authorize(c, op, in.PipelineName); err != nil {
		return nil, err
	}
	return struct{}{}, a.Engine.SetTransition(c.Request().Context(), in.PipelineName, in.StageName, in.TransitionType, enable, in.Reason, a.caller(c))
}
