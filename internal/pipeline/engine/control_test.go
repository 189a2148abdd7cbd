package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// TestApproval: approve lets the execution go on; reject fails the stage;
// no answer before the timeout fails it too; tokens are checked.
func TestApproval(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	h := newHarness(t, func(o *Options) { o.Clock = clock })
	d := approvalPipeline(t, "ap", pipeline.ModeParallel)
	d.Stages[1].Actions = append(d.Stages[1].Actions, pipeline.Action{Name: "Short", RunOrder: 2, TimeoutInMinutes: 30,
		ActionTypeID: awsType(pipeline.CategoryApproval, "Manual"), Configuration: map[string]string{"CustomData": "run #{codepipeline.PipelineExecutionId}"}})
	h.create(d)
	ctx := context.Background()

	// Approve, then the second approval (30 min) times out.
	e1 := h.start("ap")
	tok := h.waitApproval("ap", "Gate", "Approve", e1)
	put := func(token, status string) error {
		_, err := h.e.PutApprovalResult(ctx, ApprovalInput{Pipeline: "ap", Stage: "Gate", Action: "Approve", Token: token, Status: status, By: "u"})
		return err
	}
	if err := put("00000000-0000-4000-8000-000000000000", pipeline.Approved); pipeline.CodeOf(err) != pipeline.ErrInvalidApprovalToken {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := h.e.PutApprovalResult(ctx, ApprovalInput{Pipeline: "ap", Stage: "Gate", Action: "Nope", Token: tok, Status: pipeline.Approved}); pipeline.CodeOf(err) != pipeline.ErrActionNotFound {
		t.Errorf("unknown action: %v", err)
	}
	if _, err := h.e.PutApprovalResult(ctx, ApprovalInput{Pipeline: "ap", Stage: "Nope", Action: "Approve", Token: tok, Status: pipeline.Approved}); pipeline.CodeOf(err) != pipeline.ErrStageNotFound {
		t.Errorf("unknown stage: %v", err)
	}
	if err := put(tok, pipeline.Approved); err != nil {
		t.Fatal(err)
	}
	if err := put(tok, pipeline.Approved); pipeline.CodeOf(err) != pipeline.ErrApprovalAlreadyCompleted {
		t.Errorf("second answer: %v", err)
	}
	if a := h.action("ap", "Gate", "Approve"); a.Status != pipeline.StatusSucceeded || a.LastUpdatedBy != "u" || a.Token != "" {
		t.Errorf("approved action %+v", a)
	}
	h.waitApproval("ap", "Gate", "Short", e1)
	clock.Advance(29 * time.Minute)
	if x := h.exec("ap", e1); x.Status != pipeline.StatusInProgress {
		t.Fatalf("expired early: %+v", x)
	}
	clock.Advance(2 * time.Minute)
	x := h.waitStatus("ap", e1, pipeline.StatusFailed)
	if a := h.action("ap", "Gate", "Short"); a.ErrorCode != "ApprovalExpired" || !strings.Contains(x.Summary, "expired") {
		t.Errorf("timed out approval: %+v / %q", a, x.Summary)
	}

	// Reject fails the stage.
	e2 := h.start("ap")
	tok = h.waitApproval("ap", "Gate", "Approve", e2)
	if err := put(tok, pipeline.Rejected); err != nil {
		t.Fatal(err)
	}
	x = h.waitStatus("ap", e2, pipeline.StatusFailed)
	if a := h.action("ap", "Gate", "Approve"); a.ErrorCode != "ApprovalRejected" || !strings.Contains(x.Summary, "Rejected by u") {
		t.Errorf("rejected: %+v / %q", a, x.Summary)
	}

	// The default timeout is seven days.
	e3 := h.start("ap")
	h.waitApproval("ap", "Gate", "Approve", e3)
	clock.Advance(7*24*time.Hour - time.Minute)
	if x := h.exec("ap", e3); x.Status != pipeline.StatusInProgress {
		t.Fatalf("expired before 7 days: %+v", x)
	}
	clock.Advance(2 * time.Minute)
	h.waitStatus("ap", e3, pipeline.StatusFailed)
}

// TestStop: stop-and-wait lets the running action finish and ends
// Stopped; stop-and-abandon marks it Abandoned at once and kills its
// processes; stopping twice is refused as AWS does.
func TestStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	g := newGate(t)
	marks := t.TempDir()
	after, pidFile := filepath.Join(marks, "after"), filepath.Join(marks, "pid")
	h.create(decl("stop", stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Work", cmds("Long", 1, nil, nil, "echo $$ > "+pidFile, g.wait(), "touch "+after), cmds("Next", 2, nil, nil, "true"))))

	e1 := h.start("stop")
	h.waitFor("Long to run", func() bool {
		a := h.action("stop", "Work", "Long")
		return a != nil && a.Status == pipeline.StatusInProgress
	})
	if err := h.e.StopExecution(ctx, "stop", e1, false, "enough"); err != nil {
		t.Fatal(err)
	}
	if x := h.exec("stop", e1); x.Status != pipeline.StatusStopping {
		t.Fatalf("after stop and wait: %s", x.Status)
	}
	if err := h.e.StopExecution(ctx, "stop", e1, false, ""); pipeline.CodeOf(err) != pipeline.ErrDuplicatedStopRequest {
		t.Errorf("second stop and wait: %v", err)
	}
	g.open(t)
	x := h.waitStatus("stop", e1, pipeline.StatusStopped)
	if x.StopReason != "enough" || h.action("stop", "Work", "Long").Status != pipeline.StatusSucceeded || h.action("stop", "Work", "Next") != nil {
		t.Errorf("stopped execution %+v, Next %+v", x, h.action("stop", "Work", "Next"))
	}
	if st := h.stageState("stop", "Work"); st.Latest.Status != pipeline.StatusStopped {
		t.Errorf("stage %+v", st.Latest)
	}
	if err := h.e.StopExecution(ctx, "stop", e1, true, ""); pipeline.CodeOf(err) != pipeline.ErrPipelineExecutionNotStop {
		t.Errorf("stopping a stopped execution: %v", err)
	}

	// Abandon: the process is killed before it can write its mark.
	os.Remove(string(g))
	os.Remove(after)
	os.Remove(pidFile)
	e2 := h.start("stop")
	h.waitFor("Long to run again", func() bool {
		st := h.stageState("stop", "Work")
		a := h.action("stop", "Work", "Long")
		return st.Latest != nil && st.Latest.ExecutionID == e2 && a != nil && a.Status == pipeline.StatusInProgress
	})
	pid := "" // once written, the shell is in the gate's loop
	h.waitFor("the action's shell to have written its pid", func() bool {
		b, err := os.ReadFile(pidFile)
		pid = strings.TrimSpace(string(b))
		return err == nil && strings.HasSuffix(string(b), "\n") // echo's one write done
	})
	if err := h.e.StopExecution(ctx, "stop", e2, true, "now"); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("stop", e2, pipeline.StatusStopped)
	if a := h.action("stop", "Work", "Long"); a.Status != pipeline.StatusAbandoned {
		t.Errorf("abandoned action %+v", a)
	}
	// The kill is sent when the action's run sees its context cancelled,
	// which may be just after the execution reads Stopped: wait for the
	// shell (its process group's leader) to be gone, with the gate still
	// closed, so a shell that was not killed outlives the deadline.
	h.waitFor("the abandoned action's process to be killed", func() bool {
		_, err := os.Stat("/proc/" + pid)
		return errors.Is(err, fs.ErrNotExist)
	})
	g.open(t)
	if _, err := os.Stat(after); err == nil {
		t.Error("the abandoned action's process wrote its mark")
	}
	if err := h.e.StopExecution(ctx, "stop", "00000000-0000-4000-8000-000000000000", false, ""); pipeline.CodeOf(err) != pipeline.ErrPipelineExecutionNotFound {
		t.Errorf("unknown execution: %v", err)
	}
}

// TestRetry: FAILED_ACTIONS re-runs only what failed, ALL_ACTIONS the whole
// stage; only the latest execution of a stage can retry it.
func TestRetry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	marks := t.TempDir()
	ok := filepath.Join(marks, "ok")
	count := func(name string) string { return "echo x >> " + filepath.Join(marks, name) }
	runs := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(marks, name))
		return strings.Count(string(b), "x")
	}
	h.create(decl("retry", stage("Source", localSource(srcDir(t, "x"), "Src")),
		stage("Work", cmds("Steady", 1, nil, nil, count("steady")), cmds("Flaky", 1, nil, nil, count("flaky"), "test -f "+ok),
			cmds("Later", 2, nil, nil, count("later")))))

	e1 := h.start("retry")
	h.waitStatus("retry", e1, pipeline.StatusFailed)
	if err := h.e.RetryStage(ctx, "retry", "Work", e1, pipeline.RetryFailedActions); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("retry", e1, pipeline.StatusFailed) // still flaky
	os.WriteFile(ok, nil, 0o644)
	if err := h.e.RetryStage(ctx, "retry", "Work", e1, pipeline.RetryFailedActions); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("retry", e1, pipeline.StatusSucceeded)
	if runs("steady") != 1 || runs("flaky") != 3 || runs("later") != 1 {
		t.Errorf("FAILED_ACTIONS runs: steady %d flaky %d later %d", runs("steady"), runs("flaky"), runs("later"))
	}
	if st := h.stageState("retry", "Work"); st.RetryAttempt != 2 {
		t.Errorf("retry attempts %d", st.RetryAttempt)
	}
	if err := h.e.RetryStage(ctx, "retry", "Work", e1, pipeline.RetryFailedActions); pipeline.CodeOf(err) != pipeline.ErrStageNotRetryable {
		t.Errorf("retrying a succeeded stage: %v", err)
	}

	os.Remove(ok)
	e2 := h.start("retry")
	h.waitStatus("retry", e2, pipeline.StatusFailed)
	os.WriteFile(ok, nil, 0o644)
	if err := h.e.RetryStage(ctx, "retry", "Work", e2, pipeline.RetryAllActions); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("retry", e2, pipeline.StatusSucceeded)
	if runs("steady") != 3 || runs("flaky") != 5 || runs("later") != 2 {
		t.Errorf("ALL_ACTIONS runs: steady %d flaky %d later %d", runs("steady"), runs("flaky"), runs("later"))
	}

	// A failed execution cannot retry once a newer one entered the stage.
	os.Remove(ok)
	e3 := h.start("retry")
	h.waitStatus("retry", e3, pipeline.StatusFailed)
	e4 := h.start("retry")
	h.waitStatus("retry", e4, pipeline.StatusFailed)
	if err := h.e.RetryStage(ctx, "retry", "Work", e3, pipeline.RetryFailedActions); pipeline.CodeOf(err) != pipeline.ErrNotLatestPipelineExecution {
		t.Errorf("retrying an older execution: %v", err)
	}
	if err := h.e.RetryStage(ctx, "retry", "Nope", e4, pipeline.RetryFailedActions); pipeline.CodeOf(err) != pipeline.ErrStageNotFound {
		t.Errorf("unknown stage: %v", err)
	}
	if err := h.e.RetryStage(ctx, "retry", "Work", e4, "SOME"); pipeline.CodeOf(err) != pipeline.ErrValidation {
		t.Errorf("bad mode: %v", err)
	}
	// The history keeps every run.
	list, _, err := h.e.ListActionExecutions(ctx, "retry", ActionFilter{ExecutionID: e1}, 0, 100)
	if err != nil || len(list) != 6 { // Source, Steady, Flaky three times, Later
		t.Errorf("runs of e1: %d %v", len(list), err)
	}
	latest, _, err := h.e.ListActionExecutions(ctx, "retry", ActionFilter{ExecutionID: e1, Latest: true}, 0, 100)
	if err != nil || len(latest) != 4 {
		t.Errorf("latest runs of e1: %d %v", len(latest), err)
	}
	page, next, _ := h.e.ListActionExecutions(ctx, "retry", ActionFilter{ExecutionID: e1}, 0, 4)
	rest, next2, _ := h.e.ListActionExecutions(ctx, "retry", ActionFilter{ExecutionID: e1}, next, 4)
	if len(page) != 4 || len(rest) != 2 || next2 != 0 || page[3].ID == rest[0].ID {
		t.Errorf("pagination: %d then %d (next %d)", len(page), len(rest), next2)
	}
}
