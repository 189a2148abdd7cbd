package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/pipeline"
)

// harness is an engine on a real SQLite file and a real filesystem blob
// store in a temporary directory, with the events it emitted recorded.
type harness struct {
	t      testing.TB
	dir    string
	blobs  blob.Store
	opts   Options
	e      *Engine
	cur    atomic.Pointer[Engine] // e, for goroutines of the engine (builders)
	events *eventLog
}

type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

// states returns "<detail-type short>:<stage>/<action>:<state>" of the
// events of an execution, in order.
func (l *eventLog) states(execID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.evs {
		d := ev.Envelope.Detail
		if d.ExecutionID != execID {
			continue
		}
		kind := strings.Fields(ev.Envelope.DetailType)[1]
		out = append(out, kind+":"+strings.Trim(d.Stage+"/"+d.Action, "/")+":"+d.State)
	}
	return out
}

func newHarness(t testing.TB, mod func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, blobs: blobs, events: &eventLog{}}
	h.opts = Options{DBPath: filepath.Join(dir, "pipelines.db"), Blobs: blobs, Events: h.events.add, Account: "123456789012"}
	if mod != nil {
		mod(&h.opts)
	}
	h.open()
	t.Cleanup(func() { h.e.Close() })
	return h
}

func (h *harness) open() {
	h.t.Helper()
	e, err := Open(context.Background(), h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.e = e
	h.cur.Store(e)
	if err := e.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// restart closes the engine (as a server shutdown does) and opens a new
// one on the same database.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.e.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) create(d pipeline.Declaration) {
	h.t.Helper()
	if _, err := h.e.CreatePipeline(context.Background(), d, nil); err != nil {
		h.t.Fatalf("CreatePipeline: %v", err)
	}
}

func (h *harness) start(name string, vars ...ResolvedVariable) string {
	h.t.Helper()
	id, err := h.e.StartExecution(context.Background(), StartInput{Name: name, Variables: vars, By: "tester"})
	if err != nil {
		h.t.Fatalf("StartExecution: %v", err)
	}
	return id
}

func (h *harness) exec(name, id string) Execution {
	h.t.Helper()
	x, err := h.e.GetExecution(context.Background(), name, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return x
}

// waitFor polls cond until it holds or 20 s pass.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStatus waits until an execution has the status and returns it.
func (h *harness) waitStatus(name, id, status string) Execution {
	h.t.Helper()
	var x Execution
	h.waitFor(fmt.Sprintf("execution %s to be %s", id, status), func() bool {
		x = h.exec(name, id)
		if pipeline.Terminal(x.Status) && x.Status != status {
			h.t.Fatalf("execution %s ended %s (%s), want %s\nactions: %s", id, x.Status, x.Summary, status, h.actionsDump(name, id))
		}
		return x.Status == status
	})
	return x
}

func (h *harness) actionsDump(name, id string) string {
	list, _, _ := h.e.ListActionExecutions(context.Background(), name, ActionFilter{ExecutionID: id}, 0, 100)
	var b strings.Builder
	for _, a := range list {
		fmt.Fprintf(&b, "\n  %s/%s %s %s %s", a.Stage, a.Action, a.Status, a.ErrorCode, a.ErrorMessage)
	}
	return b.String()
}

// action returns the latest run of an action in the pipeline state.
func (h *harness) action(name, stage, action string) *ActionRun {
	h.t.Helper()
	s, err := h.e.GetState(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, st := range s.Stages {
		for _, a := range st.Actions {
			if st.Name == stage && a.Name == action {
				return a.Latest
			}
		}
	}
	h.t.Fatalf("no action %s/%s", stage, action)
	return nil
}

// stageState returns a stage of the pipeline state.
func (h *harness) stageState(name, stage string) StageState {
	h.t.Helper()
	s, err := h.e.GetState(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, st := range s.Stages {
		if st.Name == stage {
			return st
		}
	}
	h.t.Fatalf("no stage %s", stage)
	return StageState{}
}

// waitApproval waits until an execution's approval is open and returns
// its token.
func (h *harness) waitApproval(name, stage, action, execID string) string {
	h.t.Helper()
	var tok string
	h.waitFor("approval "+stage+"/"+action+" of "+execID, func() bool {
		st := h.stageState(name, stage)
		if st.Latest == nil || st.Latest.ExecutionID != execID {
			return false
		}
		for _, a := range st.Actions {
			if a.Name == action && a.Latest != nil {
				tok = a.Latest.Token
			}
		}
		return tok != ""
	})
	return tok
}

func (h *harness) approve(name, stage, action, token, status string) {
	h.t.Helper()
	if _, err := h.e.PutApprovalResult(context.Background(), ApprovalInput{Pipeline: name, Stage: stage, Action: action, Token: token,
		Status: status, Summary: "by test", By: "arn:aws:iam::123456789012:user/tester"}); err != nil {
		h.t.Fatalf("PutApprovalResult: %v", err)
	}
}

// Declaration builders.

func decl(name string, stages ...pipeline.Stage) pipeline.Declaration {
	return pipeline.Declaration{Name: name, RoleArn: "arn:aws:iam::123456789012:role/p", PipelineType: pipeline.TypeV2, Stages: stages}
}

func stage(name string, actions ...pipeline.Action) pipeline.Stage {
	return pipeline.Stage{Name: name, Actions: actions}
}

func localSource(dir, out string) pipeline.Action {
	return pipeline.Action{Name: "Source", ActionTypeID: awsType(pipeline.CategorySource, "LocalDirectory"),
		Configuration: map[string]string{"Path": dir}, OutputArtifacts: []pipeline.OutputArtifact{{Name: out}}}
}

func cmds(name string, runOrder int, in, out []string, commands ...string) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: awsType(pipeline.CategoryInvoke, "Commands"), RunOrder: runOrder, Commands: commands}
	for _, n := range in {
		a.InputArtifacts = append(a.InputArtifacts, pipeline.InputArtifact{Name: n})
	}
	for _, n := range out {
		a.OutputArtifacts = append(a.OutputArtifacts, pipeline.OutputArtifact{Name: n})
	}
	return a
}

func manual(name string) pipeline.Action {
	return pipeline.Action{Name: name, ActionTypeID: awsType(pipeline.CategoryApproval, "Manual")}
}

// srcDir is a source directory with one file.
func srcDir(t testing.TB, content string) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "app.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// gate is a file a Commands action waits for (bounded: 30 s).
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(t.TempDir(), "gate")) }

func (g gate) wait() string {
	return fmt.Sprintf("for i in $(seq 600); do [ -f %s ] && break; sleep 0.05; done; [ -f %s ]", g, g)
}

func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(g), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeClock is a clock whose timers fire when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: time.Now().Add(c.offset + d), f: f}
	if d <= 0 { // already due, as time.AfterFunc: a timer set after Advance passed it
		t.stopped = true
		go f()
	}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock and fires the timers that became due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	now := time.Now().Add(c.offset)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// registry is an in-process stand-in for the registry behind the
// PackageSource and PackagePublisher ports: versions with assets in the
// real blob store.
type registry struct {
	mu       sync.Mutex
	blobs    blob.Store
	versions []registryVersion
}

type registryVersion struct {
	v      PackageVersion
	assets []Asset
}

func (r *registry) add(t testing.TB, v PackageVersion, files map[string]string) {
	t.Helper()
	var assets []Asset
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		put, err := r.blobs.Put(context.Background(), strings.NewReader(files[n]), "")
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, Asset{Name: n, SHA256: put.Hashes.SHA256, Size: put.Size})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.versions = append(r.versions, registryVersion{v, assets})
}

func (r *registry) Latest(_ context.Context, q PackageQuery) (PackageVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := pipeline.PackageFilter{Domain: q.Domain, Repository: q.Repository, Format: q.Format, Namespace: q.Namespace, Name: q.Name, Version: q.Version}
	for i := len(r.versions) - 1; i >= 0; i-- {
		v := r.versions[i].v
		if f.Matches(v.Domain, v.Repository, v.Format, v.Namespace, v.Name, v.Version) {
			return v, nil
		}
	}
	return PackageVersion{}, ErrNoPackageVersion
}

func (r *registry) Assets(_ context.Context, v PackageVersion) ([]Asset, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rv := range r.versions {
		if rv.v.Domain == v.Domain && rv.v.Repository == v.Repository && rv.v.Name == v.Name && rv.v.Namespace == v.Namespace && rv.v.Version == v.Version {
			return rv.assets, nil
		}
	}
	return nil, errors.New("no such package version")
}

func (r *registry) Publish(_ context.Context, p Publication) (PackageVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := PackageVersion{Domain: p.Domain, Repository: p.Repository, Format: p.Format, Namespace: p.Namespace, Name: p.Name, Version: p.Version,
		Revision: fmt.Sprintf("rev-%d", len(r.versions)+1)}
	r.versions = append(r.versions, registryVersion{v, p.Files})
	return v, nil
}

func (r *registry) find(name, version string) (registryVersion, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rv := range r.versions {
		if rv.v.Name == name && rv.v.Version == version {
			return rv, true
		}
	}
	return registryVersion{}, false
}

// shellBuilder is a Builder that runs a project's commands the way the
// Commands provider does: in a workspace holding the primary source, its
// outputs the files matching the project's globs. It forgets its builds
// when the engine restarts, like a builder without durable state.
type shellBuilder struct {
	e        func() *Engine
	projects map[string]shellProject
	mu       sync.Mutex
	builds   map[string]*shellBuild
	started  int
}

type shellProject struct {
	commands []string
	files    []string
}

type shellBuild struct {
	done   chan struct{}
	res    BuildResult
	cancel context.CancelFunc
}

func (b *shellBuilder) StartBuild(ctx context.Context, project string, in BuildInput) (string, error) {
	p, ok := b.projects[project]
	if !ok {
		return "", fmt.Errorf("no project %s", project)
	}
	e := b.e()
	ws, err := os.MkdirTemp(e.opts.WorkDir, "build-*")
	if err != nil {
		return "", err
	}
	if len(in.Sources) > 0 {
		if err := e.unzip(ctx, in.Sources[0].SHA256, ws); err != nil {
			return "", err
		}
	}
	id := project + ":" + newUUID()
	bctx, cancel := context.WithCancel(context.Background())
	sb := &shellBuild{done: make(chan struct{}), cancel: cancel}
	b.mu.Lock()
	if b.builds == nil {
		b.builds = map[string]*shellBuild{}
	}
	b.builds[id] = sb
	b.started++
	b.mu.Unlock()
	go func() {
		defer close(sb.done)
		defer os.RemoveAll(ws)
		env := map[string]string{"CODEBUILD_INITIATOR": in.Initiator}
		for k, v := range in.Env {
			env[k] = v
		}
		log := newTailBuffer(1 << 16)
		if err := runShell(bctx, "", ws, env, commandScript(p.commands, nil, ""), log); err != nil {
			sb.res = BuildResult{Status: "FAILED", Message: err.Error() + ": " + log.String()}
			if bctx.Err() != nil {
				sb.res.Status = "STOPPED"
			}
			return
		}
		sb.res = BuildResult{Status: "SUCCEEDED", ExportedVariables: map[string]string{"BUILD_ID": id}, LogURL: "http://logs/" + id}
		for _, name := range in.Outputs {
			d, n, err := e.zipDir(bctx, ws, p.files)
			if err != nil {
				sb.res = BuildResult{Status: "FAULT", Message: err.Error()}
				return
			}
			sb.res.Outputs = append(sb.res.Outputs, Artifact{Name: name, SHA256: d, Size: n})
		}
	}()
	return id, nil
}

func (b *shellBuilder) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

func (b *shellBuilder) WaitBuild(ctx context.Context, id string) (BuildResult, error) {
	b.mu.Lock()
	sb := b.builds[id]
	b.mu.Unlock()
	if sb == nil {
		return BuildResult{}, fmt.Errorf("build %s: %w", id, ErrUnknownBuild)
	}
	select {
	case <-sb.done:
		return sb.res, nil
	case <-ctx.Done():
		return BuildResult{}, ctx.Err()
	}
}

func (b *shellBuilder) StopBuild(_ context.Context, id string) error {
	b.mu.Lock()
	sb := b.builds[id]
	b.mu.Unlock()
	if sb == nil {
		return fmt.Errorf("build %s: %w", id, ErrUnknownBuild)
	}
	sb.cancel()
	return nil
}

// readArtifact returns the files of an artifact zip.
func (h *harness) readArtifact(digest string) map[string]string {
	h.t.Helper()
	zr, c, err := h.e.openZip(context.Background(), digest)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		b, err := readEntry(f, 1<<20)
		if err != nil {
			h.t.Fatal(err)
		}
		out[f.Name] = string(b)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
