package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/artifactd/registry/internal/pipeline"
)

// commands is the Commands provider: the action's commands run in one
// shell session (so cd and export carry over), in a fresh workspace where
// the first input artifact is extracted (CODEBUILD_SRC_DIR) and the others
// next to it (CODEBUILD_SRC_DIR_<name>). A failing command fails the
// action. Output artifacts keep the files matching their "files" globs
// (all files when absent); outputVariables are read from the shell after
// the last command.
type commands struct{ category string }

var _ Provider = commands{}

func (c commands) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(c.category, "Commands"), MaxInputs: 10, MaxOutputs: 5, Commands: true}
}

func (commands) Run(ctx context.Context, j *Job) (Result, error) {
	root, err := j.Workspace()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(root)
	src := filepath.Join(root, "src")
	env := map[string]string{
		"CODEBUILD_SRC_DIR":   src,
		"CODEBUILD_INITIATOR": "codepipeline/" + j.Pipeline,
		"AWS_REGION":          j.engine.opts.Region, "AWS_DEFAULT_REGION": j.engine.opts.Region,
		"CODEPIPELINE_EXECUTION_ID": j.ExecutionID,
	}
	if err := os.Mkdir(src, 0o755); err != nil {
		return Result{}, err
	}
	for i, in := range j.Inputs {
		dir := src
		if i > 0 {
			dir = filepath.Join(root, "src_"+in.Name)
			env["CODEBUILD_SRC_DIR_"+in.Name] = dir
		}
		if err := j.Extract(ctx, in, dir); err != nil {
			return Result{}, fmt.Errorf("extracting input artifact %s: %w", in.Name, err)
		}
	}
	for k, v := range j.Env {
		env[k] = v
	}
	var secrets []string
	for k, ref := range j.secrets {
		if j.engine.opts.Secrets == nil {
			return Result{}, fmt.Errorf("environment variable %s is a SECRETS_MANAGER reference but no secret store is configured", k)
		}
		v, err := j.engine.opts.Secrets(ctx, ref)
		if err != nil {
			return Result{}, fmt.Errorf("environment variable %s: resolving secret: %w", k, err)
		}
		env[k] = v
		secrets = append(secrets, v)
	}
	varsFile := filepath.Join(root, "output-variables")
	script := commandScript(j.Commands, j.OutputVariables, varsFile)
	log := newTailBuffer(int(j.engine.opts.MaxLogBytes))
	runErr := runShell(ctx, j.engine.opts.Shell, src, env, script, log)
	out := mask(log.String(), secrets)
	if runErr != nil {
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("%v; last output:\n%s", runErr, lastLines(out, 20, 4000))}
	}
	res := Result{Summary: lastLines(out, 10, 2000), ExternalID: "commands:" + j.ActionExecutionID}
	if len(j.OutputVariables) > 0 {
		b, err := os.ReadFile(varsFile)
		if err != nil {
			return Result{}, fmt.Errorf("reading output variables: %w", err)
		}
		res.Variables = map[string]string{}
		for _, kv := range strings.Split(string(b), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				res.Variables[k] = v
			}
		}
	}
	for _, o := range j.Outputs {
		a, err := j.Zip(ctx, o.Name, src, o.Files)
		if err != nil {
			return Result{}, err
		}
		res.Outputs = append(res.Outputs, a)
	}
	return res, nil
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// commandScript is the shell script of a Commands action: stop at the
// first failing command, then write the output variables NUL-separated.
func commandScript(cmds, outputVars []string, varsFile string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, c := range cmds {
		b.WriteString(c)
		b.WriteString("\n")
	}
	if len(outputVars) > 0 {
		b.WriteString("{\n")
		for _, v := range outputVars {
			if shellName.MatchString(v) {
				fmt.Fprintf(&b, "printf '%%s=%%s\\0' %s \"${%s-}\"\n", v, v)
			}
		}
		fmt.Fprintf(&b, "} > %s\n", shellQuote(varsFile))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// runShell runs script with the given shell in dir, its output into out.
// The environment is the server's minus REGISTRY_* and AWS_* (which may
// hold the server's own secrets), plus env. The script runs in its own
// process group, killed as a whole when ctx ends.
func runShell(ctx context.Context, shell, dir string, env map[string]string, script string, out *tailBuffer) error {
	if shell == "" {
		shell = "sh"
		if p, err := exec.LookPath("bash"); err == nil {
			shell = p
		}
	}
	f, err := os.CreateTemp("", "commands-*.sh")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return err
	}
	f.Close()
	cmd := exec.Command(shell, f.Name())
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") && !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
	// Whatever the script left running in its group goes with it.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("command exited with status %d", ee.ExitCode())
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.dropped += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lastLines returns the last n lines of s, at most max bytes.
func lastLines(s string, n, max int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// mask replaces secret values in s.
func mask(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 3 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}
