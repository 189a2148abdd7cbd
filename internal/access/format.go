package access

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

// StoredPolicies adapts a store's GetPolicy (domain.ErrNotFound when no
// policy is set) to Authorizer.ResourcePolicy.
func StoredPolicies(get func(ctx context.Context, dom, repo string) (domain.Policy, error)) func(ctx context.Context, dom, repo string) (string, error) {
	return func(ctx context.Context, dom, repo string) (string, error) {
		p, err := get(ctx, dom, repo)
		if errors.Is(err, domain.ErrNotFound) {
			return "", nil
		}
		return p.Document, err
	}
}

// FormatAuthorizer returns what the package formats ask before acting on
// the repository named by the :domain and :repo path parameters: the
// repository must exist (repoExists); reads are checked on the repository
// ARN, package actions (ref != nil) on the package ARN; a denied anonymous
// caller is told to authenticate (domain.ErrUnauthenticated, a 401) rather
// than forbidden.
func (a *Authorizer) FormatAuthorizer(arns ARNs, repoExists func(ctx context.Context, dom, repo string) error) func(c echo.Context, action string, ref *domain.PackageRef) error {
	return func(c echo.Context, action string, ref *domain.PackageRef) error {
		ctx := c.Request().Context()
		d, r := c.Param("domain"), c.Param("repo")
		if err := repoExists(ctx, d, r); err != nil {
			return err
		}
		resource := arns.Repository(d, r)
		if ref != nil {
			resource = arns.Package(d, r, *ref)
		}
		p, ok := server.CallerOf(c)
		err := a.Check(ctx, p, ok, action, resource, Scope{Domain: d, Repository: r})
		if err != nil && !ok {
			return domain.Errorf(domain.ErrUnauthenticated, "authentication required: send an authorization token from aws codeartifact get-authorization-token")
		}
		return err
	}
}
