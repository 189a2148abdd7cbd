package agentnats

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/testutil"
)

// zips is a BundleSource of zips built by the tests, keyed by key.
type zips map[string][]byte

func (z zips) Fetch(_ context.Context, loc deploy.S3Location, w io.Writer) error {
	b, ok := z[loc.Key]
	if !ok {
		return fmt.Errorf("%w: %s", deploy.ErrNotFound, loc.Key)
	}
	_, err := w.Write(b)
	return err
}

func (z zips) put(key string, files map[string]string) *deploy.Revision {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			h.SetMode(0o755)
		}
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(body))
	}
	zw.Close()
	z[key] = buf.Bytes()
	return &deploy.Revision{RevisionType: "S3", S3Location: &deploy.S3Location{Bucket: "dom/repo", Key: key, BundleType: "zip"}}
}

const appspec = `version: 0.0
os: linux
files:
  - source: app
    destination: /srv/app
hooks:
  BeforeInstall:
    - location: hook.sh
  AfterInstall:
    - location: hook.sh
  ApplicationStart:
    - location: hook.sh
  ValidateService:
    - location: slow.sh
      timeout: 60
`

// hook records the event and CodeDeploy's variables.
const hook = `#!/bin/sh
echo "$LIFECYCLE_EVENT $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_ID" >> hooks.log
`

type env struct {
	t        *testing.T
	svc      *deploy.Service
	disp     *Dispatcher
	url      string
	z        zips
	agentDir string
}

func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newEnv(t *testing.T) *env {
	t.Helper()
	url := startNATS(t)
	e := &env{t: t, url: url, z: zips{}, agentDir: t.TempDir()}
	e.disp = &Dispatcher{NC: connect(t, url), Prefix: "registry", Heartbeat: 100 * time.Millisecond, Deadline: time.Second}
	svc, err := deploy.Open(context.Background(), deploy.Options{DataDir: t.TempDir(), Region: "us-east-1", Account: "123456789012", Bundles: e.z, Remote: e.disp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.svc = svc
	e.disp.Register = svc.RegisterAgentInstance
	if err := e.disp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.disp.Close)
	ctx := context.Background()
	if _, err := svc.CreateApplication(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateDeploymentGroup(ctx, deploy.Group{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: "CodeDeployDefault.AllAtOnce",
		OnPremisesInstanceTagFilters: []deploy.TagFilter{{Key: "env", Value: "prod", Type: "KEY_AND_VALUE"}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// agent starts an agent serving web-remote (env=prod) on its own
// connection, which it returns.
func (e *env) agent() (*Agent, *nats.Conn) {
	e.t.Helper()
	nc := connect(e.t, e.url)
	a := &Agent{NC: nc, Prefix: "registry", Name: "edge-1", DataDir: e.agentDir,
		Instances: []Instance{{Name: "web-remote", Tags: []deploy.Tag{{Key: "env", Value: "prod"}}}}}
	if err := a.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(a.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Register(ctx); err != nil {
		e.t.Fatal(err)
	}
	return a, nc
}

func (e *env) deploy(rev *deploy.Revision) string {
	e.t.Helper()
	id, err := e.svc.CreateDeployment(context.Background(), deploy.CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: rev})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) wait(id string) *deploy.Deployment {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := e.svc.Wait(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) target(id, instance string) deploy.Target {
	e.t.Helper()
	tg, err := e.svc.Target(context.Background(), id, instance)
	if err != nil {
		e.t.Fatal(err)
	}
	return tg
}

func TestRemoteAgentDeploys(t *testing.T) {
	e := newEnv(t)
	e.agent()
	in, err := e.svc.GetInstance(context.Background(), "web-remote")
	if err != nil {
		t.Fatal(err)
	}
	if got := deploy.InstanceAgent(in); got != "edge-1" {
		t.Fatalf("instance agent = %q (session arn %q)", got, in.IamSessionArn)
	}
	rev := e.z.put("v1", map[string]string{"appspec.yml": appspec, "hook.sh": hook, "slow.sh": hook, "app/index.html": "v1\n"})
	id := e.deploy(rev)
	d := e.wait(id)
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("status %s %+v", d.Status, d.ErrorInformation)
	}
	root := filepath.Join(e.agentDir, "instances", "web-remote", "root")
	if b, err := os.ReadFile(filepath.Join(root, "srv/app/index.html")); err != nil || string(b) != "v1\n" {
		t.Fatalf("installed file: %q %v", b, err)
	}
	b, err := os.ReadFile(filepath.Join(root, "hooks.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		want += ev + " shop prod " + id + "\n"
	}
	if string(b) != want {
		t.Fatalf("hooks.log:\n%s\nwant:\n%s", b, want)
	}
	tg := e.target(id, "web-remote")
	for _, ev := range tg.LifecycleEvents {
		want := deploy.StatusSucceeded
		if ev.LifecycleEventName == "ApplicationStop" {
			want = deploy.StatusSkipped // no previous revision
		}
		if ev.Status != want {
			t.Errorf("%s: %s, want %s", ev.LifecycleEventName, ev.Status, want)
		}
	}
	// A second deployment runs ApplicationStop from the first revision.
	d = e.wait(e.deploy(e.z.put("v2", map[string]string{"appspec.yml": appspec + "  ApplicationStop:\n    - location: hook.sh\n", "hook.sh": hook, "slow.sh": hook, "app/index.html": "v2\n"})))
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("second: %s %+v", d.Status, d.ErrorInformation)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "srv/app/index.html")); string(b) != "v2\n" {
		t.Fatalf("after v2: %q", b)
	}
}

func TestRemoteAgentGoneFailsInstance(t *testing.T) {
	e := newEnv(t)
	a, nc := e.agent()
	rev := e.z.put("slow", map[string]string{"appspec.yml": appspec, "hook.sh": hook, "app/x": "x",
		"slow.sh": "#!/bin/sh\necho started > slow.started\nsleep 30\n"})
	id := e.deploy(rev)
	started := filepath.Join(e.agentDir, "instances", "web-remote", "root", "slow.started")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow hook never started")
		}
		time.Sleep(20 * time.Millisecond) // polling a file the hook writes
	}
	nc.Close() // the agent's machine drops off the network
	began := time.Now()
	d := e.wait(id)
	if d.Status != deploy.StatusFailed {
		t.Fatalf("status %s", d.Status)
	}
	if waited := time.Since(began); waited > 15*time.Second {
		t.Fatalf("the failure took %s", waited)
	}
	tg := e.target(id, "web-remote")
	if tg.Status != deploy.StatusFailed {
		t.Fatalf("target %s", tg.Status)
	}
	var vs deploy.LifecycleEvent
	for _, ev := range tg.LifecycleEvents {
		if ev.LifecycleEventName == "ValidateService" {
			vs = ev
		}
	}
	if vs.Status != deploy.StatusFailed || vs.Diagnostics == nil || !strings.Contains(vs.Diagnostics.Message, "agent edge-1 stopped responding") {
		t.Fatalf("ValidateService: %+v %+v", vs, vs.Diagnostics)
	}
	a.Close()
}

func TestRemoteAgentNotConnected(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.RegisterAgentInstance(context.Background(), "nobody", "web-remote", []deploy.Tag{{Key: "env", Value: "prod"}}); err != nil {
		t.Fatal(err)
	}
	id := e.deploy(e.z.put("v1", map[string]string{"appspec.yml": appspec, "hook.sh": hook, "slow.sh": hook, "app/x": "x"}))
	if d := e.wait(id); d.Status != deploy.StatusFailed {
		t.Fatalf("status %s", d.Status)
	}
	tg := e.target(id, "web-remote")
	ev := tg.LifecycleEvents[0]
	if ev.Status != deploy.StatusFailed || ev.Diagnostics == nil || !strings.Contains(ev.Diagnostics.Message, "agent nobody is not connected") {
		t.Fatalf("first event: %+v %+v", ev, ev.Diagnostics)
	}
	if last := tg.LifecycleEvents[len(tg.LifecycleEvents)-1]; last.Status != deploy.StatusSkipped {
		t.Fatalf("last event %s", last.Status)
	}
}

func TestStopReachesRemoteAgent(t *testing.T) {
	e := newEnv(t)
	e.agent()
	id := e.deploy(e.z.put("slow", map[string]string{"appspec.yml": appspec, "hook.sh": hook, "app/x": "x",
		"slow.sh": "#!/bin/sh\necho started > slow.started\nsleep 30\n"}))
	started := filepath.Join(e.agentDir, "instances", "web-remote", "root", "slow.started")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow hook never started")
		}
		time.Sleep(20 * time.Millisecond) // polling a file the hook writes
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := false
	if err := e.svc.StopDeployment(ctx, id, &f); err != nil {
		t.Fatal(err)
	}
	d := e.wait(id)
	if d.Status != deploy.StatusStopped {
		t.Fatalf("status %s", d.Status)
	}
	tg := e.target(id, "web-remote")
	for _, ev := range tg.LifecycleEvents {
		if ev.LifecycleEventName == "ValidateService" && (ev.Status != deploy.StatusFailed || ev.Diagnostics == nil || !strings.Contains(ev.Diagnostics.Message, "stopped")) {
			t.Fatalf("ValidateService: %+v %+v", ev, ev.Diagnostics)
		}
	}
}

func TestBlueGreenRefusesRemote(t *testing.T) {
	e := newEnv(t)
	e.agent()
	ctx := context.Background()
	_, err := e.svc.CreateDeploymentGroup(ctx, deploy.Group{ApplicationName: "shop", DeploymentGroupName: "bg",
		DeploymentStyle:              deploy.DeploymentStyle{DeploymentType: "BLUE_GREEN", DeploymentOption: "WITH_TRAFFIC_CONTROL"},
		LoadBalancerInfo:             &deploy.LoadBalancerInfo{TargetGroupInfoList: []deploy.NamedInfo{{Name: testutil.FreeAddr(t)}}},
		OnPremisesInstanceTagFilters: []deploy.TagFilter{{Key: "env", Value: "prod", Type: "KEY_AND_VALUE"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateDeployment(ctx, deploy.CreateInput{ApplicationName: "shop", DeploymentGroupName: "bg",
		Revision: e.z.put("v1", map[string]string{"appspec.yml": appspec, "hook.sh": hook, "slow.sh": hook, "app/x": "x"})})
	if err == nil || !strings.Contains(err.Error(), "remote agent edge-1") {
		t.Fatalf("err = %v", err)
	}
}
