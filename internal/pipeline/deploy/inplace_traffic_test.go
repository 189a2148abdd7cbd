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
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

// served is one request an instance's backend answered.
type served struct {
	instance   string
	start, end int64 // UnixNano
	status     int
}

// inPlaceLB has n instances behind an IN_PLACE WITH_TRAFFIC_CONTROL group's
// load balancer. Each instance's backend is an HTTP server that answers
// 503 while the instance's root holds "stopped" (its ApplicationStop hook
// creates it, its ApplicationStart hook removes it), and logs every
// request it serves.
type inPlaceLB struct {
	*harness
	lb  string
	mu  sync.Mutex
	log []served
}

func newInPlaceLB(t *testing.T, n int, config string) *inPlaceLB {
	t.Helper()
	h := &inPlaceLB{harness: newHarness(t), lb: testutil.FreeAddr(t)}
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("web-%d", i)
		if err := h.svc.RegisterInstance(ctx, name, "", "arn:aws:iam::123456789012:user/root"); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.AddTags(ctx, []string{name}, []Tag{{Key: "env", Value: "prod"}}); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(h.dir, "instances", name, "root")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				return
			}
			start := time.Now().UnixNano()
			// A little work, so requests are in flight when traffic is blocked.
			time.Sleep(2 * time.Millisecond)
			status := http.StatusOK
			if _, err := os.Stat(filepath.Join(root, "stopped")); err == nil {
				status = http.StatusServiceUnavailable
			}
			h.mu.Lock()
			h.log = append(h.log, served{instance: name, start: start, end: time.Now().UnixNano(), status: status})
			h.mu.Unlock()
			w.WriteHeader(status)
			io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		spec := "start: exec sleep 300\nhealth:\n  url: " + srv.URL + "/healthz\n  timeout: 20\n"
		if err := os.WriteFile(filepath.Join(h.dir, "instances", name, ProcessFile), []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.CreateApplication(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateDeploymentGroup(ctx, Group{ApplicationName: "shop", DeploymentGroupName: "prod", DeploymentConfigName: config,
		OnPremisesInstanceTagFilters: []TagFilter{{Key: "env", Value: "prod", Type: "KEY_AND_VALUE"}},
		AutoRollbackConfiguration:    &AutoRollback{Enabled: true, Events: []string{"DEPLOYMENT_FAILURE"}},
		DeploymentStyle:              DeploymentStyle{DeploymentType: "IN_PLACE", DeploymentOption: "WITH_TRAFFIC_CONTROL"},
		LoadBalancerInfo:             &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: h.lb}}}}); err != nil {
		t.Fatal(err)
	}
	return h
}

// lbRevision hooks every scriptable event to a script logging
// "<deployment-id> <event> <unix-nanos>" to hooks.log; ApplicationStop
// and ApplicationStart also take the instance down and up.
func lbRevision(version, validate string) map[string]string {
	rec := "#!/bin/sh\necho \"$DEPLOYMENT_ID $LIFECYCLE_EVENT $(date +%s%N)\" >> hooks.log\n"
	return map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: app
    destination: /srv/app
hooks:
  BeforeBlockTraffic: [{location: hooks/record.sh}]
  AfterBlockTraffic: [{location: hooks/record.sh}]
  ApplicationStop: [{location: hooks/record.sh}, {location: hooks/stop.sh}]
  BeforeInstall: [{location: hooks/record.sh}]
  AfterInstall: [{location: hooks/record.sh}]
  ApplicationStart: [{location: hooks/start.sh}, {location: hooks/record.sh}]
  ValidateService: [{location: hooks/record.sh}, {location: hooks/validate.sh}]
  BeforeAllowTraffic: [{location: hooks/record.sh}]
  AfterAllowTraffic: [{location: hooks/record.sh}]
`,
		"app/version.txt":   version + "\n",
		"hooks/record.sh":   rec,
		"hooks/stop.sh":     "#!/bin/sh\ntouch stopped\n",
		"hooks/start.sh":    "#!/bin/sh\nrm -f stopped\n",
		"hooks/validate.sh": "#!/bin/sh\n" + validate + "\n",
	}
}

// hookLog returns instance's hook log lines of deployment id as event
// names and times.
func (h *inPlaceLB) hookLog(instance, id string) (names []string, at map[string]int64) {
	at = map[string]int64{}
	for _, l := range strings.Split(strings.TrimSpace(h.read(instance, "hooks.log")), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != id {
			continue
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			h.t.Fatalf("hooks.log line %q: %v", l, err)
		}
		names = append(names, f[1])
		at[f[1]] = n
	}
	return names, at
}

// load sends requests through the load balancer until stop is closed and
// returns the statuses it got (0 for a transport error).
func (h *inPlaceLB) load(stop <-chan struct{}) <-chan map[int]int {
	out := make(chan map[int]int, 1)
	go func() {
		got := map[int]int{}
		client := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-stop:
				out <- got
				return
			default:
			}
			resp, err := client.Get("http://" + h.lb + "/")
			if err != nil {
				got[0]++
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[resp.StatusCode]++
		}
	}()
	return out
}

func TestInPlaceWithTrafficControl(t *testing.T) {
	h := newInPlaceLB(t, 3, "CodeDeployDefault.OneAtATime")
	ctx := context.Background()
	if h.svc.Proxy("shop", "prod") == nil {
		t.Fatal("no load balancer for the IN_PLACE WITH_TRAFFIC_CONTROL group")
	}
	stop := make(chan struct{})
	results := h.load(stop)
	d1 := h.deploy(h.b.put("v1.zip", lbRevision("v1", "exit 0")))
	d2 := h.deploy(h.b.put("v2.zip", lbRevision("v2", "exit 0")))
	close(stop)
	got := <-results
	if d1.Status != StatusSucceeded || d2.Status != StatusSucceeded {
		t.Fatalf("v1 %s %+v, v2 %s %+v", d1.Status, d1.ErrorInformation, d2.Status, d2.ErrorInformation)
	}
	if len(got) != 1 || got[200] < 10 {
		t.Errorf("requests through the load balancer during the deployments: %v (status: count), want only 200s and at least 10", got)
	}

	want13 := "BeforeBlockTraffic BlockTraffic AfterBlockTraffic ApplicationStop DownloadBundle BeforeInstall Install AfterInstall ApplicationStart ValidateService BeforeAllowTraffic AllowTraffic AfterAllowTraffic"
	wantHooks := "BeforeBlockTraffic AfterBlockTraffic ApplicationStop BeforeInstall AfterInstall ApplicationStart ValidateService BeforeAllowTraffic AfterAllowTraffic"
	type window struct {
		instance string
		from, to int64
	}
	var windows []window
	for _, inst := range []string{"web-1", "web-2", "web-3"} {
		tg, err := h.svc.Target(ctx, d2.DeploymentID, inst)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		var last time.Time
		for _, ev := range tg.LifecycleEvents {
			names = append(names, ev.LifecycleEventName)
			if ev.Status != StatusSucceeded {
				t.Errorf("%s %s: %s", inst, ev.LifecycleEventName, ev.Status)
			}
			if ev.StartTime == nil || ev.EndTime == nil || time.Time(*ev.StartTime).Before(last) {
				t.Errorf("%s: %s has no times or started before the event ahead of it ended", inst, ev.LifecycleEventName)
				continue
			}
			last = time.Time(*ev.EndTime)
		}
		if strings.Join(names, " ") != want13 {
			t.Errorf("%s events:\n%s\nwant\n%s", inst, strings.Join(names, " "), want13)
		}
		hooks, at := h.hookLog(inst, d2.DeploymentID)
		if strings.Join(hooks, " ") != wantHooks {
			t.Errorf("%s hooks ran: %s\nwant %s", inst, strings.Join(hooks, " "), wantHooks)
		}
		windows = append(windows, window{inst, at["AfterBlockTraffic"], at["BeforeAllowTraffic"]})
		// v1 found nothing installed: the old revision's hooks are skipped.
		if hooks, _ := h.hookLog(inst, d1.DeploymentID); strings.Join(hooks, " ") != "BeforeInstall AfterInstall ApplicationStart ValidateService BeforeAllowTraffic AfterAllowTraffic" {
			t.Errorf("%s v1 hooks ran: %s", inst, strings.Join(hooks, " "))
		}
	}
	// No request reached an instance while it was out of traffic, and
	// OneAtATime kept at most one instance out at a time.
	h.mu.Lock()
	defer h.mu.Unlock()
	per := map[string]int{}
	for _, s := range h.log {
		per[s.instance]++
		for _, w := range windows {
			if s.instance == w.instance && s.end > w.from && s.start < w.to {
				t.Errorf("%s served a request (%d..%d) while out of traffic (%d..%d)", s.instance, s.start, s.end, w.from, w.to)
			}
		}
	}
	for i, a := range windows {
		if a.from == 0 || a.to <= a.from {
			t.Errorf("%s: no block window in its hook log (%d..%d)", a.instance, a.from, a.to)
		}
		for _, b := range windows[i+1:] {
			if a.from < b.to && b.from < a.to {
				t.Errorf("%s and %s were out of traffic at once", a.instance, b.instance)
			}
		}
	}
	for _, inst := range []string{"web-1", "web-2", "web-3"} {
		if per[inst] == 0 {
			t.Errorf("%s served no request: %v", inst, per)
		}
	}
}

func TestInPlaceWithTrafficControlFailureStaysOut(t *testing.T) {
	h := newInPlaceLB(t, 3, "CodeDeployDefault.OneAtATime")
	ctx := context.Background()
	if d := h.deploy(h.b.put("v1.zip", lbRevision("v1", "exit 0"))); d.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d.Status, d.ErrorInformation)
	}
	bad := h.deploy(h.b.put("v2.zip", lbRevision("v2", "exit 1")))
	if bad.Status != StatusFailed {
		t.Fatalf("v2 with a failing ValidateService: %s", bad.Status)
	}
	tg, err := h.svc.Target(ctx, bad.DeploymentID, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for _, ev := range tg.LifecycleEvents {
		evs = append(evs, ev.LifecycleEventName+"="+ev.Status)
	}
	want := "BeforeBlockTraffic=Succeeded BlockTraffic=Succeeded AfterBlockTraffic=Succeeded ApplicationStop=Succeeded DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Failed BeforeAllowTraffic=Skipped AllowTraffic=Skipped AfterAllowTraffic=Skipped"
	if strings.Join(evs, " ") != want {
		t.Errorf("failed instance events:\n%s\nwant\n%s", strings.Join(evs, " "), want)
	}
	// The automatic rollback re-runs the lifecycle and brings web-1 back.
	bad, err = h.svc.GetDeployment(ctx, bad.DeploymentID)
	if err != nil || bad.RollbackInfo == nil || bad.RollbackInfo.RollbackDeploymentID == "" {
		t.Fatalf("no rollback: %+v %v", bad, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	rb, err := h.svc.Wait(wctx, bad.RollbackInfo.RollbackDeploymentID)
	if err != nil || rb.Status != StatusSucceeded {
		t.Fatalf("rollback: %+v %v", rb, err)
	}
	if hooks, _ := h.hookLog("web-1", rb.DeploymentID); strings.Join(hooks, " ") != "BeforeBlockTraffic AfterBlockTraffic ApplicationStop BeforeInstall AfterInstall ApplicationStart ValidateService BeforeAllowTraffic AfterAllowTraffic" {
		t.Errorf("rollback hooks on web-1: %s", strings.Join(hooks, " "))
	}
	seen := map[string]bool{}
	for range 30 {
		resp, err := http.Get("http://" + h.lb + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after the rollback: %d %s", resp.StatusCode, b)
		}
		seen[string(b)] = true
	}
	if !seen["web-1"] {
		t.Errorf("web-1 is not back in traffic after the rollback: %v", seen)
	}
}

// TestInPlaceWithTrafficControlFailedInstanceOut checks, without a
// rollback, that an instance that failed after BlockTraffic takes no traffic.
func TestInPlaceWithTrafficControlFailedInstanceOut(t *testing.T) {
	h := newInPlaceLB(t, 2, "CodeDeployDefault.OneAtATime")
	if d := h.deploy(h.b.put("v1.zip", lbRevision("v1", "exit 0"))); d.Status != StatusSucceeded {
		t.Fatalf("v1: %s %+v", d.Status, d.ErrorInformation)
	}
	id, err := h.svc.CreateDeployment(context.Background(), CreateInput{ApplicationName: "shop", DeploymentGroupName: "prod",
		Revision: h.b.put("v2.zip", lbRevision("v2", "exit 1")), AutoRollback: &AutoRollback{Enabled: false}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if d, err := h.svc.Wait(wctx, id); err != nil || d.Status != StatusFailed {
		t.Fatalf("v2: %+v %v", d, err)
	}
	for range 20 {
		resp, err := http.Get("http://" + h.lb + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "web-2" {
			t.Fatalf("with web-1 failed: %d from %s, want 200 from web-2 only", resp.StatusCode, b)
		}
	}
}

func TestInPlaceWithTrafficControlGroupValidation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.svc.CreateApplication(ctx, "shop", "")
	with := DeploymentStyle{DeploymentType: "IN_PLACE", DeploymentOption: "WITH_TRAFFIC_CONTROL"}
	lb := &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: testutil.FreeAddr(t)}}}
	for _, c := range []struct {
		g    Group
		want string
	}{
		{Group{DeploymentStyle: with}, "loadBalancerInfo"},
		{Group{DeploymentStyle: with, LoadBalancerInfo: &LoadBalancerInfo{TargetGroupInfoList: []NamedInfo{{Name: "tg"}}}}, "host:port"},
		{Group{DeploymentStyle: DeploymentStyle{DeploymentType: "IN_PLACE", DeploymentOption: "WITHOUT_TRAFFIC_CONTROL"}, LoadBalancerInfo: lb}, "WITH_TRAFFIC_CONTROL"},
	} {
		c.g.ApplicationName, c.g.DeploymentGroupName = "shop", "g"
		_, err := h.svc.CreateDeploymentGroup(ctx, c.g)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error about %s", c.g, err, c.want)
		}
	}
	g, err := h.svc.CreateDeploymentGroup(ctx, Group{ApplicationName: "shop", DeploymentGroupName: "ok", DeploymentStyle: with, LoadBalancerInfo: lb})
	if err != nil || g.BlueGreen != nil || h.svc.Proxy("shop", "ok") == nil {
		t.Fatalf("IN_PLACE WITH_TRAFFIC_CONTROL group: %+v %v (proxy %v)", g, err, h.svc.Proxy("shop", "ok"))
	}
	if err := h.svc.DeleteDeploymentGroup(ctx, "shop", "ok"); err != nil || h.svc.Proxy("shop", "ok") != nil {
		t.Fatalf("deleting the group left its load balancer: %v", err)
	}
}
