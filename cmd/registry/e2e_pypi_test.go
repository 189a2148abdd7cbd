package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// pyEnv is an isolated environment for pip and twine: its own HOME (where
// "aws codeartifact login" writes .pypirc and, through "pip config set",
// $XDG_CONFIG_HOME/pip/pip.conf), no PIP_*/TWINE_* settings from the
// machine, and a virtual environment whose bin directory comes first on
// PATH, so that the pip the aws CLI runs and every package pip installs
// stay inside the test's directories. The machine's /etc/pip.conf (if
// any) is still read by pip, as pip always does; it cannot name an index
// for these tests because PIP_CONFIG_FILE overrides it.
type pyEnv struct {
	env     []string
	home    string
	venv    string
	pipConf string // written by aws codeartifact login --tool pip
	pypirc  string // written by aws codeartifact login --tool twine
}

func newPyEnv(t *testing.T, awsEnv []string) *pyEnv {
	t.Helper()
	for _, tool := range []string{"twine", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found; CI must have it", tool)
			}
			t.Skipf("%s not installed; skipping the PyPI end-to-end test", tool)
		}
	}
	if err := exec.Command("python3", "-m", "pip", "--version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pip not found; CI must have it")
		}
		t.Skip("pip not installed; skipping the PyPI end-to-end test")
	}
	home := t.TempDir()
	p := &pyEnv{home: home, venv: filepath.Join(home, "venv"), pipConf: filepath.Join(home, ".config", "pip", "pip.conf"), pypirc: filepath.Join(home, ".pypirc")}
	// A virtual environment without its own pip (fast, offline) that sees
	// the interpreter's pip; "pip" in its bin runs that pip inside it.
	if out, err := exec.Command("python3", "-m", "venv", "--without-pip", "--system-site-packages", p.venv).CombinedOutput(); err != nil {
		t.Fatalf("python3 -m venv: %v\n%s", err, out)
	}
	wrapper := "#!/bin/sh\nexec " + filepath.Join(p.venv, "bin", "python") + " -m pip \"$@\"\n"
	if err := os.WriteFile(filepath.Join(p.venv, "bin", "pip"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range awsEnv {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "PATH", k == "VIRTUAL_ENV", k == "PYTHONPATH", strings.HasPrefix(k, "PIP_"), strings.HasPrefix(k, "TWINE_"), strings.HasPrefix(k, "XDG_"):
			continue
		}
		p.env = append(p.env, k+"="+v)
	}
	p.env = append(p.env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "PATH="+filepath.Join(p.venv, "bin")+":"+os.Getenv("PATH"),
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring", "PYTHONDONTWRITEBYTECODE=1")
	return p
}

// login runs aws codeartifact login for pip and twine and checks what it
// wrote; afterwards pip reads only that pip.conf (PIP_CONFIG_FILE).
func (p *pyEnv) login(t *testing.T, endpoint string) {
	t.Helper()
	for _, tool := range []string{"pip", "twine"} {
		if r := runAWS(p.env, "codeartifact", "login", "--tool", tool, "--domain", "acme", "--repository", "shared"); r.err != nil {
			t.Fatalf("aws codeartifact login --tool %s: %v\n%s%s", tool, r.err, r.out, r.stderr)
		}
	}
	conf, err := os.ReadFile(p.pipConf)
	if err != nil || !regexp.MustCompile(`index-url = http://aws:[^@\s]+@`+regexp.QuoteMeta(strings.TrimPrefix(endpoint, "http://"))+`/pypi/acme/shared/simple/`).Match(conf) {
		t.Fatalf("pip.conf after login (%v):\n%s", err, conf)
	}
	rc, err := os.ReadFile(p.pypirc)
	if err != nil || !strings.Contains(string(rc), "repository = "+endpoint+"/pypi/acme/shared/") || !strings.Contains(string(rc), "username = aws") {
		t.Fatalf(".pypirc after login (%v):\n%s", err, rc)
	}
	p.env = append(p.env, "PIP_CONFIG_FILE="+p.pipConf)
}

func (p *pyEnv) run(dir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pip runs the virtual environment's pip with a clean (no) cache.
func (p *pyEnv) pip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.tryPip(args...)
	if err != nil {
		t.Fatalf("pip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (p *pyEnv) tryPip(args ...string) (string, error) {
	return p.run(p.home, filepath.Join(p.venv, "bin", "python"), append([]string{"-m", "pip", args[0], "--no-cache-dir"}, args[1:]...)...)
}

// twine uploads files to the repository configured by login.
func (p *pyEnv) twine(args ...string) (string, error) {
	return p.run(p.home, "twine", append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--config-file", p.pypirc, "--repository", "codeartifact"}, args...)...)
}

// installed returns the version of an installed distribution, "" if none.
func (p *pyEnv) installed(t *testing.T, module string) string {
	t.Helper()
	out, err := p.run(p.home, filepath.Join(p.venv, "bin", "python"), "-c", "import "+module+"; print("+module+".__version__)")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// pyDist is a pure-Python distribution built in the test: a py3-none-any
// wheel (PEP 427: the package, .dist-info with METADATA, WHEEL, RECORD)
// or an sdist (PEP 625: {name}-{version}/PKG-INFO and the sources).
type pyDist struct {
	name, version string
	requires      []string
	salt          string // changes the bytes, not the name
}

func (d pyDist) module() string { return strings.ReplaceAll(d.name, "-", "_") }

func (d pyDist) metadata() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: The %s library\nHome-page: https://example.com/%s\nAuthor: Acme\nLicense: Apache-2.0\nRequires-Python: >=3.8\n",
		d.name, d.version, d.name, d.name)
	for _, r := range d.requires {
		b.WriteString("Requires-Dist: " + r + "\n")
	}
	b.WriteString("Description-Content-Type: text/markdown\n\n# " + d.name + "\n")
	return b.String()
}

func (d pyDist) source() string {
	return fmt.Sprintf("__version__ = %q\n# %s\n", d.version, d.salt)
}

func recordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}

// wheel writes the wheel into dir and returns its path.
func (d pyDist) wheel(t *testing.T, dir string) string {
	t.Helper()
	info := d.module() + "-" + d.version + ".dist-info/"
	files := [][2]string{
		{d.module() + "/__init__.py", d.source()},
		{info + "METADATA", d.metadata()},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: registry-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		fmt.Fprintf(&record, "%s,%s,%d\n", f[0], recordHash([]byte(f[1])), len(f[1]))
	}
	record.WriteString(info + "RECORD,,\n")
	files = append(files, [2]string{info + "RECORD", record.String()})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, d.module()+"-"+d.version+"-py3-none-any.whl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sdist writes the source distribution into dir and returns its path.
func (d pyDist) sdist(t *testing.T, dir string) string {
	t.Helper()
	top := d.module() + "-" + d.version + "/"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range [][2]string{
		{top + "PKG-INFO", d.metadata()},
		{top + "pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n"},
		{top + d.module() + "/__init__.py", d.source()},
	} {
		tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(dir, d.module()+"-"+d.version+".tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// downloaded returns the names of the files in dir.
func downloaded(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestPyPI drives the real twine and pip through the commands
// against a registry configured by "aws codeartifact login".
func TestPyPI(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	awsEnv := in.awsEnv(t)
	ok(t, awsEnv, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, awsEnv, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	py := newPyEnv(t, awsEnv)
	py.login(t, in.endpoint)

	// Build and upload: acme-core 0.1.0 and acme-widgets 1.0.0, 1.1.0,
	// 1.2.0, 2.0.0, each as wheel and sdist; widgets depend on core.
	dist := t.TempDir()
	var files []string
	core := pyDist{name: "acme-core", version: "0.1.0"}
	files = append(files, core.wheel(t, dist), core.sdist(t, dist))
	widgets := map[string]pyDist{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		d := pyDist{name: "acme-widgets", version: v, requires: []string{"acme-core>=0.1", `tomli>=2; python_version < "3.8"`}}
		widgets[v] = d
		files = append(files, d.wheel(t, dist), d.sdist(t, dist))
	}
	out, err := py.twine(files...)
	if err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	wheel110 := filepath.Join(dist, "acme_widgets-1.1.0-py3-none-any.whl")

	// Identical bytes again: accepted with and without --skip-existing.
	// Other bytes under a file name already used: refused (409), which
	// --skip-existing would skip.
	if out, err := py.twine("--skip-existing", wheel110); err != nil {
		t.Fatalf("twine --skip-existing of identical bytes: %v\n%s", err, out)
	}
	if out, err := py.twine(wheel110); err != nil {
		t.Fatalf("twine re-upload of identical bytes: %v\n%s", err, out)
	}
	changed := t.TempDir()
	evil := pyDist{name: "acme-widgets", version: "1.1.0", requires: widgets["1.1.0"].requires, salt: "different bytes"}.wheel(t, changed)
	if out, err := py.twine("--verbose", evil); err == nil || !strings.Contains(out, "409") || !strings.Contains(out, "File already exists") {
		t.Fatalf("twine upload of different bytes: %v\n%s", err, out)
	}
	if out, err := py.twine("--skip-existing", evil); err != nil || !strings.Contains(out, "Skipping") {
		t.Fatalf("twine --skip-existing of different bytes: %v\n%s", err, out)
	}

	// Install by exact version: pip reads the wheel's core metadata file
	// (PEP 658) before downloading the wheel.
	out = py.pip(t, "install", "-v", "acme-widgets==1.1.0")
	if got := py.installed(t, "acme_widgets"); got != "1.1.0" {
		t.Fatalf("installed acme_widgets %q\n%s", got, out)
	}
	if got := py.installed(t, "acme_core"); got != "0.1.0" {
		t.Fatalf("dependency acme_core %q\n%s", got, out)
	}
	metaLog := regexp.MustCompile(`path=/pypi/acme/shared/simple/acme-widgets/1\.1\.0/acme_widgets-1\.1\.0-py3-none-any\.whl\.metadata status=200`)
	if !metaLog.MatchString(in.log.String()) {
		t.Fatalf("the server saw no request for the core metadata file; pip said:\n%s", out)
	}
	for _, p := range []string{"1.0.0", "1.2.0", "2.0.0"} {
		// pip only needed the metadata of the version it installed.
		if strings.Contains(in.log.String(), "acme_widgets-"+p+"-py3-none-any.whl status=200") {
			t.Errorf("pip downloaded the %s wheel", p)
		}
	}

	// Install and download by range.
	py.pip(t, "install", "--upgrade", "acme-widgets>=1.0,<2") // 1.1.0 is installed and would satisfy it
	if got := py.installed(t, "acme_widgets"); got != "1.2.0" {
		t.Fatalf("range install gave %q", got)
	}
	dl := t.TempDir()
	py.pip(t, "download", "--no-deps", "-d", dl, "acme-widgets<2")
	if got := downloaded(t, dl); len(got) != 1 || got[0] != "acme_widgets-1.2.0-py3-none-any.whl" {
		t.Fatalf("pip download acme-widgets<2: %v", got)
	}

	// Yank 1.2.0 (Unlisted): a range skips it, == still installs it.
	ok(t, awsEnv, "codeartifact", "update-package-versions-status", "--domain", "acme", "--repository", "shared",
		"--format", "pypi", "--package", "acme-widgets", "--versions", "1.2.0", "--target-status", "Unlisted")
	dl = t.TempDir()
	py.pip(t, "download", "--no-deps", "-d", dl, "acme-widgets<2")
	if got := downloaded(t, dl); len(got) != 1 || got[0] != "acme_widgets-1.1.0-py3-none-any.whl" {
		t.Fatalf("pip download acme-widgets<2 with 1.2.0 yanked: %v", got)
	}
	out = py.pip(t, "install", "--force-reinstall", "--no-deps", "acme-widgets==1.2.0")
	if got := py.installed(t, "acme_widgets"); got != "1.2.0" || !strings.Contains(out, "yanked") {
		t.Fatalf("pinned install of the yanked version: %q\n%s", got, out)
	}

	// --require-hashes with a requirements file.
	req := filepath.Join(t.TempDir(), "requirements.txt")
	coreWheel := filepath.Join(dist, "acme_core-0.1.0-py3-none-any.whl")
	os.WriteFile(req, []byte(fmt.Sprintf("acme-widgets==1.1.0 --hash=sha256:%s\nacme-core==0.1.0 --hash=sha256:%s\n",
		fileSHA256(t, wheel110), fileSHA256(t, coreWheel))), 0o644)
	py.pip(t, "install", "--require-hashes", "--force-reinstall", "-r", req)
	if got := py.installed(t, "acme_widgets"); got != "1.1.0" {
		t.Fatalf("--require-hashes install gave %q", got)
	}
	os.WriteFile(req, []byte("acme-widgets==1.1.0 --hash=sha256:"+strings.Repeat("0", 64)+"\nacme-core==0.1.0 --hash=sha256:"+fileSHA256(t, coreWheel)+"\n"), 0o644)
	if out, err := py.tryPip("install", "--require-hashes", "--force-reinstall", "-r", req); err == nil || !strings.Contains(out, "DO NOT MATCH THE HASHES") {
		t.Fatalf("--require-hashes with a wrong hash: %v\n%s", err, out)
	}

	// The index in both forms says the same.
	token := strings.Trim(strings.TrimSpace(runAWS(awsEnv, "codeartifact", "get-authorization-token", "--domain", "acme", "--query", "authorizationToken").out), `"`)
	checkPyPIIndexForms(t, in.endpoint+"/pypi/acme/shared/simple/acme-widgets/", token)
	anon, err := http.Get(in.endpoint + "/pypi/acme/shared/simple/acme-widgets/")
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(anon.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous index request: %d %v", anon.StatusCode, anon.Header)
	}

	// Unyank: the range finds 1.2.0 again.
	ok(t, awsEnv, "codeartifact", "update-package-versions-status", "--domain", "acme", "--repository", "shared",
		"--format", "pypi", "--package", "acme-widgets", "--versions", "1.2.0", "--target-status", "Published")
	dl = t.TempDir()
	py.pip(t, "download", "--no-deps", "-d", dl, "acme-widgets<2")
	if got := downloaded(t, dl); len(got) != 1 || got[0] != "acme_widgets-1.2.0-py3-none-any.whl" {
		t.Fatalf("pip download after unyank: %v", got)
	}

	// The control plane sees all of it.
	lv := ok(t, awsEnv, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", "shared", "--format", "pypi", "--package", "acme-widgets")
	var versions []string
	for _, v := range lv["versions"].([]any) {
		versions = append(versions, v.(map[string]any)["version"].(string)+":"+v.(map[string]any)["status"].(string))
	}
	sort.Strings(versions)
	if strings.Join(versions, " ") != "1.0.0:Published 1.1.0:Published 1.2.0:Published 2.0.0:Published" {
		t.Fatalf("list-package-versions: %v", versions)
	}
	dv := ok(t, awsEnv, "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "shared", "--format", "pypi",
		"--package", "acme-widgets", "--package-version", "1.1.0")
	if dig(dv, "packageVersion", "summary") != "The acme-widgets library" || dig(dv, "packageVersion", "homePage") != "https://example.com/acme-widgets" ||
		dig(dv, "packageVersion", "licenses", 0, "name") != "Apache-2.0" || dig(dv, "packageVersion", "displayName") != "acme-widgets" ||
		dig(dv, "packageVersion", "format") != "pypi" {
		t.Fatalf("describe-package-version: %v", dv)
	}
	la := ok(t, awsEnv, "codeartifact", "list-package-version-assets", "--domain", "acme", "--repository", "shared", "--format", "pypi",
		"--package", "acme-widgets", "--package-version", "1.1.0")
	assets := map[string]map[string]any{}
	for _, a := range la["assets"].([]any) {
		m := a.(map[string]any)
		assets[m["name"].(string)] = m
	}
	sdist110 := filepath.Join(dist, "acme_widgets-1.1.0.tar.gz")
	for path, name := range map[string]string{wheel110: "acme_widgets-1.1.0-py3-none-any.whl", sdist110: "acme_widgets-1.1.0.tar.gz"} {
		a, found := assets[name]
		if !found || dig(a, "hashes", "SHA-256") != fileSHA256(t, path) || dig(a, "hashes", "MD5") == nil || dig(a, "hashes", "SHA-512") == nil {
			t.Errorf("asset %s: %v", name, a)
		}
	}
	if _, found := assets["acme_widgets-1.1.0-py3-none-any.whl.metadata"]; !found || len(assets) != 3 {
		t.Errorf("assets: %v", la)
	}
	deps := ok(t, awsEnv, "codeartifact", "list-package-version-dependencies", "--domain", "acme", "--repository", "shared", "--format", "pypi",
		"--package", "acme-widgets", "--package-version", "1.1.0")
	if dig(deps, "dependencies", 0, "package") != "acme-core" || dig(deps, "dependencies", 0, "dependencyType") != "Requires-Dist" ||
		dig(deps, "dependencies", 0, "versionRequirement") != ">=0.1" || dig(deps, "dependencies", 1, "package") != "tomli" ||
		dig(deps, "dependencies", 1, "versionRequirement") != `>=2; python_version < "3.8"` {
		t.Fatalf("list-package-version-dependencies: %v", deps)
	}
}

// checkPyPIIndexForms fetches a project page as PEP 691 JSON and as PEP
// 503 HTML and checks they list the same files with the same hashes,
// Requires-Python, yank state and core metadata.
func checkPyPIIndexForms(t *testing.T, pageURL, token string) {
	t.Helper()
	fetch := func(accept string) ([]byte, string) {
		req, _ := http.NewRequest(http.MethodGet, pageURL, nil)
		req.SetBasicAuth("aws", token)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s (%s): %d %s", pageURL, accept, res.StatusCode, b)
		}
		return b, res.Header.Get("Content-Type")
	}
	jb, jct := fetch("application/vnd.pypi.simple.v1+json")
	hb, hct := fetch("text/html")
	if jct != "application/vnd.pypi.simple.v1+json" || !strings.HasPrefix(hct, "text/html") {
		t.Fatalf("content types %q, %q", jct, hct)
	}
	var page struct {
		Name     string
		Versions []string
		Files    []map[string]any
	}
	if err := json.Unmarshal(jb, &page); err != nil {
		t.Fatal(err)
	}
	type link struct{ href, requiresPython, coreMetadata string }
	links := map[string]link{}
	yanked := map[string]bool{}
	anchor := regexp.MustCompile(`<a href="([^"]+)"([^>]*)>([^<]+)</a>`)
	attr := func(attrs, name string) (string, bool) {
		m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(attrs)
		if m == nil {
			return "", false
		}
		return strings.NewReplacer("&gt;", ">", "&lt;", "<", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(m[1]), true
	}
	for _, m := range anchor.FindAllStringSubmatch(string(hb), -1) {
		rp, _ := attr(m[2], "data-requires-python")
		cm, _ := attr(m[2], "data-core-metadata")
		_, y := attr(m[2], "data-yanked")
		links[m[3]] = link{m[1], rp, cm}
		yanked[m[3]] = y
	}
	if page.Name != "acme-widgets" || len(page.Files) != len(links) || len(page.Files) != 8 || strings.Join(page.Versions, " ") != "1.0.0 1.1.0 1.2.0 2.0.0" {
		t.Fatalf("JSON page %s\nHTML page %s", jb, hb)
	}
	for _, f := range page.Files {
		name := f["filename"].(string)
		l, found := links[name]
		sha := dig(f, "hashes", "sha256")
		if !found || l.href != f["url"].(string)+"#sha256="+sha.(string) || l.requiresPython != f["requires-python"] {
			t.Errorf("%s: JSON %v, HTML %+v", name, f, l)
		}
		if y := f["yanked"]; (y != false) != yanked[name] {
			t.Errorf("%s: JSON yanked %v, HTML %v", name, y, yanked[name])
		}
		cm, isWheel := f["core-metadata"].(map[string]any)
		if isWheel != strings.HasSuffix(name, ".whl") || (isWheel && l.coreMetadata != "sha256="+cm["sha256"].(string)) {
			t.Errorf("%s: JSON core-metadata %v, HTML %q", name, f["core-metadata"], l.coreMetadata)
		}
	}
}
