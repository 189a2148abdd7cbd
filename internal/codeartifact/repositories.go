package codeartifact

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/policy"
)

// externalConnections maps the public external connections this registry
// can proxy to the format each serves.
var externalConnections = map[string]domain.Format{
	"public:npmjs":               domain.FormatNPM,
	"public:pypi":                domain.FormatPyPI,
	"public:maven-central":       domain.FormatMaven,
	"public:maven-googleandroid": domain.FormatMaven,
	"public:maven-gradleplugins": domain.FormatMaven,
	"public:maven-commonsware":   domain.FormatMaven,
	"public:maven-clojars":       domain.FormatMaven,
}

// connectionFormat returns the format an external connection serves: a
// public one, or a custom one the configuration names.
func (a *API) connectionFormat(name string) (domain.Format, bool) {
	if f, ok := externalConnections[name]; ok {
		return f, true
	}
	f, ok := a.Connections[name]
	return f, ok
}

func (a *API) format(name string) domain.Format { f, _ := a.connectionFormat(name); return f }

func (a *API) repositoryDescription(r domain.Repository) map[string]any {
	ups := make([]map[string]string, 0, len(r.Upstreams))
	for _, u := range r.Upstreams {
		ups = append(ups, map[string]string{"repositoryName": u})
	}
	ecs := []map[string]string{}
	if r.ExternalConnection != "" {
		ecs = append(ecs, map[string]string{"externalConnectionName": r.ExternalConnection,
			"packageFormat": string(a.format(r.ExternalConnection)), "status": "Available"})
	}
	return map[string]any{
		"name": r.Name, "administratorAccount": a.ARNs.Account, "domainName": r.Domain, "domainOwner": a.ARNs.Account,
		"arn": a.ARNs.Repository(r.Domain, r.Name), "description": r.Description, "upstreams": ups,
		"externalConnections": ecs, "createdTime": ts(r.CreatedAt),
	}
}

type upstreamList []struct {
	RepositoryName string `json:"repositoryName"`
}

func (u upstreamList) names() ([]string, error) {
	out := make([]string, 0, len(u))
	for _, x := range u {
		if err := domain.ValidateRepositoryName(x.RepositoryName); err != nil {
			return nil, err
		}
		out = append(out, x.RepositoryName)
	}
	return out, nil
}

// authorizeUpstreams checks AssociateWithDownstreamRepository on each
// upstream, as CodeArtifact does when a repository lists it.
func (a *API) authorizeUpstreams(c echo.Context, d string, ups []string) error {
	for _, u := range ups {
		if err := a.authorize(c, "codeartifact:AssociateWithDownstreamRepository", a.ARNs.Repository(d, u), access.Scope{Domain: d, Repository: u}); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createRepository(c echo.Context) error {
	d, r, err := a.repoParams(c, "repository")
	if err != nil {
		return err
	}
	var in struct {
		Description string       `json:"description"`
		Upstreams   upstreamList `json:"upstreams"`
		Tags        tagList      `json:"tags"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if err := domain.ValidateDescription(in.Description); err != nil {
		return err
	}
	ups, err := in.Upstreams.names()
	if err != nil {
		return err
	}
	tags, err := in.Tags.validate()
	if err != nil {
		return err
	}
	if err := a.authorize(c, "", a.ARNs.Repository(d, r), access.Scope{Domain: d}); err != nil {
		return err
	}
	if err := a.authorizeUpstreams(c, d, ups); err != nil {
		return err
	}
	repo, err := a.DB.CreateRepository(ctx(c), d, r, in.Description, a.ARNs.Account, ups)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		if err := a.DB.TagResource(ctx(c), a.ARNs.Repository(d, r), tags); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

// repoOp reads the repository parameters and authorizes the operation on
// the repository.
func (a *API) repoOp(c echo.Context) (string, string, error) {
	d, r, err := a.repoParams(c, "repository")
	if err != nil {
		return "", "", err
	}
	return d, r, a.authorize(c, "", a.ARNs.Repository(d, r), access.Scope{Domain: d, Repository: r})
}

func (a *API) describeRepository(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	repo, err := a.DB.GetRepository(ctx(c), d, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

func (a *API) updateRepository(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	var in struct {
		Description *string       `json:"description"`
		Upstreams   *upstreamList `json:"upstreams"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if in.Description != nil {
		if err := domain.ValidateDescription(*in.Description); err != nil {
			return err
		}
	}
	var ups *[]string
	if in.Upstreams != nil {
		names, err := in.Upstreams.names()
		if err != nil {
			return err
		}
		if err := a.authorizeUpstreams(c, d, names); err != nil {
			return err
		}
		ups = &names
	}
	repo, err := a.DB.UpdateRepository(ctx(c), d, r, in.Description, ups)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

func (a *API) deleteRepository(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	repo, err := a.DB.DeleteRepository(ctx(c), d, r)
	if err != nil {
		return err
	}
	if err := a.DB.DropTags(ctx(c), a.ARNs.Repository(d, r)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

func (a *API) externalConnection(c echo.Context) (string, string, string, error) {
	d, r, err := a.repoOp(c)
	if err != nil {
		return "", "", "", err
	}
	ec, err := query(c, "external-connection")
	if err != nil {
		return "", "", "", err
	}
	if err := domain.ValidateExternalConnectionName(ec); err != nil {
		return "", "", "", err
	}
	if _, ok := a.connectionFormat(ec); !ok {
		names := make([]string, 0, len(externalConnections)+len(a.Connections))
		for n := range externalConnections {
			names = append(names, n)
		}
		for n := range a.Connections {
			names = append(names, n)
		}
		return "", "", "", domain.Invalid("external connection %s is not supported; supported: %s", ec, strings.Join(sorted(names), ", "))
	}
	return d, r, ec, nil
}

func (a *API) associateExternalConnection(c echo.Context) error {
	d, r, ec, err := a.externalConnection(c)
	if err != nil {
		return err
	}
	repo, err := a.DB.SetExternalConnection(ctx(c), d, r, ec, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

func (a *API) disassociateExternalConnection(c echo.Context) error {
	d, r, ec, err := a.externalConnection(c)
	if err != nil {
		return err
	}
	repo, err := a.DB.SetExternalConnection(ctx(c), d, r, ec, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repository": a.repositoryDescription(repo)})
}

func (a *API) getRepositoryEndpoint(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	f, err := query(c, "format")
	if err != nil {
		return err
	}
	if err := domain.ValidateFormat(domain.Format(f)); err != nil {
		return err
	}
	if et := c.QueryParam("endpointType"); et != "" && et != "ipv4" && et != "dualstack" {
		return domain.Invalid("endpointType must be ipv4 or dualstack")
	}
	if _, err := a.DB.GetRepository(ctx(c), d, r); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"repositoryEndpoint": a.BaseURL + "/" + f + "/" + d + "/" + r + "/"})
}

// Permissions policies.

func (a *API) policyShape(arn string, p domain.Policy) map[string]any {
	return map[string]any{"policy": map[string]any{"resourceArn": arn, "revision": p.Revision, "document": p.Document}}
}

func validatePolicy(doc string) error {
	if utf8.RuneCountInString(doc) > domain.MaxPolicyLength {
		return domain.Invalid("policyDocument must be at most %d characters", domain.MaxPolicyLength)
	}
	_, err := policy.Parse(doc, policy.Resource)
	return err
}

func (a *API) putDomainPolicy(c echo.Context) error {
	var in struct {
		Domain         string `json:"domain"`
		DomainOwner    string `json:"domainOwner"`
		PolicyRevision string `json:"policyRevision"`
		PolicyDocument string `json:"policyDocument"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if err := domain.ValidateDomainName(in.Domain); err != nil {
		return err
	}
	if in.DomainOwner != "" && in.DomainOwner != a.ARNs.Account {
		return domain.NotFound("domain", in.Domain)
	}
	if err := validatePolicy(in.PolicyDocument); err != nil {
		return err
	}
	arn := a.ARNs.Domain(in.Domain)
	if err := a.authorize(c, "", arn, access.Scope{Domain: in.Domain, IgnoreResourcePolicy: true}); err != nil {
		return err
	}
	p, err := a.DB.PutPolicy(ctx(c), in.Domain, "", in.PolicyDocument, in.PolicyRevision)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(arn, p))
}

func (a *API) getDomainPolicy(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	arn := a.ARNs.Domain(d)
	if err := a.authorize(c, "", arn, access.Scope{Domain: d}); err != nil {
		return err
	}
	p, err := a.DB.GetPolicy(ctx(c), d, "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(arn, p))
}

func (a *API) deleteDomainPolicy(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	arn := a.ARNs.Domain(d)
	if err := a.authorize(c, "", arn, access.Scope{Domain: d, IgnoreResourcePolicy: true}); err != nil {
		return err
	}
	p, err := a.DB.DeletePolicy(ctx(c), d, "", c.QueryParam("policy-revision"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(arn, p))
}

func (a *API) putRepositoryPolicy(c echo.Context) error {
	d, r, err := a.repoParams(c, "repository")
	if err != nil {
		return err
	}
	var in struct {
		PolicyRevision string `json:"policyRevision"`
		PolicyDocument string `json:"policyDocument"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if err := validatePolicy(in.PolicyDocument); err != nil {
		return err
	}
	arn := a.ARNs.Repository(d, r)
	if err := a.authorize(c, "", arn, access.Scope{Domain: d, Repository: r, IgnoreResourcePolicy: true}); err != nil {
		return err
	}
	p, err := a.DB.PutPolicy(ctx(c), d, r, in.PolicyDocument, in.PolicyRevision)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(arn, p))
}

func (a *API) getRepositoryPolicy(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	p, err := a.DB.GetPolicy(ctx(c), d, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(a.ARNs.Repository(d, r), p))
}

func (a *API) deleteRepositoryPolicy(c echo.Context) error {
	d, r, err := a.repoParams(c, "repository")
	if err != nil {
		return err
	}
	arn := a.ARNs.Repository(d, r)
	if err := a.authorize(c, "", arn, access.Scope{Domain: d, Repository: r, IgnoreResourcePolicy: true}); err != nil {
		return err
	}
	p, err := a.DB.DeletePolicy(ctx(c), d, r, c.QueryParam("policy-revision"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.policyShape(arn, p))
}
