package codeartifact

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/artifactd/registry/internal/domain"
)

// errCase is one request that must fail with an AWS error.
type errCase struct {
	name   string
	setup  func(t *testing.T, h *harness) // optional, runs first
	op     string
	in     params
	mod    func(r *request) // optional changes to the built request
	status int
	code   string
	// resource is "type/id" the body must name, "" to require none.
	resource string
	// msg is a substring the message must contain, if set.
	msg string
	// after checks the request changed nothing, if set.
	after func(t *testing.T, h *harness)
}

func (tc errCase) run(t *testing.T, h *harness) {
	t.Helper()
	if tc.setup != nil {
		tc.setup(t, h)
	}
	r := build(t, tc.op, tc.in)
	if tc.mod != nil {
		tc.mod(&r)
	}
	body := h.send(t, r).fail(t, tc.status, tc.code)
	typ, _ := body["resourceType"].(string)
	id, _ := body["resourceId"].(string)
	if got := strings.TrimSuffix(typ+"/"+id, "/"); got != tc.resource {
		t.Errorf("error names resource %q, want %q: %v", got, tc.resource, body)
	}
	if tc.code == "ValidationException" && body["reason"] != "FIELD_VALIDATION_FAILED" {
		t.Errorf("reason %v, want FIELD_VALIDATION_FAILED", body["reason"])
	}
	if msg, _ := body["message"].(string); !strings.Contains(msg, tc.msg) {
		t.Errorf("message %q does not contain %q", msg, tc.msg)
	}
	if tc.after != nil {
		tc.after(t, h)
	}
}

func runErrCases(t *testing.T, h *harness, cases []errCase) {
	t.Helper()
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, h)
		})
	}
}

// errorsHarness is a registry with: domain acme; repositories main (with
// generic ns/pkg 1.0.0, asset a.txt), other, up, down (upstream up) and
// ext (external connection public:npmjs); a policy on repository pol.
func errorsHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.seed(t, fxRepo, "other", "up", "ext", "pol")
	h.call(t, "CreateRepository", params{"domain": fxDomain, "repository": "down", "upstreams": []map[string]string{{"repositoryName": "up"}}}).ok(t)
	h.publish(t, fxRepo, fxPkg, "1.0.0", "a.txt", []byte("a"), false)
	h.call(t, "AssociateExternalConnection", params{"domain": fxDomain, "repository": "ext", "externalConnection": "public:npmjs"}).ok(t)
	h.call(t, "PutRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": "pol", "policyDocument": allowAllPolicy}).ok(t)
	return h
}

const allowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"codeartifact:*","Resource":"*"}]}`

func tags(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"key": fmt.Sprintf("k%03d", i), "value": "v"}
	}
	return out
}

func repoMissing(name string) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": name}).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	}
}

// TestValidationErrors: malformed input is a 400 ValidationException with
// reason FIELD_VALIDATION_FAILED, before anything changes.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	h := errorsHarness(t)
	const V, bad = "ValidationException", http.StatusBadRequest
	repo := params{"domain": fxDomain, "repository": fxRepo}
	ver := pkgParams(fxRepo).with("packageVersion", "1.0.0")
	cases := []errCase{
		{name: "domain name uppercase", op: "CreateDomain", in: params{"domain": "Acme"}},
		{name: "domain name one char", op: "CreateDomain", in: params{"domain": "a"}},
		{name: "domain name trailing dash", op: "CreateDomain", in: params{"domain": "acme-"}},
		{name: "domain name 51 chars", op: "CreateDomain", in: params{"domain": strings.Repeat("a", 51)}},
		{name: "domain name in describe", op: "DescribeDomain", in: params{"domain": "ACME"}},
		{name: "repository name leading dash", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "-main"}},
		{name: "repository name one char", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "m"}},
		{name: "repository name 101 chars", op: "CreateRepository", in: params{"domain": fxDomain, "repository": strings.Repeat("r", 101)}},
		{name: "repository name with space", op: "DescribeRepository", in: params{"domain": fxDomain, "repository": "my repo"}},
		{name: "description 1001 chars", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "long-desc", "description": strings.Repeat("d", 1001)}, after: repoMissing("long-desc")},
		{name: "update description 1001 chars", op: "UpdateRepository", in: repo.with("description", strings.Repeat("é", 1001))},
		{name: "duplicate upstream", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "dup-up", "upstreams": []map[string]string{{"repositoryName": "other"}, {"repositoryName": "other"}}},
			msg: "listed twice", after: repoMissing("dup-up")},
		{name: "self upstream", op: "UpdateRepository", in: repo.with("upstreams", []map[string]string{{"repositoryName": fxRepo}}), msg: "own upstream"},
		{name: "upstream cycle", op: "UpdateRepository", in: params{"domain": fxDomain, "repository": "up", "upstreams": []map[string]string{{"repositoryName": "down"}}}, msg: "cycle"},
		{name: "invalid upstream name", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "bad-up", "upstreams": []map[string]string{{"repositoryName": "!"}}}},
		{name: "unknown format", op: "ListPackages", in: repo.with("format", "rubygems")},
		{name: "unsupported format", op: "DescribePackage", in: pkgParams(fxRepo).with("format", "nuget")},
		{name: "bad publish filter", op: "ListPackages", in: repo.with("publish", "MAYBE")},
		{name: "not JSON", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "not-json"}, mod: func(r *request) { r.body = []byte("{") }, after: repoMissing("not-json")},
		{name: "JSON of the wrong type", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "wrong-type", "description": 7}, after: repoMissing("wrong-type")},
		{name: "missing required parameter", op: "DescribeRepository", in: params{"domain": fxDomain}, msg: "repository"},
		{name: "duration 899", op: "GetAuthorizationToken", in: params{"domain": fxDomain, "durationSeconds": 899}},
		{name: "duration 43201", op: "GetAuthorizationToken", in: params{"domain": fxDomain, "durationSeconds": 43201}},
		{name: "duration negative", op: "GetAuthorizationToken", in: params{"domain": fxDomain, "durationSeconds": -900}},
		{name: "duration not a number", op: "GetAuthorizationToken", in: params{"domain": fxDomain, "durationSeconds": "1h"}},
		// 2^55+3600 seconds wraps to one hour as a time.Duration.
		{name: "duration overflowing", op: "GetAuthorizationToken", in: params{"domain": fxDomain, "durationSeconds": "36028797018967568"}},
		{name: "unknown external connection", op: "AssociateExternalConnection", in: params{"domain": fxDomain, "repository": "other", "externalConnection": "public:rubygems"}, msg: "public:npmjs"},
		{name: "invalid external connection name", op: "AssociateExternalConnection", in: params{"domain": fxDomain, "repository": "other", "externalConnection": "x"}},
		{name: "policy not JSON", op: "PutRepositoryPermissionsPolicy", in: repo.with("policyDocument", "allow everything")},
		{name: "policy without statement", op: "PutDomainPermissionsPolicy", in: params{"domain": fxDomain, "policyDocument": `{"Version":"2012-10-17"}`}},
		{name: "policy with bad effect", op: "PutRepositoryPermissionsPolicy", in: repo.with("policyDocument",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Principal":"*","Action":"codeartifact:*","Resource":"*"}]}`)},
		{name: "policy too long", op: "PutDomainPermissionsPolicy", in: params{"domain": fxDomain, "policyDocument": `{"Version":"2012-10-17","Statement":[{"Sid":"` +
			strings.Repeat("s", 7200) + `","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`}},
		{name: "201 tags on create", op: "CreateDomain", in: params{"domain": "tagged", "tags": tags(201)}},
		{name: "201 tags", op: "TagResource", in: params{"resourceArn": h.arns.Repository(fxDomain, "other"), "tags": tags(201)}},
		{name: "tag key 129 chars", op: "TagResource", in: params{"resourceArn": h.arns.Repository(fxDomain, "other"), "tags": []map[string]string{{"key": strings.Repeat("k", 129), "value": "v"}}}},
		{name: "tag value 257 chars", op: "TagResource", in: params{"resourceArn": h.arns.Domain(fxDomain), "tags": []map[string]string{{"key": "k", "value": strings.Repeat("v", 257)}}}},
		{name: "empty tag key", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "empty-key", "tags": []map[string]string{{"key": "", "value": "v"}}}, after: repoMissing("empty-key")},
		{name: "tag ARN of a package", op: "ListTagsForResource", in: params{"resourceArn": h.arns.Package(fxDomain, fxRepo, pkgRef0())}},
		{name: "copy with versions and revisions", op: "CopyPackageVersions", in: copyParams(fxRepo, "other").with("versions", []string{"1.0.0"}, "versionRevisions", map[string]string{"1.0.0": "X"}),
			msg: "exactly one of versions and versionRevisions"},
		{name: "copy with neither", op: "CopyPackageVersions", in: copyParams(fxRepo, "other")},
		{name: "copy onto itself", op: "CopyPackageVersions", in: copyParams(fxRepo, fxRepo).with("versions", []string{"1.0.0"}, "allowOverwrite", true),
			after: func(t *testing.T, h *harness) { h.call(t, "DescribePackageVersion", ver).ok(t) }},
		{name: "publish npm", op: "PublishPackageVersion", in: ver.with("format", "npm", "namespace", "scope", "packageVersion", "2.0.0", "assetName", "a.tgz", "assetContent", []byte("x"))},
		{name: "publish without namespace", op: "PublishPackageVersion", in: ver.without("namespace").with("packageVersion", "2.0.0", "assetName", "a", "assetContent", []byte("x")), msg: "namespace"},
		{name: "publish without asset name", op: "PublishPackageVersion", in: ver.with("packageVersion", "2.0.0", "assetContent", []byte("x"))},
		{name: "publish asset name with newline", op: "PublishPackageVersion", in: ver.with("packageVersion", "2.0.0", "assetName", "a\nb", "assetContent", []byte("x"))},
		{name: "publish sha not hex", op: "PublishPackageVersion", in: ver.with("packageVersion", "2.0.0", "assetName", "a", "assetContent", []byte("x"), "assetSHA256", "abc")},
		{name: "publish unfinished not boolean", op: "PublishPackageVersion", in: ver.with("packageVersion", "2.0.0", "assetName", "a", "assetContent", []byte("x"), "unfinished", "maybe")},
		{name: "version with slash", op: "DescribePackageVersion", in: ver.with("packageVersion", "1/0")},
		{name: "status target Deleted", op: "UpdatePackageVersionsStatus", in: pkgParams(fxRepo).with("versions", []string{"1.0.0"}, "targetStatus", "Deleted")},
		{name: "status without target", op: "UpdatePackageVersionsStatus", in: pkgParams(fxRepo).with("versions", []string{"1.0.0"})},
		{name: "status without versions", op: "UpdatePackageVersionsStatus", in: pkgParams(fxRepo).with("targetStatus", "Archived")},
		{name: "101 versions", op: "DeletePackageVersions", in: pkgParams(fxRepo).with("versions", manyVersions(101))},
		{name: "bad expected status", op: "DisposePackageVersions", in: pkgParams(fxRepo).with("versions", []string{"1.0.0"}, "expectedStatus", "Gone")},
		{name: "list versions bad status", op: "ListPackageVersions", in: pkgParams(fxRepo).with("status", "Gone")},
		{name: "list versions bad sortBy", op: "ListPackageVersions", in: pkgParams(fxRepo).with("sortBy", "VERSION")},
		{name: "list versions bad originType", op: "ListPackageVersions", in: pkgParams(fxRepo).with("originType", "LOCAL")},
	}
	for _, bad := range []string{"0", "1001", "x", "-1"} {
		for _, l := range []struct {
			op string
			in params
		}{
			{"ListRepositories", params{}},
			{"ListRepositoriesInDomain", params{"domain": fxDomain}},
			{"ListPackages", repo},
			{"ListPackageVersions", pkgParams(fxRepo)},
			{"ListPackageVersionAssets", ver},
		} {
			cases = append(cases, errCase{name: l.op + " max-results " + bad, op: l.op, in: l.in.with("maxResults", bad), msg: "max-results"})
		}
	}
	for _, l := range []struct {
		op string
		in params
	}{
		{"ListRepositories", params{}},
		{"ListRepositoriesInDomain", params{"domain": fxDomain}},
		{"ListPackages", repo},
		{"ListPackageVersions", pkgParams(fxRepo)},
		{"ListPackageVersionAssets", ver},
	} {
		cases = append(cases, errCase{name: l.op + " bad next-token", op: l.op, in: l.in.with("nextToken", "not/a+token!"), msg: "nextToken"})
	}
	for _, bad := range []any{0, 1001, -5, "x", 2.5} {
		cases = append(cases, errCase{name: fmt.Sprintf("ListDomains maxResults %v", bad), op: "ListDomains", in: params{"maxResults": bad}})
	}
	cases = append(cases, errCase{name: "ListDomains bad nextToken", op: "ListDomains", in: params{"nextToken": "not/a+token!"}})
	for i := range cases {
		cases[i].status, cases[i].code = bad, V
	}
	runErrCases(t, h, cases)
}

func pkgRef0() domain.PackageRef {
	return domain.PackageRef{Format: "generic", Namespace: fxNS, Name: fxPkg}
}

func copyParams(src, dst string) params {
	return params{"domain": fxDomain, "sourceRepository": src, "destinationRepository": dst, "format": "generic", "namespace": fxNS, "package": fxPkg}
}

func manyVersions(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("0.0.%d", i)
	}
	return out
}

// TestResourceErrors: missing resources are 404 ResourceNotFoundException,
// state conflicts 409 ConflictException, quotas 402
// ServiceQuotaExceededException; each names the resource when the model's
// ResourceType can say what it is.
func TestResourceErrors(t *testing.T) {
	t.Parallel()
	h := errorsHarness(t)
	const NF, C, Q = "ResourceNotFoundException", "ConflictException", "ServiceQuotaExceededException"
	ver := pkgParams(fxRepo).with("packageVersion", "1.0.0")
	otherAccount := strings.Replace(h.arns.Repository(fxDomain, fxRepo), testAccount, "210987654321", 1)
	otherRegion := strings.Replace(h.arns.Repository(fxDomain, fxRepo), testRegion, "eu-west-1", 1)
	upstreams := func(n int) []map[string]string {
		out := make([]map[string]string, n)
		for i := range out {
			out[i] = map[string]string{"repositoryName": fmt.Sprintf("u%02d", i)}
		}
		return out
	}
	cases := []errCase{
		{name: "domain", op: "DescribeDomain", in: params{"domain": "nope"}, status: 404, code: NF, resource: "domain/nope"},
		{name: "domain of another owner", op: "DescribeDomain", in: params{"domain": fxDomain, "domainOwner": "210987654321"}, status: 404, code: NF, resource: "domain/acme"},
		{name: "repository", op: "DescribeRepository", in: params{"domain": fxDomain, "repository": "nope"}, status: 404, code: NF, resource: "repository/nope"},
		{name: "repository in missing domain", op: "CreateRepository", in: params{"domain": "nope", "repository": "r1"}, status: 404, code: NF, resource: "domain/nope"},
		{name: "upstream", op: "UpdateRepository", in: params{"domain": fxDomain, "repository": "other", "upstreams": []map[string]string{{"repositoryName": "ghost"}}}, status: 404, code: NF, resource: "repository/ghost"},
		{name: "package", op: "DescribePackage", in: pkgParams(fxRepo).with("package", "nope"), status: 404, code: NF, resource: "package/ns/nope"},
		{name: "package version", op: "DescribePackageVersion", in: ver.with("packageVersion", "9.9.9"), status: 404, code: NF, resource: "package-version/ns/pkg@9.9.9"},
		{name: "asset", op: "GetPackageVersionAsset", in: ver.with("asset", "b.txt"), status: 404, code: NF, resource: "asset/b.txt"},
		{name: "external connection not associated", op: "DisassociateExternalConnection", in: params{"domain": fxDomain, "repository": "other", "externalConnection": "public:pypi"}, status: 404, code: NF},
		{name: "no repository policy", op: "GetRepositoryPermissionsPolicy", in: params{"domain": fxDomain, "repository": "other"}, status: 404, code: NF},
		{name: "no domain policy", op: "DeleteDomainPermissionsPolicy", in: params{"domain": fxDomain}, status: 404, code: NF},
		{name: "tag another account", op: "TagResource", in: params{"resourceArn": otherAccount, "tags": tags(1)}, status: 404, code: NF},
		{name: "tag another region", op: "ListTagsForResource", in: params{"resourceArn": otherRegion}, status: 404, code: NF},
		{name: "tag missing repository", op: "TagResource", in: params{"resourceArn": h.arns.Repository(fxDomain, "nope"), "tags": tags(1)}, status: 404, code: NF, resource: "repository/nope"},
		{name: "untag missing domain", op: "UntagResource", in: params{"resourceArn": h.arns.Domain("nope"), "tagKeys": []string{"k"}}, status: 404, code: NF, resource: "domain/nope"},

		{name: "domain exists", op: "CreateDomain", in: params{"domain": fxDomain}, status: 409, code: C, resource: "domain/acme"},
		{name: "repository exists", op: "CreateRepository", in: params{"domain": fxDomain, "repository": fxRepo}, status: 409, code: C, resource: "repository/main"},
		{name: "domain not empty", op: "DeleteDomain", in: params{"domain": fxDomain}, status: 409, code: C, resource: "domain/acme",
			after: func(t *testing.T, h *harness) { h.call(t, "DescribeDomain", params{"domain": fxDomain}).ok(t) }},
		{name: "repository is an upstream", op: "DeleteRepository", in: params{"domain": fxDomain, "repository": "up"}, status: 409, code: C, resource: "repository/up",
			after: func(t *testing.T, h *harness) {
				h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "up"}).ok(t)
			}},
		{name: "external connection associated twice", op: "AssociateExternalConnection", in: params{"domain": fxDomain, "repository": "ext", "externalConnection": "public:npmjs"}, status: 409, code: C, resource: "repository/ext"},
		{name: "repository policy revision", op: "PutRepositoryPermissionsPolicy", in: params{"domain": fxDomain, "repository": "pol", "policyDocument": allowAllPolicy, "policyRevision": "WRONG"}, status: 409, code: C,
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "GetRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": "pol"}).ok(t)
				if str(out, "policy", "revision") == "WRONG" || str(out, "policy", "document") != allowAllPolicy {
					t.Errorf("policy changed: %v", out)
				}
			}},
		{name: "delete policy revision", op: "DeleteRepositoryPermissionsPolicy", in: params{"domain": fxDomain, "repository": "pol", "policyRevision": "WRONG"}, status: 409, code: C,
			after: func(t *testing.T, h *harness) {
				h.call(t, "GetRepositoryPermissionsPolicy", params{"domain": fxDomain, "repository": "pol"}).ok(t)
			}},
		{name: "asset with other bytes", op: "PublishPackageVersion", in: ver.with("assetName", "a.txt", "assetContent", []byte("b")), status: 409, code: C, resource: "asset/a.txt"},
		{name: "asset of a published version", op: "PublishPackageVersion", in: ver.with("assetName", "new.txt", "assetContent", []byte("n")), status: 409, code: C, resource: "package-version/1.0.0"},
		{name: "asset revision", op: "GetPackageVersionAsset", in: ver.with("asset", "a.txt", "packageVersionRevision", "WRONG"), status: 409, code: C, resource: "package-version/1.0.0"},

		{name: "second external connection", op: "AssociateExternalConnection", in: params{"domain": fxDomain, "repository": "ext", "externalConnection": "public:pypi"}, status: 402, code: Q,
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "ext"}).ok(t)
				if n := len(get(out, "repository", "externalConnections").([]any)); n != 1 {
					t.Errorf("%d external connections after a refused second one", n)
				}
			}},
		{name: "11 upstreams", op: "CreateRepository", in: params{"domain": fxDomain, "repository": "many-up", "upstreams": upstreams(11)}, status: 402, code: Q, after: repoMissing("many-up")},
		{name: "more than 200 tags in all", op: "TagResource", in: params{"resourceArn": h.arns.Repository(fxDomain, "tagged"), "tags": tags(200)[50:]}, status: 402, code: Q,
			setup: func(t *testing.T, h *harness) {
				h.call(t, "CreateRepository", params{"domain": fxDomain, "repository": "tagged", "tags": append(tags(200)[:50], tags(251)[200:]...)}).ok(t)
			},
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "ListTagsForResource", params{"resourceArn": h.arns.Repository(fxDomain, "tagged")}).ok(t)
				if n := len(get(out, "tags").([]any)); n != 101 {
					t.Errorf("%d tags after a refused TagResource, want the 101 there before", n)
				}
			}},
	}
	runErrCases(t, h, cases)
}

// TestSignatureErrors: SigV4 failures are 403 with AWS's exception names
// (and bodies of just a message); a body changed after signing is refused
// before it is used.
func TestSignatureErrors(t *testing.T) {
	t.Parallel()
	h := errorsHarness(t)
	const IS = "InvalidSignatureException"
	create := func(name string) params {
		return params{"domain": fxDomain, "repository": name, "description": "aaaa"}
	}
	cases := []errCase{
		{name: "unsigned", op: "ListDomains", in: params{}, mod: func(r *request) { r.unsigned = true }, status: 403, code: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"},
		{name: "unsigned with hash header only", op: "CreateRepository", in: create("unsigned"), mod: func(r *request) { r.unsigned = true }, status: 403, code: "MissingAuthenticationTokenException", after: repoMissing("unsigned")},
		{name: "wrong secret", op: "CreateRepository", in: create("wrong-secret"), mod: func(r *request) {
			r.creds = &aws.Credentials{AccessKeyID: h.root.AccessKeyID, SecretAccessKey: "not" + h.root.SecretAccessKey}
		}, status: 403, code: IS, msg: "signature we calculated does not match", after: repoMissing("wrong-secret")},
		{name: "signed 20 minutes ago", op: "CreateRepository", in: create("stale"), mod: func(r *request) { r.signedAt = time.Now().Add(-20 * time.Minute) },
			status: 403, code: IS, msg: "Signature expired", after: repoMissing("stale")},
		{name: "signed 20 minutes ahead", op: "DescribeDomain", in: params{"domain": fxDomain}, mod: func(r *request) { r.signedAt = time.Now().Add(20 * time.Minute) },
			status: 403, code: IS, msg: "not yet current"},
		{name: "unknown key", op: "DescribeDomain", in: params{"domain": fxDomain}, mod: func(r *request) {
			r.creds = &aws.Credentials{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: h.root.SecretAccessKey}
		}, status: 403, code: "UnrecognizedClientException"},
		{name: "scoped to another service", op: "DescribeDomain", in: params{"domain": fxDomain}, mod: func(r *request) { r.service = "s3" }, status: 403, code: IS, msg: "codeartifact"},
		{name: "query changed after signing", op: "CreateRepository", in: create("query-a"), mod: func(r *request) { r.tamperQuery = "domain=acme&repository=query-b" },
			status: 403, code: IS, after: repoMissing("query-b")},
		{name: "body tampered", op: "CreateRepository", in: create("tampered"), mod: func(r *request) {
			r.tamper = bytes.Replace(r.body, []byte("aaaa"), []byte("bbbb"), 1)
		}, status: 400, code: "ValidationException", msg: "x-amz-content-sha256", after: repoMissing("tampered")},
		{name: "body tampered without hash header", op: "CreateRepository", in: create("tampered-nohdr"), mod: func(r *request) {
			r.noHashHdr = true
			r.tamper = bytes.Replace(r.body, []byte("aaaa"), []byte("bbbb"), 1)
		}, status: 403, code: IS, after: repoMissing("tampered-nohdr")},
		{name: "1 MiB body tampered", op: "UpdateRepository", in: params{"domain": fxDomain, "repository": "other"}, mod: func(r *request) {
			// A valid JSON document padded to exactly 1 MiB; the tampered
			// copy differs only in the description.
			signed := padJSON(`{"description":"aaaa"}`, 1<<20)
			r.body, r.tamper = signed, bytes.Replace(signed, []byte("aaaa"), []byte("bbbb"), 1)
		}, status: 400, code: "ValidationException",
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "other"}).ok(t)
				if d := str(out, "repository", "description"); d != "" {
					t.Errorf("description %q written from a tampered body", d)
				}
			}},
		{name: "body over 1 MiB tampered", op: "UpdateRepository", in: params{"domain": fxDomain, "repository": "ext"}, mod: func(r *request) {
			signed := padJSON(`{"description":"aaaa"}`, 1<<20+1024)
			r.body, r.tamper = signed, bytes.Replace(signed, []byte("aaaa"), []byte("bbbb"), 1)
		}, status: 413, code: "ValidationException",
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "ext"}).ok(t)
				if d := str(out, "repository", "description"); d != "" {
					t.Errorf("description %q written from a tampered body", d)
				}
			}},
		{name: "body over 1 MiB", op: "UpdateRepository", in: params{"domain": fxDomain, "repository": "pol"}, mod: func(r *request) {
			r.body = padJSON(`{"description":"cccc"}`, 1<<20+1)
		}, status: 413, code: "ValidationException",
			after: func(t *testing.T, h *harness) {
				out := h.call(t, "DescribeRepository", params{"domain": fxDomain, "repository": "pol"}).ok(t)
				if d := str(out, "repository", "description"); d != "" {
					t.Errorf("description %q written from an oversize body", d)
				}
			}},
	}
	runErrCases(t, h, cases)
}

// padJSON pads a JSON document with spaces to n bytes.
func padJSON(doc string, n int) []byte {
	return append([]byte(doc), bytes.Repeat([]byte(" "), n-len(doc))...)
}

// TestPublishLeavesNothingBehind: a publish whose body does not match its
// signed sha256, or exceeds MaxAssetBytes, stores neither a blob nor a
// version (not even a temporary file).
func TestPublishLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	content := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	for _, tc := range []struct {
		name   string
		mod    func(r *request)
		status int
	}{
		{"sha mismatch", func(r *request) { r.payloadHash = sha256Hex([]byte("something else")) }, http.StatusBadRequest},
		{"tampered after signing", func(r *request) { r.tamper = bytes.ToUpper(content) }, http.StatusBadRequest},
		{"over MaxAssetBytes", func(r *request) {
			r.body = bytes.Repeat([]byte("x"), testMaxAsset+1)
			r.payloadHash = ""
		}, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.seed(t, fxRepo)
			ver := pkgParams(fxRepo).with("packageVersion", "1.0.0")
			r := build(t, "PublishPackageVersion", ver.with("assetName", "a.bin", "assetContent", content))
			tc.mod(&r)
			h.send(t, r).fail(t, tc.status, "ValidationException")
			if files := h.blobFiles(t); len(files) != 0 {
				t.Errorf("files left in the blob store: %v", files)
			}
			h.call(t, "DescribePackage", pkgParams(fxRepo)).fail(t, http.StatusNotFound, "ResourceNotFoundException")
			// The same content, correctly signed, still publishes.
			h.call(t, "PublishPackageVersion", ver.with("assetName", "a.bin", "assetContent", content)).ok(t)
			if got := h.storedBlobs(t); len(got) != 1 || got[0] != sha256Hex(content) {
				t.Errorf("blobs after a good publish: %v", got)
			}
		})
	}
	t.Run("exactly MaxAssetBytes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.seed(t, fxRepo)
		out := h.publish(t, fxRepo, fxPkg, "1.0.0", "max.bin", bytes.Repeat([]byte("m"), testMaxAsset), false)
		if n := num(t, out, "asset", "size"); n != testMaxAsset {
			t.Errorf("size %v", n)
		}
	})
}

// TestCopyOntoItself: copying versions of a repository onto themselves is
// refused and loses nothing.
func TestCopyOntoItself(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t, fxRepo)
	h.publish(t, fxRepo, fxPkg, "1.0.0", "a.txt", []byte("a"), false)
	h.call(t, "CopyPackageVersions", copyParams(fxRepo, fxRepo).with("versions", []string{"1.0.0"}, "allowOverwrite", true)).fail(t, http.StatusBadRequest, "ValidationException")
	out := h.call(t, "ListPackageVersions", pkgParams(fxRepo)).ok(t)
	if str(out, "versions", 0, "version") != "1.0.0" {
		t.Fatalf("version lost: %v", out)
	}
	if b := h.call(t, "GetPackageVersionAsset", pkgParams(fxRepo).with("packageVersion", "1.0.0", "asset", "a.txt")); b.status != 200 || string(b.body) != "a" {
		t.Fatalf("asset lost: %d %s", b.status, b.body)
	}
}

// TestAuthorizationTokenDurations: 0 (the default, 12 h), 900 and 43200
// seconds are accepted and give that lifetime.
func TestAuthorizationTokenDurations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t)
	for _, tc := range []struct {
		in   any
		want time.Duration
	}{{nil, 12 * time.Hour}, {0, 12 * time.Hour}, {900, 900 * time.Second}, {43200, 12 * time.Hour}, {3600, time.Hour}} {
		in := params{"domain": fxDomain}
		if tc.in != nil {
			in["durationSeconds"] = tc.in
		}
		out := h.call(t, "GetAuthorizationToken", in).ok(t)
		want := float64(time.Now().Add(tc.want).Unix())
		if got := num(t, out, "expiration"); got < want-5 || got > want+5 {
			t.Errorf("duration %v: expiration %v, want about %v", tc.in, got, want)
		}
	}
}
