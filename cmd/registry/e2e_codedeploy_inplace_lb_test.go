package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/testutil"
)

// TestCodeDeployInPlaceLBE2E: an IN_PLACE WITH_TRAFFIC_CONTROL group of
// two instances behind the built-in load balancer, deployed OneAtATime
// with the real aws CLI under steady traffic: every request succeeds
// although each instance's server is stopped and restarted, because the
// instance is out of the load balancer from BlockTraffic to AllowTraffic.
func TestCodeDeployInPlaceLBE2E(t *testing.T) {
	requireAWS(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 (the instances' HTTP service) is not installed")
	}
	dir := t.TempDir()
	in := startRegistry(t, dir)
	t.Cleanup(func() { in.stop() })
	env := in.awsEnv(t)

	names := []string{"web-1", "web-2"}
	for _, n := range names {
		addr := testutil.FreeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		out, err := exec.Command(registryBin, "instance", "register", n, "--tags", "env=web", "--data-dir", dir,
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
	fails(t, env, "InvalidLoadBalancerInfoException", "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "nolb",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
		"--deployment-style", "deploymentType=IN_PLACE,deploymentOption=WITH_TRAFFIC_CONTROL")
	ok(t, env, "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "web",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
		"--on-premises-instance-tag-filters", "Key=env,Value=web,Type=KEY_AND_VALUE",
		"--deployment-config-name", "CodeDeployDefault.OneAtATime",
		"--deployment-style", "deploymentType=IN_PLACE,deploymentOption=WITH_TRAFFIC_CONTROL",
		"--load-balancer-info", `{"targetGroupInfoList":[{"name":"`+lb+`"}]}`)
	group := ok(t, env, "deploy", "get-deployment-group", "--application-name", "shop", "--deployment-group-name", "web")
	if dig(group, "deploymentGroupInfo", "deploymentStyle", "deploymentOption") != "WITH_TRAFFIC_CONTROL" ||
		dig(group, "deploymentGroupInfo", "loadBalancerInfo", "targetGroupInfoList", 0, "name") != lb {
		t.Fatalf("group %v", group)
	}

	deployVersion := func(version string) string {
		path, sum := blueGreenBundle(t, version)
		ok(t, env, publishArgs("releases", "shop", version, path, "bundle.zip", sum)...)
		d := ok(t, env, "deploy", "create-deployment", "--application-name", "shop", "--deployment-group-name", "web",
			"--s3-location", "bucket=acme/releases,key=tools/shop/"+version+"/bundle.zip,bundleType=zip")
		return d["deploymentId"].(string)
	}
	lifecycle := func(id, n string) string {
		j := ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id, "--instance-id", n)
		var evs []string
		list, _ := dig(j, "instanceSummary", "lifecycleEvents").([]any)
		for _, ev := range list {
			e := ev.(map[string]any)
			evs = append(evs, fmt.Sprint(e["lifecycleEventName"], "=", e["status"]))
		}
		return strings.Join(evs, " ")
	}

	// 1. v1: nothing was installed, so nothing served yet.
	id1 := deployVersion("1.0.0")
	if d := waitDeployment(t, env, id1); d["status"] != "Succeeded" {
		t.Fatalf("v1 deployment %v", d)
	}
	want1 := "BeforeBlockTraffic=Skipped BlockTraffic=Succeeded AfterBlockTraffic=Skipped ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded"
	for _, n := range names {
		if got := lifecycle(id1, n); got != want1 {
			t.Errorf("v1 %s:\n%s\nwant\n%s", n, got, want1)
		}
	}

	// 2. v2 under steady traffic: each instance's server is stopped and
	// restarted in turn, and no request fails.
	load := startLoad(lb)
	id2 := deployVersion("2.0.0")
	d2 := waitDeployment(t, env, id2)
	results := load.finish()
	if d2["status"] != "Succeeded" {
		t.Fatalf("v2 deployment %v", d2)
	}
	want2 := "BeforeBlockTraffic=Succeeded BlockTraffic=Succeeded AfterBlockTraffic=Succeeded ApplicationStop=Succeeded DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded"
	for _, n := range names {
		if got := lifecycle(id2, n); got != want2 {
			t.Errorf("v2 %s:\n%s\nwant\n%s", n, got, want2)
		}
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[fmt.Sprint(r.status, " ", r.version)]++
		if r.status != 200 {
			t.Errorf("a request failed during the in-place deployment: %+v", r)
		}
	}
	if counts["200 1.0.0"] == 0 || counts["200 2.0.0"] == 0 {
		t.Errorf("traffic during the deployment did not see both versions: %v", counts)
	}
	for range 10 {
		r, err := http.Get("http://" + lb + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || string(b) != "2.0.0\n" {
			t.Fatalf("after v2 the load balancer answered %d %q", r.StatusCode, b)
		}
	}
	t.Logf("v2 in place behind the load balancer: %d requests, %v", len(results), counts)
}
