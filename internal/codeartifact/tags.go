package codeartifact

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
)

// tagTarget parses ?resourceArn=, authorizes the operation on it and
// checks the resource exists, in that order, so that a caller without
// access cannot probe which domains and repositories exist.
func (a *API) tagTarget(c echo.Context) (string, error) {
	arn, err := query(c, "resourceArn")
	if err != nil {
		return "", err
	}
	prefix := "arn:aws:codeartifact:" + a.ARNs.Region + ":" + a.ARNs.Account + ":"
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return "", domain.NotFound("resource", arn)
	}
	kind, path, _ := strings.Cut(rest, "/")
	parts := strings.Split(path, "/")
	var s access.Scope
	var group string
	switch {
	case kind == "package-group":
		dom, pattern, ok := parseGroupARNPath(path)
		if !ok {
			return "", domain.Invalid("resourceArn %s does not name a package group", arn)
		}
		p, err := domain.ParseGroupPattern(pattern)
		if err != nil || p.String() != pattern {
			return "", domain.Invalid("resourceArn %s does not name a package group", arn)
		}
		s, group = access.Scope{Domain: dom}, pattern
	case kind == "domain" && len(parts) == 1:
		s = access.Scope{Domain: parts[0]}
	case kind == "repository" && len(parts) == 2:
		s = access.Scope{Domain: parts[0], Repository: parts[1]}
	default:
		return "", domain.Invalid("resourceArn %s does not name a taggable domain, repository or package group", arn)
	}
	if err := a.authorize(c, "", arn, s); err != nil {
		return "", err
	}
	switch {
	case group != "":
		if err = domain.ValidateDomainName(s.Domain); err == nil {
			_, err = a.DB.PackageGroup(ctx(c), s.Domain, group)
		}
	case s.Repository == "":
		_, err = a.DB.GetDomain(ctx(c), s.Domain)
	default:
		_, err = a.DB.GetRepository(ctx(c), s.Domain, s.Repository)
	}
	return arn, err
}

func (a *API) tagResource(c echo.Context) error {
	arn, err := a.tagTarget(c)
	if err != nil {
		return err
	}
	var in struct {
		Tags tagList `json:"tags"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	tags, err := in.Tags.validate()
	if err != nil {
		return err
	}
	if err := a.DB.TagResource(ctx(c), arn, tags); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{})
}

func (a *API) untagResource(c echo.Context) error {
	arn, err := a.tagTarget(c)
	if err != nil {
		return err
	}
	var in struct {
		TagKeys []string `json:"tagKeys"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if err := a.DB.UntagResource(ctx(c), arn, in.TagKeys); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{})
}

func (a *API) listTagsForResource(c echo.Context) error {
	arn, err := a.tagTarget(c)
	if err != nil {
		return err
	}
	kvs, err := a.DB.Tags(ctx(c), arn)
	if err != nil {
		return err
	}
	out := make([]map[string]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, map[string]string{"key": kv[0], "value": kv[1]})
	}
	return c.JSON(http.StatusOK, map[string]any{"tags": out})
}
