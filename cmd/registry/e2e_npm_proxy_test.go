package main

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// npmOrigin is an upstream npm registry over real HTTP serving packuments
// and the tarballs `npm pack` made, as a public registry would.
type npmOrigin struct {
	ts    *httptest.Server
	mu    sync.Mutex
	docs  map[string]map[string]any
	files map[string][]byte
}

func newNPMOrigin(t *testing.T) *npmOrigin {
	o := &npmOrigin{docs: map[string]map[string]any{}, files: map[string][]byte{}}
	o.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
		o.mu.Lock()
		body, isFile := o.files[p]
		doc, isDoc := o.docs[strings.Replace(p, "%2f", "/", 1)]
		o.mu.Unlock()
		switch {
		case isFile:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(body)
		case isDoc:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
		default:
			http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(o.ts.Close)
	return o
}

// pack runs `npm pack` in a package directory and serves the tarball with
// a packument entry whose dist declares its integrity and shasum.
func (o *npmOrigin) pack(t *testing.T, n *npmEnv, name, version string, deps map[string]string) {
	t.Helper()
	dir := writePackage(t, name, version, deps)
	var packed []struct{ Filename string }
	npmJSON(t, n.run(t, dir, "pack", "--json"), &packed)
	tgz, err := os.ReadFile(filepath.Join(dir, packed[0].Filename))
	if err != nil {
		t.Fatal(err)
	}
	file := name + "/-/" + name[strings.LastIndex(name, "/")+1:] + "-" + version + ".tgz"
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[file] = tgz
	o.docs[name] = map[string]any{"name": name, "dist-tags": map[string]any{"latest": version},
		"time": map[string]any{version: time.Now().UTC().Format(time.RFC3339)},
		"versions": map[string]any{version: map[string]any{"name": name, "version": version, "_id": name + "@" + version,
			"description": "test package " + name, "main": "index.js", "license": "MIT", "dependencies": deps,
			"dist": map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
				"shasum": hex.EncodeToString(s1[:]), "tarball": o.ts.URL + "/" + file}}}}
}

// closedURL returns an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// TestNPMProxy installs with the real npm client through a repository
// whose upstreams are an internal repository and one holding the
// external connection public:npmjs, then again with the upstream gone.
func TestNPMProxy(t *testing.T) {
	requireAWS(t)
	dataDir := t.TempDir()
	origin := newNPMOrigin(t)
	in := startRegistry(t, dataDir, "--npm-upstream", origin.ts.URL+"/")
	awsEnv := in.awsEnv(t)
	ca := func(args ...string) map[string]any {
		return ok(t, awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "shared")
	ca("create-repository", "--repository", "npm-store")
	ca("associate-external-connection", "--repository", "npm-store", "--external-connection", "public:npmjs")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=shared", "repositoryName=npm-store")

	n := newNPMEnv(t, awsEnv)
	origin.pack(t, n, "tiny-dep", "1.0.0", nil)
	origin.pack(t, n, "pad-lib", "2.1.0", map[string]string{"tiny-dep": "^1.0.0"})

	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "shared"); r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	n.run(t, writePackage(t, "@acme/internal-lib", "1.0.0", map[string]string{"tiny-dep": "^1.0.0"}), "publish")
	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "app"); r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}

	install := func(label string) {
		t.Helper()
		proj := t.TempDir()
		os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"proj","version":"1.0.0","private":true}`), 0o644)
		os.RemoveAll(n.cache)
		n.run(t, proj, "install", "@acme/internal-lib", "pad-lib")
		for pkg, want := range map[string]string{"@acme/internal-lib": "1.0.0", "pad-lib": "2.1.0", "tiny-dep": "1.0.0"} {
			m := readManifest(t, filepath.Join(proj, "node_modules", pkg, "package.json"))
			if m["version"] != want {
				t.Fatalf("%s: installed %s@%v, want %s", label, pkg, m["version"], want)
			}
		}
		lock := readManifest(t, filepath.Join(proj, "package-lock.json"))
		for _, p := range []string{"node_modules/pad-lib", "node_modules/tiny-dep", "node_modules/@acme/internal-lib"} {
			resolved, _ := dig(lock, "packages", p, "resolved").(string)
			if !strings.HasPrefix(resolved, in.endpoint+"/npm/acme/app/") {
				t.Fatalf("%s: %s resolved from %q, want the app repository", label, p, resolved)
			}
		}
	}
	install("through the upstream")

	// The upstream goes away: the retained copies serve the same install.
	origin.ts.Close()
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	in = startRegistry(t, dataDir, "--npm-upstream", closedURL(t))
	awsEnv = in.awsEnv(t) // a new port
	n = newNPMEnv(t, awsEnv)
	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "app"); r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	install("upstream unreachable")

	origins := func(repo, pkg string, ns ...string) []string {
		args := []string{"list-package-versions", "--repository", repo, "--format", "npm", "--package", pkg}
		if len(ns) > 0 {
			args = append(args, "--namespace", ns[0])
		}
		r := runAWS(awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
		if r.err != nil {
			if strings.Contains(r.stderr, "ResourceNotFoundException") {
				return nil
			}
			t.Fatalf("list-package-versions %s %s: %v\n%s", repo, pkg, r.err, r.stderr)
		}
		var out []string
		for _, v := range dig(r.json(t), "versions").([]any) {
			out = append(out, dig(v, "version").(string)+":"+dig(v, "origin", "originType").(string))
		}
		return out
	}
	for _, c := range []struct {
		repo, pkg, ns, want string
	}{
		{"app", "pad-lib", "", "2.1.0:EXTERNAL"},
		{"npm-store", "pad-lib", "", "2.1.0:EXTERNAL"},
		{"shared", "pad-lib", "", ""},
		{"app", "tiny-dep", "", "1.0.0:EXTERNAL"},
		{"npm-store", "tiny-dep", "", "1.0.0:EXTERNAL"},
		{"shared", "tiny-dep", "", ""},
		{"app", "internal-lib", "acme", "1.0.0:INTERNAL"},
		{"shared", "internal-lib", "acme", "1.0.0:INTERNAL"},
		{"npm-store", "internal-lib", "acme", ""},
	} {
		var got []string
		if c.ns != "" {
			got = origins(c.repo, c.pkg, c.ns)
		} else {
			got = origins(c.repo, c.pkg)
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s in %s: versions %v, want %q", c.pkg, c.repo, got, c.want)
		}
	}
}

// TestNPMProxyPublicRegistry installs a real package with dependencies
// from the registry npm's configuration names, through public:npmjs, then
// again with that registry unreachable. It needs the network: without it
// the test is skipped, unless CI is set.
func TestNPMProxyPublicRegistry(t *testing.T) {
	requireAWS(t)
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	out, err := exec.Command("npm", "config", "get", "registry").Output()
	public := strings.TrimSpace(string(out))
	if err != nil || public == "" {
		t.Skipf("npm config get registry: %v", err)
	}
	cl := http.Client{Timeout: 5 * time.Second}
	res, err := cl.Get(strings.TrimRight(public, "/") + "/is-odd")
	if err == nil {
		res.Body.Close()
	}
	if err != nil || res.StatusCode != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatalf("the registry npm is configured with (%s) is unreachable: %v", public, err)
		}
		t.Skipf("skipping: the registry npm is configured with (%s) is not reachable from this machine (%v); set CI to make this a failure", public, err)
	}
	dataDir := t.TempDir()
	in := startRegistry(t, dataDir) // npm_upstream defaults to npm's configuration
	awsEnv := in.awsEnv(t)
	ca := func(args ...string) {
		ok(t, awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "npm-store")
	ca("associate-external-connection", "--repository", "npm-store", "--external-connection", "public:npmjs")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=npm-store")
	n := newNPMEnv(t, awsEnv)
	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "app"); r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	install := func() {
		proj := t.TempDir()
		os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"proj","version":"1.0.0","private":true}`), 0o644)
		os.RemoveAll(n.cache)
		n.run(t, proj, "install", "is-odd@3.0.1") // depends on is-number
		if m := readManifest(t, filepath.Join(proj, "node_modules", "is-number", "package.json")); m["version"] == nil {
			t.Fatal("is-number not installed")
		}
	}
	install()
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	in = startRegistry(t, dataDir, "--npm-upstream", closedURL(t))
	n = newNPMEnv(t, in.awsEnv(t))
	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "app"); r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	install()
}
