package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// ProcessSpec is instances/<name>/instance.yml: the process the server
// supervises on a local instance.
//
//	start: ./srv/shop/server --port 8081   # run with /bin/sh -c in the instance root
//	health:
//	  url: http://127.0.0.1:8081/healthz   # healthy on a 2xx answer, or
//	  command: test -f srv/shop/ready      # healthy on exit status 0
//	  timeout: 30                          # seconds to become healthy (default 60)
//
// After ApplicationStart's hooks the agent (re)starts the process and
// waits for it to be healthy, failing ApplicationStart if it does not
// become so; ApplicationStop stops it before the stop hooks run. A process
// that exits on its own is restarted with a growing delay.
type ProcessSpec struct {
	Start  string `yaml:"start"`
	Health struct {
		URL     string `yaml:"url,omitempty"`
		Command string `yaml:"command,omitempty"`
		Timeout int    `yaml:"timeout,omitempty"`
	} `yaml:"health,omitempty"`
}

// ProcessFile is the name of the process spec in an instance directory.
const ProcessFile = "instance.yml"

// ParseProcessSpec parses an instance.yml; unknown keys are refused.
func ParseProcessSpec(b []byte) (*ProcessSpec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p ProcessSpec
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, errorf(ErrInvalid, "Instance", "%s: %s", ProcessFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if p.Health.URL != "" && !strings.HasPrefix(p.Health.URL, "http://") && !strings.HasPrefix(p.Health.URL, "https://") {
		return nil, errorf(ErrInvalid, "Instance", "%s: health.url %q is not an http(s) URL", ProcessFile, p.Health.URL)
	}
	if p.Health.Timeout < 0 || p.Health.Timeout > 3600 {
		return nil, errorf(ErrInvalid, "Instance", "%s: health.timeout %d must be 0-3600 seconds", ProcessFile, p.Health.Timeout)
	}
	if p.Start == "" && (p.Health.URL != "" || p.Health.Command != "") {
		return nil, errorf(ErrInvalid, "Instance", "%s: health needs a start command", ProcessFile)
	}
	return &p, nil
}

// supervisor runs the instances' processes. Lock order: supervisor.mu,
// then proc.mu.
type supervisor struct {
	mu    sync.Mutex
	procs map[string]*proc // instance directory -> process
}

type proc struct {
	mu      sync.Mutex
	stop    chan struct{} // closed to stop supervising
	done    chan struct{} // closed when the supervising goroutine ended
	current *exec.Cmd
}

// spec reads dir's instance.yml; nil when there is none or it has no start.
func readProcessSpec(dir string) (*ProcessSpec, error) {
	b, err := os.ReadFile(filepath.Join(dir, ProcessFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := ParseProcessSpec(b)
	if err != nil || p.Start == "" {
		return nil, err
	}
	return p, nil
}

// stopProcess stops the process of the instance in dir, if running:
// SIGTERM to its process group, SIGKILL after 10 s.
func (s *supervisor) stopProcess(dir string) {
	s.mu.Lock()
	p := s.procs[dir]
	delete(s.procs, dir)
	s.mu.Unlock()
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// stopAll stops every process.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	dirs := make([]string, 0, len(s.procs))
	for d := range s.procs {
		dirs = append(dirs, d)
	}
	s.mu.Unlock()
	for _, d := range dirs {
		s.stopProcess(d)
	}
}

// startProcess (re)starts the instance's process with env and waits
// until it is healthy or ctx ends or the health timeout passes.
func (s *supervisor) startProcess(ctx context.Context, dir string, env []string) error {
	spec, err := readProcessSpec(dir)
	if err != nil || spec == nil {
		return err
	}
	s.stopProcess(dir)
	p := &proc{stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.procs == nil {
		s.procs = map[string]*proc{}
	}
	s.procs[dir] = p
	s.mu.Unlock()
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	go p.supervise(spec.Start, filepath.Join(dir, "root"), env, filepath.Join(logDir, "process.log"))
	return waitHealthy(ctx, spec, filepath.Join(dir, "root"), p.done)
}

// resume starts, without waiting for health, the process of every
// instance in instancesDir that has one and a successful install.
func (s *supervisor) resume(instancesDir string) {
	entries, _ := os.ReadDir(instancesDir)
	for _, e := range entries {
		dir := filepath.Join(instancesDir, e.Name())
		if installed, _ := filepath.Glob(filepath.Join(dir, "deployment-root", "*", "last_successful_install")); len(installed) == 0 {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start, do not wait
		s.startProcess(ctx, dir, baseEnv())
	}
}

// supervise runs start until told to stop, restarting it when it exits
// with a delay that doubles up to 30 s.
func (p *proc) supervise(start, root string, env []string, logPath string) {
	defer close(p.done)
	delay := 100 * time.Millisecond
	for {
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		cmd := exec.Command("/bin/sh", "-c", start)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = root, env, logf, logf
		// Its own process group, so stopping reaches its children; killed
		// with the server if the server dies without stopping it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		began := time.Now()
		err = cmd.Start()
		exited := make(chan struct{})
		if err == nil {
			go func() { cmd.Wait(); close(exited) }()
		} else {
			fmt.Fprintf(logf, "supervisor: starting: %v\n", err)
			close(exited)
		}
		select {
		case <-p.stop:
			if err == nil {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
			}
			logf.Close()
			return
		case <-exited:
		}
		fmt.Fprintf(logf, "supervisor: the process exited (%v); restarting in %s\n", cmd.ProcessState, delay)
		logf.Close()
		if time.Since(began) > time.Minute {
			delay = 100 * time.Millisecond
		}
		select {
		case <-p.stop:
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// waitHealthy polls the health check until it passes.
func waitHealthy(ctx context.Context, spec *ProcessSpec, root string, gone <-chan struct{}) error {
	if spec.Health.URL == "" && spec.Health.Command == "" {
		return nil
	}
	timeout := time.Duration(spec.Health.Timeout) * time.Second
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last := errors.New("not checked yet")
	for {
		if last = check(ctx, spec, root); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: ProcessFile,
				Message: fmt.Sprintf("the instance's process did not become healthy within %s: %v", timeout, last)}}
		case <-gone:
			return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: ProcessFile, Message: "the instance's process was stopped"}}
		case <-t.C:
		}
	}
}

func check(ctx context.Context, spec *ProcessSpec, root string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if spec.Health.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.Health.URL, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", spec.Health.URL, resp.Status)
		}
		return nil
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", spec.Health.Command)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("health command: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
