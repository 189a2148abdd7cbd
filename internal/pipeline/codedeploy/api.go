package codedeploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/server"
)

// TargetPrefix is the X-Amz-Target prefix of CodeDeploy requests.
const TargetPrefix = "CodeDeploy_20141006."

// SigningName is the SigV4 service name of CodeDeploy.
const SigningName = "codedeploy"

// Authorize is asked before every operation whether the caller of c may
// perform action ("codedeploy:CreateDeployment") on resource (an ARN or
// "*"); nil allows, an error refuses.
type Authorize func(c echo.Context, action, resource string) error

// API is the CodeDeploy control plane.
type API struct {
	Deploy          *deploy.Service
	Region, Account string
	Authorize       Authorize
}

type op = server.TargetOp[*API]

var ops = map[string]op{
	"CreateApplication":                    (*API).createApplication,
	"GetApplication":                       (*API).getApplication,
	"ListApplications":                     (*API).listApplications,
	"DeleteApplication":                    (*API).deleteApplication,
	"CreateDeploymentGroup":                (*API).createDeploymentGroup,
	"GetDeploymentGroup":                   (*API).getDeploymentGroup,
	"ListDeploymentGroups":                 (*API).listDeploymentGroups,
	"DeleteDeploymentGroup":                (*API).deleteDeploymentGroup,
	"CreateDeploymentConfig":               (*API).createDeploymentConfig,
	"GetDeploymentConfig":                  (*API).getDeploymentConfig,
	"ListDeploymentConfigs":                (*API).listDeploymentConfigs,
	"RegisterOnPremisesInstance":           (*API).registerInstance,
	"AddTagsToOnPremisesInstances":         (*API).addTags,
	"ListOnPremisesInstances":              (*API).listInstances,
	"GetOnPremisesInstance":                (*API).getInstance,
	"DeregisterOnPremisesInstance":         (*API).deregisterInstance,
	"CreateDeployment":                     (*API).createDeployment,
	"GetDeployment":                        (*API).getDeployment,
	"ListDeployments":                      (*API).listDeployments,
	"StopDeployment":                       (*API).stopDeployment,
	"ContinueDeployment":                   (*API).continueDeployment,
	"ListDeploymentInstances":              (*API).listDeploymentInstances,
	"GetDeploymentInstance":                (*API).getDeploymentInstance,
	"ListDeploymentTargets":                (*API).listDeploymentTargets,
	"BatchGetDeploymentTargets":            (*API).batchGetDeploymentTargets,
	"GetDeploymentTarget":                  (*API).getDeploymentTarget,
	"PutLifecycleEventHookExecutionStatus": (*API).putLifecycleEventHookExecutionStatus,
}

// Operations lists the operations the API serves.
func Operations() []string { return server.TargetOperations(ops) }

// Handle serves one CodeDeploy request; register it with
// server.HandleTarget(TargetPrefix, SigningName, api.Handle).
func (a *API) Handle(c echo.Context) error {
	return server.ServeTarget(c, a, TargetPrefix, "CodeDeploy", ops, wireError)
}

// special names the exceptions that do not follow the
// Invalid<Subject>/<Subject>DoesNotExist/... patterns.
var special = map[string]string{
	"exists InstanceName":                  "InstanceNameAlreadyRegisteredException",
	"invalid MultipleIamArns":              "MultipleIamArnsProvidedException",
	"invalid DescriptionTooLong":           "DescriptionTooLongException",
	"invalid TagLimit":                     "TagLimitExceededException",
	"conflict DeploymentLimit":             "DeploymentLimitExceededException",
	"conflict DeploymentAlreadyCompleted":  "DeploymentAlreadyCompletedException",
	"conflict DeploymentIsNotInReadyState": "DeploymentIsNotInReadyStateException",
}

// wireError turns deploy's error kinds into CodeDeploy exceptions named
// for their subject.
func wireError(op string, err error) error {
	var e *deploy.Error
	if !errors.As(err, &e) {
		return err
	}
	kind := map[error]string{deploy.ErrNotFound: "notfound", deploy.ErrExists: "exists", deploy.ErrInvalid: "invalid",
		deploy.ErrRequired: "required", deploy.ErrConflict: "conflict"}[e.Kind]
	code := special[kind+" "+e.Subject]
	if code == "" {
		switch kind {
		case "notfound":
			code = e.Subject + "DoesNotExistException"
			if e.Subject == "Instance" && (op == "GetOnPremisesInstance" || op == "AddTagsToOnPremisesInstances") {
				code = "InstanceNotRegisteredException"
			}
		case "exists":
			code = e.Subject + "AlreadyExistsException"
		case "invalid":
			code = "Invalid" + e.Subject + "Exception"
		case "required":
			code = e.Subject + "RequiredException"
		default:
			return err
		}
	}
	return &server.APIError{Status: http.StatusBadRequest, Code: code, Msg: e.Msg}
}

// decode reads a JSON 1.1 request body into v; an empty body is {}.
func decode(c echo.Context, v any) error {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 8<<20))
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

func invalidToken(token string) error {
	return &server.APIError{Status: http.StatusBadRequest, Code: "InvalidNextTokenException", Msg: "The next token is invalid: " + token}
}

// page returns the slice of items a nextToken (an offset) selects, at
// most 100, and the token of the next page.
func page(items []string, token string) ([]string, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", invalidToken(token)
		}
		start = n
	}
	end := min(start+100, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	out := items[start:end]
	if out == nil {
		out = []string{}
	}
	return out, next, nil
}

func (a *API) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:codedeploy:%s:%s:%s:%s", a.Region, a.Account, kind, name)
}

func (a *API) authorize(c echo.Context, op, resource string) error {
	if a.Authorize == nil {
		return nil
	}
	return a.Authorize(c, "codedeploy:"+op, resource)
}
