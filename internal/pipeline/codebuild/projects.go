package codebuild

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/build"
)

// projectInput is CreateProjectInput / UpdateProjectInput: pointers tell
// UpdateProject which members were given.
type projectInput struct {
	Name                   string                   `json:"name"`
	Description            *string                  `json:"description"`
	Source                 *build.Source            `json:"source"`
	SecondarySources       *[]build.Source          `json:"secondarySources"`
	SourceVersion          *string                  `json:"sourceVersion"`
	Artifacts              *build.ArtifactsConfig   `json:"artifacts"`
	SecondaryArtifacts     *[]build.ArtifactsConfig `json:"secondaryArtifacts"`
	Cache                  *build.Cache             `json:"cache"`
	Environment            *build.Environment       `json:"environment"`
	ServiceRole            *string                  `json:"serviceRole"`
	TimeoutInMinutes       *int                     `json:"timeoutInMinutes"`
	QueuedTimeoutInMinutes *int                     `json:"queuedTimeoutInMinutes"`
	EncryptionKey          *string                  `json:"encryptionKey"`
	Tags                   *[]build.Tag             `json:"tags"`
	LogsConfig             json.RawMessage          `json:"logsConfig"`
	ConcurrentBuildLimit   *int                     `json:"concurrentBuildLimit"`
}

// apply copies the given members onto p.
func (in *projectInput) apply(p *build.Project) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Description, in.Description)
	set(&p.SourceVersion, in.SourceVersion)
	set(&p.ServiceRole, in.ServiceRole)
	set(&p.EncryptionKey, in.EncryptionKey)
	if in.Source != nil {
		p.Source = *in.Source
	}
	if in.SecondarySources != nil {
		p.SecondarySources = *in.SecondarySources
	}
	if in.Artifacts != nil {
		p.Artifacts = *in.Artifacts
	}
	if in.SecondaryArtifacts != nil {
		p.SecondaryArtifacts = *in.SecondaryArtifacts
	}
	if in.Cache != nil {
		p.Cache = *in.Cache
	}
	if in.Environment != nil {
		p.Environment = *in.Environment
	}
	if in.TimeoutInMinutes != nil {
		p.TimeoutInMinutes = *in.TimeoutInMinutes
	}
	if in.QueuedTimeoutInMinutes != nil {
		p.QueuedTimeoutInMinutes = *in.QueuedTimeoutInMinutes
	}
	if in.Tags != nil {
		p.Tags = *in.Tags
	}
	if len(in.LogsConfig) > 0 {
		p.LogsConfig = in.LogsConfig
	}
	if in.ConcurrentBuildLimit != nil {
		p.ConcurrentBuildLimit = in.ConcurrentBuildLimit
		if *in.ConcurrentBuildLimit == -1 { // UpdateProject's way to remove the limit
			p.ConcurrentBuildLimit = nil
		}
	}
}

// wireProject is the Project shape: build.Project with its times as
// epoch seconds (the outer fields shadow the embedded ones).
type wireProject struct {
	build.Project
	Created           epoch  `json:"created"`
	LastModified      epoch  `json:"lastModified"`
	ProjectVisibility string `json:"projectVisibility"`
}

func toWireProject(p build.Project) wireProject {
	return wireProject{Project: p, Created: epoch(p.Created), LastModified: epoch(p.LastModified), ProjectVisibility: "PRIVATE"}
}

// projectName accepts a project name or ARN.
func projectName(s string) string {
	if i := strings.Index(s, ":project/"); strings.HasPrefix(s, "arn:") && i >= 0 {
		return s[i+len(":project/"):]
	}
	return s
}

func (a *API) createProject(c echo.Context) (any, error) {
	var in projectInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Name == "":
		return nil, invalid("name is required")
	case in.Source == nil:
		return nil, invalid("source is required")
	case in.Artifacts == nil:
		return nil, invalid("artifacts is required")
	case in.Environment == nil:
		return nil, invalid("environment is required")
	case in.ServiceRole == nil:
		return nil, invalid("serviceRole is required")
	}
	if err := a.Authorize(c, "codebuild:CreateProject", a.Builds.ProjectARN(in.Name)); err != nil {
		return nil, err
	}
	p := build.Project{Name: in.Name}
	in.apply(&p)
	p, err := a.Builds.CreateProject(c.Request().Context(), p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"project": toWireProject(p)}, nil
}

func (a *API) updateProject(c echo.Context) (any, error) {
	var in projectInput
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	name := projectName(in.Name)
	if name == "" {
		return nil, invalid("name is required")
	}
	if err := a.Authorize(c, "codebuild:UpdateProject", a.Builds.ProjectARN(name)); err != nil {
		return nil, err
	}
	p, err := a.Builds.UpdateProject(c.Request().Context(), name, func(p *build.Project) error {
		in.apply(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"project": toWireProject(p)}, nil
}

func (a *API) deleteProject(c echo.Context) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	name := projectName(in.Name)
	if name == "" {
		return nil, invalid("name is required")
	}
	if err := a.Authorize(c, "codebuild:DeleteProject", a.Builds.ProjectARN(name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.Builds.DeleteProject(c.Request().Context(), name)
}

func (a *API) batchGetProjects(c echo.Context) (any, error) {
	var in struct {
		Names []string `json:"names"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if len(in.Names) < 1 || len(in.Names) > 100 {
		return nil, invalid("names must hold 1 to 100 project names")
	}
	names := make([]string, len(in.Names))
	for i, n := range in.Names {
		names[i] = projectName(n)
		if err := a.Authorize(c, "codebuild:BatchGetProjects", a.Builds.ProjectARN(names[i])); err != nil {
			return nil, err
		}
	}
	found, missing, err := a.Builds.Projects(c.Request().Context(), names)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"projects": []wireProject{}}
	ps := []wireProject{}
	for _, p := range found {
		ps = append(ps, toWireProject(p))
	}
	out["projects"] = ps
	if len(missing) > 0 {
		out["projectsNotFound"] = missing
	}
	return out, nil
}

func (a *API) listProjects(c echo.Context) (any, error) {
	var in struct {
		SortBy    string `json:"sortBy"`
		SortOrder string `json:"sortOrder"`
		NextToken string `json:"nextToken"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if err := a.Authorize(c, "codebuild:ListProjects", "*"); err != nil {
		return nil, err
	}
	ps, err := a.Builds.ListProjects(c.Request().Context())
	if err != nil {
		return nil, err
	}
	less := func(i, j int) bool { return ps[i].Name < ps[j].Name }
	switch in.SortBy {
	case "", "NAME":
	case "CREATED_TIME":
		less = func(i, j int) bool { return ps[i].Created.Before(ps[j].Created) }
	case "LAST_MODIFIED_TIME":
		less = func(i, j int) bool { return ps[i].LastModified.Before(ps[j].LastModified) }
	default:
		return nil, invalid("sortBy %q is not one of NAME, CREATED_TIME, LAST_MODIFIED_TIME", in.SortBy)
	}
	switch in.SortOrder {
	case "", "ASCENDING":
	case "DESCENDING":
		asc := less
		less = func(i, j int) bool { return asc(j, i) }
	default:
		return nil, invalid("sortOrder %q is not one of ASCENDING, DESCENDING", in.SortOrder)
	}
	sort.SliceStable(ps, less)
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	pg, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if len(pg) > 0 {
		out["projects"] = pg
	}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}
