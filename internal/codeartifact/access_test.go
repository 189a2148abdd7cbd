package codeartifact

import (
	"net/http"
	"testing"
)

// accessHarness is a registry with domain acme, repositories alpha and
// beta each holding generic ns/pkg 1.0.0 (asset a.txt), and a tag on alpha.
func accessHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.seed(t, "alpha", "beta")
	for _, r := range []string{"alpha", "beta"} {
		h.publish(t, r, fxPkg, "1.0.0", "a.txt", []byte("a"), false)
	}
	h.call(t, "TagResource", params{"resourceArn": h.arns.Repository(fxDomain, "alpha"), "tags": tags(1)}).ok(t)
	return h
}

func identityPolicy(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func resourcePolicy(effect, principal, action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"` + effect + `","Principal":{"AWS":"` + principal + `"},"Action":"` + action + `","Resource":"*"}]}`
}

// TestNoPolicyDeniesEverything: a user without policies is refused every
// operation with AWS's AccessDeniedException wording, naming the action
// and resource that were checked, and nothing changes.
func TestNoPolicyDeniesEverything(t *testing.T) {
	t.Parallel()
	h := accessHarness(t)
	creds, arn := h.user(t, "nobody")
	alpha, dom := h.arns.Repository(fxDomain, "alpha"), h.arns.Domain(fxDomain)
	pkgARN := h.arns.Package(fxDomain, "alpha", pkgRef0())
	pkg := pkgParams("alpha")
	ver := pkg.with("packageVersion", "1.0.0")
	repo := params{"domain": fxDomain, "repository": "alpha"}
	grp := params{"domain": fxDomain, "packageGroup": "/npm/acme/*"}
	grpARN := h.api.groupARN(fxDomain, "/npm/acme/*")
	cases := []struct {
		op               string
		in               params
		action, resource string // action "" is codeartifact:<op>
	}{
		{"CreateDomain", params{"domain": "newdom"}, "", h.arns.Domain("newdom")},
		{"DescribeDomain", params{"domain": fxDomain}, "", dom},
		{"DeleteDomain", params{"domain": fxDomain}, "", dom},
		{"ListDomains", params{}, "", "*"},
		{"PutDomainPermissionsPolicy", params{"domain": fxDomain, "policyDocument": allowAllPolicy}, "", dom},
		{"GetDomainPermissionsPolicy", params{"domain": fxDomain}, "", dom},
		{"DeleteDomainPermissionsPolicy", params{"domain": fxDomain}, "", dom},
		{"ListRepositoriesInDomain", params{"domain": fxDomain}, "", dom},
		{"GetAuthorizationToken", params{"domain": fxDomain}, "", dom},
		{"CreateRepository", params{"domain": fxDomain, "repository": "gamma"}, "", h.arns.Repository(fxDomain, "gamma")},
		{"DescribeRepository", repo, "", alpha},
		{"UpdateRepository", repo.with("description", "mine"), "", alpha},
		{"DeleteRepository", repo, "", alpha},
		{"ListRepositories", params{}, "", "*"},
		{"AssociateExternalConnection", repo.with("externalConnection", "public:npmjs"), "", alpha},
		{"DisassociateExternalConnection", repo.with("externalConnection", "public:npmjs"), "", alpha},
		{"GetRepositoryEndpoint", repo.with("format", "npm"), "", alpha},
		{"PutRepositoryPermissionsPolicy", repo.with("policyDocument", allowAllPolicy), "", alpha},
		{"GetRepositoryPermissionsPolicy", repo, "", alpha},
		{"DeleteRepositoryPermissionsPolicy", repo, "", alpha},
		{"ListPackages", repo, "", alpha},
		{"DescribePackage", pkg, "", pkgARN},
		{"DeletePackage", pkg, "", pkgARN},
		{"PutPackageOriginConfiguration", pkg.with("restrictions", map[string]any{"publish": "BLOCK", "upstream": "BLOCK"}), "", pkgARN},
		{"ListPackageVersions", pkg, "", pkgARN},
		{"DescribePackageVersion", ver, "", pkgARN},
		{"ListPackageVersionAssets", ver, "", pkgARN},
		{"GetPackageVersionAsset", ver.with("asset", "a.txt"), "", pkgARN},
		{"GetPackageVersionReadme", ver, "", pkgARN},
		{"ListPackageVersionDependencies", ver, "", pkgARN},
		{"PublishPackageVersion", ver.with("packageVersion", "2.0.0", "assetName", "b", "assetContent", []byte("b")), "", pkgARN},
		{"UpdatePackageVersionsStatus", pkg.with("versions", []string{"1.0.0"}, "targetStatus", "Archived"), "", pkgARN},
		{"DeletePackageVersions", pkg.with("versions", []string{"1.0.0"}), "", pkgARN},
		{"DisposePackageVersions", pkg.with("versions", []string{"1.0.0"}), "", pkgARN},
		{"CopyPackageVersions", copyParams("alpha", "beta").with("versions", []string{"1.0.0"}), "codeartifact:ReadFromRepository", alpha},
		{"TagResource", params{"resourceArn": alpha, "tags": tags(2)}, "", alpha},
		{"UntagResource", params{"resourceArn": alpha, "tagKeys": []string{"k000"}}, "", alpha},
		{"ListTagsForResource", params{"resourceArn": alpha}, "", alpha},
		{"CreatePackageGroup", grp.with("description", "d"), "", grpARN},
		{"DescribePackageGroup", grp, "", grpARN},
		{"UpdatePackageGroup", grp.with("description", "d"), "", grpARN},
		{"DeletePackageGroup", grp, "", grpARN},
		{"UpdatePackageGroupOriginConfiguration", grp.with("restrictions", map[string]string{"PUBLISH": "BLOCK"}), "", grpARN},
		{"ListPackageGroups", params{"domain": fxDomain}, "", dom},
		{"ListSubPackageGroups", grp, "", grpARN},
		{"GetAssociatedPackageGroup", params{"domain": fxDomain, "format": "npm", "package": "x"}, "", dom},
		{"ListAssociatedPackages", grp, "", grpARN},
		{"ListAllowedRepositoriesForGroup", grp.with("originRestrictionType", "PUBLISH"), "", grpARN},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.op] = true
		action := tc.action
		if action == "" {
			action = "codeartifact:" + tc.op
		}
		e := h.callAs(t, creds, tc.op, tc.in).fail(t, http.StatusForbidden, "AccessDeniedException")
		want := "User: " + arn + " is not authorized to perform: " + action + " on resource: " + tc.resource
		if e["message"] != want {
			t.Errorf("%s: message %q, want %q", tc.op, e["message"], want)
		}
	}
	for _, r := range routes {
		if !covered[r.op] {
			t.Errorf("operation %s is not checked", r.op)
		}
	}
	// A missing resource is refused the same way: no existence oracle.
	missing := h.arns.Repository(fxDomain, "ghost")
	e := h.callAs(t, creds, "ListTagsForResource", params{"resourceArn": missing}).fail(t, http.StatusForbidden, "AccessDeniedException")
	if want := "User: " + arn + " is not authorized to perform: codeartifact:ListTagsForResource on resource: " + missing; e["message"] != want {
		t.Errorf("message %q, want %q", e["message"], want)
	}
	h.callAs(t, creds, "DescribeRepository", params{"domain": fxDomain, "repository": "ghost"}).fail(t, http.StatusForbidden, "AccessDeniedException")

	// Nothing changed.
	h.call(t, "DescribeDomain", params{"domain": "newdom"}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "gamma"}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	if out := h.call(t, "DescribeRepository", repo).ok(t); str(out, "repository", "description") != "" {
		t.Errorf("repository changed: %v", out)
	}
	if out := h.call(t, "DescribePackageVersion", ver).ok(t); str(out, "packageVersion", "status") != "Published" {
		t.Errorf("version changed: %v", out)
	}
	h.call(t, "DescribePackageVersion", ver.with("packageVersion", "2.0.0")).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	h.call(t, "DescribePackageVersion", pkgParams("beta").with("packageVersion", "1.0.0")).ok(t)
	if out := h.call(t, "ListTagsForResource", params{"resourceArn": alpha}).ok(t); len(get(out, "tags").([]any)) != 1 {
		t.Errorf("tags changed: %v", out)
	}
	h.call(t, "GetDomainPermissionsPolicy", params{"domain": fxDomain}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
}

// TestIdentityPolicyScopesToOneRepository: an identity policy allowing
// ListPackages on one repository ARN grants exactly that.
func TestIdentityPolicyScopesToOneRepository(t *testing.T) {
	t.Parallel()
	h := accessHarness(t)
	creds, _ := h.user(t, "reader", identityPolicy("codeartifact:ListPackages", h.arns.Repository(fxDomain, "alpha")))
	out := h.callAs(t, creds, "ListPackages", params{"domain": fxDomain, "repository": "alpha"}).ok(t)
	if got := pkgKey(get(out, "packages", 0)); got != "generic:ns/pkg" {
		t.Errorf("listed %v", out)
	}
	h.callAs(t, creds, "ListPackages", params{"domain": fxDomain, "repository": "beta"}).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, creds, "DescribeRepository", params{"domain": fxDomain, "repository": "alpha"}).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, creds, "ListPackageVersions", pkgParams("alpha")).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, creds, "ListDomains", params{}).fail(t, http.StatusForbidden, "AccessDeniedException")
}

// TestResourcePolicyDenyWins: an explicit Deny in a repository policy beats
// an identity policy allowing everything, for that action and repository
// only; the root principal is never denied.
func TestResourcePolicyDenyWins(t *testing.T) {
	t.Parallel()
	h := accessHarness(t)
	creds, arn := h.user(t, "denied", identityPolicy("codeartifact:*", "*"))
	repo := params{"domain": fxDomain, "repository": "alpha"}
	h.callAs(t, creds, "ListPackages", repo).ok(t)
	h.call(t, "PutRepositoryPermissionsPolicy", repo.with("policyDocument", resourcePolicy("Deny", arn, "codeartifact:ListPackages"))).ok(t)
	h.callAs(t, creds, "ListPackages", repo).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, creds, "DescribeRepository", repo).ok(t)
	h.callAs(t, creds, "ListPackages", params{"domain": fxDomain, "repository": "beta"}).ok(t)

	h.call(t, "PutRepositoryPermissionsPolicy", repo.with("policyDocument", resourcePolicy("Deny", "*", "codeartifact:*"))).ok(t)
	h.call(t, "ListPackages", repo).ok(t) // root
	h.callAs(t, creds, "DescribeRepository", repo).fail(t, http.StatusForbidden, "AccessDeniedException")
}

// TestPermissionsPolicyOwnersCannotLockThemselvesOut: Put and Delete of a
// permissions policy ignore the resource policy (an owner whose identity
// policy allows it can always repair a policy that denies them), so they
// need the identity permission even where a resource policy allows them.
func TestPermissionsPolicyOwnersCannotLockThemselvesOut(t *testing.T) {
	t.Parallel()
	h := accessHarness(t)
	owner, ownerARN := h.user(t, "owner", identityPolicy("codeartifact:*", "*"))
	nobody, nobodyARN := h.user(t, "nobody")
	repo := params{"domain": fxDomain, "repository": "alpha"}
	dom := params{"domain": fxDomain}
	denyOwner := resourcePolicy("Deny", ownerARN, "codeartifact:*")

	h.call(t, "PutRepositoryPermissionsPolicy", repo.with("policyDocument", denyOwner)).ok(t)
	h.call(t, "PutDomainPermissionsPolicy", dom.with("policyDocument", denyOwner)).ok(t)
	h.callAs(t, owner, "DescribeRepository", repo).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, owner, "GetRepositoryPermissionsPolicy", repo).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, owner, "DescribeDomain", dom).fail(t, http.StatusForbidden, "AccessDeniedException")

	h.callAs(t, owner, "PutRepositoryPermissionsPolicy", repo.with("policyDocument", resourcePolicy("Deny", ownerARN, "codeartifact:DeleteRepository"))).ok(t)
	h.callAs(t, owner, "DescribeRepository", repo).ok(t)
	h.callAs(t, owner, "DeleteRepositoryPermissionsPolicy", repo).ok(t)
	h.callAs(t, owner, "PutDomainPermissionsPolicy", dom.with("policyDocument", denyOwner)).ok(t)
	h.callAs(t, owner, "DeleteDomainPermissionsPolicy", dom).ok(t)
	h.callAs(t, owner, "DescribeDomain", dom).ok(t)

	// A resource policy naming nobody lets them read, not rewrite it.
	beta := params{"domain": fxDomain, "repository": "beta"}
	h.call(t, "PutRepositoryPermissionsPolicy", beta.with("policyDocument", resourcePolicy("Allow", nobodyARN, "codeartifact:*"))).ok(t)
	h.callAs(t, nobody, "DescribeRepository", beta).ok(t)
	h.callAs(t, nobody, "GetRepositoryPermissionsPolicy", beta).ok(t)
	h.callAs(t, nobody, "PutRepositoryPermissionsPolicy", beta.with("policyDocument", allowAllPolicy)).fail(t, http.StatusForbidden, "AccessDeniedException")
	h.callAs(t, nobody, "DeleteRepositoryPermissionsPolicy", beta).fail(t, http.StatusForbidden, "AccessDeniedException")
	if out := h.call(t, "GetRepositoryPermissionsPolicy", beta).ok(t); str(out, "policy", "document") == allowAllPolicy {
		t.Error("nobody replaced the policy")
	}
}

// TestAnonymousIsRefused: the control plane requires a signature even where
// a resource policy allows Principal "*".
func TestAnonymousIsRefused(t *testing.T) {
	t.Parallel()
	h := accessHarness(t)
	repo := params{"domain": fxDomain, "repository": "alpha"}
	h.call(t, "PutRepositoryPermissionsPolicy", repo.with("policyDocument", allowAllPolicy)).ok(t)
	for _, op := range []struct {
		name string
		in   params
	}{{"ListPackages", repo}, {"DescribeRepository", repo}, {"ListDomains", params{}}, {"GetPackageVersionAsset", pkgParams("alpha").with("packageVersion", "1.0.0", "asset", "a.txt")}} {
		r := build(t, op.name, op.in)
		r.unsigned = true
		e := h.send(t, r).fail(t, http.StatusForbidden, "MissingAuthenticationTokenException")
		if e["message"] != "Missing Authentication Token" {
			t.Errorf("%s: message %q", op.name, e["message"])
		}
	}
}
