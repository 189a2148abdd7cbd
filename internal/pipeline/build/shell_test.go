package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

func newShell(t *testing.T, path string, out *testutil.SyncBuffer) *shell {
	t.Helper()
	dir := t.TempDir()
	sh, err := startShell(shellOptions{Path: path, Dir: dir, Env: append(os.Environ(), "START=1"), Out: out, Ctl: filepath.Join(dir, ".ctl")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.close)
	return sh
}

func shells(t *testing.T) []string {
	out := []string{"/bin/sh"}
	if p, err := exec.LookPath("bash"); err == nil {
		out = append(out, p)
	}
	return out
}

// TestOneShell: cd and export carry across commands; a command cannot
// read the next one from stdin; output comes before the exit status.
func TestOneShell(t *testing.T) {
	for _, path := range shells(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var out testutil.SyncBuffer
			sh := newShell(t, path, &out)
			ctx := context.Background()
			steps := []struct {
				cmd  string
				code int
			}{
				{"mkdir -p sub/dir && cd sub/dir", 0},
				{"export FOO=bar; X=local", 0},
				{"cat; echo stdin-was-empty", 0},
				{"pwd; echo $FOO $X $START", 0},
				{"printf 'no newline'", 0},
				{"false", 1},
				{"(exit 7)", 7},
				{"echo still alive", 0},
			}
			for _, s := range steps {
				code, err := sh.run(ctx, s.cmd)
				if err != nil || code != s.code {
					t.Fatalf("%q: code %d err %v, want %d", s.cmd, code, err, s.code)
				}
			}
			got := out.String()
			for _, want := range []string{"stdin-was-empty", "sub/dir\nbar local 1\n", "no newline", "still alive"} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "\x1eCB") {
				t.Errorf("a marker leaked into the output: %q", got)
			}
		})
	}
}

func TestShellExitInCommand(t *testing.T) {
	var out testutil.SyncBuffer
	sh := newShell(t, "/bin/sh", &out)
	code, err := sh.run(context.Background(), "echo bye; exit 3")
	if !errors.Is(err, errShellExited) || code != 3 {
		t.Fatalf("code %d err %v", code, err)
	}
	if !strings.Contains(out.String(), "bye") {
		t.Errorf("output %q", out.String())
	}
}

// alive reports whether a process exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// TestShellKillTree: cancelling a command kills the whole process group,
// background children and grandchildren included.
func TestShellKillTree(t *testing.T) {
	var out testutil.SyncBuffer
	sh := newShell(t, "/bin/sh", &out)
	dir := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		waitFor(t, 10*time.Second, "the pid files", func() bool {
			_, e1 := os.Stat(filepath.Join(dir, "bg.pid"))
			_, e2 := os.Stat(filepath.Join(dir, "fg.pid"))
			return e1 == nil && e2 == nil
		})
		cancel(errStopped)
	}()
	cmd := "(sh -c 'echo $$ > " + dir + "/bg.pid; exec sleep 300') & sh -c 'echo $$ > " + dir + "/fg.pid; exec sleep 300'"
	_, err := sh.run(ctx, cmd)
	if !errors.Is(err, errStopped) {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"bg.pid", "fg.pid"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		pid := 0
		for _, c := range strings.TrimSpace(string(b)) {
			pid = pid*10 + int(c-'0')
		}
		waitFor(t, 5*time.Second, f+" to die", func() bool { return !alive(pid) })
	}
}
