package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
	"github.com/artifactd/registry/internal/testutil"
)

// blueGreenHarness has four instances, web-1 and web-2 tagged fleet=blue,
// each a supervised placeholder process whose health URL is an HTTP
// server serving the instance's installed srv/app (500 when version.txt
// says "bad"), and a BLUE_GREEN group over them behind the built-in load
// balancer at h.lb.
type blueGreenHarness struct {
	*harness
	lb string
}

func newBlueGreen(t *testing.T, config string, alarms *AlarmConfiguration, bg *BlueGreenConfig) *blueGreenHarness {
	t.Helper()
	dir := t.TempDir()
	b := &bundles{m: map[string][]byte{}}
	svc, err := Open(context.Background(), Options{DataDir: dir, Region: "us-east-1", Account: "123456789012", Bundles: b,
		Minute: 100 * time.Millisecond, AlarmInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	h := &blueGreenHarness{harness: &harness{t: t, svc: svc, b: b, dir: dir}, lb: testutil.FreeAddr(t)}
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("web-%d", i)
		if err := svc.RegisterInstance(ctx, name, "", "arn:aws:iam::123456789012:user/root"); err != nil {
			t.Fatal(err)
		}
		tags := []Tag{{Key: "env", Value: "prod"}}
		if i <= 2 {
			tags = append(tags, Tag{Key: FleetTag, Value: "blue"})
		}
		if err := svc.AddTags(ctx, []string{name}, tags); err != nil {
			t.Fatal(err)
		}
		site := filepath.Join(dir, "instances", name, "root", "srv", "app")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := os.ReadFile(filepath.Join(site, "version.txt"))
			if err == nil && r.URL.Path == "/healthz" {
				return // healthy once installed, even when broken
			}
			if err != nil || strings.Contains(string(b), "bad") {
				http.Error(w, "broken", http.StatusInternalServerError)
				return
			}
			w.Write(b)
		}))
		t.Cleanup(srv.Close)
		spec := "start: echo $$ > pid && exec sleep 300\nhealth:\n  url: " + srv.URL + "/healthz\n  timeout: 20\n"
		if err := os.WriteFile(filepath.Join(dir, "instances", name, ProcessFile), []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateApplication(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateDeploymentGroup(ctx, Group{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: config,
		OnPremisesInstanceTagFilters: []TagFilter{{Key: "env", Value: "prod", Type: "KEY_AND_VALUE"}},
		AutoRollbackConfiguration:    &AutoRollback{Enabled: true, Events: []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}},
		AlarmConfiguration:           alarms, BlueGreen: bg,
		DeploymentStyle:  DeploymentStyle{DeploymentType: "BLUE_GREEN", DeploymentOption: "WITH_TRAFFIC_CONTROL"},
		LoadBalancerInfo: &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: h.lb}}}}); err != nil {
		t.Fatal(err)
	}
	return h
}

// get sends one request through the load balancer.
func (h *blueGreenHarness) get() (status int, body, set string) {
	resp, err := http.Get("http://" + h.lb + "/")
	if err != nil {
		return 0, err.Error(), ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get(traffic.HeaderTarget)
}

func bgRevision(version string) map[string]string {
	files := revisionFiles(version, "exit 0")
	files["appspec.yml"] += `  BeforeAllowTraffic: [{location: hooks/record.sh}]
  AfterAllowTraffic: [{location: hooks/record.sh}]
  BeforeBlockTraffic: [{location: hooks/record.sh}]
  AfterBlockTraffic: [{location: hooks/record.sh}]
`
	return files
}

// events renders a target's lifecycle as "Name=Status ...".
func events(t Target) string {
	var s []string
	for _, ev := range t.LifecycleEvents {
		s = append(s, ev.LifecycleEventName+"="+ev.Status)
	}
	return strings.Join(s, " ")
}

func hookEvents(log string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			out = append(out, f[0]+":"+f[1])
		}
	}
	return strings.Join(out, " ")
}

func (h *blueGreenHarness) fleetOf(name string) string {
	in, err := h.svc.GetInstance(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, tg := range in.Tags {
		if tg.Key == FleetTag {
			return tg.Value
		}
	}
	return ""
}

func TestBlueGreenLifecycle(t *testing.T) {
	t.Parallel()
	h := newBlueGreen(t, "CodeDeployDefault.AllAtOnce", nil, &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "KEEP_ALIVE"}})
	ctx := context.Background()
	if h.svc.Proxy("shop", "prod") == nil {
		t.Fatal("no load balancer for the group")
	}
	// Nothing is installed on the blue fleet yet: it answers 500.
	if st, _, set := h.get(); st != http.StatusInternalServerError || set != "blue" {
		t.Fatalf("before any deployment the load balancer answered %d from %q", st, set)
	}

	d1 := h.deploy(h.b.put("v1.zip", bgRevision("v1")))
	if d1.Status != StatusSucceeded || d1.DeploymentStyle.DeploymentType != "BLUE_GREEN" {
		t.Fatalf("v1: %s %+v", d1.Status, d1.ErrorInformation)
	}
	ts, err := h.svc.Targets(ctx, d1.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range ts {
		got[tg.Instance] = tg.InstanceType + " " + tg.Status + " " + events(tg)
	}
	wantGreen := "Green Succeeded ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded"
	wantBlue := "Blue Succeeded BeforeBlockTraffic=Skipped BlockTraffic=Succeeded AfterBlockTraffic=Skipped"
	for inst, want := range map[string]string{"web-1": wantBlue, "web-2": wantBlue, "web-3": wantGreen, "web-4": wantGreen} {
		if got[inst] != want {
			t.Errorf("%s: %s\nwant %s", inst, got[inst], want)
		}
	}
	if got := hookEvents(h.read("web-3", "hooks.log")); got != "v1:BeforeInstall v1:AfterInstall v1:ApplicationStart v1:ValidateService v1:BeforeAllowTraffic v1:AfterAllowTraffic" {
		t.Errorf("web-3 hooks: %s", got)
	}
	if h.read("web-1", "hooks.log") != "" {
		t.Errorf("web-1 ran hooks: %s", h.read("web-1", "hooks.log"))
	}
	// Green is the new blue: tags swapped, the proxy serves v1.
	for inst, want := range map[string]string{"web-1": "green", "web-2": "green", "web-3": "blue", "web-4": "blue"} {
		if got := h.fleetOf(inst); got != want {
			t.Errorf("%s is in fleet %q, want %q", inst, got, want)
		}
	}
	for range 4 {
		if st, body, set := h.get(); st != 200 || body != "v1" || set != "blue" {
			t.Fatalf("after v1: %d %q %s", st, body, set)
		}
	}

	// v2 goes to web-1 and web-2; web-3 and web-4 run v1's block-traffic
	// hooks, after v2 took the traffic.
	d2 := h.deploy(h.b.put("v2.zip", bgRevision("v2")))
	if d2.Status != StatusSucceeded {
		t.Fatalf("v2: %s %+v", d2.Status, d2.ErrorInformation)
	}
	if got := hookEvents(h.read("web-3", "hooks.log")); !strings.HasSuffix(got, "v1:AfterAllowTraffic v1:BeforeBlockTraffic v1:AfterBlockTraffic") {
		t.Errorf("web-3 hooks after v2: %s", got)
	}
	if got := hookEvents(h.read("web-1", "hooks.log")); got != "v2:BeforeInstall v2:AfterInstall v2:ApplicationStart v2:ValidateService v2:BeforeAllowTraffic v2:AfterAllowTraffic" {
		t.Errorf("web-1 hooks: %s", got)
	}
	g1, _ := h.svc.Target(ctx, d2.DeploymentID, "web-1")
	b3, _ := h.svc.Target(ctx, d2.DeploymentID, "web-3")
	allowEnd := g1.LifecycleEvents[len(g1.LifecycleEvents)-1].EndTime.Time()
	blockStart := b3.LifecycleEvents[0].StartTime.Time()
	if blockStart.Before(allowEnd) || b3.InstanceType != "Blue" || g1.InstanceType != "Green" {
		t.Errorf("BeforeBlockTraffic on web-3 started %v, before AfterAllowTraffic on web-1 ended %v", blockStart, allowEnd)
	}
	for range 4 {
		if st, body, _ := h.get(); st != 200 || body != "v2" {
			t.Fatalf("after v2: %d %q", st, body)
		}
	}
}

func TestBlueGreenAlarmRollsBack(t *testing.T) {
	t.Parallel()
	alarms := &AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: "green:errors>20%/5s#3"}}}
	h := newBlueGreen(t, "", alarms, &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "KEEP_ALIVE"}})
	ctx := context.Background()
	if _, err := h.svc.CreateDeploymentConfig(ctx, Config{DeploymentConfigName: "Canary50",
		TrafficRoutingConfig: []byte(`{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":50,"canaryInterval":600}}`)}); err != nil {
		t.Fatal(err)
	}
	// The first deployment uses AllAtOnce routing (the group's config).
	g, _ := h.svc.GetDeploymentGroup(ctx, "shop", "prod")
	if g.DeploymentConfigName != DefaultConfig {
		t.Fatalf("group config %s", g.DeploymentConfigName)
	}
	d1 := h.deploy(h.b.put("v1.zip", bgRevision("v1")))
	if d1.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d1.Status, d1.ErrorInformation)
	}

	// Steady traffic through the load balancer while the bad revision
	// takes half of it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, body, set := h.get()
			mu.Lock()
			seen[fmt.Sprint(st, " ", body, " ", set)]++
			mu.Unlock()
		}
	}()
	id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: "Canary50",
		Revision: h.b.put("bad.zip", bgRevision("bad"))})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d2, err := h.svc.Wait(wctx, id)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d2.Status != StatusStopped || d2.ErrorInformation == nil || d2.ErrorInformation.Code != "ALARM_ACTIVE" ||
		!strings.Contains(d2.ErrorInformation.Message, "green:errors>20%/5s#3") {
		t.Fatalf("bad deployment: %s %+v", d2.Status, d2.ErrorInformation)
	}
	if seen["500 broken green"] == 0 {
		t.Errorf("the canary took no traffic before the alarm: %v", seen)
	}
	if d2.RollbackInfo == nil || d2.RollbackInfo.RollbackDeploymentID == "" {
		t.Fatalf("no rollback: %+v", d2.RollbackInfo)
	}
	rb, err := h.svc.Wait(wctx, d2.RollbackInfo.RollbackDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != StatusSucceeded || rb.Creator != "codeDeployRollback" || rb.RollbackInfo.RollbackTriggeringDeploymentID != id ||
		rb.Revision.S3Location.Key != "v1.zip" {
		t.Fatalf("rollback %+v %+v", rb, rb.RollbackInfo)
	}
	ts, _ := h.svc.Targets(ctx, rb.DeploymentID)
	if len(ts) != 2 || ts[0].Instance != "web-3" || ts[1].Instance != "web-4" {
		t.Errorf("rollback targets %+v", ts)
	}
	// All traffic is back on v1; the fleets are unchanged.
	for range 20 {
		if st, body, set := h.get(); st != 200 || body != "v1" || set != "blue" {
			t.Fatalf("after the rollback: %d %q %s", st, body, set)
		}
	}
	if h.fleetOf("web-3") != "blue" || h.fleetOf("web-1") != "green" {
		t.Errorf("fleets changed: web-3 %s web-1 %s", h.fleetOf("web-3"), h.fleetOf("web-1"))
	}
	g1, _ := h.svc.Target(ctx, id, "web-1")
	if !strings.Contains(events(g1), "AllowTraffic=Failed") {
		t.Errorf("web-1 of the stopped deployment: %s", events(g1))
	}
}

func TestBlueGreenReadyWaitsForContinue(t *testing.T) {
	t.Parallel()
	h := newBlueGreen(t, "", nil, &BlueGreenConfig{DeploymentReadyOption: &ReadyOption{ActionOnTimeout: "STOP_DEPLOYMENT", WaitTimeInMinutes: 600}})
	ctx := context.Background()
	id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", Revision: h.b.put("v1.zip", bgRevision("v1"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.ContinueDeployment(ctx, "d-AAAAAAAAA"); err == nil {
		t.Error("continuing an unknown deployment succeeded")
	}
	waitFor(t, "the Ready state", func() bool {
		d, err := h.svc.GetDeployment(ctx, id)
		return err == nil && d.Status == StatusReady
	})
	// Ready: the replacement is installed, traffic has not moved.
	if st, _, set := h.get(); st != http.StatusInternalServerError || set != "blue" {
		t.Errorf("traffic moved before ContinueDeployment: %d from %q", st, set)
	}
	if err := h.svc.ContinueDeployment(ctx, id); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d, err := h.svc.Wait(wctx, id)
	if err != nil || d.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, d)
	}
	if err := h.svc.ContinueDeployment(ctx, id); err == nil {
		t.Error("continuing a completed deployment succeeded")
	}
	if st, body, _ := h.get(); st != 200 || body != "v1" {
		t.Errorf("after continuing: %d %q", st, body)
	}
}

func TestBlueGreenGroupValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.svc.CreateApplication(ctx, "shop", "")
	bg := DeploymentStyle{DeploymentType: "BLUE_GREEN", DeploymentOption: "WITH_TRAFFIC_CONTROL"}
	lb := &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: testutil.FreeAddr(t)}}}
	for _, c := range []struct {
		g    Group
		want string
	}{
		{Group{DeploymentStyle: bg}, "loadBalancerInfo"},
		{Group{DeploymentStyle: bg, LoadBalancerInfo: &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: "my-target-group"}}}}, "host:port"},
		{Group{DeploymentStyle: DeploymentStyle{DeploymentType: "BLUE_GREEN", DeploymentOption: "WITHOUT_TRAFFIC_CONTROL"}, LoadBalancerInfo: lb}, "WITH_TRAFFIC_CONTROL"},
		{Group{DeploymentStyle: bg, LoadBalancerInfo: lb, BlueGreen: &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "EXPLODE"}}}, "TERMINATE or KEEP_ALIVE"},
		{Group{DeploymentStyle: bg, LoadBalancerInfo: lb, AlarmConfiguration: &AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: "HighCPU"}}}}, "errors>5%/60s"},
		{Group{AlarmConfiguration: &AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: "errors>5%/60s"}}}}, "BLUE_GREEN"},
	} {
		c.g.ApplicationName, c.g.DeploymentGroupName = "shop", "g"
		_, err := h.svc.CreateDeploymentGroup(ctx, c.g)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error about %s", c.g, err, c.want)
		}
	}
	if _, err := h.svc.CreateDeploymentConfig(ctx, Config{DeploymentConfigName: "bad", TrafficRoutingConfig: []byte(`{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":0,"linearInterval":1}}`)}); err == nil {
		t.Error("a linear config of 0% was accepted")
	}
}

func TestBlueGreenTerminatesOriginal(t *testing.T) {
	t.Parallel()
	h := newBlueGreen(t, "", nil, &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "TERMINATE", TerminationWaitTimeInMinutes: 1}})
	pid := func(inst string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(h.read(inst, "pid")))
		return n
	}
	if d := h.deploy(h.b.put("v1.zip", bgRevision("v1"))); d.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d.Status, d.ErrorInformation)
	}
	p3 := pid("web-3")
	if !alive(p3) {
		t.Fatalf("web-3's process %d is not running", p3)
	}
	if d := h.deploy(h.b.put("v2.zip", bgRevision("v2"))); d.Status != StatusSucceeded {
		t.Fatalf("v2: %s %+v", d.Status, d.ErrorInformation)
	}
	// web-3 was blue for v2: its process ends a (scaled) minute later,
	// while web-1's, the new blue, runs on.
	waitFor(t, "the original instance's process to be terminated", func() bool { return !alive(p3) })
	if !alive(pid("web-1")) {
		t.Errorf("the new original instance's process %d is not running", pid("web-1"))
	}
}

func TestBlueGreenRestartPutsTrafficOnBlue(t *testing.T) {
	t.Parallel()
	h := newBlueGreen(t, "", nil, &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "KEEP_ALIVE"}})
	ctx := context.Background()
	if d := h.deploy(h.b.put("v1.zip", bgRevision("v1"))); d.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d.Status, d.ErrorInformation)
	}
	if _, err := h.svc.CreateDeploymentConfig(ctx, Config{DeploymentConfigName: "Linear50",
		TrafficRoutingConfig: []byte(`{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":50,"linearInterval":600}}`)}); err != nil {
		t.Fatal(err)
	}
	id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: "Linear50",
		Revision: h.b.put("v2.zip", bgRevision("v2"))})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "half the traffic on v2", func() bool { return h.svc.Proxy("shop", "prod").Weight() == 50 })
	h.svc.Close()
	svc, err := Open(ctx, Options{DataDir: h.dir, Region: "us-east-1", Account: "123456789012", Bundles: h.b})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	d, _ := svc.GetDeployment(ctx, id)
	if d.Status != StatusFailed || d.ErrorInformation.Code != "INTERNAL_ERROR" {
		t.Fatalf("interrupted deployment: %s %+v", d.Status, d.ErrorInformation)
	}
	for range 10 {
		if st, body, set := h.get(); st != 200 || body != "v1" || set != "blue" {
			t.Fatalf("after the restart the load balancer answered %d %q from %s", st, body, set)
		}
	}
}

func TestBlueGreenStopRollsTrafficBack(t *testing.T) {
	t.Parallel()
	h := newBlueGreen(t, "", nil, &BlueGreenConfig{TerminateBlueInstancesOnDeploymentSuccess: &BlueTerminate{Action: "KEEP_ALIVE"}})
	ctx := context.Background()
	if d := h.deploy(h.b.put("v1.zip", bgRevision("v1"))); d.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d.Status, d.ErrorInformation)
	}
	id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: "CodeDeployDefault.HalfAtATime",
		Revision: h.b.put("v2.zip", bgRevision("v2"))})
	if err != nil {
		t.Fatal(err)
	}
	// HalfAtATime has no traffic routing: traffic moved all at once.
	// Stop the next deployment mid-canary.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if d, err := h.svc.Wait(wctx, id); err != nil || d.Status != StatusSucceeded {
		t.Fatalf("v2: %v %+v", err, d)
	}
	if _, err := h.svc.CreateDeploymentConfig(ctx, Config{DeploymentConfigName: "Canary10",
		TrafficRoutingConfig: []byte(`{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":600}}`)}); err != nil {
		t.Fatal(err)
	}
	id3, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: "Canary10",
		Revision: h.b.put("v3.zip", bgRevision("v3"))})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the canary", func() bool { return h.svc.Proxy("shop", "prod").Weight() == 10 })
	yes := true
	if err := h.svc.StopDeployment(ctx, id3, &yes); err != nil {
		t.Fatal(err)
	}
	d3, _ := h.svc.GetDeployment(ctx, id3)
	if d3.Status != StatusStopped || d3.ErrorInformation.Code != "MANUAL_STOP" || d3.RollbackInfo == nil {
		t.Fatalf("stopped deployment: %s %+v %+v", d3.Status, d3.ErrorInformation, d3.RollbackInfo)
	}
	rb, err := h.svc.Wait(wctx, d3.RollbackInfo.RollbackDeploymentID)
	if err != nil || rb.Status != StatusSucceeded || rb.Revision.S3Location.Key != "v2.zip" {
		t.Fatalf("rollback %v %+v", err, rb)
	}
	for range 20 {
		if st, body, set := h.get(); st != 200 || body != "v2" || set != "blue" {
			t.Fatalf("after the stop the load balancer answered %d %q from %s", st, body, set)
		}
	}
}

func TestInPlaceHealthAlarmStopsAndRollsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc.opt.AlarmInterval = 20 * time.Millisecond
	var down atomic.Bool // the watched service
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(probe.Close)
	ctx := context.Background()
	h.fleet(2, "CodeDeployDefault.OneAtATime", &AutoRollback{Enabled: true, Events: []string{"DEPLOYMENT_STOP_ON_ALARM"}})
	g, _ := h.svc.GetDeploymentGroup(ctx, "shop", "prod")
	if _, err := h.svc.CreateDeploymentGroup(ctx, Group{ApplicationName: "shop", DeploymentGroupName: "watched", OnPremisesInstanceTagFilters: g.OnPremisesInstanceTagFilters,
		AutoRollbackConfiguration: g.AutoRollbackConfiguration, DeploymentConfigName: "CodeDeployDefault.OneAtATime",
		AlarmConfiguration: &AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: "health:" + probe.URL + "/healthz#2"}}}}); err != nil {
		t.Fatal(err)
	}
	deploy := func(rev *Revision) string {
		id, err := h.svc.CreateDeployment(ctx, CreateInput{ApplicationName: "shop", DeploymentGroupName: "watched", Revision: rev})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d1, err := h.svc.Wait(wctx, deploy(h.b.put("v1.zip", revisionFiles("v1", "exit 0"))))
	if err != nil || d1.Status != StatusSucceeded {
		t.Fatalf("v1: %v %+v", err, d1)
	}
	// v2's AfterInstall waits; meanwhile the watched service goes down.
	files := revisionFiles("v2", "exit 0")
	files["appspec.yml"] = strings.Replace(files["appspec.yml"], "AfterInstall: [{location: hooks/record.sh}]", "AfterInstall: [{location: hooks/wait.sh, timeout: 60}]", 1)
	files["hooks/wait.sh"] = "#!/bin/sh\necho up > waiting\nsleep 60\n"
	id := deploy(h.b.put("v2.zip", files))
	waitFor(t, "v2's AfterInstall", func() bool { return h.read("web-1", "waiting") != "" })
	down.Store(true)
	d2, err := h.svc.Wait(wctx, id)
	if err != nil || d2.Status != StatusStopped || d2.ErrorInformation.Code != "ALARM_ACTIVE" || d2.RollbackInfo == nil {
		t.Fatalf("v2: %v %s %+v %+v", err, d2.Status, d2.ErrorInformation, d2.RollbackInfo)
	}
	rb, err := h.svc.Wait(wctx, d2.RollbackInfo.RollbackDeploymentID)
	if err != nil || rb.Status != StatusSucceeded || rb.Creator != "codeDeployRollback" {
		t.Fatalf("rollback: %v %+v", err, rb)
	}
	if got := h.read("web-1", "srv/app/version.txt"); got != "v1\n" {
		t.Errorf("web-1 after the rollback: %q", got)
	}
}
