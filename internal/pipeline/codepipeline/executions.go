package codepipeline

import (
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

var (
	executionIDRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	clientTokenRE    = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)               // at most 128: checked apart
	disabledReasonRE = regexp.MustCompile(`^[a-zA-Z0-9!@ \(\)\.\*\?\-]+$`) // at most 300: checked apart
)

func checkExecutionID(path, id string) error {
	if err := required(path, id != ""); err != nil {
		return err
	}
	if !executionIDRE.MatchString(id) {
		return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", id, path)
	}
	return nil
}

func (a *API) startPipelineExecution(c echo.Context, body []byte) (any, error) {
	var in struct {
		Name      string `json:"name"`
		Variables []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"variables"`
		ClientRequestToken string `json:"clientRequestToken"`
		SourceRevisions    []any  `json:"sourceRevisions"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("name", in.Name != ""); err != nil {
		return nil, err
	}
	if len(in.ClientRequestToken) > 128 {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 128", in.ClientRequestToken)
	}
	if in.ClientRequestToken != "" && !clientTokenRE.MatchString(in.ClientRequestToken) {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9-]+$", in.ClientRequestToken)
	}
	if len(in.SourceRevisions) > 0 {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "sourceRevisions: source revision overrides are not supported by this server")
	}
	if err := a.authorize(c, "StartPipelineExecution", in.Name); err != nil {
		return nil, err
	}
	start := engine.StartInput{Name: in.Name, ClientRequestToken: in.ClientRequestToken, By: a.caller(c)}
	for _, v := range in.Variables {
		start.Variables = append(start.Variables, engine.ResolvedVariable{Name: v.Name, Value: v.Value})
	}
	id, err := a.Engine.StartExecution(c.Request().Context(), start)
	if err != nil {
		return nil, err
	}
	return struct {
		ID string `json:"pipelineExecutionId"`
	}{id}, nil
}

func (a *API) stopPipelineExecution(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Abandon             bool   `json:"abandon"`
		Reason              string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipelineName", in.PipelineName != ""); err != nil {
		return nil, err
	}
	if err := checkExecutionID("pipelineExecutionId", in.PipelineExecutionID); err != nil {
		return nil, err
	}
	if len([]rune(in.Reason)) > 200 {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value at 'reason' failed to satisfy constraint: Member must have length less than or equal to 200")
	}
	if err := a.authorize(c, "StopPipelineExecution", in.PipelineName); err != nil {
		return nil, err
	}
	if err := a.Engine.StopExecution(c.Request().Context(), in.PipelineName, in.PipelineExecutionID, in.Abandon, in.Reason); err != nil {
		return nil, err
	}
	return struct {
		ID string `json:"pipelineExecutionId"`
	}{in.PipelineExecutionID}, nil
}

func (a *API) getPipelineState(c echo.Context, body []byte) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("name", in.Name != ""); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetPipelineState", in.Name); err != nil {
		return nil, err
	}
	s, err := a.Engine.GetState(c.Request().Context(), in.Name)
	if err != nil {
		return nil, err
	}
	return stateOut(s), nil
}

func (a *API) getPipelineExecution(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipelineName", in.PipelineName != ""); err != nil {
		return nil, err
	}
	if err := checkExecutionID("pipelineExecutionId", in.PipelineExecutionID); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetPipelineExecution", in.PipelineName); err != nil {
		return nil, err
	}
	x, err := a.Engine.GetExecution(c.Request().Context(), in.PipelineName, in.PipelineExecutionID)
	if err != nil {
		return nil, err
	}
	return struct {
		Execution pipelineExecution `json:"pipelineExecution"`
	}{executionOut(x)}, nil
}

func (a *API) listPipelineExecutions(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		MaxResults   *int   `json:"maxResults"`
		NextToken    string `json:"nextToken"`
		Filter       *struct {
			SucceededInStage *struct {
				StageName string `json:"stageName"`
			} `json:"succeededInStage"`
		} `json:"filter"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipelineName", in.PipelineName != ""); err != nil {
		return nil, err
	}
	n, err := limit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	before, err := unseqToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	stage := ""
	if in.Filter != nil && in.Filter.SucceededInStage != nil {
		stage = in.Filter.SucceededInStage.StageName
	}
	if err := a.authorize(c, "ListPipelineExecutions", in.PipelineName); err != nil {
		return nil, err
	}
	list, next, err := a.Engine.ListExecutions(c.Request().Context(), in.PipelineName, stage, before, n)
	if err != nil {
		return nil, err
	}
	out := struct {
		Summaries []executionSummary `json:"pipelineExecutionSummaries"`
		NextToken string             `json:"nextToken,omitempty"`
	}{Summaries: []executionSummary{}, NextToken: seqToken(next)}
	for _, x := range list {
		out.Summaries = append(out.Summaries, summaryOut(x))
	}
	return out, nil
}

func (a *API) listActionExecutions(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		MaxResults   *int   `json:"maxResults"`
		NextToken    string `json:"nextToken"`
		Filter       *struct {
			PipelineExecutionID       string `json:"pipelineExecutionId"`
			LatestInPipelineExecution *struct {
				PipelineExecutionID string `json:"pipelineExecutionId"`
				StartTimeRange      string `json:"startTimeRange"`
			} `json:"latestInPipelineExecution"`
		} `json:"filter"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("pipelineName", in.PipelineName != ""); err != nil {
		return nil, err
	}
	n, err := limit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	before, err := unseqToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var f engine.ActionFilter
	if in.Filter != nil {
		f.ExecutionID = in.Filter.PipelineExecutionID
		if l := in.Filter.LatestInPipelineExecution; l != nil {
			if err := checkExecutionID("filter.latestInPipelineExecution.pipelineExecutionId", l.PipelineExecutionID); err != nil {
				return nil, err
			}
			if l.StartTimeRange != "Latest" && l.StartTimeRange != "All" {
				return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'filter.latestInPipelineExecution.startTimeRange' failed to satisfy constraint: Member must satisfy enum value set: [Latest, All]", l.StartTimeRange)
			}
			f.ExecutionID, f.Latest = l.PipelineExecutionID, l.StartTimeRange == "Latest"
		}
		if f.ExecutionID != "" {
			if err := checkExecutionID("filter.pipelineExecutionId", f.ExecutionID); err != nil {
				return nil, err
			}
		}
	}
	if err := a.authorize(c, "ListActionExecutions", in.PipelineName); err != nil {
		return nil, err
	}
	list, next, err := a.Engine.ListActionExecutions(c.Request().Context(), in.PipelineName, f, before, n)
	if err != nil {
		return nil, err
	}
	out := struct {
		Details   []actionExecutionDetail `json:"actionExecutionDetails"`
		NextToken string                  `json:"nextToken,omitempty"`
	}{Details: []actionExecutionDetail{}, NextToken: seqToken(next)}
	for _, x := range list {
		out.Details = append(out.Details, actionDetailOut(x, artifactBucket))
	}
	return out, nil
}

func (a *API) retryStageExecution(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		StageName           string `json:"stageName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		RetryMode           string `json:"retryMode"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		path string
		ok   bool
	}{{"pipelineName", in.PipelineName != ""}, {"stageName", in.StageName != ""}, {"retryMode", in.RetryMode != ""}} {
		if err := required(r.path, r.ok); err != nil {
			return nil, err
		}
	}
	if err := checkExecutionID("pipelineExecutionId", in.PipelineExecutionID); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "RetryStageExecution", in.PipelineName); err != nil {
		return nil, err
	}
	if err := a.Engine.RetryStage(c.Request().Context(), in.PipelineName, in.StageName, in.PipelineExecutionID, in.RetryMode); err != nil {
		return nil, err
	}
	return struct {
		ID string `json:"pipelineExecutionId"`
	}{in.PipelineExecutionID}, nil
}

func (a *API) putApprovalResult(c echo.Context, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		StageName    string `json:"stageName"`
		ActionName   string `json:"actionName"`
		Result       *struct {
			Summary *string `json:"summary"`
			Status  string  `json:"status"`
		} `json:"result"`
		Token string `json:"token"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		path string
		ok   bool
	}{{"pipelineName", in.PipelineName != ""}, {"stageName", in.StageName != ""}, {"actionName", in.ActionName != ""},
		{"result", in.Result != nil}, {"token", in.Token != ""}} {
		if err := required(r.path, r.ok); err != nil {
			return nil, err
		}
	}
	if err := required("result.summary", in.Result.Summary != nil); err != nil {
		return nil, err
	}
	if err := required("result.status", in.Result.Status != ""); err != nil {
		return nil, err
	}
	if len([]rune(*in.Result.Summary)) > 512 {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value at 'result.summary' failed to satisfy constraint: Member must have length less than or equal to 512")
	}
	if !executionIDRE.MatchString(in.Token) {
		return nil, pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value '%s' at 'token' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", in.Token)
	}
	if err := a.authorize(c, "PutApprovalResult", in.PipelineName); err != nil {
		return nil, err
	}
	at, err := a.Engine.PutApprovalResult(c.Request().Context(), engine.ApprovalInput{Pipeline: in.PipelineName, Stage: in.StageName,
		Action: in.ActionName, Token: in.Token, Status: in.Result.Status, Summary: *in.Result.Summary, By: a.caller(c)})
	if err != nil {
		return nil, err
	}
	return struct {
		ApprovedAt *epoch `json:"approvedAt"`
	}{ts(at)}, nil
}
