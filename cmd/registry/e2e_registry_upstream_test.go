package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistryUpstream chains two instances of this registry: B's custom
// external connection corp:mirror points at a repository of A, with a
// CodeArtifact token of A in the URL's userinfo (user "aws", as pip and
// twine send it). The real npm client installs A's package through B, the
// versions show as EXTERNAL in B, B's log never shows the token, and after
// A stops the same install works from what B retained.
func TestRegistryUpstream(t *testing.T) {
	requireAWS(t)

	// Registry A: the company's own registry, holding a published package.
	a := startRegistry(t, t.TempDir())
	aEnv := a.awsEnv(t)
	ok(t, aEnv, "codeartifact", "create-domain", "--domain", "corp")
	ok(t, aEnv, "codeartifact", "create-repository", "--domain", "corp", "--repository", "shared")
	na := newNPMEnv(t, aEnv)
	if r := runAWS(na.env, "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "shared"); r.err != nil {
		t.Fatalf("login to A: %v\n%s", r.err, r.stderr)
	}
	na.run(t, writePackage(t, "@corp/widgets", "1.2.3", nil), "publish")
	tok, _ := dig(ok(t, aEnv, "codeartifact", "get-authorization-token", "--domain", "corp"), "authorizationToken").(string)
	if len(tok) < 8 {
		t.Fatalf("authorization token %q from A is too short to look for in logs", tok)
	}
	aURL, err := url.Parse(a.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// A refuses anonymous npm reads and takes the token as the password of
	// Basic auth with user "aws": what B's connection will send.
	packument := a.endpoint + "/npm/corp/shared/@corp%2fwidgets"
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", http.StatusUnauthorized}, {"aws", tok, http.StatusOK}, {"aws", "not-the-token", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodGet, packument, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Fatalf("GET A's packument as %q: status %d, want %d", c.user, res.StatusCode, c.want)
		}
	}
	mirror := "http://aws:" + url.QueryEscape(tok) + "@" + aURL.Host + "/npm/corp/shared/"

	// Registry B: reaches A through the custom connection corp:mirror.
	b := startRegistry(t, t.TempDir(), "--external-connection", "corp:mirror=npm="+mirror)
	bEnv := b.awsEnv(t)
	ca := func(args ...string) map[string]any {
		return ok(t, bEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "store")
	ca("associate-external-connection", "--repository", "store", "--external-connection", "corp:mirror")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=store")

	nb := newNPMEnv(t, bEnv)
	login := func() {
		t.Helper()
		if r := runAWS(nb.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "app"); r.err != nil {
			t.Fatalf("login to B: %v\n%s", r.err, r.stderr)
		}
	}
	login()
	install := func(label string) {
		t.Helper()
		proj := t.TempDir()
		if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"proj","version":"1.0.0","private":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(nb.cache); err != nil {
			t.Fatal(err)
		}
		nb.run(t, proj, "install", "@corp/widgets")
		if m := readManifest(t, filepath.Join(proj, "node_modules", "@corp", "widgets", "package.json")); m["version"] != "1.2.3" {
			t.Fatalf("%s: installed @corp/widgets@%v, want 1.2.3", label, m["version"])
		}
		lock := readManifest(t, filepath.Join(proj, "package-lock.json"))
		resolved, _ := dig(lock, "packages", "node_modules/@corp/widgets", "resolved").(string)
		if !strings.HasPrefix(resolved, b.endpoint+"/npm/acme/app/") {
			t.Fatalf("%s: resolved from %q, want B's app repository", label, resolved)
		}
	}
	install("through A")

	versions := func(repo string) string {
		t.Helper()
		r := ca("list-package-versions", "--repository", repo, "--format", "npm", "--namespace", "corp", "--package", "widgets")
		var out []string
		for _, v := range dig(r, "versions").([]any) {
			typ, _ := dig(v, "origin", "originType").(string)
			out = append(out, dig(v, "version").(string)+":"+typ)
		}
		return strings.Join(out, ",")
	}
	for _, repo := range []string{"app", "store"} {
		if got := versions(repo); got != "1.2.3:EXTERNAL" {
			t.Errorf("@corp/widgets in B's %s: versions %q, want 1.2.3:EXTERNAL", repo, got)
		}
	}

	// A goes away: B serves what it retained, to an empty npm cache.
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	install("A stopped")

	logB := b.log.String()
	for _, secret := range []string{tok, url.QueryEscape(tok)} {
		if strings.Contains(logB, secret) {
			t.Errorf("B's log shows A's token")
		}
	}
	if !strings.Contains(logB, "corp:mirror") {
		t.Errorf("B's log does not name the connection; is the log captured?\n%s", logB)
	}
}
