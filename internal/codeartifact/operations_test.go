package codeartifact

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"math"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestEveryOperation drives every routed operation through a lifecycle,
// signed by the root key, and checks each response against botocore's
// output shape and, for the values that matter, against what was sent.
func TestEveryOperation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	start := float64(time.Now().Add(-time.Second).UnixMilli()) / 1000
	domARN := h.arns.Domain(fxDomain)
	repoARN := h.arns.Repository(fxDomain, fxRepo)
	content := []byte("hello, artifact\n")
	hashes := map[string]string{
		"MD5":     hexSum(md5.New(), content),
		"SHA-1":   hexSum(sha1.New(), content),
		"SHA-256": sha256Hex(content),
		"SHA-512": hexSum(sha512.New(), content),
	}
	const policyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"codeartifact:*","Resource":"*"}]}`
	pkg := pkgParams(fxRepo)
	ver := pkg.with("packageVersion", "1.0.0")
	var domPolicyRev, repoPolicyRev, versionRev string

	createdAt := func(t *testing.T, v any, path ...any) {
		t.Helper()
		if c := num(t, v, path...); c < start || c > float64(time.Now().Add(time.Second).UnixMilli())/1000 {
			t.Errorf("%v = %v, not the epoch seconds of now", path, c)
		}
	}
	eq := func(t *testing.T, what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	steps := []struct {
		op    string
		in    params
		check func(t *testing.T, out map[string]any, r *response)
	}{
		{"CreateDomain", params{"domain": fxDomain, "tags": []map[string]string{{"key": "team", "value": "core"}}}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "name", str(out, "domain", "name"), fxDomain)
			eq(t, "owner", str(out, "domain", "owner"), testAccount)
			eq(t, "arn", str(out, "domain", "arn"), domARN)
			eq(t, "status", str(out, "domain", "status"), "Active")
			eq(t, "repositoryCount", num(t, out, "domain", "repositoryCount"), 0.0)
			createdAt(t, out, "domain", "createdTime")
		}},
		{"DescribeDomain", params{"domain": fxDomain, "domainOwner": testAccount}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "arn", str(out, "domain", "arn"), domARN)
			createdAt(t, out, "domain", "createdTime")
		}},
		{"ListDomains", params{}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "domains[0].name", str(out, "domains", 0, "name"), fxDomain)
			eq(t, "domains[0].arn", str(out, "domains", 0, "arn"), domARN)
			createdAt(t, out, "domains", 0, "createdTime")
		}},
		{"CreateRepository", params{"domain": fxDomain, "repository": "upstream", "description": "the upstream"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "upstreams", get(out, "repository", "upstreams"), []any{})
			eq(t, "externalConnections", get(out, "repository", "externalConnections"), []any{})
		}},
		{"CreateRepository", params{"domain": fxDomain, "repository": fxRepo, "description": "Main repo",
			"upstreams": []map[string]string{{"repositoryName": "upstream"}}, "tags": []map[string]string{{"key": "tier", "value": "1"}}},
			func(t *testing.T, out map[string]any, _ *response) {
				eq(t, "name", str(out, "repository", "name"), fxRepo)
				eq(t, "arn", str(out, "repository", "arn"), repoARN)
				eq(t, "domainName", str(out, "repository", "domainName"), fxDomain)
				eq(t, "domainOwner", str(out, "repository", "domainOwner"), testAccount)
				eq(t, "administratorAccount", str(out, "repository", "administratorAccount"), testAccount)
				eq(t, "description", str(out, "repository", "description"), "Main repo")
				eq(t, "upstreams", get(out, "repository", "upstreams"), []any{map[string]any{"repositoryName": "upstream"}})
				createdAt(t, out, "repository", "createdTime")
			}},
		{"AssociateExternalConnection", params{"domain": fxDomain, "repository": "upstream", "externalConnection": "public:npmjs"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "externalConnections", get(out, "repository", "externalConnections"), []any{map[string]any{
				"externalConnectionName": "public:npmjs", "packageFormat": "npm", "status": "Available"}})
		}},
		{"DescribeRepository", params{"domain": fxDomain, "repository": "upstream"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "externalConnections[0].externalConnectionName", str(out, "repository", "externalConnections", 0, "externalConnectionName"), "public:npmjs")
			eq(t, "description", str(out, "repository", "description"), "the upstream")
		}},
		{"DisassociateExternalConnection", params{"domain": fxDomain, "repository": "upstream", "externalConnection": "public:npmjs"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "externalConnections", get(out, "repository", "externalConnections"), []any{})
		}},
		{"UpdateRepository", params{"domain": fxDomain, "repository": fxRepo, "description": "changed"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "description", str(out, "repository", "description"), "changed")
			eq(t, "upstreams kept", get(out, "repository", "upstreams"), []any{map[string]any{"repositoryName": "upstream"}})
		}},
		{"ListRepositories", params{}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "names", []string{str(out, "repositories", 0, "name"), str(out, "repositories", 1, "name")}, []string{fxRepo, "upstream"})
			eq(t, "arn", str(out, "repositories", 0, "arn"), repoARN)
			eq(t, "description", str(out, "repositories", 0, "description"), "changed")
		}},
		{"ListRepositoriesInDomain", params{"domain": fxDomain, "repositoryPrefix": "up"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "repositories", len(get(out, "repositories").([]any)), 1)
			eq(t, "domainName", str(out, "repositories", 0, "domainName"), fxDomain)
		}},
		{"GetRepositoryEndpoint", params{"domain": fxDomain, "repository": fxRepo, "format": "npm"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "repositoryEndpoint", str(out, "repositoryEndpoint"), testBaseURL+"/npm/acme/main/")
		}},
		{"PutDomainPermissionsPolicy", params{"domain": fxDomain, "policyDocument": policyDoc}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "resourceArn", str(out, "policy", "resourceArn"), domARN)
			eq(t, "document", str(out, "policy", "document"), policyDoc)
			domPolicyRev = str(out, "policy", "revision")
		}},
		{"GetDomainPermissionsPolicy", params{"domain": fxDomain}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "revision", str(out, "policy", "revision"), domPolicyRev)
			eq(t, "document", str(out, "policy", "document"), policyDoc)
		}},
		{"DeleteDomainPermissionsPolicy", params{"domain": fxDomain}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "revision", str(out, "policy", "revision"), domPolicyRev)
		}},
		{"PutRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": fxRepo, "policyDocument": policyDoc}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "resourceArn", str(out, "policy", "resourceArn"), repoARN)
			repoPolicyRev = str(out, "policy", "revision")
		}},
		{"GetRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": fxRepo}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "revision", str(out, "policy", "revision"), repoPolicyRev)
		}},
		{"DeleteRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": fxRepo}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "revision", str(out, "policy", "revision"), repoPolicyRev)
			eq(t, "resourceArn", str(out, "policy", "resourceArn"), repoARN)
		}},
		{"GetAuthorizationToken", params{"domain": fxDomain, "durationSeconds": 900}, func(t *testing.T, out map[string]any, _ *response) {
			if str(out, "authorizationToken") == "" {
				t.Error("no authorizationToken")
			}
			if exp, want := num(t, out, "expiration"), float64(time.Now().Add(900*time.Second).Unix()); math.Abs(exp-want) > 5 {
				t.Errorf("expiration %v, want about %v", exp, want)
			}
		}},
		{"PublishPackageVersion", ver.with("assetName", "hello.txt", "assetContent", content), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "format", str(out, "format"), "generic")
			eq(t, "namespace", str(out, "namespace"), fxNS)
			eq(t, "package", str(out, "package"), fxPkg)
			eq(t, "version", str(out, "version"), "1.0.0")
			eq(t, "status", str(out, "status"), "Published")
			eq(t, "asset.name", str(out, "asset", "name"), "hello.txt")
			eq(t, "asset.size", num(t, out, "asset", "size"), float64(len(content)))
			eq(t, "asset.hashes", get(out, "asset", "hashes"), toAny(hashes))
			versionRev = str(out, "versionRevision")
		}},
		{"ListPackages", params{"domain": fxDomain, "repository": fxRepo}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "packages", get(out, "packages"), []any{map[string]any{"format": "generic", "namespace": fxNS, "package": fxPkg,
				"originConfiguration": map[string]any{"restrictions": map[string]any{"publish": "ALLOW", "upstream": "BLOCK"}}}})
		}},
		{"DescribePackage", pkg, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "name", str(out, "package", "name"), fxPkg)
			eq(t, "namespace", str(out, "package", "namespace"), fxNS)
			eq(t, "restrictions.publish", str(out, "package", "originConfiguration", "restrictions", "publish"), "ALLOW")
		}},
		{"PutPackageOriginConfiguration", pkg.with("restrictions", map[string]any{"publish": "BLOCK", "upstream": "ALLOW"}), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "restrictions.publish", str(out, "originConfiguration", "restrictions", "publish"), "BLOCK")
			eq(t, "restrictions.upstream", str(out, "originConfiguration", "restrictions", "upstream"), "ALLOW")
		}},
		{"DescribePackage", pkg, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "restrictions.publish", str(out, "package", "originConfiguration", "restrictions", "publish"), "BLOCK")
		}},
		{"ListPackageVersions", pkg, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "defaultDisplayVersion", str(out, "defaultDisplayVersion"), "1.0.0")
			eq(t, "package", str(out, "package"), fxPkg)
			eq(t, "versions", get(out, "versions"), []any{map[string]any{"version": "1.0.0", "revision": versionRev, "status": "Published",
				"origin": map[string]any{"domainEntryPoint": map[string]any{"repositoryName": fxRepo}, "originType": "INTERNAL"}}})
		}},
		{"DescribePackageVersion", ver, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "packageName", str(out, "packageVersion", "packageName"), fxPkg)
			eq(t, "version", str(out, "packageVersion", "version"), "1.0.0")
			eq(t, "revision", str(out, "packageVersion", "revision"), versionRev)
			eq(t, "status", str(out, "packageVersion", "status"), "Published")
			eq(t, "origin.domainEntryPoint.repositoryName", str(out, "packageVersion", "origin", "domainEntryPoint", "repositoryName"), fxRepo)
			eq(t, "licenses", get(out, "packageVersion", "licenses"), []any{})
			createdAt(t, out, "packageVersion", "publishedTime")
		}},
		{"ListPackageVersionAssets", ver, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "versionRevision", str(out, "versionRevision"), versionRev)
			eq(t, "assets", get(out, "assets"), []any{map[string]any{"name": "hello.txt", "size": jsonInt(len(content)), "hashes": toAny(hashes)}})
		}},
		{"GetPackageVersionAsset", ver.with("asset", "hello.txt"), func(t *testing.T, _ map[string]any, r *response) {
			if !bytes.Equal(r.body, content) {
				t.Errorf("asset body %q, want %q", r.body, content)
			}
			eq(t, "X-AssetName", r.header.Get("X-AssetName"), "hello.txt")
			eq(t, "X-PackageVersion", r.header.Get("X-PackageVersion"), "1.0.0")
			eq(t, "X-PackageVersionRevision", r.header.Get("X-PackageVersionRevision"), versionRev)
		}},
		{"GetPackageVersionReadme", ver, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "versionRevision", str(out, "versionRevision"), versionRev)
			eq(t, "version", str(out, "version"), "1.0.0")
		}},
		{"ListPackageVersionDependencies", ver, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "dependencies", get(out, "dependencies"), []any{})
			eq(t, "versionRevision", str(out, "versionRevision"), versionRev)
		}},
		{"UpdatePackageVersionsStatus", pkg.with("versions", []string{"1.0.0"}, "targetStatus", "Unlisted"), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "status", str(out, "successfulVersions", "1.0.0", "status"), "Unlisted")
			eq(t, "failedVersions", get(out, "failedVersions"), map[string]any{})
			if rev := str(out, "successfulVersions", "1.0.0", "revision"); rev == "" || rev == versionRev {
				t.Errorf("revision %q after a status change, was %q", rev, versionRev)
			}
		}},
		{"CopyPackageVersions", params{"domain": fxDomain, "sourceRepository": fxRepo, "destinationRepository": "upstream",
			"format": "generic", "namespace": fxNS, "package": fxPkg, "versions": []string{"1.0.0", "9.9.9"}},
			func(t *testing.T, out map[string]any, _ *response) {
				eq(t, "copied status", str(out, "successfulVersions", "1.0.0", "status"), "Unlisted")
				eq(t, "missing", get(out, "failedVersions", "9.9.9", "errorCode"), "NOT_FOUND")
			}},
		{"DisposePackageVersions", pkgParams("upstream").with("versions", []string{"1.0.0"}), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "status", str(out, "successfulVersions", "1.0.0", "status"), "Disposed")
		}},
		{"DeletePackageVersions", pkgParams("upstream").with("versions", []string{"1.0.0", "2.0.0"}), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "failedVersions", get(out, "failedVersions"), map[string]any{
				"1.0.0": map[string]any{"errorCode": "SKIPPED", "errorMessage": "skipped because another version in the request failed"},
				"2.0.0": map[string]any{"errorCode": "NOT_FOUND", "errorMessage": "package version 2.0.0 does not exist"}})
			eq(t, "successfulVersions", get(out, "successfulVersions"), map[string]any{})
		}},
		{"DeletePackageVersions", pkgParams("upstream").with("versions", []string{"1.0.0"}), func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "status", str(out, "successfulVersions", "1.0.0", "status"), "Deleted")
		}},
		{"DeletePackage", pkg, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "deletedPackage.package", str(out, "deletedPackage", "package"), fxPkg)
			eq(t, "deletedPackage.format", str(out, "deletedPackage", "format"), "generic")
		}},
		{"TagResource", params{"resourceArn": repoARN, "tags": []map[string]string{{"key": "env", "value": "prod"}, {"key": "owner", "value": "ops"}}}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "output", out, map[string]any{})
		}},
		{"UntagResource", params{"resourceArn": repoARN, "tagKeys": []string{"owner"}}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "output", out, map[string]any{})
		}},
		{"ListTagsForResource", params{"resourceArn": repoARN}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "tags", get(out, "tags"), []any{map[string]any{"key": "env", "value": "prod"}, map[string]any{"key": "tier", "value": "1"}})
		}},
		{"ListTagsForResource", params{"resourceArn": domARN}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "tags", get(out, "tags"), []any{map[string]any{"key": "team", "value": "core"}})
		}},
		// Package groups: /npm/* and its child /npm/acme/*.
		{"CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/*", "description": "all npm"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "pattern", str(out, "packageGroup", "pattern"), "/npm/*")
			eq(t, "arn", str(out, "packageGroup", "arn"), h.api.groupARN(fxDomain, "/npm/*"))
			eq(t, "domainName", str(out, "packageGroup", "domainName"), fxDomain)
			eq(t, "parent", str(out, "packageGroup", "parent", "pattern"), "/*")
			eq(t, "description", str(out, "packageGroup", "description"), "all npm")
			eq(t, "EXTERNAL_UPSTREAM mode", str(out, "packageGroup", "originConfiguration", "restrictions", "EXTERNAL_UPSTREAM", "mode"), "INHERIT")
			eq(t, "EXTERNAL_UPSTREAM effectiveMode", str(out, "packageGroup", "originConfiguration", "restrictions", "EXTERNAL_UPSTREAM", "effectiveMode"), "ALLOW")
			eq(t, "inheritedFrom", str(out, "packageGroup", "originConfiguration", "restrictions", "EXTERNAL_UPSTREAM", "inheritedFrom", "pattern"), "/*")
			createdAt(t, out, "packageGroup", "createdTime")
		}},
		{"CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*", "contactInfo": "team@acme.example",
			"tags": []map[string]string{{"key": "team", "value": "web"}}}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "parent", str(out, "packageGroup", "parent", "pattern"), "/npm/*")
			eq(t, "parent arn", str(out, "packageGroup", "parent", "arn"), h.api.groupARN(fxDomain, "/npm/*"))
		}},
		{"ListTagsForResource", params{"resourceArn": h.api.groupARN(fxDomain, "/npm/acme/*")}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "tags", get(out, "tags"), []any{map[string]any{"key": "team", "value": "web"}})
		}},
		{"DescribePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "contactInfo", str(out, "packageGroup", "contactInfo"), "team@acme.example")
		}},
		{"UpdatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*", "description": "acme scope"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "description", str(out, "packageGroup", "description"), "acme scope")
			eq(t, "contactInfo kept", str(out, "packageGroup", "contactInfo"), "team@acme.example")
		}},
		{"UpdatePackageGroupOriginConfiguration", params{"domain": fxDomain, "packageGroup": "/npm/acme/*",
			"restrictions":           map[string]string{"EXTERNAL_UPSTREAM": "BLOCK", "PUBLISH": "ALLOW_SPECIFIC_REPOSITORIES"},
			"addAllowedRepositories": []map[string]string{{"repositoryName": fxRepo, "originRestrictionType": "PUBLISH"}}},
			func(t *testing.T, out map[string]any, _ *response) {
				r := get(out, "packageGroup", "originConfiguration", "restrictions")
				eq(t, "EXTERNAL_UPSTREAM", str(r, "EXTERNAL_UPSTREAM", "effectiveMode"), "BLOCK")
				eq(t, "PUBLISH", str(r, "PUBLISH", "mode"), "ALLOW_SPECIFIC_REPOSITORIES")
				eq(t, "PUBLISH repositoriesCount", num(t, r, "PUBLISH", "repositoriesCount"), 1.0)
				eq(t, "INTERNAL_UPSTREAM", str(r, "INTERNAL_UPSTREAM", "mode"), "INHERIT")
				eq(t, "allowedRepositoryUpdates", get(out, "allowedRepositoryUpdates"), map[string]any{"PUBLISH": map[string]any{"ADDED": []any{fxRepo}}})
			}},
		{"ListAllowedRepositoriesForGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*", "originRestrictionType": "PUBLISH"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "allowedRepositories", get(out, "allowedRepositories"), []any{fxRepo})
		}},
		{"GetAssociatedPackageGroup", params{"domain": fxDomain, "format": "npm", "namespace": "acme", "package": "ui"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "pattern", str(out, "packageGroup", "pattern"), "/npm/acme/*")
			eq(t, "associationType", str(out, "associationType"), "STRONG")
		}},
		{"GetAssociatedPackageGroup", params{"domain": fxDomain, "format": "pypi", "package": "requests"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "pattern", str(out, "packageGroup", "pattern"), "/*")
		}},
		{"ListPackageGroups", params{"domain": fxDomain, "prefix": "/npm"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "patterns", []string{str(out, "packageGroups", 0, "pattern"), str(out, "packageGroups", 1, "pattern")}, []string{"/npm/*", "/npm/acme/*"})
			eq(t, "count", len(get(out, "packageGroups").([]any)), 2)
		}},
		{"ListSubPackageGroups", params{"domain": fxDomain, "packageGroup": "/npm/*"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "children", len(get(out, "packageGroups").([]any)), 1)
			eq(t, "child", str(out, "packageGroups", 0, "pattern"), "/npm/acme/*")
		}},
		{"PublishPackageVersion", pkg.with("package", "tool", "packageVersion", "1.0.0", "assetName", "t.txt", "assetContent", []byte("t")), func(t *testing.T, out map[string]any, _ *response) {}},
		{"ListAssociatedPackages", params{"domain": fxDomain, "packageGroup": "/generic/ns/tool$", "preview": true}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "packages", get(out, "packages"), []any{map[string]any{"format": "generic", "namespace": fxNS, "package": "tool", "associationType": "STRONG"}})
		}},
		{"DeletePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/*"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "pattern", str(out, "packageGroup", "pattern"), "/npm/*")
		}},
		{"DescribePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "re-parented", str(out, "packageGroup", "parent", "pattern"), "/*")
		}},
		{"UpdateRepository", params{"domain": fxDomain, "repository": fxRepo, "upstreams": []map[string]string{}}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "upstreams", get(out, "repository", "upstreams"), []any{})
			eq(t, "description kept", str(out, "repository", "description"), "changed")
		}},
		{"DeleteRepository", params{"domain": fxDomain, "repository": "upstream"}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "name", str(out, "repository", "name"), "upstream")
		}},
		{"DeleteRepository", params{"domain": fxDomain, "repository": fxRepo}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "name", str(out, "repository", "name"), fxRepo)
		}},
		{"DeleteDomain", params{"domain": fxDomain}, func(t *testing.T, out map[string]any, _ *response) {
			eq(t, "status", str(out, "domain", "status"), "Deleted")
			eq(t, "name", str(out, "domain", "name"), fxDomain)
		}},
	}

	covered := map[string]bool{}
	for _, s := range steps {
		covered[s.op] = true
		r := h.call(t, s.op, s.in)
		out := r.ok(t)
		s.check(t, out, r)
		if t.Failed() {
			t.Fatalf("stopping after %s", s.op)
		}
	}
	for _, r := range routes {
		if !covered[r.op] {
			t.Errorf("operation %s is routed but not exercised", r.op)
		}
	}
	// Deleted resources are gone, tags included.
	h.call(t, "DescribeDomain", params{"domain": fxDomain}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	var n int
	if err := h.db.SQL().QueryRow(`SELECT COUNT(*) FROM resource_tags`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tags (err %v) left after deleting every tagged resource", n, err)
	}
}

func hexSum(h interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}, b []byte) string {
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestGetRepositoryEndpoint: the endpoint of each format is
// BaseURL/<format>/<domain>/<repo>/, from the configured base URL.
func TestGetRepositoryEndpoint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t, fxRepo)
	for _, f := range []string{"npm", "pypi", "maven", "generic"} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			out := h.call(t, "GetRepositoryEndpoint", params{"domain": fxDomain, "repository": fxRepo, "format": f, "endpointType": "ipv4"}).ok(t)
			if got, want := str(out, "repositoryEndpoint"), testBaseURL+"/"+f+"/acme/main/"; got != want {
				t.Errorf("endpoint %q, want %q", got, want)
			}
		})
	}
	t.Run("unknown repository", func(t *testing.T) {
		t.Parallel()
		e := h.call(t, "GetRepositoryEndpoint", params{"domain": fxDomain, "repository": "nope", "format": "npm"}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
		if e["resourceType"] != "repository" || e["resourceId"] != "nope" {
			t.Errorf("error names %v %v, want repository nope", e["resourceType"], e["resourceId"])
		}
	})
	t.Run("unknown domain", func(t *testing.T) {
		t.Parallel()
		e := h.call(t, "GetRepositoryEndpoint", params{"domain": "other", "repository": fxRepo, "format": "npm"}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
		if e["resourceType"] != "domain" || e["resourceId"] != "other" {
			t.Errorf("error names %v %v, want domain other", e["resourceType"], e["resourceId"])
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		t.Parallel()
		h.call(t, "GetRepositoryEndpoint", params{"domain": fxDomain, "repository": fxRepo, "format": "cargo"}).fail(t, http.StatusBadRequest, "ValidationException")
	})
	t.Run("bad endpointType", func(t *testing.T) {
		t.Parallel()
		h.call(t, "GetRepositoryEndpoint", params{"domain": fxDomain, "repository": fxRepo, "format": "npm", "endpointType": "ipv6"}).fail(t, http.StatusBadRequest, "ValidationException")
	})
}

// TestUnknownOperations: requests under /v1 that name no operation get a
// rest-json error too, never a plain-text one.
func TestUnknownOperations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		name, method, path string
		unsigned           bool
		status             int
		code               string
	}{
		{"unknown path", http.MethodPost, "/v1/nothing", false, http.StatusNotFound, "UnknownOperationException"},
		{"unknown path unsigned", http.MethodPost, "/v1/nothing", true, http.StatusForbidden, "MissingAuthenticationTokenException"},
		{"wrong method", http.MethodPatch, "/v1/domain", false, http.StatusNotFound, "UnknownOperationException"},
		{"wrong method on a list", http.MethodGet, "/v1/domains", false, http.StatusNotFound, "UnknownOperationException"},
		{"dot segment", http.MethodGet, "/v1/x/../domain", false, http.StatusBadRequest, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := h.send(t, request{method: tc.method, path: tc.path, unsigned: tc.unsigned})
			r.fail(t, tc.status, tc.code)
		})
	}
}
