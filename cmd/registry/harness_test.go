package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

// registryBin is the registry binary built once for the end-to-end tests,
// which run it as a real subprocess.
var registryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "registry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	registryBin = filepath.Join(dir, "registry")
	out, err := exec.Command("go", "build", "-o", registryBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building registry: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is a running registry subprocess.
type instance struct {
	t        testing.TB
	dataDir  string
	cmd      *exec.Cmd
	log      *testutil.SyncBuffer
	endpoint string
	done     chan error
}

var endpointRE = regexp.MustCompile(`msg="registry listening" endpoint=(\S+)`)

// startRegistry runs "registry serve" on a free loopback port with dataDir
// and waits (polling its log, with a deadline) until it listens.
func startRegistry(t testing.TB, dataDir string, args ...string) *instance {
	t.Helper()
	log := &testutil.SyncBuffer{}
	cmd := exec.Command(registryBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "REGISTRY_LOG_LEVEL=info")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dataDir: dataDir, cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { in.done <- cmd.Wait() }()
	t.Cleanup(func() {
		in.kill()
		if t.Failed() { // the server's side of a failure, for the reader
			l := log.String()
			if len(l) > 16<<10 {
				l = "...\n" + l[len(l)-16<<10:]
			}
			t.Logf("registry log (%s):\n%s", dataDir, l)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := endpointRE.FindStringSubmatch(log.String()); m != nil {
			in.endpoint = m[1]
			return in
		}
		select {
		case err := <-in.done:
			in.done <- err
			t.Fatalf("registry exited before listening: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("registry did not start listening in time:\n%s", log.String())
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		in.done <- err
		return err
	case <-time.After(30 * time.Second):
		in.cmd.Process.Kill()
		return fmt.Errorf("registry did not stop on SIGTERM")
	}
}

// kill sends SIGKILL and reaps the process.
func (in *instance) kill() {
	if in.cmd.ProcessState != nil {
		return
	}
	in.cmd.Process.Kill()
	err := <-in.done
	in.done <- err
}

// awsEnv returns an environment for the aws CLI holding the root
// credentials printed by "registry credentials --env", isolated from the
// user's own aws configuration.
func (in *instance) awsEnv(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command(registryBin, "credentials", "--data-dir", in.dataDir, "--env").Output()
	if err != nil {
		t.Fatalf("registry credentials: %v", err)
	}
	env := isolatedEnv(t)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			t.Fatalf("unexpected credentials line %q", sc.Text())
		}
		k, v, _ := strings.Cut(line, "=")
		env = append(env, k+"="+strings.Trim(v, "'"))
	}
	return env
}

// isolatedEnv is the process environment without AWS_* variables, with a
// private HOME and aws config.
func isolatedEnv(t testing.TB) []string {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_PAGER=")
}

// requireAWS skips when the aws CLI is absent (CI has it).
func requireAWS(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aws CLI not found; CI must have it")
		}
		t.Skip("aws CLI not installed; skipping end-to-end test")
	}
}

// awsResult is one aws CLI invocation.
type awsResult struct {
	out, stderr string
	err         error
}

// json decodes the CLI's JSON output.
func (r awsResult) json(t testing.TB) map[string]any {
	t.Helper()
	if r.err != nil {
		t.Fatalf("aws failed: %v\n%s", r.err, r.stderr)
	}
	var m map[string]any
	if strings.TrimSpace(r.out) == "" {
		return map[string]any{}
	}
	if err := json.Unmarshal([]byte(r.out), &m); err != nil {
		t.Fatalf("aws output is not JSON: %v\n%s", err, r.out)
	}
	return m
}

func runAWS(env []string, args ...string) awsResult {
	cmd := exec.Command("aws", append(args, "--output", "json")...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return awsResult{out.String(), errb.String(), err}
}

// ok runs the aws CLI and fails the test unless it succeeds.
func ok(t testing.TB, env []string, args ...string) map[string]any {
	t.Helper()
	r := runAWS(env, args...)
	if r.err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r.json(t)
}

// fails runs the aws CLI, expects failure, and checks the error code
// appears in its message.
func fails(t testing.TB, env []string, code string, args ...string) string {
	t.Helper()
	r := runAWS(env, args...)
	if r.err == nil {
		t.Fatalf("aws %s: succeeded, want %s\n%s", strings.Join(args, " "), code, r.out)
	}
	if !strings.Contains(r.stderr, code) {
		t.Fatalf("aws %s: want %s, got:\n%s", strings.Join(args, " "), code, r.stderr)
	}
	return r.stderr
}

// dig walks a decoded JSON value by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
