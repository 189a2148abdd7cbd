package build

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
)

// fakeSecrets is an in-memory secret store.
type fakeSecrets struct {
	params  map[string]string
	secrets map[string]string
}

func (f fakeSecrets) ParameterValue(_ context.Context, name string) (string, error) {
	v, ok := f.params[name]
	if !ok {
		return "", fmt.Errorf("parameter %s not found", name)
	}
	return v, nil
}

func (f fakeSecrets) SecretString(_ context.Context, id, stage, version string) (string, error) {
	v, ok := f.secrets[id]
	if !ok {
		return "", fmt.Errorf("secret %s not found", id)
	}
	return v, nil
}

// eventLog collects the events a service emits.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e.(Event))
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

type harness struct {
	t      *testing.T
	dir    string
	blobs  blob.Store
	svc    *Service
	events *eventLog
	cfg    Config
}

var testSecrets = fakeSecrets{
	params:  map[string]string{"/app/token": "tok-3f9a8b7c6d", "/app/plain": "plain-value"},
	secrets: map[string]string{"db": `{"password":"hunter2-pw-xyz","user":"app"}`, "raw": "raw-secret-value"},
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobfs.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, blobs: blobs, events: &eventLog{}}
	h.cfg = Config{DataDir: dir, Blobs: blobs, Secrets: testSecrets, Region: "us-east-1", Account: "123456789012",
		BaseURL: "http://registry.test", Events: h.events.add, MaxConcurrent: 4}
	if mod != nil {
		mod(&h.cfg)
	}
	h.open()
	t.Cleanup(func() {
		if h.svc != nil {
			h.svc.Close()
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	svc, err := Open(context.Background(), h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.svc.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func testProject(name, spec string) Project {
	return Project{Name: name, Source: Source{Type: SourceNoSource, Buildspec: spec}, Artifacts: ArtifactsConfig{Type: ArtifactsNone},
		Environment: Environment{Type: "LINUX_CONTAINER", Image: "local", ComputeType: "BUILD_GENERAL1_SMALL"}, ServiceRole: "local"}
}

func (h *harness) project(p Project) {
	h.t.Helper()
	if _, err := h.svc.CreateProject(context.Background(), p); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) start(req StartRequest) Build {
	h.t.Helper()
	b, err := h.svc.StartBuild(context.Background(), req)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) wait(id string) Build {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := h.svc.Wait(ctx, id)
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", id, err)
	}
	return b
}

// run starts a build of a project made of spec and waits for it.
func (h *harness) run(name, spec string) Build {
	h.t.Helper()
	h.project(testProject(name, spec))
	return h.wait(h.start(StartRequest{Project: name, Initiator: "tester"}).ID)
}

func (h *harness) log(b Build) string {
	h.t.Helper()
	var buf bytes.Buffer
	if err := h.svc.FollowLog(context.Background(), b.ID, &buf, nil); err != nil {
		h.t.Fatal(err)
	}
	return buf.String()
}

// phases renders a build's phases as "TYPE:STATUS" (COMPLETED without).
func phases(b Build) string {
	var out []string
	for _, p := range b.Phases {
		if p.Status == "" {
			out = append(out, string(p.Type))
		} else {
			out = append(out, string(p.Type)+":"+string(p.Status))
		}
	}
	return strings.Join(out, " ")
}

// zipFiles returns name -> content of a zip in the blob store.
func (h *harness) zipFiles(digest string) map[string]string {
	h.t.Helper()
	rc, info, err := h.blobs.Open(context.Background(), digest)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	zr, err := zip.NewReader(bytes.NewReader(data), info.Size)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		out[f.Name] = string(b)
	}
	return out
}

// putZip stores a zip of files in the blob store and returns its digest.
func (h *harness) putZip(files map[string]string) string {
	h.t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, _ := zw.Create(n)
		io.WriteString(w, files[n])
	}
	zw.Close()
	p, err := h.blobs.Put(context.Background(), &buf, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Hashes.SHA256
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 20*time.Second, path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &pid)
		return err == nil
	})
	return pid
}
