package codepipeline

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/server"
)

// TargetPrefix is the X-Amz-Target prefix of CodePipeline operations.
const TargetPrefix = "CodePipeline_20150709."

// SigningName is the SigV4 service name of CodePipeline.
const SigningName = "codepipeline"

// API serves the CodePipeline operations.
type API struct {
	Engine *engine.Engine
	// Authorize, when set, decides whether the caller of c may perform
	// action (e.g. "codepipeline:CreatePipeline") on resource (a pipeline
	// ARN); its error goes to the server's error handler.
	Authorize func(c echo.Context, action, resource string) error
	// Caller returns the ARN of the caller of c, recorded as who started,
	// approved or changed something; nil records "".
	Caller func(c echo.Context) string
	// Region and Account build pipeline ARNs.
	Region, Account string
	// MaxBody bounds request bodies (default 2 MiB).
	MaxBody int64
}

// Register routes the CodePipeline targets of s to the API.
func (a *API) Register(s *server.Server) {
	s.HandleTarget(TargetPrefix, SigningName, a.Handle)
}

type operation func(a *API, c echo.Context, body []byte) (any, error)

var operations = map[string]operation{
	"CreatePipeline":         (*API).createPipeline,
	"GetPipeline":            (*API).getPipeline,
	"UpdatePipeline":         (*API).updatePipeline,
	"DeletePipeline":         (*API).deletePipeline,
	"ListPipelines":          (*API).listPipelines,
	"StartPipelineExecution": (*API).startPipelineExecution,
	"StopPipelineExecution":  (*API).stopPipelineExecution,
	"GetPipelineState":       (*API).getPipelineState,
	"GetPipelineExecution":   (*API).getPipelineExecution,
	"ListPipelineExecutions": (*API).listPipelineExecutions,
	"ListActionExecutions":   (*API).listActionExecutions,
	"RetryStageExecution":    (*API).retryStageExecution,
	"PutApprovalResult":      (*API).putApprovalResult,
	"EnableStageTransition":  (*API).enableStageTransition,
	"DisableStageTransition": (*API).disableStageTransition,
}

// Handle serves one CodePipeline request.
func (a *API) Handle(c echo.Context) error {
	op := strings.TrimPrefix(c.Request().Header.Get("X-Amz-Target"), TargetPrefix)
	server.SetOperation(c, op)
	fn, ok := operations[op]
	if !ok {
		return &server.APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "Unknown operation " + op}
	}
	max := a.MaxBody
	if max <= 0 {
		max = 2 << 20
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, max+1))
	if err != nil {
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "reading the request body: " + err.Error()}
	}
	if int64(len(body)) > max {
		return &server.APIError{Status: http.StatusRequestEntityTooLarge, Code: pipeline.ErrValidation, Msg: "the request body is too large"}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, err := fn(a, c, body)
	if err != nil {
		return apiError(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/x-amz-json-1.1", b)
}

// apiError gives pipeline exceptions their AWS code (all are 400s);
// anything else is left to the server's handler.
func apiError(err error) error {
	var pe *pipeline.Error
	if errors.As(err, &pe) {
		return &server.APIError{Status: http.StatusBadRequest, Code: pe.Code, Msg: pe.Message}
	}
	return err
}

// decode reads a JSON request into v.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException",
				Msg: "field " + te.Field + ": expected " + te.Type.String() + ", got a JSON " + te.Value}
		}
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "malformed JSON request body: " + err.Error()}
	}
	return nil
}

func (a *API) caller(c echo.Context) string {
	if a.Caller == nil {
		return ""
	}
	return a.Caller(c)
}

func (a *API) arn(name string) string {
	return "arn:aws:codepipeline:" + a.Region + ":" + a.Account + ":" + name
}

// authorize checks codepipeline:<op> on the pipeline's ARN ("*" for
// listing).
func (a *API) authorize(c echo.Context, op, pipelineName string) error {
	if a.Authorize == nil {
		return nil
	}
	res := "*"
	if pipelineName != "" {
		res = a.arn(pipelineName)
	}
	return a.Authorize(c, "codepipeline:"+op, res)
}

// required reports a missing required member the way AWS does.
func required(path string, present bool) error {
	if present {
		return nil
	}
	return pipeline.Errorf(pipeline.ErrValidation, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", path)
}
