package codebuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/server"
)

// TargetPrefix is the X-Amz-Target prefix of CodeBuild requests.
const TargetPrefix = "CodeBuild_20161006."

// SigningName is the SigV4 service name of CodeBuild.
const SigningName = "codebuild"

// Authorize is asked before every operation whether the caller of c may
// perform action ("codebuild:StartBuild") on resource (an ARN or "*");
// nil allows, an error (kind forbidden) refuses. cmd/registry builds it
// from access.Authorizer.
type Authorize func(c echo.Context, action, resource string) error

// API is the CodeBuild control plane.
type API struct {
	Builds    *build.Service
	Authorize Authorize
	// Closing, once closed, ends open log streams (the server is shutting
	// down and waits for in-flight requests).
	Closing <-chan struct{}
	// Log receives problems that cannot reach the client; nil drops them.
	Log *slog.Logger
}

type op = server.TargetOp[*API]

var ops = map[string]op{
	"CreateProject":        (*API).createProject,
	"UpdateProject":        (*API).updateProject,
	"DeleteProject":        (*API).deleteProject,
	"BatchGetProjects":     (*API).batchGetProjects,
	"ListProjects":         (*API).listProjects,
	"StartBuild":           (*API).startBuild,
	"StopBuild":            (*API).stopBuild,
	"RetryBuild":           (*API).retryBuild,
	"BatchGetBuilds":       (*API).batchGetBuilds,
	"ListBuilds":           (*API).listBuilds,
	"ListBuildsForProject": (*API).listBuildsForProject,
}

// Operations lists the operations the API serves.
func Operations() []string { return server.TargetOperations(ops) }

// Handle serves one CodeBuild request; register it with
// server.HandleTarget(TargetPrefix, SigningName, api.Handle).
func (a *API) Handle(c echo.Context) error {
	return server.ServeTarget(c, a, TargetPrefix, "CodeBuild", ops, func(_ string, err error) error { return wireError(err) })
}

// wireError turns build's error kinds into CodeBuild exceptions.
func wireError(err error) error {
	code := ""
	switch {
	case errors.Is(err, build.ErrNotFound):
		code = "ResourceNotFoundException"
	case errors.Is(err, build.ErrExists):
		code = "ResourceAlreadyExistsException"
	case errors.Is(err, build.ErrInvalid):
		code = "InvalidInputException"
	case errors.Is(err, build.ErrLimit):
		code = "AccountLimitExceededException"
	default:
		return err
	}
	return &server.APIError{Status: http.StatusBadRequest, Code: code, Msg: err.Error()}
}

func invalid(format string, args ...any) error {
	return &server.APIError{Status: http.StatusBadRequest, Code: "InvalidInputException", Msg: fmt.Sprintf(format, args...)}
}

// decode reads a JSON 1.1 request body into v; an empty body is {}.
func decode(c echo.Context, v any) error {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "reading the request body: " + err.Error()}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "Unexpected value type for field " + te.Field + ": want " + te.Type.String()}
		}
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "malformed JSON request body: " + err.Error()}
	}
	return nil
}

// epoch marshals a time as JSON 1.1 does: epoch seconds, milliseconds
// as the fraction.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

func timePtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// page returns the slice of items a nextToken (an offset) selects, at
// most 100, and the token of the next page.
func page(items []string, token string) ([]string, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", invalid("Invalid nextToken: %s", token)
		}
		start = n
	}
	end := min(start+100, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}
