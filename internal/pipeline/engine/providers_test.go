package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

func caSource(cfg map[string]string) pipeline.Action {
	c := map[string]string{"DomainName": "acme", "RepositoryName": "main"}
	for k, v := range cfg {
		c[k] = v
	}
	return pipeline.Action{Name: "Package", ActionTypeID: awsType(pipeline.CategorySource, "CodeArtifact"), Configuration: c,
		OutputArtifacts: []pipeline.OutputArtifact{{Name: "Pkg"}}, Namespace: "PkgVars"}
}

func published(name, ns, version, dedup string) pipeline.PackageEvent {
	return pipeline.PackageEvent{DomainName: "acme", RepositoryName: "main", PackageFormat: "npm", PackageNamespace: ns, PackageName: name,
		PackageVersion: version, PackageVersionState: "Published", PackageVersionRevision: "r-" + version, OperationType: "Created",
		SequenceNumber: 1, EventDeduplicationID: dedup}
}

// TestPackageEvents: a package event starts exactly the pipelines whose
// CodeArtifact source matches it (name globs, version patterns,
// DetectChanges), once per dedup id; the source artifact is the event's
// version and its variables flow on. A manual start uses the newest
// matching version.
func TestPackageEvents(t *testing.T) {
	t.Parallel()
	reg := &registry{}
	h := newHarness(t, func(o *Options) { o.Packages = reg })
	reg.blobs = h.blobs
	ctx := context.Background()
	use := cmds("Use", 1, []string{"Pkg"}, nil, "test \"$(cat package.tgz)\" = 'lib #{PkgVars.PackageVersion}'",
		"test '#{PkgVars.PackageName}' = lib", "test '#{PkgVars.PackageVersionRevision}' = 'r-#{PkgVars.PackageVersion}'")
	for name, cfg := range map[string]map[string]string{
		"any-lib":   {"PackageName": "lib"},
		"acme-glob": {"PackageName": "l*", "PackageNamespace": "acme", "PackageFormat": "npm"},
		"v1-only":   {"PackageName": "lib", "PackageVersion": "^1.0.0"},
		"v2-glob":   {"PackageName": "lib", "PackageVersion": "2.*"},
		"pypi":      {"PackageName": "lib", "PackageFormat": "pypi"},
		"manual":    {"PackageName": "lib", "DetectChanges": "false"},
	} {
		h.create(decl(name, stage("Source", caSource(cfg)), stage("Use", use)))
	}
	started := func(ev pipeline.PackageEvent) []string {
		t.Helper()
		ids, err := h.e.HandlePackageEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, id := range ids {
			var p string
			h.e.db.sql.QueryRow(`SELECT pipeline FROM executions WHERE id = ?`, id).Scan(&p)
			names = append(names, p)
			h.waitStatus(p, id, pipeline.StatusSucceeded)
		}
		sort.Strings(names)
		return names
	}
	for _, v := range []string{"1.2.0", "2.0.0"} {
		reg.add(t, PackageVersion{Domain: "acme", Repository: "main", Format: "npm", Namespace: "acme", Name: "lib", Version: v, Revision: "r-" + v},
			map[string]string{"package.tgz": "lib " + v})
	}
	if got := strings.Join(started(published("lib", "acme", "1.2.0", "d1")), ","); got != "acme-glob,any-lib,v1-only" {
		t.Errorf("1.2.0 started %s", got)
	}
	if got := started(published("lib", "acme", "1.2.0", "d1")); len(got) != 0 {
		t.Errorf("a redelivered event started %v", got)
	}
	if got := strings.Join(started(published("lib", "acme", "2.0.0", "d2")), ","); got != "acme-glob,any-lib,v2-glob" {
		t.Errorf("2.0.0 started %s", got)
	}
	for name, ev := range map[string]pipeline.PackageEvent{
		"other package": published("other", "acme", "1.0.0", "d3"),
		"other repository": func() pipeline.PackageEvent {
			e := published("lib", "acme", "1.0.0", "d4")
			e.RepositoryName = "x"
			return e
		}(),
		"unlisted": func() pipeline.PackageEvent {
			e := published("lib", "acme", "1.0.0", "d5")
			e.PackageVersionState = "Unlisted"
			return e
		}(),
		"asset added": func() pipeline.PackageEvent {
			e := published("lib", "acme", "1.0.0", "d6")
			e.OperationType = "Updated"
			e.Changes = &pipeline.PackageChanges{AssetsAdded: 1}
			return e
		}(),
		"deleted": func() pipeline.PackageEvent {
			e := published("lib", "acme", "1.0.0", "d7")
			e.OperationType = "Deleted"
			return e
		}(),
	} {
		if got := started(ev); len(got) != 0 {
			t.Errorf("%s started %v", name, got)
		}
	}

	// A manual start takes the newest version matching the filter.
	id := h.start("v1-only")
	h.waitStatus("v1-only", id, pipeline.StatusSucceeded)
	x := h.exec("v1-only", id)
	if len(x.SourceRevisions) != 1 || x.SourceRevisions[0].ID != "1.2.0" || x.SourceRevisions[0].ChangeID != "r-1.2.0" {
		t.Errorf("source revisions %+v", x.SourceRevisions)
	}
	id = h.start("manual")
	if x := h.waitStatus("manual", id, pipeline.StatusSucceeded); x.SourceRevisions[0].ID != "2.0.0" {
		t.Errorf("manual start used %+v", x.SourceRevisions)
	}
	if x := h.exec("any-lib", started2(t, h, published("lib", "acme", "1.2.0", "d8"))); x.TriggerType != pipeline.TriggerCloudWatchEvent ||
		!strings.HasSuffix(x.TriggerDetail, "package/acme/main/npm/acme/lib@1.2.0") {
		t.Errorf("trigger %s %s", x.TriggerType, x.TriggerDetail)
	}

	// Nothing matches: a manual start fails with the reason.
	h.create(decl("none", stage("Source", caSource(map[string]string{"PackageName": "missing"})), stage("Use", cmds("U", 1, []string{"Pkg"}, nil, "true"))))
	id = h.start("none")
	if x := h.waitStatus("none", id, pipeline.StatusFailed); !strings.Contains(x.Summary, "No Published package version") {
		t.Errorf("summary %q", x.Summary)
	}
}

// started2 handles an event and returns the execution of pipeline any-lib.
func started2(t *testing.T, h *harness, ev pipeline.PackageEvent) string {
	ids, err := h.e.HandlePackageEvent(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var p string
		h.e.db.sql.QueryRow(`SELECT pipeline FROM executions WHERE id = ?`, id).Scan(&p)
		if p == "any-lib" {
			return id
		}
	}
	t.Fatal("any-lib did not start")
	return ""
}

// TestBuildAndDeploy: a CodeBuild action runs through the Builder port
// (exported variables become its namespace's variables), and a CodeArtifact
// Deploy action publishes the build's artifact with a version made of
// variables.
func TestBuildAndDeploy(t *testing.T) {
	t.Parallel()
	reg := &registry{}
	var h *harness
	b := &shellBuilder{e: func() *Engine { return h.cur.Load() }, projects: map[string]shellProject{
		"app":    {commands: []string{"mkdir -p dist", "cp app.txt dist/app.txt", "echo \"$GREETING\" > dist/greeting"}, files: []string{"dist/**"}},
		"broken": {commands: []string{"echo nope", "false"}},
	}}
	h = newHarness(t, func(o *Options) { o.Builder, o.Publisher = b, reg })
	reg.blobs = h.blobs
	build := pipeline.Action{Name: "Build", ActionTypeID: awsType(pipeline.CategoryBuild, "CodeBuild"), Namespace: "BuildVars",
		Configuration:  map[string]string{"ProjectName": "app", "EnvironmentVariables": `[{"name":"GREETING","value":"hi #{codepipeline.PipelineExecutionId}"}]`},
		InputArtifacts: []pipeline.InputArtifact{{Name: "Src"}}, OutputArtifacts: []pipeline.OutputArtifact{{Name: "Out"}}}
	deploy := pipeline.Action{Name: "Publish", ActionTypeID: awsType(pipeline.CategoryDeploy, "CodeArtifact"), Namespace: "Pub",
		Configuration: map[string]string{"DomainName": "acme", "RepositoryName": "main", "PackageFormat": "generic", "PackageNamespace": "apps",
			"PackageName": "app", "PackageVersion": "1.0.#{BuildVars.BUILD_ID}"},
		InputArtifacts: []pipeline.InputArtifact{{Name: "Out"}}}
	h.create(decl("bd", stage("Source", localSource(srcDir(t, "app v1\n"), "Src")), stage("Build", build), stage("Deploy", deploy)))
	id := h.start("bd")
	h.waitStatus("bd", id, pipeline.StatusSucceeded)
	a := h.action("bd", "Build", "Build")
	buildID := a.ExternalID
	if !strings.HasPrefix(buildID, "app:") {
		t.Fatalf("build action %+v", a)
	}
	rv, ok := reg.find("app", "1.0."+buildID)
	if !ok {
		t.Fatalf("nothing published; registry has %+v", reg.versions)
	}
	files := map[string]string{}
	for _, as := range rv.assets {
		rc, _, err := h.blobs.Open(context.Background(), as.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		bs, _ := io.ReadAll(rc)
		rc.Close()
		files[as.Name] = string(bs)
	}
	if files["dist/app.txt"] != "app v1\n" || files["dist/greeting"] != "hi "+id+"\n" || len(files) != 2 {
		t.Errorf("published files %v", files)
	}

	bad := build
	bad.Name, bad.Configuration = "Broken", map[string]string{"ProjectName": "broken"}
	bad.OutputArtifacts, bad.Namespace = nil, ""
	h.create(decl("broken", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Build", bad)))
	id = h.start("broken")
	x := h.waitStatus("broken", id, pipeline.StatusFailed)
	if !strings.Contains(x.Summary, "ended FAILED") {
		t.Errorf("failed build summary %q", x.Summary)
	}
}

// TestWebhook: the Webhook action posts the execution context, signed, and
// takes output variables from a JSON answer; a non-2xx answer fails it.
func TestWebhook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []WebhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(body)
		if r.Header.Get("X-Registry-Signature-256") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p WebhookPayload
		json.Unmarshal(body, &p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "deploy refused", http.StatusConflict)
			return
		}
		w.Write([]byte(`{"deployment":"d-42"}`))
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	hook := func(path string) pipeline.Action {
		return pipeline.Action{Name: "Notify", ActionTypeID: awsType(pipeline.CategoryInvoke, "Webhook"), Namespace: "Hook",
			Configuration: map[string]string{"Url": srv.URL + path, "Secret": "s3cret"}, InputArtifacts: []pipeline.InputArtifact{{Name: "Src"}}}
	}
	h.create(decl("wh", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Notify", hook("/ok")),
		stage("After", cmds("Use", 1, nil, nil, "test '#{Hook.deployment}' = d-42"))))
	id := h.start("wh")
	h.waitStatus("wh", id, pipeline.StatusSucceeded)
	mu.Lock()
	p := got[0]
	mu.Unlock()
	if p.Pipeline != "wh" || p.PipelineExecutionID != id || p.Stage != "Notify" || len(p.InputArtifacts) != 1 || p.Configuration["Secret"] != "" {
		t.Errorf("payload %+v", p)
	}

	// The secret is never shown, and "****" keeps it across an update.
	stored, _, err := h.e.GetPipeline(context.Background(), "wh", 0)
	if err != nil || stored.Stages[1].Actions[0].Configuration["Secret"] != Redacted {
		t.Fatalf("GetPipeline shows %v (%v)", stored.Stages[1].Actions[0].Configuration, err)
	}
	runs, _, _ := h.e.ListActionExecutions(context.Background(), "wh", ActionFilter{ExecutionID: id}, 0, 10)
	for _, r := range runs {
		if strings.Contains(mustJSON(r), "s3cret") {
			t.Errorf("an action execution shows the secret: %s", mustJSON(r))
		}
	}
	if _, err := h.e.UpdatePipeline(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	id = h.start("wh")
	h.waitStatus("wh", id, pipeline.StatusSucceeded) // still signed with the kept secret
	stored.Stages[1].Actions[0].Name = "Renamed"
	if _, err := h.e.UpdatePipeline(context.Background(), stored); pipeline.CodeOf(err) != pipeline.ErrInvalidActionDeclaration {
		t.Errorf("**** for an action without a stored secret: %v", err)
	}

	h.create(decl("wh-fail", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Notify", hook("/fail"))))
	id = h.start("wh-fail")
	if x := h.waitStatus("wh-fail", id, pipeline.StatusFailed); !strings.Contains(x.Summary, "409") || !strings.Contains(x.Summary, "deploy refused") {
		t.Errorf("summary %q", x.Summary)
	}
}

// TestGitSource: the Git source clones a branch of a local repository with
// the git CLI; its commit becomes the revision and a variable.
func TestGitSource(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(repo, "main.txt"), []byte("on main\n"), 0o644)
	run("add", ".")
	run("commit", "-q", "-m", "first")
	run("checkout", "-q", "-b", "feature")
	os.WriteFile(filepath.Join(repo, "feature.txt"), []byte("on feature\n"), 0o644)
	run("add", ".")
	run("commit", "-q", "-m", "feature work")
	head := run("rev-parse", "HEAD")
	run("checkout", "-q", "main")

	h := newHarness(t, nil)
	src := pipeline.Action{Name: "Git", ActionTypeID: awsType(pipeline.CategorySource, "Git"), Namespace: "G",
		Configuration: map[string]string{"RepositoryUrl": repo, "BranchName": "feature"}, OutputArtifacts: []pipeline.OutputArtifact{{Name: "Src"}}}
	h.create(decl("git", stage("Source", src), stage("Check", cmds("Check", 1, []string{"Src"}, nil,
		"test -f feature.txt", "test ! -e .git", "test '#{G.CommitId}' = "+head, "test '#{G.CommitMessage}' = 'feature work'"))))
	id := h.start("git")
	x := h.waitStatus("git", id, pipeline.StatusSucceeded)
	if len(x.SourceRevisions) != 1 || x.SourceRevisions[0].ID != head || x.SourceRevisions[0].Summary != "feature work" {
		t.Errorf("source revisions %+v", x.SourceRevisions)
	}

	bad := src
	bad.Configuration = map[string]string{"RepositoryUrl": filepath.Join(repo, "nope")}
	h.create(decl("git-bad", stage("Source", bad), stage("Check", cmds("Check", 1, []string{"Src"}, nil, "true"))))
	id = h.start("git-bad")
	if x := h.waitStatus("git-bad", id, pipeline.StatusFailed); !strings.Contains(x.Summary, "git clone") {
		t.Errorf("summary %q", x.Summary)
	}
}
