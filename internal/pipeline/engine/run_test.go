package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

// TestRunOrder: actions with the same runOrder run in parallel (each waits
// for a file the other writes, so a sequential run would fail), a higher
// runOrder runs after both, and a failure stops the later groups.
func TestRunOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	marks := t.TempDir()
	waitFor := func(name string) string {
		f := filepath.Join(marks, name)
		return fmt.Sprintf("for i in $(seq 400); do [ -f %s ] && break; sleep 0.05; done; [ -f %s ]", f, f)
	}
	touch := func(name string) string { return "touch " + filepath.Join(marks, name) }
	h.create(decl("groups",
		stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Work",
			cmds("A", 1, []string{"Src"}, nil, touch("a"), waitFor("b")),
			cmds("B", 1, []string{"Src"}, nil, touch("b"), waitFor("a")),
			cmds("C", 2, nil, nil, "test -f "+filepath.Join(marks, "a"), "test -f "+filepath.Join(marks, "b"), touch("c")),
			cmds("D", 5, nil, nil, touch("d"))),
	))
	id := h.start("groups")
	h.waitStatus("groups", id, pipeline.StatusSucceeded)
	list, _, err := h.e.ListActionExecutions(context.Background(), "groups", ActionFilter{ExecutionID: id}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	start := map[string]ActionExecution{}
	for _, a := range list {
		start[a.Action] = a
	}
	if !start["C"].Started.After(start["A"].Updated.Add(-1)) || !start["D"].Started.After(start["C"].Updated.Add(-1)) {
		t.Errorf("groups ran out of order: %+v", start)
	}

	h.create(decl("fails",
		stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Work",
			cmds("Bad", 1, nil, nil, "echo about to fail", "exit 3"),
			cmds("Slow", 1, nil, nil, "sleep 0.3", touch("slow")),
			cmds("Never", 2, nil, nil, touch("never"))),
	))
	id = h.start("fails")
	x := h.waitStatus("fails", id, pipeline.StatusFailed)
	if !strings.Contains(x.Summary, "Action 'Bad' in stage 'Work' failed") || !strings.Contains(x.Summary, "status 3") {
		t.Errorf("summary: %q", x.Summary)
	}
	if a := h.action("fails", "Work", "Slow"); a.Status != pipeline.StatusSucceeded {
		t.Errorf("the parallel action did not finish before the stage failed: %+v", a)
	}
	if a := h.action("fails", "Work", "Never"); a != nil {
		t.Errorf("a later runOrder ran after a failure: %+v", a)
	}
	if a := h.action("fails", "Work", "Bad"); a.ErrorCode != "JobFailed" || !strings.Contains(a.ErrorMessage, "about to fail") {
		t.Errorf("failed action: %+v", a)
	}
}

// TestVariablesAndArtifacts: output artifacts flow into later actions as
// zip blobs; output variables, #{codepipeline.PipelineExecutionId} and
// pipeline variables (with start-time overrides) resolve in commands and
// configuration.
func TestVariablesAndArtifacts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	build := cmds("Build", 1, []string{"Src"}, []string{"Out"},
		"mkdir -p dist", "cp app.txt dist/app.txt", "echo '#{variables.flavour}' > dist/flavour", "touch scratch",
		"export VERSION=1.2.#{codepipeline.PipelineExecutionId}", "NOTE='not exported'")
	build.Namespace = "BuildVars"
	build.OutputVariables = []string{"VERSION", "NOTE", "UNSET"}
	build.OutputArtifacts[0].Files = []string{"dist/**"}
	check := cmds("Check", 1, []string{"Out"}, []string{"Final"},
		"test \"$(cat dist/flavour)\" = '#{variables.flavour}'", "test ! -e scratch", "echo '#{BuildVars.VERSION}' > version")
	check.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "NOTE", Value: "#{BuildVars.NOTE}"}}
	check.Commands = append(check.Commands, `test "$NOTE" = 'not exported'`)
	d := decl("vars", stage("Source", localSource(srcDir(t, "hello\n"), "Src")), stage("Build", build), stage("Check", check))
	d.Variables = []pipeline.VariableDeclaration{{Name: "flavour", DefaultValue: "vanilla"}, {Name: "unused", DefaultValue: "x"}}
	h.create(d)

	id := h.start("vars", ResolvedVariable{"flavour", "chocolate"})
	x := h.waitStatus("vars", id, pipeline.StatusSucceeded)
	if got := mustJSON(x.Variables); got != `[{"name":"flavour","value":"chocolate"},{"name":"unused","value":"x"}]` {
		t.Errorf("resolved variables %s", got)
	}
	list, _, _ := h.e.ListActionExecutions(context.Background(), "vars", ActionFilter{ExecutionID: id}, 0, 10)
	var bld, chk ActionExecution
	for _, a := range list {
		switch a.Action {
		case "Build":
			bld = a
		case "Check":
			chk = a
		}
	}
	if want := map[string]string{"VERSION": "1.2." + id, "NOTE": "not exported", "UNSET": ""}; mustJSON(bld.OutputVariables) != mustJSON(want) {
		t.Errorf("output variables %v, want %v", bld.OutputVariables, want)
	}
	files := h.readArtifact(bld.OutputArtifacts[0].SHA256)
	if files["dist/app.txt"] != "hello\n" || files["dist/flavour"] != "chocolate\n" || len(files) != 2 {
		t.Errorf("Out artifact: %v", files)
	}
	if chk.InputArtifacts[0].SHA256 != bld.OutputArtifacts[0].SHA256 {
		t.Errorf("Check did not get Build's artifact: %v vs %v", chk.InputArtifacts, bld.OutputArtifacts)
	}
	if files := h.readArtifact(chk.OutputArtifacts[0].SHA256); files["version"] != "1.2."+id+"\n" {
		t.Errorf("Final artifact: %v", files)
	}

	// Defaults apply when nothing overrides them; unknown variables are refused.
	id = h.start("vars")
	if x := h.waitStatus("vars", id, pipeline.StatusSucceeded); x.Variables[0].Value != "vanilla" {
		t.Errorf("default variable: %v", x.Variables)
	}
	_, err := h.e.StartExecution(context.Background(), StartInput{Name: "vars", Variables: []ResolvedVariable{{"nope", "1"}}})
	if pipeline.CodeOf(err) != pipeline.ErrValidation || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown variable: %v", err)
	}
}

// TestEvents: a run emits pipeline, stage and action state changes in the
// CodePipeline EventBridge shape, in order.
func TestEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(decl("ev", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Build", cmds("Make", 1, []string{"Src"}, nil, "true"))))
	id := h.start("ev")
	h.waitStatus("ev", id, pipeline.StatusSucceeded)
	want := []string{
		"Pipeline::STARTED",
		"Stage:Source:STARTED", "Action:Source/Source:STARTED", "Action:Source/Source:SUCCEEDED", "Stage:Source:SUCCEEDED",
		"Stage:Build:STARTED", "Action:Build/Make:STARTED", "Action:Build/Make:SUCCEEDED", "Stage:Build:SUCCEEDED",
		"Pipeline::SUCCEEDED",
	}
	// Events go out after the change commits: wait for the last one.
	h.waitFor("the last event", func() bool { return len(h.events.states(id)) >= len(want) })
	if got := h.events.states(id); !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	for _, ev := range h.events.evs {
		env := ev.Envelope
		if env.Source != "aws.codepipeline" || env.Version != "0" || env.Account != "123456789012" || len(env.Resources) != 1 ||
			env.Resources[0] != "arn:aws:codepipeline:us-east-1:123456789012:ev" || ev.DedupID == "" || ev.Pipeline != "ev" {
			t.Errorf("envelope %+v", env)
		}
		if env.DetailType == DetailAction && (env.Detail.Type == nil || env.Detail.Type.Provider == "") {
			t.Errorf("action event without type: %+v", env.Detail)
		}
		if env.Detail.ExecutionTrigger == nil || env.Detail.ExecutionTrigger.TriggerType != pipeline.TriggerStartPipelineExecution {
			t.Errorf("event without trigger: %+v", env.Detail)
		}
	}
}

// TestUpdateCancels: an execution of an older structure finishes its
// stage and then ends Cancelled; a new execution uses the new version.
func TestUpdateCancels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	g := newGate(t)
	d := decl("upd", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Build", cmds("Make", 1, nil, nil, g.wait())), stage("Ship", cmds("Ship", 1, nil, nil, "true")))
	h.create(d)
	id := h.start("upd")
	h.waitFor("Make to run", func() bool {
		a := h.action("upd", "Build", "Make")
		return a != nil && a.Status == pipeline.StatusInProgress
	})
	d.Stages[2].Actions[0].Commands = []string{"echo v2"}
	got, err := h.e.UpdatePipeline(context.Background(), d)
	if err != nil || got.Version != 2 {
		t.Fatalf("UpdatePipeline: %v %v", got.Version, err)
	}
	g.open(t)
	x := h.waitStatus("upd", id, pipeline.StatusCancelled)
	if x.Version != 1 || !strings.Contains(x.Summary, "version 2") {
		t.Errorf("cancelled execution: %+v", x)
	}
	if st := h.stageState("upd", "Build"); st.Latest.Status != pipeline.StatusSucceeded {
		t.Errorf("the running stage did not finish: %+v", st.Latest)
	}
	id2 := h.start("upd")
	if x := h.waitStatus("upd", id2, pipeline.StatusSucceeded); x.Version != 2 {
		t.Errorf("new execution version %d", x.Version)
	}
	old, _, err := h.e.GetPipeline(context.Background(), "upd", 1)
	if err != nil || old.Stages[2].Actions[0].Commands[0] != "true" {
		t.Errorf("GetPipeline version 1: %v %v", old.Stages[2].Actions[0].Commands, err)
	}
	if _, _, err := h.e.GetPipeline(context.Background(), "upd", 3); pipeline.CodeOf(err) != pipeline.ErrPipelineVersionNotFound {
		t.Errorf("GetPipeline version 3: %v", err)
	}
}
