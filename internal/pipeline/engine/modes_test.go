package engine

import (
	"context"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

// approvalPipeline is Source -> Gate (manual approval) -> Done, in the
// given execution mode: the approval holds the Gate stage's lock for as
// long as the test wants.
func approvalPipeline(t *testing.T, name, mode string) pipeline.Declaration {
	d := decl(name, stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Gate", manual("Approve")), stage("Done", cmds("Finish", 1, []string{"Src"}, nil, "true")))
	d.ExecutionMode = mode
	return d
}

func inbound(st StageState) []string {
	var out []string
	for _, in := range st.Inbound {
		out = append(out, in.ExecutionID)
	}
	return out
}

// TestSuperseded: while an execution holds a stage, the next one waits in
// front of it and a newer one supersedes the waiter.
func TestSuperseded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(approvalPipeline(t, "sup", pipeline.ModeSuperseded))
	e1 := h.start("sup")
	tok1 := h.waitApproval("sup", "Gate", "Approve", e1)

	e2 := h.start("sup")
	h.waitFor("e2 to wait before Gate", func() bool { in := inbound(h.stageState("sup", "Gate")); return len(in) == 1 && in[0] == e2 })
	e3 := h.start("sup")
	x2 := h.waitStatus("sup", e2, pipeline.StatusSuperseded)
	if x2.Summary != "Superseded by execution "+e3 {
		t.Errorf("superseded summary %q", x2.Summary)
	}
	h.waitFor("e3 to wait before Gate", func() bool { in := inbound(h.stageState("sup", "Gate")); return len(in) == 1 && in[0] == e3 })

	h.approve("sup", "Gate", "Approve", tok1, pipeline.Approved)
	h.waitStatus("sup", e1, pipeline.StatusSucceeded)
	tok3 := h.waitApproval("sup", "Gate", "Approve", e3)
	h.approve("sup", "Gate", "Approve", tok3, pipeline.Approved)
	h.waitStatus("sup", e3, pipeline.StatusSucceeded)
	if got := h.events.states(e2); got[len(got)-1] != "Pipeline::SUPERSEDED" {
		t.Errorf("e2 events %v", got)
	}
}

// TestQueued: waiting executions are let into a locked stage one by one in
// the order they arrived; none is superseded.
func TestQueued(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(approvalPipeline(t, "q", pipeline.ModeQueued))
	e1 := h.start("q")
	tok := h.waitApproval("q", "Gate", "Approve", e1)
	e2 := h.start("q")
	h.waitFor("e2 to wait", func() bool { return len(inbound(h.stageState("q", "Gate"))) == 1 })
	e3 := h.start("q")
	h.waitFor("e2 and e3 to wait in order", func() bool {
		in := inbound(h.stageState("q", "Gate"))
		return len(in) == 2 && in[0] == e2 && in[1] == e3
	})
	for _, next := range []string{e2, e3, ""} {
		h.approve("q", "Gate", "Approve", tok, pipeline.Approved)
		if next == "" {
			break
		}
		tok = h.waitApproval("q", "Gate", "Approve", next)
	}
	for _, id := range []string{e1, e2, e3} {
		h.waitStatus("q", id, pipeline.StatusSucceeded)
	}
}

// TestParallel: executions run independently, several inside the same
// stage at once.
func TestParallel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(approvalPipeline(t, "par", pipeline.ModeParallel))
	e1, e2 := h.start("par"), h.start("par")
	var toks []string
	h.waitFor("both executions at the approval", func() bool {
		list, _, err := h.e.ListActionExecutions(context.Background(), "par", ActionFilter{}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		toks = nil
		for _, a := range list {
			if a.Action == "Approve" && a.Status == pipeline.StatusInProgress {
				toks = append(toks, a.ID)
			}
		}
		return len(toks) == 2
	})
	// Approve both through their tokens, found in each execution's runs.
	for _, id := range []string{e1, e2} {
		row, err := latestActions(context.Background(), h.e.db.sql, id, "Gate", 0)
		if err != nil {
			t.Fatal(err)
		}
		h.approve("par", "Gate", "Approve", row["Approve"].Token, pipeline.Approved)
	}
	h.waitStatus("par", e1, pipeline.StatusSucceeded)
	h.waitStatus("par", e2, pipeline.StatusSucceeded)
}

// TestTransitions: a disabled inbound transition holds executions in front
// of the stage (the newest one under SUPERSEDED); enabling lets it in.
func TestTransitions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.create(decl("tr", stage("Source", localSource(srcDir(t, "x"), "Src")), stage("Deploy", cmds("Go", 1, nil, nil, "true"))))
	ctx := context.Background()
	if err := h.e.SetTransition(ctx, "tr", "Deploy", "Inbound", false, "freeze", "me"); err != nil {
		t.Fatal(err)
	}
	e1 := h.start("tr")
	h.waitFor("e1 to wait", func() bool { in := inbound(h.stageState("tr", "Deploy")); return len(in) == 1 && in[0] == e1 })
	st := h.stageState("tr", "Deploy")
	if st.Transition.Enabled || st.Transition.DisabledReason != "freeze" || st.Transition.LastChangedBy != "me" {
		t.Errorf("transition state %+v", st.Transition)
	}
	e2 := h.start("tr")
	h.waitStatus("tr", e1, pipeline.StatusSuperseded)
	if err := h.e.SetTransition(ctx, "tr", "Deploy", "Inbound", true, "", "me"); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("tr", e2, pipeline.StatusSucceeded)
	if err := h.e.SetTransition(ctx, "tr", "Nope", "Inbound", false, "x", "me"); pipeline.CodeOf(err) != pipeline.ErrStageNotFound {
		t.Errorf("unknown stage: %v", err)
	}
}
