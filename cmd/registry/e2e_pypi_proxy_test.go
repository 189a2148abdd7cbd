package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// pypiTree is a static PEP 503 index of real wheel files over HTTP, laid
// out as a mirroring tool writes one: /simple/{project}/ linking
// ../../packages/{file}#sha256=… (with data-dist-info-metadata), the
// files, and each wheel's METADATA as {file}.metadata (PEP 658).
type pypiTree struct {
	ts    *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	pages map[string][]string // normalised project -> file names
}

func newPyPITree(t *testing.T, wheelPaths ...string) *pypiTree {
	t.Helper()
	tr := &pypiTree{files: map[string][]byte{}, pages: map[string][]string{}}
	for _, p := range wheelPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		tr.files[name] = b
		project := strings.ToLower(strings.ReplaceAll(name[:strings.Index(name, "-")], "_", "-"))
		tr.pages[project] = append(tr.pages[project], name)
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, ".dist-info/METADATA") && strings.Count(f.Name, "/") == 1 {
				rc, _ := f.Open()
				m, _ := io.ReadAll(rc)
				rc.Close()
				tr.files[name+".metadata"] = m
			}
		}
	}
	tr.ts = httptest.NewServer(http.HandlerFunc(tr.serve))
	t.Cleanup(tr.ts.Close)
	return tr
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (tr *pypiTree) serve(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if file, ok := strings.CutPrefix(r.URL.Path, "/packages/"); ok {
		b, ok := tr.files[file]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(b))
		return
	}
	project := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
	names, ok := tr.pages[project]
	if !ok || !strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><body>\n")
	for _, n := range names {
		meta := ""
		if m, ok := tr.files[n+".metadata"]; ok {
			meta = ` data-dist-info-metadata="sha256=` + hexSHA256(m) + `"`
		}
		fmt.Fprintf(w, "<a href=\"../../packages/%s#sha256=%s\" data-requires-python=\"&gt;=3.7\"%s>%s</a><br/>\n", n, hexSHA256(tr.files[n]), meta, n)
	}
	fmt.Fprint(w, "</body></html>\n")
}

// TestPyPIProxy installs with the real pip through a repository whose
// upstreams are an internal repository (a package uploaded with the real
// twine) and one holding the external connection public:pypi, served by
// a static tree of real wheels; then again with that upstream stopped,
// and again after a restart with it unreachable.
func TestPyPIProxy(t *testing.T) {
	requireAWS(t)
	const public, publicVersion = "setuptools", "66.1.1"
	wheel := "/usr/share/python-wheels/setuptools-66.1.1-py3-none-any.whl"
	if _, err := os.Stat(wheel); err != nil {
		t.Skip("no real wheel file to serve upstream: " + err.Error())
	}
	tree := newPyPITree(t, wheel)
	dataDir := t.TempDir()
	in := startRegistry(t, dataDir, "--pypi-upstream", tree.ts.URL+"/simple/")
	awsEnv := in.awsEnv(t)
	ca := func(args ...string) map[string]any {
		return ok(t, awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "shared")
	ca("create-repository", "--repository", "pypi-store")
	ca("associate-external-connection", "--repository", "pypi-store", "--external-connection", "public:pypi")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=shared", "repositoryName=pypi-store")

	py := newPyEnv(t, awsEnv)
	py.login(t, in.endpoint) // pip and twine to shared
	internal := pyDist{name: "acme-util", version: "1.2.0"}
	if out, err := py.twine(internal.wheel(t, t.TempDir())); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	loginApp := func() {
		t.Helper()
		// pip config set (which login runs) refuses to work while
		// PIP_CONFIG_FILE is set; it writes the same file without it.
		var env []string
		for _, kv := range py.env {
			if !strings.HasPrefix(kv, "PIP_CONFIG_FILE=") {
				env = append(env, kv)
			}
		}
		if r := runAWS(env, "codeartifact", "login", "--tool", "pip", "--domain", "acme", "--repository", "app"); r.err != nil {
			t.Fatalf("aws codeartifact login --tool pip --repository app: %v\n%s", r.err, r.stderr)
		}
	}
	loginApp()
	if conf, err := os.ReadFile(py.pipConf); err != nil || !strings.Contains(string(conf), "/pypi/acme/app/simple/") {
		t.Fatalf("pip.conf after login to app (%v):\n%s", err, conf)
	}

	install := func(label string) {
		t.Helper()
		target := t.TempDir()
		out := py.pip(t, "install", "--target", target, "acme-util", public+"=="+publicVersion)
		for _, want := range []string{"acme_util/__init__.py", "setuptools/__init__.py", "setuptools-" + publicVersion + ".dist-info/METADATA"} {
			if _, err := os.Stat(filepath.Join(target, want)); err != nil {
				t.Fatalf("%s: %s not installed: %v\n%s", label, want, err, out)
			}
		}
	}
	install("through the upstream")

	origins := func(repo, pkg string) string {
		t.Helper()
		r := runAWS(awsEnv, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", repo, "--format", "pypi", "--package", pkg)
		if r.err != nil {
			if strings.Contains(r.stderr, "ResourceNotFoundException") {
				return ""
			}
			t.Fatalf("list-package-versions %s %s: %v\n%s", repo, pkg, r.err, r.stderr)
		}
		var out []string
		for _, v := range dig(r.json(t), "versions").([]any) {
			out = append(out, dig(v, "version").(string)+":"+dig(v, "origin", "originType").(string))
		}
		return strings.Join(out, ",")
	}
	check := func() {
		t.Helper()
		for _, c := range []struct{ repo, pkg, want string }{
			{"app", public, publicVersion + ":EXTERNAL"},
			{"pypi-store", public, publicVersion + ":EXTERNAL"},
			{"shared", public, ""},
			{"app", "acme-util", "1.2.0:INTERNAL"},
			{"shared", "acme-util", "1.2.0:INTERNAL"},
			{"pypi-store", "acme-util", ""},
		} {
			if got := origins(c.repo, c.pkg); got != c.want {
				t.Errorf("%s in %s: versions %q, want %q", c.pkg, c.repo, got, c.want)
			}
		}
	}
	// Ingestion is recorded once the file has been sent: poll for it.
	deadline := time.Now().Add(20 * time.Second)
	for origins("pypi-store", public) == "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	check()

	// Publishing over the public version: refused (409) once the
	// package's origin controls allow both publishing and upstream.
	ok(t, awsEnv, "codeartifact", "put-package-origin-configuration", "--domain", "acme", "--repository", "pypi-store",
		"--format", "pypi", "--package", public, "--restrictions", "publish=ALLOW,upstream=ALLOW")
	if r := runAWS(py.env, "codeartifact", "login", "--tool", "twine", "--domain", "acme", "--repository", "pypi-store"); r.err != nil {
		t.Fatalf("aws codeartifact login --tool twine --repository pypi-store: %v\n%s", r.err, r.stderr)
	}
	shadow := pyDist{name: public, version: publicVersion, salt: "internal copy"}.wheel(t, t.TempDir())
	if out, err := py.twine("--verbose", shadow); err == nil || !strings.Contains(out, "409") || !strings.Contains(out, "external connection") {
		t.Fatalf("twine upload of a version public:pypi has: %v\n%s", err, out)
	}

	// The upstream stops: the retained copies serve a fresh install.
	tree.ts.Close()
	install("upstream stopped")

	// And after a restart, with nothing cached in memory.
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	in = startRegistry(t, dataDir, "--pypi-upstream", closedURL(t)+"simple/")
	awsEnv = in.awsEnv(t)
	py = newPyEnv(t, awsEnv)
	py.login(t, in.endpoint)
	loginApp()
	install("upstream unreachable after a restart")
	check()
}
