package codedeploy

import (
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/deploy"
)

// empty is the body of operations without an output shape.
var empty = struct{}{}

type appInput struct {
	ApplicationName string `json:"applicationName"`
	ComputePlatform string `json:"computePlatform"`
	NextToken       string `json:"nextToken"`
}

func (a *API) createApplication(c echo.Context) (any, error) {
	var in appInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "CreateApplication", a.arn("application", in.ApplicationName)); err != nil {
		return nil, err
	}
	app, err := a.Deploy.CreateApplication(c.Request().Context(), in.ApplicationName, in.ComputePlatform)
	if err != nil {
		return nil, err
	}
	return map[string]any{"applicationId": app.ApplicationID}, nil
}

func (a *API) getApplication(c echo.Context) (any, error) {
	var in appInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetApplication", a.arn("application", in.ApplicationName)); err != nil {
		return nil, err
	}
	app, err := a.Deploy.GetApplication(c.Request().Context(), in.ApplicationName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"application": app}, nil
}

func (a *API) listApplications(c echo.Context) (any, error) {
	var in appInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "ListApplications", "*"); err != nil {
		return nil, err
	}
	names, err := a.Deploy.ListApplications(c.Request().Context())
	if err != nil {
		return nil, err
	}
	return paged("applications", names, in.NextToken)
}

func paged(member string, items []string, token string) (any, error) {
	p, next, err := page(items, token)
	if err != nil {
		return nil, err
	}
	out := map[string]any{member: p}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (a *API) deleteApplication(c echo.Context) (any, error) {
	var in appInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "DeleteApplication", a.arn("application", in.ApplicationName)); err != nil {
		return nil, err
	}
	return empty, a.Deploy.DeleteApplication(c.Request().Context(), in.ApplicationName)
}

type groupInput struct {
	deploy.Group
	NextToken string `json:"nextToken"`
}

func (a *API) groupARN(app, group string) string { return a.arn("deploymentgroup", app+"/"+group) }

func (a *API) createDeploymentGroup(c echo.Context) (any, error) {
	var in groupInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "CreateDeploymentGroup", a.groupARN(in.ApplicationName, in.DeploymentGroupName)); err != nil {
		return nil, err
	}
	g, err := a.Deploy.CreateDeploymentGroup(c.Request().Context(), in.Group)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentGroupId": g.DeploymentGroupID}, nil
}

func (a *API) getDeploymentGroup(c echo.Context) (any, error) {
	var in groupInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetDeploymentGroup", a.groupARN(in.ApplicationName, in.DeploymentGroupName)); err != nil {
		return nil, err
	}
	g, err := a.Deploy.GetDeploymentGroup(c.Request().Context(), in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentGroupInfo": g}, nil
}

func (a *API) listDeploymentGroups(c echo.Context) (any, error) {
	var in groupInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "ListDeploymentGroups", a.arn("application", in.ApplicationName)); err != nil {
		return nil, err
	}
	names, err := a.Deploy.ListDeploymentGroups(c.Request().Context(), in.ApplicationName)
	if err != nil {
		return nil, err
	}
	p, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"applicationName": in.ApplicationName, "deploymentGroups": p}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (a *API) deleteDeploymentGroup(c echo.Context) (any, error) {
	var in groupInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "DeleteDeploymentGroup", a.groupARN(in.ApplicationName, in.DeploymentGroupName)); err != nil {
		return nil, err
	}
	if err := a.Deploy.DeleteDeploymentGroup(c.Request().Context(), in.ApplicationName, in.DeploymentGroupName); err != nil {
		return nil, err
	}
	return map[string]any{"hooksNotCleanedUp": []string{}}, nil
}

type configInput struct {
	deploy.Config
	NextToken string `json:"nextToken"`
}

func (a *API) createDeploymentConfig(c echo.Context) (any, error) {
	var in configInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "CreateDeploymentConfig", a.arn("deploymentconfig", in.DeploymentConfigName)); err != nil {
		return nil, err
	}
	cfg, err := a.Deploy.CreateDeploymentConfig(c.Request().Context(), in.Config)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentConfigId": cfg.DeploymentConfigID}, nil
}

func (a *API) getDeploymentConfig(c echo.Context) (any, error) {
	var in configInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetDeploymentConfig", a.arn("deploymentconfig", in.DeploymentConfigName)); err != nil {
		return nil, err
	}
	cfg, err := a.Deploy.GetDeploymentConfig(c.Request().Context(), in.DeploymentConfigName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentConfigInfo": cfg}, nil
}

func (a *API) listDeploymentConfigs(c echo.Context) (any, error) {
	var in configInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "ListDeploymentConfigs", "*"); err != nil {
		return nil, err
	}
	names, err := a.Deploy.ListDeploymentConfigs(c.Request().Context())
	if err != nil {
		return nil, err
	}
	return paged("deploymentConfigsList", names, in.NextToken)
}

type instanceInput struct {
	InstanceName       string             `json:"instanceName"`
	InstanceNames      []string           `json:"instanceNames"`
	IamSessionArn      string             `json:"iamSessionArn"`
	IamUserArn         string             `json:"iamUserArn"`
	Tags               []deploy.Tag       `json:"tags"`
	RegistrationStatus string             `json:"registrationStatus"`
	TagFilters         []deploy.TagFilter `json:"tagFilters"`
	NextToken          string             `json:"nextToken"`
}

func (a *API) registerInstance(c echo.Context) (any, error) {
	var in instanceInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "RegisterOnPremisesInstance", a.arn("instance", in.InstanceName)); err != nil {
		return nil, err
	}
	return empty, a.Deploy.RegisterInstance(c.Request().Context(), in.InstanceName, in.IamSessionArn, in.IamUserArn)
}

func (a *API) addTags(c echo.Context) (any, error) {
	var in instanceInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	for _, n := range in.InstanceNames {
		if err := a.authorize(c, "AddTagsToOnPremisesInstances", a.arn("instance", n)); err != nil {
			return nil, err
		}
	}
	return empty, a.Deploy.AddTags(c.Request().Context(), in.InstanceNames, in.Tags)
}

func (a *API) listInstances(c echo.Context) (any, error) {
	var in instanceInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "ListOnPremisesInstances", "*"); err != nil {
		return nil, err
	}
	names, err := a.Deploy.ListInstances(c.Request().Context(), in.RegistrationStatus, in.TagFilters)
	if err != nil {
		return nil, err
	}
	return paged("instanceNames", names, in.NextToken)
}

func (a *API) getInstance(c echo.Context) (any, error) {
	var in instanceInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "GetOnPremisesInstance", a.arn("instance", in.InstanceName)); err != nil {
		return nil, err
	}
	inst, err := a.Deploy.GetInstance(c.Request().Context(), in.InstanceName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"instanceInfo": inst}, nil
}

func (a *API) deregisterInstance(c echo.Context) (any, error) {
	var in instanceInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.authorize(c, "DeregisterOnPremisesInstance", a.arn("instance", in.InstanceName)); err != nil {
		return nil, err
	}
	return empty, a.Deploy.DeregisterInstance(c.Request().Context(), in.InstanceName)
}
