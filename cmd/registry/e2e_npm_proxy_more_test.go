package main

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/maven"
	"github.com/artifactd/registry/internal/formats/npm"
	"github.com/artifactd/registry/internal/formats/pypi"
)

// packAnother packs a further version of a package the origin serves and
// adds it to the packument, keeping the versions already there.
func (o *npmOrigin) packAnother(t *testing.T, n *npmEnv, name, version string) {
	t.Helper()
	o.mu.Lock()
	old := o.docs[name]
	o.mu.Unlock()
	o.pack(t, n, name, version, nil)
	o.mu.Lock()
	defer o.mu.Unlock()
	doc := o.docs[name]
	for _, k := range []string{"versions", "time"} {
		for v, m := range old[k].(map[string]any) {
			doc[k].(map[string]any)[v] = m
		}
	}
}

// runRegistry runs the registry binary with args.
func runRegistry(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(registryBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestNPMProxyPurgeAndConnections: a repository preferring cached
// metadata keeps serving the packument it cached after upstream gained a
// version, until "registry purge" forgets it; with origin controls
// ALLOW/ALLOW, publishing a version upstream has is refused; the purge
// endpoint checks its input and its caller; a custom named external
// connection serves a real npm install.
func TestNPMProxyPurgeAndConnections(t *testing.T) {
	requireAWS(t)
	dataDir := t.TempDir()
	origin := newNPMOrigin(t)
	mirror := newNPMOrigin(t)
	in := startRegistry(t, dataDir, "--npm-upstream", origin.ts.URL+"/", "--prefer-cached", "acme/app",
		"--external-connection", "acme:npm-mirror=npm="+mirror.ts.URL+"/")
	awsEnv := in.awsEnv(t)
	ca := func(args ...string) map[string]any {
		return ok(t, awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "npm-store")
	ca("associate-external-connection", "--repository", "npm-store", "--external-connection", "public:npmjs")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=npm-store")
	ca("create-repository", "--repository", "mirror-store")
	ca("associate-external-connection", "--repository", "mirror-store", "--external-connection", "acme:npm-mirror")

	n := newNPMEnv(t, awsEnv)
	origin.pack(t, n, "evolving", "1.0.0", nil)
	mirror.pack(t, n, "mirror-dep", "0.3.0", nil)
	mirror.pack(t, n, "mirror-lib", "1.2.0", map[string]string{"mirror-dep": "^0.3.0"})

	login := func(repo string) {
		t.Helper()
		if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", repo); r.err != nil {
			t.Fatalf("login %s: %v\n%s", repo, r.err, r.stderr)
		}
	}
	install := func(spec string) string {
		t.Helper()
		proj := t.TempDir()
		os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"proj","version":"1.0.0","private":true}`), 0o644)
		os.RemoveAll(n.cache)
		n.run(t, proj, "install", spec)
		return proj
	}
	token := dig(ca("get-authorization-token"), "authorizationToken").(string)
	versions := func(repo, pkg string) []string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, in.endpoint+"/npm/acme/"+repo+"/"+pkg, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var doc struct{ Versions map[string]any }
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("packument of %s in %s: %d %v", pkg, repo, res.StatusCode, err)
		}
		var out []string
		for v := range doc.Versions {
			out = append(out, v)
		}
		sort.Strings(out)
		return out
	}

	// Install through app, then upstream gains a version: app prefers its
	// cached copy.
	login("app")
	proj := install("evolving")
	if m := readManifest(t, filepath.Join(proj, "node_modules", "evolving", "package.json")); m["version"] != "1.0.0" {
		t.Fatalf("installed evolving@%v", m["version"])
	}
	origin.packAnother(t, n, "evolving", "1.1.0")
	if got := versions("app", "evolving"); strings.Join(got, ",") != "1.0.0" {
		t.Fatalf("app after upstream changed: %v, want the cached 1.0.0", got)
	}

	// registry purge: bad input first, then the purge.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--domain", "acme", "--repository", "app", "--format", "npm"}, "missing --package"},
		{[]string{"--domain", "acme", "--repository", "app", "--format", "rubygems", "--package", "x"}, `format "rubygems" has no upstream cache`},
		{[]string{"--domain", "acme", "--repository", "nope", "--format", "npm", "--package", "evolving"}, "404"},
		{[]string{"--domain", "acme", "--repository", "app", "--format", "npm", "--package", ".bad"}, "period"},
	} {
		_, stderr, err := runRegistry(append([]string{"purge", "--data-dir", dataDir}, c.args...)...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("registry purge %v: %v, stderr %q, want %q", c.args, err, stderr, c.want)
		}
	}
	stdout, stderr, err := runRegistry("purge", "--data-dir", dataDir, "--domain", "acme", "--repository", "app", "--format", "npm", "--package", "evolving")
	if err != nil || !strings.Contains(stdout, "public:npmjs") {
		t.Fatalf("registry purge: %v\n%s%s", err, stdout, stderr)
	}
	if got := versions("app", "evolving"); strings.Join(got, ",") != "1.0.0,1.1.0" {
		t.Fatalf("app after the purge: %v, want 1.0.0,1.1.0", got)
	}
	proj = install("evolving@1.1.0")
	if m := readManifest(t, filepath.Join(proj, "node_modules", "evolving", "package.json")); m["version"] != "1.1.0" {
		t.Fatalf("installed evolving@%v after the purge", m["version"])
	}

	// Origin controls ALLOW/ALLOW: a version upstream has cannot be
	// published; one it lacks can. (Ingested first, publishing was BLOCK.)
	ca("put-package-origin-configuration", "--repository", "app", "--format", "npm", "--package", "evolving",
		"--restrictions", "publish=ALLOW,upstream=ALLOW")
	origin.packAnother(t, n, "evolving", "1.2.0")
	if _, stderr, err := runRegistry("purge", "--data-dir", dataDir, "--domain", "acme", "--repository", "app", "--format", "npm", "--package", "evolving"); err != nil {
		t.Fatalf("registry purge: %v\n%s", err, stderr)
	}
	// npm itself refuses, seeing 1.2.0 in app's merged packument.
	dir := writePackage(t, "evolving", "1.2.0", nil)
	if _, errOut, err := n.try(dir, "publish"); err == nil || !strings.Contains(errOut, "1.2.0") {
		t.Fatalf("npm publish of a version upstream has: %v\n%s", err, errOut)
	}
	// The registry refuses the same publish document on its own: 409.
	var packed []struct{ Filename string }
	npmJSON(t, n.run(t, dir, "pack", "--json"), &packed)
	tgz, err := os.ReadFile(filepath.Join(dir, packed[0].Filename))
	if err != nil {
		t.Fatal(err)
	}
	s512 := sha512.Sum512(tgz)
	body, _ := json.Marshal(map[string]any{"_id": "evolving", "name": "evolving", "dist-tags": map[string]string{"latest": "1.2.0"},
		"versions": map[string]any{"1.2.0": map[string]any{"name": "evolving", "version": "1.2.0", "_id": "evolving@1.2.0",
			"dist": map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "tarball": "http://x.invalid/evolving-1.2.0.tgz"}}},
		"_attachments": map[string]any{"evolving-1.2.0.tgz": map[string]any{"content_type": "application/octet-stream",
			"data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}})
	put, _ := http.NewRequest(http.MethodPut, in.endpoint+"/npm/acme/app/evolving", bytes.NewReader(body))
	put.Header.Set("Authorization", "Bearer "+token)
	put.Header.Set("Content-Type", "application/json")
	pr, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	var npmErr struct{ Error string }
	json.NewDecoder(pr.Body).Decode(&npmErr)
	pr.Body.Close()
	if pr.StatusCode != http.StatusConflict || !strings.Contains(npmErr.Error, "1.2.0") || !strings.Contains(npmErr.Error, "public:npmjs") {
		t.Fatalf("PUT of a version upstream has: %d %q", pr.StatusCode, npmErr.Error)
	}
	for _, v := range dig(ca("list-package-versions", "--repository", "app", "--format", "npm", "--package", "evolving"), "versions").([]any) {
		if dig(v, "version") == "1.2.0" {
			t.Fatalf("the refused 1.2.0 is recorded in app: %v", v)
		}
	}
	n.run(t, writePackage(t, "evolving", "3.0.0", nil), "publish")

	// The endpoint's callers: anonymous and a user without the action are
	// refused; a token of root, and a user allowed the action, purge.
	q := url.Values{"domain": {"acme"}, "repository": {"app"}, "format": {"npm"}, "package": {"evolving"}}
	res, err := http.NewRequest(http.MethodDelete, in.endpoint+adminPurgePath+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := http.DefaultClient.Do(res); err != nil || r.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous purge: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	res.Header.Set("Authorization", "Bearer "+token)
	if r, err := http.DefaultClient.Do(res); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("purge with root's token: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	ok(t, awsEnv, "iam", "create-user", "--user-name", "ops")
	key := ok(t, awsEnv, "iam", "create-access-key", "--user-name", "ops")
	ops := &client{endpoint: in.endpoint, creds: aws.Credentials{AccessKeyID: dig(key, "AccessKey", "AccessKeyId").(string),
		SecretAccessKey: dig(key, "AccessKey", "SecretAccessKey").(string)}}
	if status, body, err := ops.do(http.MethodDelete, adminPurgePath, q, nil); err != nil || status != http.StatusForbidden || !bytes.Contains(body, []byte(ActionPurgeUpstreamCache)) {
		t.Fatalf("purge by a user without the action: %d %s %v", status, body, err)
	}
	ok(t, awsEnv, "iam", "put-user-policy", "--user-name", "ops", "--policy-name", "purge", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"`+ActionPurgeUpstreamCache+`","Resource":"*"}]}`)
	if status, body, err := ops.do(http.MethodDelete, adminPurgePath, q, nil); err != nil || status != http.StatusOK || !bytes.Contains(body, []byte(`"public:npmjs"`)) {
		t.Fatalf("purge by a user allowed the action: %d %s %v", status, body, err)
	}

	// A custom named external connection, through its store repository.
	login("mirror-store")
	proj = install("mirror-lib")
	for pkg, want := range map[string]string{"mirror-lib": "1.2.0", "mirror-dep": "0.3.0"} {
		if m := readManifest(t, filepath.Join(proj, "node_modules", pkg, "package.json")); m["version"] != want {
			t.Fatalf("through acme:npm-mirror: %s@%v, want %s", pkg, m["version"], want)
		}
	}
	lv := ca("list-package-versions", "--repository", "mirror-store", "--format", "npm", "--package", "mirror-lib")
	if dig(lv, "versions", 0, "version") != "1.2.0" || dig(lv, "versions", 0, "origin", "originType") != "EXTERNAL" {
		t.Fatalf("mirror-lib in mirror-store: %v", lv)
	}
}

// FuzzParsePurge: any query is accepted with every field valid, or
// refused with ErrInvalid; never a panic.
func FuzzParsePurge(f *testing.F) {
	f.Add("domain=acme&repository=app&format=npm&package=express")
	f.Add("domain=ACME&repository=-x&format=rubygems")
	f.Add("%zz&domain=")
	f.Add("domain=acme&repository=app&format=pypi&package=Purge_Me")
	f.Add("domain=acme&repository=app&format=maven&namespace=com.example&package=widget")
	purgers := map[domain.Format]upstreamPurger{domain.FormatNPM: &npm.Format{}, domain.FormatPyPI: &pypi.Format{}, domain.FormatMaven: &maven.Format{}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		p, err := parsePurge(q, purgers)
		if err != nil {
			if domain.KindOf(err) != domain.ErrInvalid {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if p.Package == "" || domain.ValidateDomainName(p.Domain) != nil || domain.ValidateRepositoryName(p.Repository) != nil || purgers[domain.Format(p.Format)] == nil {
			t.Fatalf("accepted %+v", p)
		}
	})
}
