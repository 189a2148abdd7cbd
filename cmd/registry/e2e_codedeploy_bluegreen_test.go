package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

// blueGreenBundle zips a revision whose server (srv/shop/server.py,
// started by the instance's supervised process) answers every GET with
// the version; a version starting "bad" answers 500 except on /healthz.
func blueGreenBundle(t *testing.T, version string) (string, string) {
	t.Helper()
	files := map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: site
    destination: /srv/shop
file_exists_behavior: OVERWRITE
hooks:
  BeforeInstall: [{location: scripts/record.sh, timeout: 30}]
  ValidateService: [{location: scripts/record.sh, timeout: 30}]
  BeforeAllowTraffic: [{location: scripts/record.sh, timeout: 30}]
  AfterAllowTraffic: [{location: scripts/record.sh, timeout: 30}]
  BeforeBlockTraffic: [{location: scripts/record.sh, timeout: 30}]
  AfterBlockTraffic: [{location: scripts/record.sh, timeout: 30}]
`,
		"site/version.txt": version + "\n",
		"site/server.py": `import http.server, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = open(os.path.join(HERE, "version.txt"), "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, code = VERSION, 200
        if VERSION.startswith(b"bad") and self.path != "/healthz":
            body, code = b"broken\n", 500
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`,
		"scripts/record.sh": "#!/bin/sh\necho \"" + version + " $LIFECYCLE_EVENT\" >> hooks.log\n",
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeAsset(t, "bg-"+version+".zip", buf.Bytes())
}

// lbResult is one request through the load balancer.
type lbResult struct {
	at      time.Time
	status  int
	version string
	set     string // X-Deployment-Target
}

// loadGenerator sends requests through the load balancer one after
// another until stopped.
type loadGenerator struct {
	mu      sync.Mutex
	results []lbResult
	stop    chan struct{}
	done    chan struct{}
}

func startLoad(lb string) *loadGenerator {
	g := &loadGenerator{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(g.done)
		for {
			select {
			case <-g.stop:
				return
			default:
			}
			r := lbResult{at: time.Now()}
			resp, err := client.Get("http://" + lb + "/")
			if err != nil {
				r.version = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				r.status, r.version, r.set = resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("X-Deployment-Target")
			}
			g.mu.Lock()
			g.results = append(g.results, r)
			g.mu.Unlock()
		}
	}()
	return g
}

func (g *loadGenerator) finish() []lbResult {
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.results
}

func TestCodeDeployBlueGreenE2E(t *testing.T) {
	requireAWS(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 (the instances' HTTP service) is not installed")
	}
	// A "minute" of traffic routing lasts a second.
	dir := t.TempDir()
	in := startRegistry(t, dir, "--codedeploy-minute", "1s")
	t.Cleanup(func() { in.stop() })
	env := in.awsEnv(t)

	// Two instances of the original (blue) fleet and two of the
	// replacement (green) one.
	for _, n := range []string{"blue-1", "blue-2", "green-1", "green-2"} {
		addr := testutil.FreeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		tags := "env=web"
		if strings.HasPrefix(n, "blue") {
			tags += ",fleet=blue"
		}
		out, err := exec.Command(registryBin, "instance", "register", n, "--tags", tags, "--data-dir", dir,
			"--start", "exec "+python+" srv/shop/server.py "+port,
			"--health-url", "http://"+addr+"/healthz", "--health-timeout", "30").CombinedOutput()
		if err != nil {
			t.Fatalf("registry instance register %s: %v\n%s", n, err, out)
		}
	}
	lb := testutil.FreeAddr(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "releases")
	ok(t, env, "deploy", "create-application", "--application-name", "shop")
	ok(t, env, "deploy", "create-deployment-config", "--deployment-config-name", "Canary25Percent4Minutes",
		"--traffic-routing-config", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":25,"canaryInterval":4}}`)
	cfg := ok(t, env, "deploy", "get-deployment-config", "--deployment-config-name", "Canary25Percent4Minutes")
	if dig(cfg, "deploymentConfigInfo", "trafficRoutingConfig", "timeBasedCanary", "canaryPercentage") != 25.0 {
		t.Fatalf("config %v", cfg)
	}
	ok(t, env, "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "web",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
		"--on-premises-instance-tag-filters", "Key=env,Value=web,Type=KEY_AND_VALUE",
		"--deployment-config-name", "CodeDeployDefault.AllAtOnce",
		"--deployment-style", "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
		"--load-balancer-info", `{"targetGroupInfoList":[{"name":"`+lb+`"}]}`,
		"--blue-green-deployment-configuration", `{"terminateBlueInstancesOnDeploymentSuccess":{"action":"KEEP_ALIVE"},"deploymentReadyOption":{"actionOnTimeout":"CONTINUE_DEPLOYMENT"},"greenFleetProvisioningOption":{"action":"DISCOVER_EXISTING"}}`,
		"--alarm-configuration", `{"enabled":true,"alarms":[{"name":"green:errors>10%/5s#5"}]}`,
		"--auto-rollback-configuration", "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM")
	group := ok(t, env, "deploy", "get-deployment-group", "--application-name", "shop", "--deployment-group-name", "web")
	if dig(group, "deploymentGroupInfo", "deploymentStyle", "deploymentType") != "BLUE_GREEN" ||
		dig(group, "deploymentGroupInfo", "loadBalancerInfo", "targetGroupInfoList", 0, "name") != lb ||
		dig(group, "deploymentGroupInfo", "blueGreenDeploymentConfiguration", "terminateBlueInstancesOnDeploymentSuccess", "action") != "KEEP_ALIVE" {
		t.Fatalf("group %v", group)
	}
	fails(t, env, "InvalidAlarmConfigException", "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "bad",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
		"--deployment-style", "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
		"--load-balancer-info", `{"targetGroupInfoList":[{"name":"`+testutil.FreeAddr(t)+`"}]}`,
		"--alarm-configuration", `{"enabled":true,"alarms":[{"name":"HighCPUUtilization"}]}`)

	deployVersion := func(version string, config ...string) string {
		path, sum := blueGreenBundle(t, version)
		ok(t, env, publishArgs("releases", "shop", version, path, "bundle.zip", sum)...)
		args := []string{"deploy", "create-deployment", "--application-name", "shop", "--deployment-group-name", "web",
			"--s3-location", "bucket=acme/releases,key=tools/shop/" + version + "/bundle.zip,bundleType=zip"}
		d := ok(t, env, append(args, config...)...)
		return d["deploymentId"].(string)
	}
	instances := func(id string) map[string]string {
		out := map[string]string{}
		for _, n := range []string{"blue-1", "blue-2", "green-1", "green-2"} {
			r := runAWS(env, "deploy", "get-deployment-instance", "--deployment-id", id, "--instance-id", n)
			if r.err != nil {
				continue
			}
			var evs []string
			j := r.json(t)
			list, _ := dig(j, "instanceSummary", "lifecycleEvents").([]any)
			for _, ev := range list {
				e := ev.(map[string]any)
				evs = append(evs, fmt.Sprint(e["lifecycleEventName"], "=", e["status"]))
			}
			out[n] = fmt.Sprint(dig(j, "instanceSummary", "instanceType"), " ", strings.Join(evs, " "))
		}
		return out
	}

	// 1. v1 goes to the green fleet all at once and takes all traffic.
	id1 := deployVersion("1.0.0")
	if d := waitDeployment(t, env, id1); d["status"] != "Succeeded" {
		t.Fatalf("v1 deployment %v", d)
	}
	got := instances(id1)
	if got["green-1"] != "Green ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded" ||
		got["blue-1"] != "Blue BeforeBlockTraffic=Skipped BlockTraffic=Succeeded AfterBlockTraffic=Skipped" {
		t.Fatalf("v1 instances %v", got)
	}
	if r, err := http.Get("http://" + lb + "/"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || string(b) != "1.0.0\n" {
			t.Fatalf("after v1 the load balancer answered %d %q", r.StatusCode, b)
		}
	}

	// 2. v2 goes to blue-1 and blue-2 (the replacement fleet now) with a
	// 25% canary for four (scaled) minutes under steady traffic.
	load := startLoad(lb)
	id2 := deployVersion("2.0.0", "--deployment-config-name", "Canary25Percent4Minutes")
	d2 := waitDeployment(t, env, id2)
	results := load.finish()
	if d2["status"] != "Succeeded" {
		t.Fatalf("v2 deployment %v", d2)
	}
	got = instances(id2)
	if !strings.HasPrefix(got["blue-1"], "Green ") || got["green-1"] != "Blue BeforeBlockTraffic=Succeeded BlockTraffic=Succeeded AfterBlockTraffic=Succeeded" {
		t.Fatalf("v2 instances %v", got)
	}
	allow := ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id2, "--instance-id", "blue-1")
	var shiftStart time.Time
	allowEvents, _ := dig(allow, "instanceSummary", "lifecycleEvents").([]any)
	for _, ev := range allowEvents {
		e := ev.(map[string]any)
		if e["lifecycleEventName"] == "AllowTraffic" {
			shiftStart = time.UnixMilli(int64(e["startTime"].(float64) * 1000))
		}
	}
	counts := map[string]int{}
	var canary, canaryNew int
	for _, r := range results {
		counts[fmt.Sprint(r.status, " ", r.version, " ", r.set)]++
		if r.status != 200 {
			t.Errorf("a request failed during the canary deployment: %+v", r)
		}
		// Inside the canary step (with a margin at both ends).
		if r.at.After(shiftStart.Add(500*time.Millisecond)) && r.at.Before(shiftStart.Add(3500*time.Millisecond)) {
			canary++
			if r.version == "2.0.0" {
				canaryNew++
			}
		}
	}
	if counts["200 1.0.0 blue"] == 0 || counts["200 2.0.0 green"] == 0 {
		t.Errorf("traffic during the shift did not reach both versions: %v", counts)
	}
	if canary < 20 {
		t.Errorf("only %d requests in the canary step: %v", canary, counts)
	} else if share := float64(canaryNew) / float64(canary); share < 0.15 || share > 0.35 {
		t.Errorf("the new version's share in the 25%% canary step was %.2f (%d of %d)", share, canaryNew, canary)
	}
	for range 10 {
		r, err := http.Get("http://" + lb + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if string(b) != "2.0.0\n" || r.Header.Get("X-Deployment-Target") != "blue" {
			t.Fatalf("after v2 the load balancer served %q from %s", b, r.Header.Get("X-Deployment-Target"))
		}
	}
	t.Logf("v2 canary: %d requests, %d in the canary step of which %d new; %v", len(results), canary, canaryNew, counts)

	// 3. A bad revision on green-1 and green-2: its 500s fire the alarm,
	// the deployment stops, traffic is back on 2.0.0 and a rollback
	// deployment is recorded.
	load = startLoad(lb)
	id3 := deployVersion("bad-3.0.0", "--deployment-config-name", "Canary25Percent4Minutes")
	d3 := waitDeployment(t, env, id3)
	rbID, _ := dig(d3, "rollbackInfo", "rollbackDeploymentId").(string)
	var rb map[string]any
	if rbID != "" {
		rb = waitDeployment(t, env, rbID)
	}
	after := load.finish()
	if d3["status"] != "Stopped" || dig(d3, "errorInformation", "code") != "ALARM_ACTIVE" {
		t.Fatalf("bad deployment %v", d3)
	}
	if rbID == "" || rb["status"] != "Succeeded" || rb["creator"] != "codeDeployRollback" || dig(rb, "rollbackInfo", "rollbackTriggeringDeploymentId") != id3 ||
		dig(rb, "revision", "s3Location", "key") != "tools/shop/2.0.0/bundle.zip" {
		t.Fatalf("rollback %v of %v", rb, d3)
	}
	counts = map[string]int{}
	for _, r := range after {
		counts[fmt.Sprint(r.status, " ", r.version, " ", r.set)]++
		if r.status != 200 && r.set != "green" {
			t.Errorf("a request outside the canary failed: %+v", r)
		}
	}
	if counts["500 broken green"] == 0 {
		t.Errorf("the bad canary took no traffic: %v", counts)
	}
	for range 20 {
		r, err := http.Get("http://" + lb + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || string(b) != "2.0.0\n" {
			t.Fatalf("after the rollback the load balancer answered %d %q", r.StatusCode, b)
		}
	}
	t.Logf("bad canary: %v", counts)
}
