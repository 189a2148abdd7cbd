package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

// blocker is a test provider that runs until its context ends (or its
// gate opens); whether it exists after a restart is up to the test.
type blocker struct{ g gate }

func (blocker) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: pipeline.ActionTypeID{Category: pipeline.CategoryInvoke, Owner: "Custom", Provider: "Blocker", Version: "1"}}
}

func (b blocker) Run(ctx context.Context, j *Job) (Result, error) {
	if err := j.SetExternal(ctx, "blocker-"+j.ActionExecutionID[:8], ""); err != nil {
		return Result{}, err
	}
	return Result{}, runShell(ctx, "", os.TempDir(), nil, b.g.wait(), newTailBuffer(1024))
}

// TestRestartRecovery: executions in flight when the engine stops resume
// after a restart: a running Commands action runs again, an open approval
// keeps its token, a queued execution still waits its turn, and an action
// whose provider is gone fails with the reason. Nothing stays InProgress.
func TestRestartRecovery(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := newHarness(t, func(o *Options) { o.Providers = []Provider{blocker{g}} })
	marks := t.TempDir()
	runs := filepath.Join(marks, "runs")
	h.create(decl("work", stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Build", cmds("Make", 1, []string{"Src"}, []string{"Bin"}, "echo run >> "+runs, g.wait(), "echo built > bin")),
		stage("Ship", cmds("Check", 1, []string{"Bin"}, nil, "grep -q built bin"))))
	h.create(approvalPipeline(t, "gate", pipeline.ModeSuperseded))
	custom := decl("custom", stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Run", pipeline.Action{Name: "Block", ActionTypeID: blocker{}.Type().ID}))
	h.create(custom)

	w := h.start("work")
	h.waitFor("Make to run", func() bool { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") == 1 })
	a1 := h.start("gate")
	tok := h.waitApproval("gate", "Gate", "Approve", a1)
	a2 := h.start("gate")
	h.waitFor("a2 to wait", func() bool { return len(inbound(h.stageState("gate", "Gate"))) == 1 })
	c := h.start("custom")
	h.waitFor("Block to run", func() bool { a := h.action("custom", "Run", "Block"); return a != nil && a.ExternalID != "" })

	h.opts.Providers = nil // the custom provider is gone after the restart
	h.restart()

	h.waitFor("Make to run again", func() bool { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") == 2 })
	g.open(t)
	h.waitStatus("work", w, pipeline.StatusSucceeded)

	if got := h.action("gate", "Gate", "Approve"); got.Token != tok || got.Status != pipeline.StatusInProgress {
		t.Fatalf("approval after restart: %+v (token was %s)", got, tok)
	}
	h.approve("gate", "Gate", "Approve", tok, pipeline.Approved)
	h.waitStatus("gate", a1, pipeline.StatusSucceeded)
	tok2 := h.waitApproval("gate", "Gate", "Approve", a2)
	h.approve("gate", "Gate", "Approve", tok2, pipeline.Approved)
	h.waitStatus("gate", a2, pipeline.StatusSucceeded)

	x := h.waitStatus("custom", c, pipeline.StatusFailed)
	if a := h.action("custom", "Run", "Block"); !strings.Contains(a.ErrorMessage, "restarted") || !strings.Contains(x.Summary, "no longer available") {
		t.Errorf("custom action after restart: %+v / %q", a, x.Summary)
	}
	var n int
	h.e.db.sql.QueryRow(`SELECT COUNT(*) FROM action_executions WHERE status = 'InProgress'`).Scan(&n)
	if n != 0 {
		t.Errorf("%d actions still InProgress", n)
	}
}

// TestRestartReattachesBuild: a CodeBuild action records its build id; a
// builder that still knows the build after a restart is waited on (no
// second build), one that forgot it gets a new build.
func TestRestartReattachesBuild(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	var h *harness
	b := &shellBuilder{e: func() *Engine { return h.cur.Load() }, projects: map[string]shellProject{"slow": {commands: []string{g.wait(), "echo ok > out.txt"}, files: []string{"out.txt"}}}}
	h = newHarness(t, func(o *Options) { o.Builder = b })
	build := pipeline.Action{Name: "Build", ActionTypeID: awsType(pipeline.CategoryBuild, "CodeBuild"), Configuration: map[string]string{"ProjectName": "slow"},
		InputArtifacts: []pipeline.InputArtifact{{Name: "Src"}}, OutputArtifacts: []pipeline.OutputArtifact{{Name: "Out"}}}
	h.create(decl("cb", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Build", build)))

	id := h.start("cb")
	h.waitFor("the build to start", func() bool { a := h.action("cb", "Build", "Build"); return a != nil && a.ExternalID != "" })
	first := h.action("cb", "Build", "Build").ExternalID
	h.restart() // the shell builder keeps running its build: re-attach
	g.open(t)
	h.waitStatus("cb", id, pipeline.StatusSucceeded)
	if a := h.action("cb", "Build", "Build"); a.ExternalID != first || b.count() != 1 || a.ExternalURL != "http://logs/"+first {
		t.Errorf("after restart: %+v, %d builds started", a, b.count())
	}

	// A builder that lost the build: a new one starts.
	os.Remove(string(g))
	id = h.start("cb")
	h.waitFor("the second build to start", func() bool {
		a := h.action("cb", "Build", "Build")
		return a != nil && a.ExternalID != "" && a.ExternalID != first && a.Status == pipeline.StatusInProgress
	})
	b.mu.Lock()
	b.builds = nil // forget
	b.mu.Unlock()
	h.restart()
	g.open(t)
	h.waitStatus("cb", id, pipeline.StatusSucceeded)
	if b.count() != 3 {
		t.Errorf("%d builds started, want 3", b.count())
	}
}
