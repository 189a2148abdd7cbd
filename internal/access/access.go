// Package access decides whether a principal may perform an action on a
// resource: IAM identity policies of the principal and the resource policy
// of the domain or repository, evaluated IAM-style (an explicit Deny
// anywhere wins; otherwise any Allow grants). The root principal may do
// everything.
//
// It imports internal/domain, internal/policy, and (for the format
// adapter) echo and internal/server.
package access

import (
	"context"
	"fmt"
	"sync"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/policy"
)

// Authorizer evaluates requests. Its functions are wired in cmd/registry.
type Authorizer struct {
	// Account is this installation's account id.
	Account string
	// IdentityPolicies returns the inline policy documents of a principal.
	IdentityPolicies func(ctx context.Context, principalID int64) ([]string, error)
	// ResourcePolicy returns the policy document of a domain (repo == "")
	// or repository, "" when none is set.
	ResourcePolicy func(ctx context.Context, dom, repo string) (string, error)

	// parsed caches parsed documents by their text's sha256, so a check
	// does not re-parse the same policies on every request.
	parsedOnce sync.Once
	parsed     *parseCache
}

// parse returns the parsed form of doc, from the cache when it was parsed
// before.
func (a *Authorizer) parse(doc string, kind policy.Kind) (*policy.Document, error) {
	a.parsedOnce.Do(func() {
		if a.parsed == nil {
			a.parsed = newParseCache(parsedPolicies)
		}
	})
	return a.parsed.get(doc, kind)
}

// Scope says which resource policy governs a request: the repository's
// when Repository is set, else the domain's when Domain is set.
type Scope struct {
	Domain, Repository string
	// IgnoreResourcePolicy is set by Put*PermissionsPolicy so that owners
	// cannot lock themselves out.
	IgnoreResourcePolicy bool
}

// Check returns nil if caller may perform action on resource, else an error
// wrapping domain.ErrForbidden with AWS's wording. caller may be the zero
// Principal with ok=false for anonymous requests (only a resource policy
// with Principal "*" can allow those).
func (a *Authorizer) Check(ctx context.Context, caller domain.Principal, authenticated bool, action, resource string, s Scope) error {
	if authenticated && caller.Root {
		return nil
	}
	req := policy.Request{Action: action, Resource: resource, Account: a.Account, Context: map[string][]string{}}
	var identity []*policy.Document
	if authenticated {
		req.Principal = caller.ARN(a.Account)
		req.Context["aws:PrincipalAccount"] = []string{a.Account}
		req.Context["aws:username"] = []string{caller.Name}
		req.Context["aws:PrincipalArn"] = []string{req.Principal}
		docs, err := a.IdentityPolicies(ctx, caller.ID)
		if err != nil {
			return fmt.Errorf("access: identity policies: %w", err)
		}
		for _, d := range docs {
			p, err := a.parse(d, policy.Identity)
			if err != nil {
				continue // validated when stored; a bad one grants nothing
			}
			identity = append(identity, p)
		}
	} else {
		req.Principal = "*"
	}
	var resources []*policy.Document
	if !s.IgnoreResourcePolicy && s.Domain != "" {
		doc, err := a.ResourcePolicy(ctx, s.Domain, s.Repository)
		if err != nil && domain.KindOf(err) != domain.ErrNotFound {
			return fmt.Errorf("access: resource policy: %w", err)
		}
		if doc != "" {
			if p, err := a.parse(doc, policy.Resource); err == nil {
				resources = append(resources, p)
			}
		}
	}
	if policy.Authorize(identity, resources, req) {
		return nil
	}
	who := "anonymous"
	if authenticated {
		who = req.Principal
	}
	return domain.Errorf(domain.ErrForbidden, "User: %s is not authorized to perform: %s on resource: %s", who, action, resource)
}

// ARNs builds the ARNs of registry resources.
type ARNs struct {
	Region, Account string
}

func (a ARNs) prefix() string { return "arn:aws:codeartifact:" + a.Region + ":" + a.Account + ":" }

// Domain returns a domain's ARN.
func (a ARNs) Domain(d string) string { return a.prefix() + "domain/" + d }

// Repository returns a repository's ARN.
func (a ARNs) Repository(d, r string) string { return a.prefix() + "repository/" + d + "/" + r }

// Package returns a package's ARN (an empty namespace gives "//").
func (a ARNs) Package(d, r string, ref domain.PackageRef) string {
	return a.prefix() + "package/" + d + "/" + r + "/" + string(ref.Format) + "/" + ref.Namespace + "/" + ref.Name
}
