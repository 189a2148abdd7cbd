package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// npmEnv is an isolated environment for the npm client: its own HOME,
// user and global config, and cache, plus the aws credentials in env.
type npmEnv struct {
	env   []string
	home  string
	cache string
}

func newNPMEnv(t *testing.T, awsEnv []string) *npmEnv {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npm not found; CI must have it")
		}
		t.Skip("npm not installed")
	}
	home := t.TempDir()
	n := &npmEnv{home: home, cache: filepath.Join(home, "npm-cache")}
	for _, kv := range awsEnv {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(strings.ToLower(kv), "npm_config_") {
			n.env = append(n.env, kv)
		}
	}
	n.env = append(n.env, "HOME="+home,
		"NPM_CONFIG_USERCONFIG="+filepath.Join(home, ".npmrc"),
		"NPM_CONFIG_GLOBALCONFIG="+filepath.Join(home, "global-npmrc"),
		"npm_config_cache="+n.cache,
		"npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false",
		"npm_config_loglevel=warn", "npm_config_progress=false")
	return n
}

// run runs npm in dir and returns stdout; failures fail the test.
func (n *npmEnv) run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, err := n.try(dir, args...)
	if err != nil {
		t.Fatalf("npm %s: %v\nstdout:\n%s\nstderr:\n%s\nnpm's requests:\n%s\nnpm's user config (secrets masked):\n%s", strings.Join(args, " "), err, out, errOut, n.fetchLog(), n.userConfig())
	}
	return out
}

// userConfig returns the user .npmrc with the values of secrets (auth
// tokens, passwords) masked, so a failure shows what npm was told to send
// where.
func (n *npmEnv) userConfig() string {
	b, err := os.ReadFile(filepath.Join(n.home, ".npmrc"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && (strings.Contains(k, "_auth") || strings.Contains(k, "_password")) {
			v = fmt.Sprintf("(%d characters)", len(v))
		}
		out = append(out, k+"="+v)
	}
	return strings.Join(out, "\n")
}

// fetchLog returns the HTTP lines of npm's newest debug log (which URL got
// which status), so a failure shows what npm asked and was told.
func (n *npmEnv) fetchLog() string {
	logs, _ := filepath.Glob(filepath.Join(n.cache, "_logs", "*-debug-*.log"))
	if len(logs) == 0 {
		return "(no npm debug log)"
	}
	sort.Strings(logs)
	b, err := os.ReadFile(logs[len(logs)-1])
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "http fetch") || strings.Contains(l, "E401") || strings.Contains(l, "authorization") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	return strings.Join(lines, "\n")
}

func (n *npmEnv) try(dir string, args ...string) (string, string, error) {
	cmd := exec.Command("npm", args...)
	cmd.Dir, cmd.Env = dir, n.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// writePackage creates a publishable package directory.
func writePackage(t *testing.T, name, version string, deps map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	manifest := map[string]any{"name": name, "version": version, "description": "test package " + name,
		"main": "index.js", "license": "MIT", "dependencies": deps}
	b, _ := json.MarshalIndent(manifest, "", "  ")
	for file, content := range map[string]string{
		"package.json": string(b),
		"index.js":     "module.exports = " + strconvQuote(name+"@"+version) + ";\n",
		"README.md":    "# " + name + "\n\nversion " + version + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func npmJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("npm output is not JSON: %v\n%s", err, s)
	}
}

// TestNPM drives the real npm client through the commands against
// a registry configured by "aws codeartifact login --tool npm".
func TestNPM(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	awsEnv := in.awsEnv(t)
	ok(t, awsEnv, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, awsEnv, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	n := newNPMEnv(t, awsEnv)
	login := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "shared")
	if login.err != nil {
		t.Fatalf("aws codeartifact login: %v\n%s", login.err, login.stderr)
	}
	npmrc, _ := os.ReadFile(filepath.Join(n.home, ".npmrc"))
	if !strings.Contains(string(npmrc), "registry="+in.endpoint+"/npm/acme/shared/") || !strings.Contains(string(npmrc), ":_authToken=") {
		t.Fatalf("npmrc after login:\n%s", npmrc)
	}

	for _, v := range []string{"1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.3"} {
		n.run(t, writePackage(t, "@acme/ui", v, nil), "publish")
	}
	n.run(t, writePackage(t, "@acme/ui", "2.0.0-beta.1", nil), "publish", "--tag", "beta")
	n.run(t, writePackage(t, "acme-utils", "1.0.0", map[string]string{"@acme/ui": "^1.1.0"}), "publish")

	var versions []string
	npmJSON(t, n.run(t, t.TempDir(), "view", "@acme/ui", "versions", "--json"), &versions)
	if strings.Join(versions, ",") != "1.0.0,1.0.1,1.1.0,1.2.0,1.2.3,2.0.0-beta.1" {
		t.Fatalf("npm view versions: %v", versions)
	}
	if _, _, err := n.try(writePackage(t, "@acme/ui", "1.2.3", nil), "publish"); err == nil {
		t.Fatal("republishing 1.2.3 succeeded")
	}

	// Install into another project, then npm ci from its lockfile with a
	// clean cache.
	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name":"app","version":"1.0.0","private":true}`), 0o644)
	n.run(t, app, "install", "@acme/ui@^1.2.0", "acme-utils")
	installed := readManifest(t, filepath.Join(app, "node_modules", "@acme", "ui", "package.json"))
	if installed["version"] != "1.2.3" {
		t.Fatalf("installed @acme/ui %v", installed["version"])
	}
	var dist map[string]any
	npmJSON(t, n.run(t, app, "view", "@acme/ui@1.2.3", "dist", "--json"), &dist)
	lock := readManifest(t, filepath.Join(app, "package-lock.json"))
	entry, _ := dig(lock, "packages", "node_modules/@acme/ui").(map[string]any)
	if entry["integrity"] != dist["integrity"] || !strings.HasPrefix(entry["integrity"].(string), "sha512-") {
		t.Fatalf("lockfile integrity %v, registry %v", entry["integrity"], dist["integrity"])
	}
	if !strings.HasPrefix(entry["resolved"].(string), in.endpoint+"/npm/acme/shared/@acme/ui/-/ui-1.2.3.tgz") {
		t.Fatalf("lockfile resolved %v", entry["resolved"])
	}
	os.RemoveAll(filepath.Join(app, "node_modules"))
	os.RemoveAll(n.cache)
	n.run(t, app, "ci")
	if got := readManifest(t, filepath.Join(app, "node_modules", "acme-utils", "package.json")); got["version"] != "1.0.0" {
		t.Fatalf("npm ci installed acme-utils %v", got["version"])
	}

	// dist-tags.
	n.run(t, app, "dist-tag", "add", "@acme/ui@2.0.0-beta.1", "next")
	tags := n.run(t, app, "dist-tag", "ls", "@acme/ui")
	for _, want := range []string{"beta: 2.0.0-beta.1", "next: 2.0.0-beta.1", "latest: 1.2.3"} {
		if !strings.Contains(tags, want) {
			t.Errorf("dist-tag ls lacks %q:\n%s", want, tags)
		}
	}
	n.run(t, app, "dist-tag", "rm", "@acme/ui", "next")
	if tags := n.run(t, app, "dist-tag", "ls", "@acme/ui"); strings.Contains(tags, "next:") {
		t.Errorf("dist-tag rm left:\n%s", tags)
	}

	// deprecate.
	n.run(t, app, "deprecate", "@acme/ui@1.0.0", "use 1.1")
	if got := strings.TrimSpace(n.run(t, app, "view", "@acme/ui@1.0.0", "deprecated")); got != "use 1.1" {
		t.Fatalf("deprecated message %q", got)
	}
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "package.json"), []byte(`{"name":"old","version":"1.0.0","private":true}`), 0o644)
	if _, stderr, err := n.try(old, "install", "@acme/ui@1.0.0"); err != nil || !strings.Contains(stderr, "use 1.1") {
		t.Fatalf("installing a deprecated version: %v\n%s", err, stderr)
	}

	// unpublish needs the delete permission: a user that may only read and
	// publish is refused.
	ok(t, awsEnv, "iam", "create-user", "--user-name", "dev")
	key := ok(t, awsEnv, "iam", "create-access-key", "--user-name", "dev")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codeartifact:GetAuthorizationToken",
		"codeartifact:GetRepositoryEndpoint","codeartifact:ReadFromRepository","codeartifact:PublishPackageVersion"],"Resource":"*"}]}`
	ok(t, awsEnv, "iam", "put-user-policy", "--user-name", "dev", "--policy-name", "dev", "--policy-document", policy)
	dev := newNPMEnv(t, withKey(awsEnv, dig(key, "AccessKey", "AccessKeyId").(string), dig(key, "AccessKey", "SecretAccessKey").(string)))
	if r := runAWS(dev.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "shared"); r.err != nil {
		t.Fatalf("dev login: %v\n%s", r.err, r.stderr)
	}
	if _, stderr, err := dev.try(t.TempDir(), "unpublish", "@acme/ui@1.0.1"); err == nil || !strings.Contains(stderr, "403") {
		t.Fatalf("unpublish without permission: %v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(dev.run(t, t.TempDir(), "whoami")); got != "dev" {
		t.Errorf("npm whoami as dev: %q", got)
	}

	n.run(t, app, "unpublish", "@acme/ui@1.0.1")
	npmJSON(t, n.run(t, app, "view", "@acme/ui", "versions", "--json"), &versions)
	for _, v := range versions {
		if v == "1.0.1" {
			t.Fatalf("1.0.1 still listed after unpublish: %v", versions)
		}
	}
	lv := ok(t, awsEnv, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", "shared",
		"--format", "npm", "--namespace", "acme", "--package", "ui")
	for _, v := range lv["versions"].([]any) {
		if v.(map[string]any)["version"] == "1.0.1" {
			t.Fatalf("control plane still lists 1.0.1")
		}
	}
	if lv["defaultDisplayVersion"] != "1.2.3" {
		t.Errorf("defaultDisplayVersion %v", lv["defaultDisplayVersion"])
	}
	deps := ok(t, awsEnv, "codeartifact", "list-package-version-dependencies", "--domain", "acme", "--repository", "shared",
		"--format", "npm", "--package", "acme-utils", "--package-version", "1.0.0")
	if dig(deps, "dependencies", 0, "package") != "ui" || dig(deps, "dependencies", 0, "namespace") != "acme" ||
		dig(deps, "dependencies", 0, "dependencyType") != "regular" || dig(deps, "dependencies", 0, "versionRequirement") != "^1.1.0" {
		t.Errorf("dependencies: %v", deps)
	}

	// ping, whoami, search.
	n.run(t, app, "ping")
	if got := strings.TrimSpace(n.run(t, app, "whoami")); got != "root" {
		t.Errorf("npm whoami: %q", got)
	}
	var found []map[string]any
	npmJSON(t, n.run(t, app, "search", "acme", "--json"), &found)
	names := map[any]bool{}
	for _, f := range found {
		names[f["name"]] = true
	}
	if !names["@acme/ui"] || !names["acme-utils"] {
		t.Errorf("npm search acme: %v", found)
	}

	// Unpublishing the whole package.
	n.run(t, app, "unpublish", "acme-utils", "--force")
	if _, _, err := n.try(app, "view", "acme-utils"); err == nil {
		t.Error("acme-utils still viewable after unpublish --force")
	}
}

func readManifest(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}
