package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// bundles is a BundleSource over zips the tests build, keyed by key.
type bundles struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *bundles) Fetch(_ context.Context, loc S3Location, w io.Writer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	z, ok := b.m[loc.Bucket+"/"+loc.Key]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, loc.Key)
	}
	_, err := w.Write(z)
	return err
}

func (b *bundles) put(key string, files map[string]string) *Revision {
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
	b.mu.Lock()
	b.m["dom/repo/"+key] = buf.Bytes()
	b.mu.Unlock()
	return &Revision{RevisionType: "S3", S3Location: &S3Location{Bucket: "dom/repo", Key: key, BundleType: "zip"}}
}

type harness struct {
	t   *testing.T
	svc *Service
	b   *bundles
	dir string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	b := &bundles{m: map[string][]byte{}}
	svc, err := Open(context.Background(), Options{DataDir: dir, Region: "us-east-1", Account: "123456789012", Bundles: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &harness{t: t, svc: svc, b: b, dir: dir}
}

// fleet registers n instances tagged env=prod and a group over them.
func (h *harness) fleet(n int, config string, rollback *AutoRollback) {
	h.t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("web-%d", i)
		if err := h.svc.RegisterInstance(ctx, name, "", "arn:aws:iam::123456789012:user/root"); err != nil {
			h.t.Fatal(err)
		}
		if err := h.svc.AddTags(ctx, []string{name}, []Tag{{Key: "env", Value: "prod"}}); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := h.svc.CreateApplication(ctx, "shop", ""); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.CreateDeploymentGroup(ctx, Group{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: config,
		OnPremisesInstanceTagFilters: []TagFilter{{Key: "env", Value: "prod", Type: "KEY_AND_VALUE"}}, AutoRollbackConfiguration: rollback}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) deploy(rev *Revision) *Deployment {
	h.t.Helper()
	id, err := h.svc.CreateDeployment(context.Background(), CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: rev})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := h.svc.Wait(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) read(instance, p string) string {
	b, err := os.ReadFile(filepath.Join(h.dir, "instances", instance, "root", p))
	if err != nil {
		return ""
	}
	return string(b)
}

// hookScript records its event and environment in hooks.log.
const hookScript = `#!/bin/sh
echo "$VERSION $LIFECYCLE_EVENT $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_ID $DEPLOYMENT_GROUP_ID$SERVER_SECRET" >> hooks.log
`

func revisionFiles(version, validate string) map[string]string {
	hook := strings.Replace(hookScript, "$VERSION", version, 1)
	return map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: app
    destination: /srv/app
file_exists_behavior: DISALLOW
hooks:
  ApplicationStop: [{location: hooks/record.sh, timeout: 10}]
  BeforeInstall: [{location: hooks/record.sh}]
  AfterInstall: [{location: hooks/record.sh}]
  ApplicationStart: [{location: hooks/record.sh}]
  ValidateService: [{location: hooks/record.sh}, {location: hooks/validate.sh, timeout: 5}]
`,
		"app/version.txt":   version + "\n",
		"app/bin/run":       "run " + version + "\n",
		"hooks/record.sh":   hook,
		"hooks/validate.sh": "#!/bin/sh\n" + validate + "\n",
	}
}

func TestInPlaceHalfAtATime(t *testing.T) {
	t.Setenv("SERVER_SECRET", " leaked") // hooks must not see the server's environment
	h := newHarness(t)
	h.fleet(4, "CodeDeployDefault.HalfAtATime", nil)
	d := h.deploy(h.b.put("ns/app/1/bundle.zip", revisionFiles("v1", "exit 0")))
	if d.Status != StatusSucceeded || d.DeploymentOverview.Succeeded != 4 {
		t.Fatalf("deployment %s: %+v", d.Status, d)
	}
	ctx := context.Background()
	g, err := h.svc.GetDeploymentGroup(ctx, "shop", "prod")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		in := fmt.Sprintf("web-%d", i)
		if got := h.read(in, "srv/app/version.txt"); got != "v1\n" {
			t.Errorf("%s: version.txt %q", in, got)
		}
		want := ""
		for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
			want += fmt.Sprintf("v1 %s shop prod %s %s\n", ev, d.DeploymentID, g.DeploymentGroupID)
		}
		if got := h.read(in, "hooks.log"); got != want {
			t.Errorf("%s: hooks.log\n%s\nwant\n%s", in, got, want)
		}
	}
	ts, err := h.svc.Targets(ctx, d.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		var got []string
		for _, ev := range tg.LifecycleEvents {
			got = append(got, ev.LifecycleEventName+"="+ev.Status)
		}
		want := "ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded"
		if strings.Join(got, " ") != want || tg.Status != StatusSucceeded {
			t.Errorf("%s %s: %s", tg.Instance, tg.Status, strings.Join(got, " "))
		}
	}

	// The second revision stops the first with the first's scripts and
	// replaces its files (DISALLOW does not apply to what the last
	// deployment installed).
	for i := 3; i <= 8; i++ { // more revisions than an instance keeps
		if d := h.deploy(h.b.put(fmt.Sprintf("ns/app/x%d.zip", i), revisionFiles("v1", "exit 0"))); d.Status != StatusSucceeded {
			t.Fatal(d.Status)
		}
	}
	d2 := h.deploy(h.b.put("ns/app/2/bundle.zip", revisionFiles("v2", "exit 0")))
	if revs, _ := filepath.Glob(filepath.Join(h.dir, "instances", "web-1", "deployment-root", g.DeploymentGroupID, "d-*")); len(revs) != maxRevisions {
		t.Errorf("web-1 keeps %d revisions, want %d", len(revs), maxRevisions)
	}
	if d2.Status != StatusSucceeded || d2.PreviousRevision == nil || d2.PreviousRevision.S3Location.Key != "ns/app/x8.zip" {
		t.Fatalf("second deployment %s %+v", d2.Status, d2.PreviousRevision)
	}
	log := h.read("web-3", "hooks.log")
	if !strings.Contains(log, fmt.Sprintf("v1 ApplicationStop shop prod %s", d2.DeploymentID)) || !strings.HasSuffix(log, fmt.Sprintf("v2 ValidateService shop prod %s %s\n", d2.DeploymentID, g.DeploymentGroupID)) {
		t.Errorf("hooks.log after v2:\n%s", log)
	}
	if got := h.read("web-3", "srv/app/version.txt"); got != "v2\n" {
		t.Errorf("version.txt %q", got)
	}
}

func TestFailureRollsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(2, "CodeDeployDefault.OneAtATime", &AutoRollback{Enabled: true, Events: []string{"DEPLOYMENT_FAILURE"}})
	good := h.deploy(h.b.put("ns/app/1/bundle.zip", revisionFiles("v1", "exit 0")))
	if good.Status != StatusSucceeded {
		t.Fatalf("first deployment %s %+v", good.Status, good.ErrorInformation)
	}
	bad := h.deploy(h.b.put("ns/app/2/bundle.zip", revisionFiles("v2", "echo broken >&2; exit 3")))
	if bad.Status != StatusFailed || bad.ErrorInformation == nil || bad.ErrorInformation.Code != "HEALTH_CONSTRAINTS" {
		t.Fatalf("bad deployment %s %+v", bad.Status, bad.ErrorInformation)
	}
	if bad.RollbackInfo == nil || bad.RollbackInfo.RollbackDeploymentID == "" {
		t.Fatalf("no rollback recorded: %+v", bad.RollbackInfo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rb, err := h.svc.Wait(ctx, bad.RollbackInfo.RollbackDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != StatusSucceeded || rb.Creator != "codeDeployRollback" || rb.RollbackInfo.RollbackTriggeringDeploymentID != bad.DeploymentID ||
		rb.Revision.S3Location.Key != "ns/app/1/bundle.zip" {
		t.Fatalf("rollback %s creator %s %+v %+v", rb.Status, rb.Creator, rb.RollbackInfo, rb.Revision)
	}
	// OneAtATime stopped at the first instance: web-1 failed, web-2 skipped.
	ts, _ := h.svc.Targets(context.Background(), bad.DeploymentID)
	if ts[0].Status != StatusFailed || ts[1].Status != StatusSkipped {
		t.Errorf("targets %s %s", ts[0].Status, ts[1].Status)
	}
	var diag *Diagnostics
	for _, ev := range ts[0].LifecycleEvents {
		if ev.LifecycleEventName == "ValidateService" {
			diag = ev.Diagnostics
		}
	}
	if diag == nil || diag.ErrorCode != "ScriptFailed" || diag.ScriptName != "hooks/validate.sh" || !strings.Contains(diag.LogTail, "broken") {
		t.Errorf("ValidateService diagnostics %+v", diag)
	}
	for _, in := range []string{"web-1", "web-2"} {
		if got := h.read(in, "srv/app/version.txt"); got != "v1\n" {
			t.Errorf("%s after rollback: %q", in, got)
		}
	}
	// The last good deployment is now the rollback; a second failure
	// rolls back to its revision again.
	bad2 := h.deploy(h.b.put("ns/app/3/bundle.zip", revisionFiles("v3", "exit 4")))
	if bad2.RollbackInfo == nil || bad2.RollbackInfo.RollbackDeploymentID == "" {
		t.Fatalf("no second rollback: %+v", bad2.RollbackInfo)
	}
	rb2, err := h.svc.Wait(ctx, bad2.RollbackInfo.RollbackDeploymentID)
	if err != nil || rb2.Status != StatusSucceeded || h.read("web-1", "srv/app/version.txt") != "v1\n" {
		t.Fatalf("second rollback %v %+v %+v", err, rb2.Status, rb2.ErrorInformation)
	}
	// Only the last good revision stays unpacked on the server.
	work, _ := os.ReadDir(filepath.Join(h.dir, "deploy-work"))
	if len(work) != 1 || work[0].Name() != good.DeploymentID {
		t.Errorf("deploy-work holds %v, want only %s", work, good.DeploymentID)
	}
}

func TestHookTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "CodeDeployDefault.AllAtOnce", nil)
	files := revisionFiles("v1", "exit 0")
	files["appspec.yml"] = "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: hooks/slow.sh\n      timeout: 1\n"
	files["hooks/slow.sh"] = "#!/bin/sh\nsleep 30\n"
	d := h.deploy(h.b.put("slow.zip", files))
	if d.Status != StatusFailed {
		t.Fatalf("status %s", d.Status)
	}
	tg, err := h.svc.Target(context.Background(), d.DeploymentID, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	ev := tg.LifecycleEvents[2]
	if ev.LifecycleEventName != "BeforeInstall" || ev.Status != StatusFailed || ev.Diagnostics.ErrorCode != "ScriptTimedOut" {
		t.Errorf("BeforeInstall %+v %+v", ev, ev.Diagnostics)
	}
	if tg.LifecycleEvents[3].Status != StatusSkipped {
		t.Errorf("Install after a failure: %s", tg.LifecycleEvents[3].Status)
	}
}

func TestStopWithRollback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "CodeDeployDefault.AllAtOnce", nil)
	if d := h.deploy(h.b.put("v1.zip", revisionFiles("v1", "exit 0"))); d.Status != StatusSucceeded {
		t.Fatal(d.Status)
	}
	files := revisionFiles("v2", "exit 0")
	files["appspec.yml"] = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/block.sh\n      timeout: 120\n"
	files["hooks/block.sh"] = "#!/bin/sh\necho up > started\nsleep 120\n"
	ctx := context.Background()
	id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: h.b.put("v2.zip", files)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: h.b.put("v3.zip", files)}); !errors.Is(err, ErrConflict) {
		t.Errorf("a second active deployment: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.read("web-1", "started") == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the hook's mark
	}
	yes := true
	if err := h.svc.StopDeployment(ctx, id, &yes); err != nil {
		t.Fatal(err)
	}
	d, _ := h.svc.GetDeployment(ctx, id)
	if d.Status != StatusStopped || d.ErrorInformation.Code != "MANUAL_STOP" || d.RollbackInfo == nil {
		t.Fatalf("stopped deployment %s %+v %+v", d.Status, d.ErrorInformation, d.RollbackInfo)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	rb, err := h.svc.Wait(wctx, d.RollbackInfo.RollbackDeploymentID)
	if err != nil || rb.Status != StatusSucceeded {
		t.Fatalf("rollback %v %+v", err, rb)
	}
	if err := h.svc.StopDeployment(ctx, id, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("stopping a finished deployment: %v", err)
	}
}

func TestBadRevisionTouchesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "", nil)
	for name, files := range map[string]map[string]string{
		"zip slip":         {"appspec.yml": "version: 0.0\nos: linux\n", "../../evil.sh": "x"},
		"malformed":        {"appspec.yml": "version: 0.0\nos: linux\nfile: []\n"},
		"no appspec":       {"readme": "x"},
		"missing script":   {"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  AfterInstall: [{location: nothere.sh}]\n"},
		"hook outside":     {"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  AfterInstall: [{location: ../x.sh}]\n"},
		"destination up":   {"appspec.yml": "version: 0.0\nos: linux\nfiles: [{source: a, destination: /../../etc}]\n", "a": "x"},
		"undeclared event": {"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  DownloadBundle: [{location: a.sh}]\n", "a.sh": "x"},
	} {
		_, err := h.svc.CreateDeployment(context.Background(), CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: h.b.put(name+".zip", files)})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
	if _, err := h.svc.CreateDeployment(context.Background(), CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod",
		Revision: &Revision{RevisionType: "S3", S3Location: &S3Location{Bucket: "dom/repo", Key: "nothing.zip"}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing bundle: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(h.dir, "instances", "web-1", "root"))
	if len(entries) != 0 {
		t.Errorf("the instance was touched: %v", entries)
	}
	ids, _ := h.svc.ListDeployments(context.Background(), "shop", "prod", nil)
	if len(ids) != 0 {
		t.Errorf("deployments were recorded: %v", ids)
	}
}

func TestNoInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(0, "", nil)
	d := h.deploy(&Revision{RevisionType: "AppSpecContent", AppSpecContent: &RawString{Content: "version: 0.0\nos: linux\n"}})
	if d.Status != StatusFailed || d.ErrorInformation.Code != "NO_INSTANCES" {
		t.Fatalf("%s %+v", d.Status, d.ErrorInformation)
	}
}

func TestRestartFailsInterrupted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.fleet(1, "", nil)
	files := revisionFiles("v1", "exit 0")
	files["appspec.yml"] = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/block.sh\n"
	files["hooks/block.sh"] = "#!/bin/sh\necho up > started\nsleep 120\n"
	id, err := h.svc.CreateDeployment(context.Background(), CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: h.b.put("v.zip", files)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.read("web-1", "started") == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the hook's mark
	}
	// Simulate a crash: the row says InProgress when the next process opens.
	d, _ := h.svc.GetDeployment(context.Background(), id)
	h.svc.Close()
	d.Status = StatusInProgress
	st, _ := openStore(context.Background(), filepath.Join(h.dir, "deployments.db"))
	st.saveDeployment(context.Background(), d, false)
	st.close()
	svc, err := Open(context.Background(), Options{DataDir: h.dir, Region: "us-east-1", Account: "123456789012", Bundles: h.b})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	d, _ = svc.GetDeployment(context.Background(), id)
	if d.Status != StatusFailed || d.ErrorInformation.Code != "INTERNAL_ERROR" || !strings.Contains(d.ErrorInformation.Message, "restarted") {
		t.Fatalf("%s %+v", d.Status, d.ErrorInformation)
	}
}
