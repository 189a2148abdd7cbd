package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeAsset(t *testing.T, name string, content []byte) (path, sum string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(content)
	return path, hex.EncodeToString(s[:])
}

func publishArgs(repo, pkg, version, path, asset, sum string) []string {
	return []string{"codeartifact", "publish-package-version", "--domain", "acme", "--repository", repo, "--format", "generic",
		"--namespace", "tools", "--package", pkg, "--package-version", version, "--asset-content", path, "--asset-name", asset, "--asset-sha256", sum}
}

// TestQuickstart drives the user story with the real aws CLI
// against a real registry process.
func TestQuickstart(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)
	for _, want := range []string{"registry listening", "data_dir=", "credentials="} {
		if !strings.Contains(in.log.String(), want) {
			t.Errorf("serve log lacks %q:\n%s", want, in.log.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(in.dataDir, rootCredentialsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root credentials file: %v %v", fi, err)
	}

	d := ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	if dig(d, "domain", "name") != "acme" || dig(d, "domain", "status") != "Active" {
		t.Fatalf("create-domain: %v", d)
	}
	r := ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared", "--description", "team packages")
	if dig(r, "repository", "description") != "team packages" {
		t.Fatalf("create-repository: %v", r)
	}
	l := ok(t, env, "codeartifact", "list-repositories-in-domain", "--domain", "acme")
	if dig(l, "repositories", 0, "name") != "shared" {
		t.Fatalf("list-repositories-in-domain: %v", l)
	}
	e := ok(t, env, "codeartifact", "get-repository-endpoint", "--domain", "acme", "--repository", "shared", "--format", "npm")
	if got, want := dig(e, "repositoryEndpoint"), in.endpoint+"/npm/acme/shared/"; got != want {
		t.Fatalf("endpoint %v, want %s", got, want)
	}
	tok := runAWS(env, "codeartifact", "get-authorization-token", "--domain", "acme", "--query", "authorizationToken")
	token := strings.Trim(strings.TrimSpace(tok.out), `"`)
	if tok.err != nil || len(token) < 20 {
		t.Fatalf("get-authorization-token: %v %s", tok.err, tok.stderr)
	}

	content := []byte("hello, registry\n")
	path, sum := writeAsset(t, "hello.tgz", content)
	p := ok(t, env, publishArgs("shared", "hello", "1.0.0", path, "hello.tgz", sum)...)
	if dig(p, "status") != "Published" || dig(p, "asset", "hashes", "SHA-256") != sum {
		t.Fatalf("publish: %v", p)
	}
	lp := ok(t, env, "codeartifact", "list-packages", "--domain", "acme", "--repository", "shared")
	if dig(lp, "packages", 0, "package") != "hello" || dig(lp, "packages", 0, "namespace") != "tools" {
		t.Fatalf("list-packages: %v", lp)
	}
	dd := ok(t, env, "codeartifact", "describe-domain", "--domain", "acme")
	if dig(dd, "domain", "assetSizeBytes") != float64(len(content)) || dig(dd, "domain", "repositoryCount") != float64(1) {
		t.Fatalf("describe-domain: %v", dd)
	}

	// Deduplication: the same bytes in a second repository are stored and
	// counted once.
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "other")
	ok(t, env, publishArgs("other", "hello-copy", "2.0.0", path, "hello.tgz", sum)...)
	dd = ok(t, env, "codeartifact", "describe-domain", "--domain", "acme")
	if dig(dd, "domain", "assetSizeBytes") != float64(len(content)) {
		t.Fatalf("assetSizeBytes after duplicate publish: %v", dig(dd, "domain", "assetSizeBytes"))
	}
	if n := countBlobs(t, filepath.Join(in.dataDir, "blobs")); n != 1 {
		t.Fatalf("blob files: %d, want 1", n)
	}

	// The asset comes back byte for byte.
	out := filepath.Join(t.TempDir(), "out.tgz")
	ok(t, env, "codeartifact", "get-package-version-asset", "--domain", "acme", "--repository", "shared", "--format", "generic",
		"--namespace", "tools", "--package", "hello", "--package-version", "1.0.0", "--asset", "hello.tgz", out)
	if got, _ := os.ReadFile(out); string(got) != string(content) {
		t.Fatalf("downloaded %q", got)
	}

	// The token opens the format endpoints as Bearer and as Basic password.
	ping := in.endpoint + "/npm/acme/shared/-/ping"
	for name, h := range map[string]string{
		"bearer": "Bearer " + token,
		"basic":  "Basic " + base64.StdEncoding.EncodeToString([]byte("aws:"+token)),
	} {
		if code := get(t, ping, h); code != http.StatusOK {
			t.Errorf("%s token: status %d", name, code)
		}
	}
	if code := get(t, ping, ""); code != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", code)
	}
	if code := get(t, ping, "Bearer not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("bad token: status %d, want 401", code)
	}
	ok(t, env, "codeartifact", "create-domain", "--domain", "other-team")
	ok(t, env, "codeartifact", "create-repository", "--domain", "other-team", "--repository", "repo")
	if code := get(t, in.endpoint+"/npm/other-team/repo/-/ping", "Bearer "+token); code != http.StatusUnauthorized {
		t.Errorf("foreign-domain token: status %d, want 401", code)
	}

	if err := in.stop(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, in.log.String())
	}
}

func get(t *testing.T, url, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func countBlobs(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.Walk(filepath.Join(root, "sha256"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func writeAssetSum(t *testing.T, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return path, hex.EncodeToString(s[:])
}
