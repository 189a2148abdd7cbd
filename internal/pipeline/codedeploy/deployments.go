package codedeploy

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/server"
)

type deploymentInput struct {
	ApplicationName               string               `json:"applicationName"`
	DeploymentGroupName           string               `json:"deploymentGroupName"`
	Revision                      *deploy.Revision     `json:"revision"`
	DeploymentConfigName          string               `json:"deploymentConfigName"`
	Description                   string               `json:"description"`
	IgnoreApplicationStopFailures bool                 `json:"ignoreApplicationStopFailures"`
	AutoRollbackConfiguration     *deploy.AutoRollback `json:"autoRollbackConfiguration"`
	FileExistsBehavior            string               `json:"fileExistsBehavior"`
	TargetInstances               any                  `json:"targetInstances"`
	UpdateOutdatedInstancesOnly   bool                 `json:"updateOutdatedInstancesOnly"`
	OverrideAlarmConfiguration    any                  `json:"overrideAlarmConfiguration"`

	DeploymentID         string              `json:"deploymentId"`
	IncludeOnlyStatuses  []string            `json:"includeOnlyStatuses"`
	NextToken            string              `json:"nextToken"`
	AutoRollbackEnabled  *bool               `json:"autoRollbackEnabled"`
	InstanceID           string              `json:"instanceId"`
	InstanceStatusFilter []string            `json:"instanceStatusFilter"`
	TargetFilters        map[string][]string `json:"targetFilters"`
	TargetIDs            []string            `json:"targetIds"`
	TargetID             string              `json:"targetId"`
}

func (a *API) createDeployment(c echo.Context) (any, error) {
	var in deploymentInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.DeploymentGroupName == "" {
		return nil, &deploy.Error{Kind: deploy.ErrRequired, Subject: "DeploymentGroupName", Msg: "Deployment group name is missing"}
	}
	if err := a.authorize(c, "CreateDeployment", a.groupARN(in.ApplicationName, in.DeploymentGroupName)); err != nil {
		return nil, err
	}
	if in.TargetInstances != nil {
		return nil, &deploy.Error{Kind: deploy.ErrInvalid, Subject: "TargetInstances", Msg: "targetInstances is not supported: a blue/green deployment's replacement instances are the group's instances not tagged fleet=blue"}
	}
	if in.UpdateOutdatedInstancesOnly {
		return nil, &deploy.Error{Kind: deploy.ErrInvalid, Subject: "UpdateOutdatedInstancesOnlyValue", Msg: "updateOutdatedInstancesOnly is not supported yet"}
	}
	id, err := a.Deploy.CreateDeployment(c.Request().Context(), deploy.CreateInput{
		ApplicationName: in.ApplicationName, DeploymentGroupName: in.DeploymentGroupName, DeploymentConfigName: in.DeploymentConfigName,
		Revision: in.Revision, Description: in.Description, AutoRollback: in.AutoRollbackConfiguration,
		IgnoreApplicationStopFailures: in.IgnoreApplicationStopFailures, FileExistsBehavior: in.FileExistsBehavior,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentId": id}, nil
}

// deployment decodes the input, authorizes op on the deployment's group
// and returns the deployment.
func (a *API) deployment(c echo.Context, op string, in *deploymentInput) (*deploy.Deployment, error) {
	if err := decode(c, in); err != nil {
		return nil, err
	}
	d, err := a.Deploy.GetDeployment(c.Request().Context(), in.DeploymentID)
	if err != nil {
		if err := a.authorize(c, op, "*"); err != nil {
			return nil, err
		}
		return nil, err
	}
	if err := a.authorize(c, op, a.groupARN(d.ApplicationName, d.DeploymentGroupName)); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *API) getDeployment(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "GetDeployment", &in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentInfo": d}, nil
}

func (a *API) listDeployments(c echo.Context) (any, error) {
	var in deploymentInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	res := "*"
	if in.ApplicationName != "" && in.DeploymentGroupName != "" {
		res = a.groupARN(in.ApplicationName, in.DeploymentGroupName)
	}
	if err := a.authorize(c, "ListDeployments", res); err != nil {
		return nil, err
	}
	ids, err := a.Deploy.ListDeployments(c.Request().Context(), in.ApplicationName, in.DeploymentGroupName, in.IncludeOnlyStatuses)
	if err != nil {
		return nil, err
	}
	return paged("deployments", ids, in.NextToken)
}

func (a *API) stopDeployment(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "StopDeployment", &in)
	if err != nil {
		return nil, err
	}
	if err := a.Deploy.StopDeployment(c.Request().Context(), d.DeploymentID, in.AutoRollbackEnabled); err != nil {
		return nil, err
	}
	return map[string]any{"status": "Succeeded", "statusMessage": "Stopped the deployment " + d.DeploymentID}, nil
}

func (a *API) continueDeployment(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "ContinueDeployment", &in)
	if err != nil {
		return nil, err
	}
	if err := a.Deploy.ContinueDeployment(c.Request().Context(), d.DeploymentID); err != nil {
		return nil, err
	}
	return empty, nil
}

func (a *API) putLifecycleEventHookExecutionStatus(c echo.Context) (any, error) {
	var in deploymentInput
	if _, err := a.deployment(c, "PutLifecycleEventHookExecutionStatus", &in); err != nil {
		return nil, err
	}
	return nil, &server.APIError{Status: http.StatusBadRequest, Code: "UnsupportedActionForDeploymentTypeException",
		Msg: "Lifecycle event hook execution statuses are reported for Lambda and ECS deployments; this deployment's hooks are run by the agent"}
}

func filterTargets(ts []deploy.Target, statuses []string) []string {
	ids := []string{}
	for _, t := range ts {
		ok := len(statuses) == 0
		for _, s := range statuses {
			ok = ok || s == t.Status
		}
		if ok {
			ids = append(ids, t.Instance)
		}
	}
	return ids
}

func (a *API) listDeploymentInstances(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "ListDeploymentInstances", &in)
	if err != nil {
		return nil, err
	}
	ts, err := a.Deploy.Targets(c.Request().Context(), d.DeploymentID)
	if err != nil {
		return nil, err
	}
	return paged("instancesList", filterTargets(ts, in.InstanceStatusFilter), in.NextToken)
}

func (a *API) listDeploymentTargets(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "ListDeploymentTargets", &in)
	if err != nil {
		return nil, err
	}
	ts, err := a.Deploy.Targets(c.Request().Context(), d.DeploymentID)
	if err != nil {
		return nil, err
	}
	return paged("targetIds", filterTargets(ts, in.TargetFilters["TargetStatus"]), in.NextToken)
}

func instanceSummary(t deploy.Target) map[string]any {
	out := map[string]any{"deploymentId": t.DeploymentID, "instanceId": t.Instance, "status": t.Status,
		"lastUpdatedAt": t.LastUpdatedAt, "lifecycleEvents": t.LifecycleEvents}
	if t.InstanceType != "" { // Blue (original) or Green (replacement) in a blue/green deployment
		out["instanceType"] = t.InstanceType
	}
	return out
}

func instanceTarget(t deploy.Target) map[string]any {
	it := map[string]any{"deploymentId": t.DeploymentID, "targetId": t.Instance, "targetArn": t.InstanceArn, "status": t.Status,
		"lastUpdatedAt": t.LastUpdatedAt, "lifecycleEvents": t.LifecycleEvents}
	if t.InstanceType != "" {
		it["instanceLabel"] = t.InstanceType
	}
	return map[string]any{"deploymentTargetType": "InstanceTarget", "instanceTarget": it}
}

func (a *API) getDeploymentInstance(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "GetDeploymentInstance", &in)
	if err != nil {
		return nil, err
	}
	if in.InstanceID == "" {
		return nil, &deploy.Error{Kind: deploy.ErrRequired, Subject: "InstanceId", Msg: "The instance ID is missing"}
	}
	t, err := a.Deploy.Target(c.Request().Context(), d.DeploymentID, in.InstanceID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"instanceSummary": instanceSummary(t)}, nil
}

func (a *API) getDeploymentTarget(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "GetDeploymentTarget", &in)
	if err != nil {
		return nil, err
	}
	if in.TargetID == "" {
		return nil, &deploy.Error{Kind: deploy.ErrRequired, Subject: "DeploymentTargetId", Msg: "The target ID is missing"}
	}
	t, err := a.Deploy.Target(c.Request().Context(), d.DeploymentID, in.TargetID)
	if err != nil {
		return nil, &deploy.Error{Kind: deploy.ErrNotFound, Subject: "DeploymentTarget", Msg: err.Error()}
	}
	return map[string]any{"deploymentTarget": instanceTarget(t)}, nil
}

func (a *API) batchGetDeploymentTargets(c echo.Context) (any, error) {
	var in deploymentInput
	d, err := a.deployment(c, "BatchGetDeploymentTargets", &in)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.TargetIDs) == 0:
		return nil, &deploy.Error{Kind: deploy.ErrRequired, Subject: "DeploymentTargetId", Msg: "At least one target ID is required"}
	case len(in.TargetIDs) > 25:
		return nil, &server.APIError{Status: http.StatusBadRequest, Code: "DeploymentTargetListSizeExceededException", Msg: "At most 25 target IDs can be given"}
	}
	out := []any{}
	for _, id := range in.TargetIDs {
		t, err := a.Deploy.Target(c.Request().Context(), d.DeploymentID, id)
		if err != nil {
			return nil, &deploy.Error{Kind: deploy.ErrNotFound, Subject: "DeploymentTarget", Msg: err.Error()}
		}
		out = append(out, instanceTarget(t))
	}
	return map[string]any{"deploymentTargets": out}, nil
}
