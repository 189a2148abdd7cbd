package main

import (
	"net/http"
	"strings"
	"testing"
)

// withKey returns env with the access key replaced.
func withKey(env []string, id, secret string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			out = append(out, kv)
		}
	}
	return append(out, "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret)
}

// TestReadOnlyUser: an IAM user with a read-only identity policy on one
// repository can list its packages, is refused publishing there and
// reading another repository, until a repository policy grants it.
func TestReadOnlyUser(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	root := in.awsEnv(t)
	acct := ok(t, root, "sts", "get-caller-identity")["Account"].(string)
	if got := ok(t, root, "sts", "get-caller-identity")["Arn"]; got != "arn:aws:iam::"+acct+":root" {
		t.Fatalf("root arn %v", got)
	}
	ok(t, root, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, root, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	ok(t, root, "codeartifact", "create-repository", "--domain", "acme", "--repository", "private")
	path, sum := writeAsset(t, "a.tgz", []byte("asset"))
	ok(t, root, publishArgs("shared", "hello", "1.0.0", path, "a.tgz", sum)...)
	ok(t, root, publishArgs("private", "secret", "1.0.0", path, "a.tgz", sum)...)

	ok(t, root, "iam", "create-user", "--user-name", "reader")
	key := ok(t, root, "iam", "create-access-key", "--user-name", "reader")
	id, secret := dig(key, "AccessKey", "AccessKeyId").(string), dig(key, "AccessKey", "SecretAccessKey").(string)
	arn := "arn:aws:codeartifact:us-east-1:" + acct + ":"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["codeartifact:List*","codeartifact:Describe*","codeartifact:Get*","codeartifact:ReadFromRepository"],
		"Resource":["` + arn + `domain/acme","` + arn + `repository/acme/shared","` + arn + `package/acme/shared/*"]}]}`
	ok(t, root, "iam", "put-user-policy", "--user-name", "reader", "--policy-name", "read-shared", "--policy-document", policy)
	users := ok(t, root, "iam", "list-users")
	if dig(users, "Users", 0, "UserName") != "reader" {
		t.Fatalf("list-users: %v", users)
	}

	reader := withKey(root, id, secret)
	if got := ok(t, reader, "sts", "get-caller-identity")["Arn"]; got != "arn:aws:iam::"+acct+":user/reader" {
		t.Fatalf("reader arn %v", got)
	}
	lp := ok(t, reader, "codeartifact", "list-packages", "--domain", "acme", "--repository", "shared")
	if dig(lp, "packages", 0, "package") != "hello" {
		t.Fatalf("reader list-packages: %v", lp)
	}
	ok(t, reader, "codeartifact", "get-authorization-token", "--domain", "acme")
	fails(t, reader, "AccessDeniedException", publishArgs("shared", "hello", "2.0.0", path, "a.tgz", sum)...)
	fails(t, reader, "AccessDeniedException", "codeartifact", "list-packages", "--domain", "acme", "--repository", "private")
	fails(t, reader, "AccessDenied", "iam", "create-user", "--user-name", "mallory")

	// A repository policy can grant what the identity policy does not...
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/reader"},
		"Action":["codeartifact:ListPackages"],"Resource":"*"}]}`
	ok(t, root, "codeartifact", "put-repository-permissions-policy", "--domain", "acme", "--repository", "private", "--policy-document", grant)
	ok(t, reader, "codeartifact", "list-packages", "--domain", "acme", "--repository", "private")
	// ...and an explicit Deny wins over the identity policy's Allow.
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"codeartifact:ListPackages","Resource":"*"}]}`
	ok(t, root, "codeartifact", "put-repository-permissions-policy", "--domain", "acme", "--repository", "shared", "--policy-document", deny)
	fails(t, reader, "AccessDeniedException", "codeartifact", "list-packages", "--domain", "acme", "--repository", "shared")
	got := ok(t, root, "codeartifact", "get-repository-permissions-policy", "--domain", "acme", "--repository", "shared")
	if !strings.Contains(dig(got, "policy", "document").(string), "Deny") {
		t.Fatalf("get-repository-permissions-policy: %v", got)
	}

	fails(t, root, "DeleteConflict", "iam", "delete-user", "--user-name", "reader")
	ok(t, root, "iam", "delete-user-policy", "--user-name", "reader", "--policy-name", "read-shared")
	ok(t, root, "iam", "delete-access-key", "--user-name", "reader", "--access-key-id", id)
	ok(t, root, "iam", "delete-user", "--user-name", "reader")
	fails(t, reader, "UnrecognizedClientException", "codeartifact", "list-domains")
}

// TestBadInput: each mistake gets the AWS error a real CodeArtifact
// returns, and nothing is half-written.
func TestBadInput(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)
	fails(t, env, "ValidationException", "codeartifact", "create-domain", "--domain", "Bad_Name")
	fails(t, env, "ResourceNotFoundException", "codeartifact", "describe-domain", "--domain", "nope")
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	fails(t, env, "ConflictException", "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	fails(t, env, "ConflictException", "codeartifact", "delete-domain", "--domain", "acme")
	fails(t, env, "ResourceNotFoundException", "codeartifact", "create-repository", "--domain", "acme", "--repository", "app",
		"--upstreams", "repositoryName=missing")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "app", "--upstreams", "repositoryName=shared")
	fails(t, env, "ValidationException", "codeartifact", "update-repository", "--domain", "acme", "--repository", "shared",
		"--upstreams", "repositoryName=app")
	fails(t, env, "ValidationException", "codeartifact", "put-domain-permissions-policy", "--domain", "acme",
		"--policy-document", `{"Statement":[{"Effect":"Maybe"}]}`)

	path, sum := writeAsset(t, "a.tgz", []byte("first"))
	wrong := strings.Repeat("0", 64)
	fails(t, env, "ValidationException", publishArgs("shared", "hello", "1.0.0", path, "a.tgz", wrong)...)
	fails(t, env, "ResourceNotFoundException", "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "shared",
		"--format", "generic", "--namespace", "tools", "--package", "hello", "--package-version", "1.0.0")
	if n := countBlobs(t, in.dataDir+"/blobs"); n != 0 {
		t.Fatalf("a rejected publish left %d blobs", n)
	}
	unfinished := append(publishArgs("shared", "hello", "1.0.0", path, "a.tgz", sum), "--unfinished")
	if got := ok(t, env, unfinished...); got["status"] != "Unfinished" {
		t.Fatalf("unfinished publish: %v", got)
	}
	ok(t, env, unfinished...) // identical bytes: idempotent
	other, otherSum := writeAsset(t, "a.tgz", []byte("second"))
	fails(t, env, "ConflictException", publishArgs("shared", "hello", "1.0.0", other, "a.tgz", otherSum)...)
	path2, sum2 := writeAsset(t, "b.tgz", []byte("more"))
	if got := ok(t, env, publishArgs("shared", "hello", "1.0.0", path2, "b.tgz", sum2)...); got["status"] != "Published" {
		t.Fatalf("final publish: %v", got)
	}
	assets := ok(t, env, "codeartifact", "list-package-version-assets", "--domain", "acme", "--repository", "shared",
		"--format", "generic", "--namespace", "tools", "--package", "hello", "--package-version", "1.0.0")
	if n := len(assets["assets"].([]any)); n != 2 {
		t.Fatalf("assets: %v", assets)
	}

	// Status rules: Unlisted and back; Disposed is final.
	st := ok(t, env, "codeartifact", "update-package-versions-status", "--domain", "acme", "--repository", "shared", "--format", "generic",
		"--namespace", "tools", "--package", "hello", "--versions", "1.0.0", "9.9.9", "--target-status", "Unlisted")
	if dig(st, "failedVersions", "9.9.9", "errorCode") != "NOT_FOUND" || dig(st, "failedVersions", "1.0.0", "errorCode") != "SKIPPED" {
		t.Fatalf("all-or-nothing status update: %v", st)
	}
	ok(t, env, "codeartifact", "dispose-package-versions", "--domain", "acme", "--repository", "shared", "--format", "generic",
		"--namespace", "tools", "--package", "hello", "--versions", "1.0.0")
	st = ok(t, env, "codeartifact", "update-package-versions-status", "--domain", "acme", "--repository", "shared", "--format", "generic",
		"--namespace", "tools", "--package", "hello", "--versions", "1.0.0", "--target-status", "Published")
	if dig(st, "failedVersions", "1.0.0", "errorCode") != "NOT_ALLOWED" {
		t.Fatalf("published a disposed version: %v", st)
	}

	// Unsigned and tampered requests.
	resp, err := http.Post(in.endpoint+"/v1/domain?domain=evil", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned request: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	var keyID string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_ACCESS_KEY_ID="); ok {
			keyID = v
		}
	}
	fails(t, withKey(env, keyID, "not-the-secret"), "InvalidSignatureException", "codeartifact", "create-domain", "--domain", "evil")
	fails(t, withKey(env, "AKIAIOSFODNN7EXAMPLE", "x"), "UnrecognizedClientException", "codeartifact", "list-domains")
	fails(t, env, "ResourceNotFoundException", "codeartifact", "describe-domain", "--domain", "evil")
}
