package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRecoverAfterCrash: a build left IN_PROGRESS by a server that died
// (kill -9: no chance to clean up) is marked FAILED with the reason when
// the service opens again, and its orphaned processes are killed.
func TestRecoverAfterCrash(t *testing.T) {
	h := newHarness(t, nil)
	h.project(testProject("crashy", "version: 0.2\nphases:\n  build:\n    commands: [sleep 300]\n"))
	ctx := context.Background()

	// What a crashed server leaves: a build row in BUILD, and the build's
	// process group still running with its CODEBUILD_BUILD_ID.
	now := time.Now().UTC()
	b := &Build{ID: "crashy:" + newUUID(), Project: "crashy", StartTime: now, CurrentPhase: PhaseBuild, Status: StatusInProgress,
		Phases: []PhaseRecord{{Type: PhaseSubmitted, Status: StatusSucceeded, StartTime: now, EndTime: now},
			{Type: PhaseQueued, Status: StatusSucceeded, StartTime: now, EndTime: now},
			{Type: PhaseBuild, StartTime: now}}}
	b.ARN = h.svc.BuildARN(b.ID)
	orphan := exec.Command("sh", "-c", "sleep 300 & exec sleep 300")
	orphan.Env = append(os.Environ(), "CODEBUILD_BUILD_ID="+b.ID)
	orphan.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { orphan.Wait(); close(exited) }()
	t.Cleanup(func() { syscall.Kill(-orphan.Process.Pid, syscall.SIGKILL) })
	b.PGID = orphan.Process.Pid
	// An unrelated process group must survive recovery of another pgid.
	bystander := exec.Command("sleep", "300")
	bystander.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	bystander.Start()
	t.Cleanup(func() { bystander.Process.Kill(); bystander.Wait() })
	if err := h.svc.st.insertBuild(ctx, b, func(*Build) []Event { return nil }); err != nil {
		t.Fatal(err)
	}
	ws := h.svc.workDir(b.UUID())
	os.MkdirAll(filepath.Join(ws, "src"), 0o700)

	h.restart()
	got, err := h.svc.Wait(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || !got.Complete || got.CurrentPhase != PhaseCompleted {
		t.Fatalf("after restart: %s %s complete=%v", got.Status, got.CurrentPhase, got.Complete)
	}
	if want := "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED BUILD:FAILED FINALIZING:SUCCEEDED COMPLETED"; phases(got) != want {
		t.Errorf("phases %s", phases(got))
	}
	ph := got.phase(PhaseBuild)
	if len(ph.Contexts) != 1 || ph.Contexts[0].StatusCode != "SERVER_RESTARTED" || !strings.Contains(ph.Contexts[0].Message, "phase BUILD") {
		t.Errorf("BUILD contexts %+v", ph.Contexts)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Error("the orphaned build process was not killed")
	}
	if !alive(bystander.Process.Pid) {
		t.Error("recovery killed an unrelated process")
	}
	if _, err := os.Stat(ws); !os.IsNotExist(err) {
		t.Errorf("workspace kept: %v", err)
	}
	if log := h.log(got); !strings.Contains(log, "marked failed when the server started again") {
		t.Errorf("log: %q", log)
	}
	var sawFailed bool
	for _, e := range h.events.all() {
		if d, ok := e.Detail.(StateChangeDetail); ok && d.BuildStatus == "FAILED" && strings.HasSuffix(d.BuildID, b.ID) {
			sawFailed = true
		}
	}
	if !sawFailed {
		t.Error("no FAILED state-change event for the recovered build")
	}
}

// TestCloseFailsRunningBuilds: a graceful shutdown ends running builds
// FAILED with the reason, and kills them.
func TestCloseFailsRunningBuilds(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	h.project(testProject("long", "version: 0.2\nphases:\n  build:\n    commands: [\"sh -c 'echo $$ > "+dir+"/pid; exec sleep 300'\"]\n"))
	b := h.start(StartRequest{Project: "long"})
	pid := readPid(t, dir+"/pid")
	h.restart()
	got, err := h.svc.Build(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || got.phase(PhaseBuild).Contexts[0].StatusCode != "SERVER_SHUTDOWN" {
		t.Errorf("after shutdown: %s %+v", got.Status, got.phase(PhaseBuild))
	}
	waitFor(t, 5*time.Second, "the build process to die", func() bool { return !alive(pid) })
}
