package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling
	}
}

func TestSupervisedProcess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "", nil)
	spec := "start: echo $$ > pid.tmp && mv pid.tmp pid && echo $DEPLOYMENT_ID > running && exec sleep 300\nhealth:\n  command: test -f running\n  timeout: 20\n"
	if err := os.WriteFile(filepath.Join(h.dir, "instances", "web-1", ProcessFile), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	pid := func() int {
		n, _ := strconv.Atoi(strings.TrimSpace(h.read("web-1", "pid")))
		return n
	}
	d1 := h.deploy(h.b.put("v1.zip", revisionFiles("v1", "exit 0")))
	if d1.Status != StatusSucceeded {
		t.Fatalf("%s %+v", d1.Status, d1.ErrorInformation)
	}
	first := pid()
	if !alive(first) || strings.TrimSpace(h.read("web-1", "running")) != d1.DeploymentID {
		t.Fatalf("process %d not running for %s", first, d1.DeploymentID)
	}
	// A crash is followed by a restart.
	syscall.Kill(first, syscall.SIGKILL)
	waitFor(t, "a restarted process", func() bool { return pid() != first && alive(pid()) })
	second := pid()
	// The next deployment stops it and starts a new one.
	d2 := h.deploy(h.b.put("v2.zip", revisionFiles("v2", "exit 0")))
	if d2.Status != StatusSucceeded {
		t.Fatalf("%s %+v", d2.Status, d2.ErrorInformation)
	}
	third := pid()
	if alive(second) || !alive(third) || third == second {
		t.Errorf("after redeploying: old %d alive=%v, new %d alive=%v", second, alive(second), third, alive(third))
	}
	h.svc.Close()
	if alive(third) {
		t.Errorf("process %d survives Close", third)
	}
}

func TestUnhealthyProcessFailsApplicationStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "", nil)
	spec := "start: exec sleep 300\nhealth:\n  url: http://127.0.0.1:1/healthz\n  timeout: 1\n"
	os.WriteFile(filepath.Join(h.dir, "instances", "web-1", ProcessFile), []byte(spec), 0o600)
	d := h.deploy(h.b.put("v1.zip", revisionFiles("v1", "exit 0")))
	if d.Status != StatusFailed {
		t.Fatalf("status %s", d.Status)
	}
	tg, _ := h.svc.Target(context.Background(), d.DeploymentID, "web-1")
	ev := tg.LifecycleEvents[5]
	if ev.LifecycleEventName != "ApplicationStart" || ev.Status != StatusFailed || !strings.Contains(ev.Diagnostics.Message, "did not become healthy") {
		t.Errorf("ApplicationStart %+v %+v", ev, ev.Diagnostics)
	}
}

func TestParseProcessSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{"start: ./run\nhealth:\n  url: http://127.0.0.1:8080/\n", ""},
		{"", ""},
		{"start: ./run\nhealthcheck: x\n", "field healthcheck not found"},
		{"start: ./run\nhealth:\n  url: ftp://x\n", "not an http(s) URL"},
		{"health:\n  command: true\n", "needs a start command"},
		{"start: x\nhealth:\n  timeout: -1\n", "0-3600"},
	} {
		_, err := ParseProcessSpec([]byte(tc.doc))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)) {
			t.Errorf("%q: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func FuzzParseProcessSpec(f *testing.F) {
	f.Add([]byte("start: ./run\nhealth:\n  url: http://127.0.0.1:8080/\n  timeout: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProcessSpec(b)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error of the wrong kind: %v", err)
		}
		if err == nil && p.Health.Timeout < 0 {
			t.Fatal("accepted a negative timeout")
		}
	})
}
