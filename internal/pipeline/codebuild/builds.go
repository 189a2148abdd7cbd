package codebuild

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/server"
)

type wirePhase struct {
	PhaseType         build.Phase          `json:"phaseType"`
	PhaseStatus       build.Status         `json:"phaseStatus,omitempty"`
	StartTime         *epoch               `json:"startTime,omitempty"`
	EndTime           *epoch               `json:"endTime,omitempty"`
	DurationInSeconds *int64               `json:"durationInSeconds,omitempty"`
	Contexts          []build.PhaseContext `json:"contexts,omitempty"`
}

type wireArtifacts struct {
	Location           string `json:"location"`
	Sha256sum          string `json:"sha256sum,omitempty"`
	Md5sum             string `json:"md5sum,omitempty"`
	ArtifactIdentifier string `json:"artifactIdentifier,omitempty"`
}

type wireLogs struct {
	GroupName  string `json:"groupName,omitempty"`
	StreamName string `json:"streamName,omitempty"`
	DeepLink   string `json:"deepLink"`
}

// wireBuild is the Build shape.
type wireBuild struct {
	ID                           string            `json:"id"`
	ARN                          string            `json:"arn"`
	BuildNumber                  int64             `json:"buildNumber"`
	StartTime                    epoch             `json:"startTime"`
	EndTime                      *epoch            `json:"endTime,omitempty"`
	CurrentPhase                 build.Phase       `json:"currentPhase"`
	BuildStatus                  build.Status      `json:"buildStatus"`
	SourceVersion                string            `json:"sourceVersion,omitempty"`
	ResolvedSourceVersion        string            `json:"resolvedSourceVersion,omitempty"`
	ProjectName                  string            `json:"projectName"`
	Phases                       []wirePhase       `json:"phases"`
	Source                       build.Source      `json:"source"`
	SecondarySources             []build.Source    `json:"secondarySources,omitempty"`
	Artifacts                    *wireArtifacts    `json:"artifacts,omitempty"`
	SecondaryArtifacts           []wireArtifacts   `json:"secondaryArtifacts,omitempty"`
	Cache                        build.Cache       `json:"cache"`
	Environment                  build.Environment `json:"environment"`
	ServiceRole                  string            `json:"serviceRole,omitempty"`
	Logs                         wireLogs          `json:"logs"`
	TimeoutInMinutes             int               `json:"timeoutInMinutes"`
	QueuedTimeoutInMinutes       int               `json:"queuedTimeoutInMinutes,omitempty"`
	BuildComplete                bool              `json:"buildComplete"`
	Initiator                    string            `json:"initiator,omitempty"`
	EncryptionKey                string            `json:"encryptionKey,omitempty"`
	ExportedEnvironmentVariables []build.EnvVar    `json:"exportedEnvironmentVariables,omitempty"`
	ReportArns                   []string          `json:"reportArns,omitempty"`
	AutoRetryConfig              *wireAutoRetry    `json:"autoRetryConfig,omitempty"`
}

// wireAutoRetry is the AutoRetryConfig shape.
type wireAutoRetry struct {
	AutoRetryLimit    int    `json:"autoRetryLimit"`
	AutoRetryNumber   int    `json:"autoRetryNumber"`
	NextAutoRetry     string `json:"nextAutoRetry,omitempty"`
	PreviousAutoRetry string `json:"previousAutoRetry,omitempty"`
}

func (a *API) toWireBuild(b build.Build) wireBuild {
	w := wireBuild{ID: b.ID, ARN: b.ARN, BuildNumber: b.Number, StartTime: epoch(b.StartTime), EndTime: timePtr(b.EndTime),
		CurrentPhase: b.CurrentPhase, BuildStatus: b.Status, SourceVersion: b.SourceVersion, ResolvedSourceVersion: b.ResolvedSourceVersion,
		ProjectName: b.Project, Source: b.Config.Source, SecondarySources: b.Config.SecondarySources, Cache: b.Config.Cache,
		Environment: b.Config.Environment, ServiceRole: b.Config.ServiceRole, TimeoutInMinutes: b.TimeoutInMinutes,
		QueuedTimeoutInMinutes: b.Config.QueuedTimeoutInMinutes, BuildComplete: b.Complete, Initiator: b.Initiator,
		EncryptionKey: b.Config.EncryptionKey,
		Logs:          wireLogs{GroupName: "/aws/codebuild/" + b.Project, StreamName: b.UUID(), DeepLink: a.Builds.LogURL(b.ID)}}
	if b.Request.BuildspecOverride != "" {
		w.Source.Buildspec = b.Request.BuildspecOverride
	}
	if len(b.Request.EnvironmentVariables) > 0 {
		w.Environment.EnvironmentVariables = mergeEnv(w.Environment.EnvironmentVariables, b.Request.EnvironmentVariables)
	}
	for _, p := range b.Phases {
		wp := wirePhase{PhaseType: p.Type, PhaseStatus: p.Status, StartTime: timePtr(p.StartTime), EndTime: timePtr(p.EndTime), Contexts: p.Contexts}
		if !p.EndTime.IsZero() {
			d := p.Duration()
			wp.DurationInSeconds = &d
		}
		w.Phases = append(w.Phases, wp)
	}
	if b.Artifacts != nil {
		w.Artifacts = a.toWireArtifact(b.ID, *b.Artifacts)
	} else {
		w.Artifacts = &wireArtifacts{Location: ""}
	}
	for _, sa := range b.SecondaryArtifacts {
		w.SecondaryArtifacts = append(w.SecondaryArtifacts, *a.toWireArtifact(b.ID, sa))
	}
	for _, v := range b.ExportedVariables {
		w.ExportedEnvironmentVariables = append(w.ExportedEnvironmentVariables, build.EnvVar{Name: v.Name, Value: v.Value})
	}
	for _, r := range b.Reports {
		w.ReportArns = append(w.ReportArns, r.ARN)
	}
	if ar := b.AutoRetry; ar != nil {
		w.AutoRetryConfig = &wireAutoRetry{AutoRetryLimit: ar.Limit, AutoRetryNumber: ar.Number, NextAutoRetry: ar.Next, PreviousAutoRetry: ar.Previous}
	}
	return w
}

func (a *API) toWireArtifact(id string, o build.OutputArtifact) *wireArtifacts {
	return &wireArtifacts{Location: a.Builds.ArtifactURL(id, o.Identifier), Sha256sum: o.Digest, Md5sum: o.MD5, ArtifactIdentifier: o.Identifier}
}

// mergeEnv returns base with overrides replacing same-named variables.
func mergeEnv(base, over []build.EnvVar) []build.EnvVar {
	out := []build.EnvVar{}
	for _, v := range base {
		replaced := false
		for _, o := range over {
			replaced = replaced || o.Name == v.Name
		}
		if !replaced {
			out = append(out, v)
		}
	}
	return append(out, over...)
}

// buildID accepts a build id or ARN.
func buildID(s string) string {
	if i := strings.Index(s, ":build/"); strings.HasPrefix(s, "arn:") && i >= 0 {
		return s[i+len(":build/"):]
	}
	return s
}

// projectOf returns the project part of a build id.
func projectOf(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		return id[:i]
	}
	return id
}

// initiator is CODEBUILD_INITIATOR for a request: the caller's user name.
func initiator(c echo.Context) string {
	p, _ := server.CallerOf(c)
	return p.Name
}

func (a *API) startBuild(c echo.Context) (any, error) {
	var in struct {
		ProjectName                  string         `json:"projectName"`
		SourceVersion                string         `json:"sourceVersion"`
		BuildspecOverride            string         `json:"buildspecOverride"`
		EnvironmentVariablesOverride []build.EnvVar `json:"environmentVariablesOverride"`
		TimeoutInMinutesOverride     *int           `json:"timeoutInMinutesOverride"`
		ImageOverride                string         `json:"imageOverride"`
		ComputeTypeOverride          string         `json:"computeTypeOverride"`
		EnvironmentTypeOverride      string         `json:"environmentTypeOverride"`
		IdempotencyToken             string         `json:"idempotencyToken"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	name := projectName(in.ProjectName)
	if name == "" {
		return nil, invalid("projectName is required")
	}
	if err := a.Authorize(c, "codebuild:StartBuild", a.Builds.ProjectARN(name)); err != nil {
		return nil, err
	}
	req := build.StartRequest{Project: name, Initiator: initiator(c), SourceVersion: in.SourceVersion,
		BuildspecOverride: in.BuildspecOverride, EnvironmentVariables: in.EnvironmentVariablesOverride}
	if t := in.TimeoutInMinutesOverride; t != nil {
		if *t < 5 || *t > 2160 {
			return nil, invalid("timeoutInMinutesOverride must be between 5 and 2160")
		}
		req.Timeout = time.Duration(*t) * time.Minute
	}
	b, err := a.Builds.StartBuild(c.Request().Context(), req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"build": a.toWireBuild(b)}, nil
}

func (a *API) idInput(c echo.Context, action string) (string, error) {
	var in struct {
		ID string `json:"id"`
	}
	if err := decode(c, &in); err != nil {
		return "", err
	}
	id := buildID(in.ID)
	if id == "" {
		return "", invalid("id is required")
	}
	return id, a.Authorize(c, action, a.Builds.ProjectARN(projectOf(id)))
}

func (a *API) stopBuild(c echo.Context) (any, error) {
	id, err := a.idInput(c, "codebuild:StopBuild")
	if err != nil {
		return nil, err
	}
	b, err := a.Builds.StopBuild(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"build": a.toWireBuild(b)}, nil
}

func (a *API) retryBuild(c echo.Context) (any, error) {
	id, err := a.idInput(c, "codebuild:RetryBuild")
	if err != nil {
		return nil, err
	}
	b, err := a.Builds.RetryBuild(c.Request().Context(), id, initiator(c))
	if err != nil {
		return nil, err
	}
	return map[string]any{"build": a.toWireBuild(b)}, nil
}

func (a *API) batchGetBuilds(c echo.Context) (any, error) {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if len(in.IDs) < 1 || len(in.IDs) > 100 {
		return nil, invalid("ids must hold 1 to 100 build ids")
	}
	ids := make([]string, len(in.IDs))
	for i, id := range in.IDs {
		ids[i] = buildID(id)
		if err := a.Authorize(c, "codebuild:BatchGetBuilds", a.Builds.ProjectARN(projectOf(ids[i]))); err != nil {
			return nil, err
		}
	}
	found, missing, err := a.Builds.Builds(c.Request().Context(), ids)
	if err != nil {
		return nil, err
	}
	bs := []wireBuild{}
	for _, b := range found {
		bs = append(bs, a.toWireBuild(b))
	}
	out := map[string]any{"builds": bs}
	if len(missing) > 0 {
		out["buildsNotFound"] = missing
	}
	return out, nil
}

type listInput struct {
	ProjectName string `json:"projectName"`
	SortOrder   string `json:"sortOrder"`
	NextToken   string `json:"nextToken"`
}

func (a *API) listIDs(c echo.Context, in listInput, project string) (any, error) {
	asc := false
	switch in.SortOrder {
	case "", "DESCENDING":
	case "ASCENDING":
		asc = true
	default:
		return nil, invalid("sortOrder %q is not one of ASCENDING, DESCENDING", in.SortOrder)
	}
	ids, err := a.Builds.ListBuildIDs(c.Request().Context(), project, asc)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(ids, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if len(pg) > 0 {
		out["ids"] = pg
	}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (a *API) listBuilds(c echo.Context) (any, error) {
	var in listInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.Authorize(c, "codebuild:ListBuilds", "*"); err != nil {
		return nil, err
	}
	return a.listIDs(c, in, "")
}

func (a *API) listBuildsForProject(c echo.Context) (any, error) {
	var in listInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	name := projectName(in.ProjectName)
	if name == "" {
		return nil, invalid("projectName is required")
	}
	if err := a.Authorize(c, "codebuild:ListBuildsForProject", a.Builds.ProjectARN(name)); err != nil {
		return nil, err
	}
	if _, missing, err := a.Builds.Projects(c.Request().Context(), []string{name}); err != nil {
		return nil, err
	} else if len(missing) > 0 {
		return nil, wireError(&build.Error{Kind: build.ErrNotFound, Msg: "Project cannot be found: " + name})
	}
	return a.listIDs(c, in, name)
}
