package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InPlaceEvents are the lifecycle events of an in-place deployment
// without a load balancer, in the order the agent runs them.
var InPlaceEvents = []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}

// Lifecycle error codes (LifecycleErrorCode).
const (
	codeScriptMissing  = "ScriptMissing"
	codeScriptFailed   = "ScriptFailed"
	codeScriptTimedOut = "ScriptTimedOut"
	codeUnknown        = "UnknownError"
)

// hookError fails a lifecycle event with diagnostics.
type hookError struct{ diag Diagnostics }

func (e *hookError) Error() string { return e.diag.Message }

// job is the work of one deployment on one instance.
type job struct {
	d       *Deployment
	groupID string
	bundle  string // the unpacked revision shared by the deployment's instances (read-only)
	spec    *AppSpec
	dir     string // instances/<name>
	sup     *supervisor
	// event reports a lifecycle event's status; the runner records it.
	event func(name, status string, diag *Diagnostics)
	// fetch, when set (a remote agent), writes the unpacked revision into
	// the empty directory dst at DownloadBundle instead of copying bundle;
	// spec is then parsed from it.
	fetch func(ctx context.Context, dst string) error
}

func (j *job) deployRoot() string { return filepath.Join(j.dir, "deployment-root", j.groupID) }
func (j *job) root() string       { return filepath.Join(j.dir, "root") }

// run performs the in-place lifecycle; it returns at the first failed
// event, having reported it, and reports the events it did not reach as
// Skipped.
func (j *job) run(ctx context.Context) error {
	steps := map[string]func(context.Context) error{
		"ApplicationStop":  j.applicationStop,
		"DownloadBundle":   j.downloadBundle,
		"BeforeInstall":    func(ctx context.Context) error { return j.hooks(ctx, "BeforeInstall", j.myBundle(), j.spec) },
		"Install":          j.install,
		"AfterInstall":     func(ctx context.Context) error { return j.hooks(ctx, "AfterInstall", j.myBundle(), j.spec) },
		"ApplicationStart": j.applicationStart,
		"ValidateService":  func(ctx context.Context) error { return j.hooks(ctx, "ValidateService", j.myBundle(), j.spec) },
	}
	for i, ev := range InPlaceEvents {
		if ev == "ApplicationStop" {
			j.sup.stopProcess(j.dir)
		}
		if ev == "ApplicationStop" && j.previous() == "" {
			j.event(ev, StatusSkipped, nil)
			continue
		}
		j.event(ev, StatusInProgress, nil)
		err := steps[ev](ctx)
		if err != nil && ev == "ApplicationStop" && j.d.IgnoreApplicationStopFailures {
			err = nil
		}
		if err != nil {
			var he *hookError
			if !errors.As(err, &he) {
				he = &hookError{Diagnostics{ErrorCode: codeUnknown, Message: err.Error()}}
			}
			if ctx.Err() != nil && he.diag.ErrorCode == codeScriptFailed {
				he.diag.Message = "the deployment was stopped"
			}
			j.event(ev, StatusFailed, &he.diag)
			for _, rest := range InPlaceEvents[i+1:] {
				j.event(rest, StatusSkipped, nil)
			}
			return err
		}
		j.event(ev, StatusSucceeded, nil)
	}
	return os.WriteFile(filepath.Join(j.deployRoot(), "last_successful_install"), []byte(j.d.DeploymentID+"\n"), 0o600)
}

// applicationStart runs the ApplicationStart hooks, then (re)starts the
// instance's supervised process and waits for it to be healthy.
func (j *job) applicationStart(ctx context.Context) error {
	if err := j.hooks(ctx, "ApplicationStart", j.myBundle(), j.spec); err != nil {
		return err
	}
	return j.sup.startProcess(ctx, j.dir, append(baseEnv(), j.env("ApplicationStart")...))
}

// baseEnv is the part of the server's environment hook scripts and
// supervised processes inherit: never the server's own settings or
// credentials (REGISTRY_*, AWS_*), only what a shell needs.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TZ", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (j *job) env(event string) []string {
	return []string{
		"APPLICATION_NAME=" + j.d.ApplicationName,
		"DEPLOYMENT_ID=" + j.d.DeploymentID,
		"DEPLOYMENT_GROUP_NAME=" + j.d.DeploymentGroupName,
		"DEPLOYMENT_GROUP_ID=" + j.groupID,
		"LIFECYCLE_EVENT=" + event,
	}
}

func (j *job) myBundle() string { return filepath.Join(j.deployRoot(), j.d.DeploymentID, "bundle") }

// previous is the id of the last deployment of this group that installed
// successfully on the instance, "" if none.
func (j *job) previous() string {
	b, err := os.ReadFile(filepath.Join(j.deployRoot(), "last_successful_install"))
	if err != nil {
		return ""
	}
	id := strings.TrimSpace(string(b))
	if !validID(id) {
		return ""
	}
	return id
}

func (j *job) applicationStop(ctx context.Context) error {
	prev := filepath.Join(j.deployRoot(), j.previous(), "bundle")
	b, err := os.ReadFile(filepath.Join(prev, "appspec.yml"))
	if err != nil {
		return nil // nothing to stop with
	}
	spec, err := ParseAppSpec(b)
	if err != nil {
		return &hookError{Diagnostics{ErrorCode: codeUnknown, Message: "the last successful revision's appspec: " + err.Error()}}
	}
	return j.hooks(ctx, "ApplicationStop", prev, spec)
}

// downloadBundle copies the deployment's unpacked revision to the
// instance (or, on a remote agent, fetches it and parses its appspec).
func (j *job) downloadBundle(ctx context.Context) error {
	dst := j.myBundle()
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if j.fetch == nil {
		return copyTree(j.bundle, dst, func(string, string) (bool, error) { return true, nil })
	}
	if err := j.fetch(ctx, dst); err != nil {
		return &hookError{Diagnostics{ErrorCode: codeUnknown, Message: "downloading the bundle: " + err.Error()}}
	}
	spec, err := checkBundle(dst)
	if err != nil {
		return &hookError{Diagnostics{ErrorCode: codeUnknown, Message: "the downloaded bundle: " + err.Error()}}
	}
	j.spec = spec
	return nil
}

// install removes what the last Install created, copies the files
// sections into the instance root and records what it created.
func (j *job) install(context.Context) error {
	root := j.root()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	cleanup := filepath.Join(j.deployRoot(), "cleanup")
	if b, err := os.ReadFile(cleanup); err == nil {
		for _, rel := range strings.Split(string(b), "\n") {
			if rel == "" {
				continue
			}
			if p, err := safeJoin(root, rel); err == nil {
				os.Remove(p)
			}
		}
	}
	behavior := j.d.FileExistsBehavior
	if behavior == "" {
		behavior = j.spec.FileExistsBehavior
	}
	var created []string
	bundle := j.myBundle()
	for _, m := range j.spec.Files {
		src := filepath.Join(bundle, filepath.FromSlash(strings.TrimPrefix(m.Source, "/")))
		info, err := os.Stat(src)
		if err != nil {
			return &hookError{Diagnostics{ErrorCode: codeUnknown, Message: fmt.Sprintf("files: source %q is not in the bundle", m.Source)}}
		}
		dest := m.Destination
		if !info.IsDir() {
			dest = strings.TrimSuffix(dest, "/") + "/" + filepath.Base(src)
			src = filepath.Dir(src) + string(filepath.Separator) + filepath.Base(src)
		}
		err = copyMapped(src, info.IsDir(), root, dest, func(rel string, target string) (bool, error) {
			if _, err := os.Lstat(target); err == nil {
				switch behavior {
				case "OVERWRITE":
				case "RETAIN":
					return false, nil
				default:
					return false, &hookError{Diagnostics{ErrorCode: codeUnknown, Message: fmt.Sprintf(
						"The deployment failed because a specified file already exists at this location: %s", rel)}}
				}
			}
			created = append(created, rel)
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	for _, p := range j.spec.Permissions {
		if err := applyPermission(root, p); err != nil {
			return err
		}
	}
	return os.WriteFile(cleanup, []byte(strings.Join(created, "\n")+"\n"), 0o600)
}

// copyMapped copies src (a directory's contents, or one file) to the
// absolute destination dest under root, asking keep for each file.
func copyMapped(src string, isDir bool, root, dest string, keep func(rel, target string) (bool, error)) error {
	if !isDir {
		target, err := safeJoin(root, dest)
		if err != nil {
			return err
		}
		if ok, err := keep(dest, target); err != nil || !ok {
			return err
		}
		return copyFile(src, target)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		abs := strings.TrimSuffix(dest, "/") + "/" + filepath.ToSlash(rel)
		if rel == "." {
			abs = dest
		}
		target, err := safeJoin(root, abs)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if ok, err := keep(abs, target); err != nil || !ok {
			return err
		}
		return copyFile(p, target)
	})
}

func copyTree(src, dst string, keep func(rel, target string) (bool, error)) error {
	return copyMapped(src, true, dst, "/", keep)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst) // never write through a link left at the target
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// safeJoin returns root joined with the absolute path p, refusing a
// result outside root, including through a symbolic link that a hook
// left in an existing parent directory.
func safeJoin(root, p string) (string, error) {
	if strings.Contains("/"+p+"/", "/../") || strings.Contains(p, "\x00") {
		return "", &hookError{Diagnostics{ErrorCode: codeUnknown, Message: fmt.Sprintf("path %q leaves the instance", p)}}
	}
	target := filepath.Join(root, filepath.FromSlash(p))
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	dir := target
	for {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			if real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
				return "", &hookError{Diagnostics{ErrorCode: codeUnknown, Message: fmt.Sprintf("path %q leaves the instance through a symbolic link", p)}}
			}
			return target, nil
		}
		if len(dir) <= len(root) {
			return target, nil
		}
		dir = filepath.Dir(dir)
	}
}

// applyPermission sets the mode of the files (and, with type directory,
// directories) under p.Object that match p.Pattern. Owner, group, ACLs
// and SELinux contexts are not applied to local instances.
func applyPermission(root string, p Permission) error {
	if p.Mode == "" {
		return nil
	}
	mode, _ := strconv.ParseUint(p.Mode, 8, 32)
	base, err := safeJoin(root, p.Object)
	if err != nil {
		return err
	}
	want := func(dir bool) bool {
		if len(p.Type) == 0 {
			return true
		}
		for _, t := range p.Type {
			if (t == "directory") == dir {
				return true
			}
		}
		return false
	}
	return filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 || !want(d.IsDir()) {
			return err
		}
		if p.Pattern != "" && p.Pattern != "**" {
			if ok, _ := filepath.Match(p.Pattern, d.Name()); !ok {
				return nil
			}
		}
		for _, e := range p.Except {
			if ok, _ := filepath.Match(e, d.Name()); ok {
				return nil
			}
		}
		return os.Chmod(path, fs.FileMode(mode))
	})
}

// hooks runs the scripts of event from bundle in order.
func (j *job) hooks(ctx context.Context, event, bundle string, spec *AppSpec) error {
	for _, sc := range spec.Hooks[event] {
		if err := j.script(ctx, event, bundle, sc); err != nil {
			return err
		}
	}
	return nil
}

// script runs one hook script with CodeDeploy's environment, in the
// instance's root directory, killing its process group at the timeout.
func (j *job) script(ctx context.Context, event, bundle string, sc Script) error {
	path := filepath.Join(bundle, filepath.FromSlash(sc.Location))
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return &hookError{Diagnostics{ErrorCode: codeScriptMissing, ScriptName: sc.Location, Message: "Script does not exist at specified location: " + sc.Location}}
	}
	timeout := time.Duration(sc.Timeout) * time.Second
	if sc.Timeout == 0 {
		timeout = MaxHookTimeout * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var cmd *exec.Cmd
	if info.Mode().Perm()&0o111 != 0 {
		cmd = exec.Command(path)
	} else {
		cmd = exec.Command("/bin/sh", path)
	}
	if err := os.MkdirAll(j.root(), 0o755); err != nil {
		return err
	}
	cmd.Dir = j.root()
	cmd.Env = append(baseEnv(), j.env(event)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if sc.RunAs != "" {
		if err := runAs(cmd, sc.RunAs); err != nil {
			return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: sc.Location, Message: err.Error()}}
		}
	}
	logDir := filepath.Join(j.deployRoot(), j.d.DeploymentID, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(logDir, "scripts.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	tail := &tailBuffer{max: 2048}
	w := io.MultiWriter(logf, tail)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: sc.Location, Message: err.Error()}}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &hookError{Diagnostics{ErrorCode: codeScriptTimedOut, ScriptName: sc.Location,
				Message: fmt.Sprintf("Script at specified location: %s failed to complete in %d seconds", sc.Location, int(timeout/time.Second)), LogTail: tail.String()}}
		}
		return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: sc.Location, Message: "the deployment was stopped", LogTail: tail.String()}}
	}
	if err != nil {
		return &hookError{Diagnostics{ErrorCode: codeScriptFailed, ScriptName: sc.Location,
			Message: fmt.Sprintf("Script at specified location: %s %s", sc.Location, err), LogTail: tail.String()}}
	}
	return nil
}

// runAs makes cmd run as the named user; only a server running as root
// can switch to another user.
func runAs(cmd *exec.Cmd, name string) error {
	if cur, err := user.Current(); err == nil && cur.Username == name {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("runas %s: the server is not running as root and cannot switch users", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("runas %s: %v", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = bytes.Clone(t.b[len(t.b)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
