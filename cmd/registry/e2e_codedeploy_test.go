package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
	"github.com/nats-io/nats.go"
)

// codeDeployBundle zips an appspec and hook scripts (executable) whose
// hooks record their lifecycle event and environment in hooks.log in the
// instance root, and a ValidateService check of the installed version.
func codeDeployBundle(t *testing.T, version, validate string) (string, string) {
	t.Helper()
	files := map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: site
    destination: /srv/shop
file_exists_behavior: DISALLOW
hooks:
  ApplicationStop: [{location: scripts/record.sh, timeout: 30}]
  BeforeInstall: [{location: scripts/record.sh, timeout: 30}]
  AfterInstall: [{location: scripts/record.sh, timeout: 120}]
  ApplicationStart: [{location: scripts/record.sh, timeout: 30}]
  ValidateService: [{location: scripts/record.sh}, {location: scripts/validate.sh, timeout: 30}]
`,
		"site/version.txt":    version + "\n",
		"scripts/record.sh":   "#!/bin/sh\necho \"" + version + " $LIFECYCLE_EVENT $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_ID\" >> hooks.log\n",
		"scripts/validate.sh": "#!/bin/sh\n" + validate + "\n",
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
	return writeAsset(t, "bundle-"+version+".zip", buf.Bytes())
}

// waitDeployment polls get-deployment until the deployment leaves
// Created/InProgress, within a deadline, and returns its info.
func waitDeployment(t *testing.T, env []string, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		d := ok(t, env, "deploy", "get-deployment", "--deployment-id", id)
		st := dig(d, "deploymentInfo", "status")
		if st != "Created" && st != "InProgress" && st != "Queued" {
			return d["deploymentInfo"].(map[string]any)
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s still %v at the deadline: %v", id, st, d)
		}
	}
}

func TestCodeDeployE2E(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	in := startRegistry(t, dir)
	t.Cleanup(func() { in.stop() }) // a graceful stop ends the supervised processes
	env := in.awsEnv(t)

	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 (the instances' HTTP service) is not installed")
	}
	// Four instances, each a directory and a supervised HTTP service
	// serving the installed files, healthy when it serves version.txt.
	instances := []string{"web-1", "web-2", "web-3", "web-4"}
	addrs := map[string]string{}
	for _, n := range instances {
		addrs[n] = testutil.FreeAddr(t)
		_, port, _ := strings.Cut(addrs[n], ":")
		out, err := exec.Command(registryBin, "instance", "register", n, "--tags", "env=prod", "--data-dir", dir,
			"--start", "exec "+python+" -m http.server "+port+" --bind 127.0.0.1 --directory srv/shop",
			"--health-url", "http://"+addrs[n]+"/version.txt", "--health-timeout", "30").CombinedOutput()
		if err != nil {
			t.Fatalf("registry instance register %s: %v\n%s", n, err, out)
		}
	}
	serves := func(n string) string {
		resp, err := http.Get("http://" + addrs[n] + "/version.txt")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := ok(t, env, "deploy", "list-on-premises-instances", "--tag-filters", "Key=env,Value=prod,Type=KEY_AND_VALUE"); fmt.Sprint(got["instanceNames"]) != "[web-1 web-2 web-3 web-4]" {
		t.Fatalf("instances %v", got)
	}
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "releases")
	ok(t, env, "deploy", "create-application", "--application-name", "shop")
	ok(t, env, "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "prod",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
		"--on-premises-instance-tag-filters", "Key=env,Value=prod,Type=KEY_AND_VALUE",
		"--deployment-config-name", "CodeDeployDefault.HalfAtATime",
		"--auto-rollback-configuration", "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST")
	group := ok(t, env, "deploy", "get-deployment-group", "--application-name", "shop", "--deployment-group-name", "prod")
	if dig(group, "deploymentGroupInfo", "deploymentConfigName") != "CodeDeployDefault.HalfAtATime" || dig(group, "deploymentGroupInfo", "autoRollbackConfiguration", "enabled") != true {
		t.Fatalf("group %v", group)
	}

	deployVersion := func(version, validate string) string {
		path, sum := codeDeployBundle(t, version, validate)
		ok(t, env, publishArgs("releases", "shop", version, path, "bundle.zip", sum)...)
		d := ok(t, env, "deploy", "create-deployment", "--application-name", "shop", "--deployment-group-name", "prod",
			"--s3-location", "bucket=acme/releases,key=tools/shop/"+version+"/bundle.zip,bundleType=zip")
		return d["deploymentId"].(string)
	}
	root := func(inst, p string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "instances", inst, "root", p))
		return string(b)
	}

	// 1. A good revision reaches both instances in the lifecycle order.
	id1 := deployVersion("1.0.0", "grep -qx 1.0.0 srv/shop/version.txt")
	d1 := waitDeployment(t, env, id1)
	if d1["status"] != "Succeeded" || dig(d1, "deploymentOverview", "Succeeded") != 4.0 || d1["creator"] != "user" {
		t.Fatalf("first deployment %v", d1)
	}
	for _, inst := range instances {
		if got := root(inst, "srv/shop/version.txt"); got != "1.0.0\n" {
			t.Errorf("%s: version.txt %q", inst, got)
		}
		if got := serves(inst); got != "1.0.0\n" {
			t.Errorf("%s serves %q", inst, got)
		}
		want := ""
		for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
			want += fmt.Sprintf("1.0.0 %s shop prod %s\n", ev, id1)
		}
		if got := root(inst, "hooks.log"); got != want {
			t.Errorf("%s: hooks.log\n%s\nwant\n%s", inst, got, want)
		}
	}
	inst := ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id1, "--instance-id", "web-1")
	var events []string
	for _, ev := range dig(inst, "instanceSummary", "lifecycleEvents").([]any) {
		e := ev.(map[string]any)
		events = append(events, fmt.Sprint(e["lifecycleEventName"], "=", e["status"]))
	}
	if got := strings.Join(events, " "); got != "ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded" {
		t.Errorf("lifecycle events: %s", got)
	}
	if got := ok(t, env, "deploy", "list-deployment-instances", "--deployment-id", id1); fmt.Sprint(got["instancesList"]) != "[web-1 web-2 web-3 web-4]" {
		t.Errorf("deployment instances %v", got)
	}

	// 2. A revision that fails ValidateService fails the deployment and
	// is rolled back automatically to 1.0.0.
	id2 := deployVersion("2.0.0", "echo unhealthy >&2; exit 1")
	d2 := waitDeployment(t, env, id2)
	if d2["status"] != "Failed" || dig(d2, "errorInformation", "code") != "HEALTH_CONSTRAINTS" {
		t.Fatalf("bad deployment %v", d2)
	}
	rbID, _ := dig(d2, "rollbackInfo", "rollbackDeploymentId").(string)
	if rbID == "" {
		t.Fatalf("no rollback: %v", d2)
	}
	rb := waitDeployment(t, env, rbID)
	if rb["status"] != "Succeeded" || rb["creator"] != "codeDeployRollback" || dig(rb, "rollbackInfo", "rollbackTriggeringDeploymentId") != id2 ||
		dig(rb, "revision", "s3Location", "key") != "tools/shop/1.0.0/bundle.zip" {
		t.Fatalf("rollback deployment %v", rb)
	}
	for _, inst := range instances {
		if got := root(inst, "srv/shop/version.txt"); got != "1.0.0\n" {
			t.Errorf("%s after the rollback: version.txt %q", inst, got)
		}
		if got := serves(inst); got != "1.0.0\n" {
			t.Errorf("%s serves %q after the rollback", inst, got)
		}
	}
	// HalfAtATime over four: the first two failed; the other two had to
	// stay on the old revision to keep two healthy, so they were skipped.
	failed := ok(t, env, "deploy", "list-deployment-targets", "--deployment-id", id2, "--target-filters", "TargetStatus=Failed")
	skipped := ok(t, env, "deploy", "list-deployment-targets", "--deployment-id", id2, "--target-filters", "TargetStatus=Skipped")
	if fmt.Sprint(failed["targetIds"]) != "[web-1 web-2]" || fmt.Sprint(skipped["targetIds"]) != "[web-3 web-4]" {
		t.Errorf("failed targets %v, skipped %v", failed, skipped)
	}
	if !strings.Contains(root("web-1", "hooks.log"), "1.0.0 ApplicationStop shop prod "+id2) {
		t.Errorf("2.0.0 did not stop 1.0.0 with 1.0.0's scripts:\n%s", root("web-1", "hooks.log"))
	}

	// 3. stop-deployment --auto-rollback-enabled while a hook runs: the
	// hook is killed, the deployment Stopped, 1.0.0 redeployed.
	id3 := deployVersion("3.0.0", "echo waiting > validating; sleep 25")
	deadline := time.Now().Add(60 * time.Second)
	for root("web-1", "validating") == "" {
		if time.Now().After(deadline) {
			t.Fatal("the 3.0.0 ValidateService hook did not start")
		}
		time.Sleep(20 * time.Millisecond) // polling the hook's mark file
	}
	stop := ok(t, env, "deploy", "stop-deployment", "--deployment-id", id3, "--auto-rollback-enabled")
	if stop["status"] != "Succeeded" {
		t.Errorf("stop-deployment %v", stop)
	}
	d3 := waitDeployment(t, env, id3)
	if d3["status"] != "Stopped" || dig(d3, "errorInformation", "code") != "MANUAL_STOP" {
		t.Fatalf("stopped deployment %v", d3)
	}
	rb3, _ := dig(d3, "rollbackInfo", "rollbackDeploymentId").(string)
	if rb3 == "" || waitDeployment(t, env, rb3)["status"] != "Succeeded" || root("web-1", "srv/shop/version.txt") != "1.0.0\n" || serves("web-1") != "1.0.0\n" {
		t.Fatalf("no successful rollback after the stop: %v", d3)
	}
	fails(t, env, "DeploymentAlreadyCompletedException", "deploy", "stop-deployment", "--deployment-id", id3)

	// 4. Bad input: an unknown config, a malformed revision location.
	fails(t, env, "DeploymentConfigDoesNotExistException", "deploy", "create-deployment", "--application-name", "shop",
		"--deployment-group-name", "prod", "--deployment-config-name", "Nope", "--s3-location", "bucket=acme/releases,key=tools/shop/1.0.0/bundle.zip,bundleType=zip")
	fails(t, env, "InvalidRevisionException", "deploy", "create-deployment", "--application-name", "shop",
		"--deployment-group-name", "prod", "--s3-location", "bucket=acme,key=bundle.zip,bundleType=zip")
	fails(t, env, "ApplicationDoesNotExistException", "deploy", "get-application", "--application-name", "nope")
}

// TestCodeDeployPipelineE2E: a package event starts a pipeline whose
// Build stage runs commands on the package's files and whose Deploy stage
// is the CodeDeploy action, which rolls the build out to the instances.
func TestCodeDeployPipelineE2E(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	addr := testutil.FreeAddr(t)
	in := startRegistry(t, dir, "--nats-listen", addr)
	env := in.awsEnv(t)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deployEvents, err := nc.SubscribeSync("registry.codedeploy.shop")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	out, err := exec.Command(registryBin, "instance", "register", "web-1", "--tags", "env=prod", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("registry instance register: %v\n%s", err, out)
	}
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "releases")
	ok(t, env, "deploy", "create-application", "--application-name", "shop")
	ok(t, env, "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", "prod",
		"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy", "--on-premises-instance-tag-filters", "Key=env,Type=KEY_ONLY",
		"--deployment-config-name", "CodeDeployDefault.AllAtOnce")
	spec := `{
  "name": "shop", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "pipelineType": "V2",
  "stages": [
    {"name": "Source", "actions": [{"name": "Release",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
      "configuration": {"DomainName": "acme", "RepositoryName": "releases", "PackageFormat": "generic", "PackageNamespace": "tools", "PackageName": "shop"},
      "outputArtifacts": [{"name": "Src"}], "namespace": "SourceVariables"}]},
    {"name": "Build", "actions": [{"name": "Build",
      "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": ["echo built-#{SourceVariables.PackageVersion} > build.txt"],
      "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "App", "files": ["appspec.yml", "record.sh", "version.txt", "build.txt"]}]}]},
    {"name": "Deploy", "actions": [{"name": "Rollout",
      "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
      "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "prod"},
      "inputArtifacts": [{"name": "App"}]}]}
  ]}`
	file := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(file, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+file)

	for name, body := range map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nfiles:\n  - source: version.txt\n    destination: /srv/shop\n  - source: build.txt\n    destination: /srv/shop\n" +
			"hooks:\n  AfterInstall:\n    - location: record.sh\n",
		"record.sh":   "#!/bin/sh\necho \"$LIFECYCLE_EVENT $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME\" >> hooks.log\n",
		"version.txt": "1.2.0\n",
	} {
		path, sum := writeAsset(t, name, []byte(body))
		ok(t, env, "codeartifact", "publish-package-version", "--domain", "acme", "--repository", "releases", "--format", "generic",
			"--namespace", "tools", "--package", "shop", "--package-version", "1.2.0", "--asset-content", path, "--asset-name", name,
			"--asset-sha256", sum, "--unfinished")
	}
	ok(t, env, "codeartifact", "update-package-versions-status", "--domain", "acme", "--repository", "releases", "--format", "generic",
		"--namespace", "tools", "--package", "shop", "--versions", "1.2.0", "--target-status", "Published")

	deadline := time.Now().Add(120 * time.Second)
	for {
		l := ok(t, env, "codepipeline", "list-pipeline-executions", "--pipeline-name", "shop")
		st := dig(l, "pipelineExecutionSummaries", 0, "status")
		if st == "Succeeded" {
			break
		}
		if st == "Failed" || st == "Stopped" || time.Now().After(deadline) {
			t.Fatalf("execution %v: %v", st, ok(t, env, "codepipeline", "get-pipeline-state", "--name", "shop"))
		}
	}
	read := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "instances", "web-1", "root", p))
		return string(b)
	}
	if read("srv/shop/version.txt") != "1.2.0\n" || read("srv/shop/build.txt") != "built-1.2.0\n" || read("hooks.log") != "AfterInstall shop prod\n" {
		t.Fatalf("instance after the pipeline: version %q build %q hooks %q", read("srv/shop/version.txt"), read("srv/shop/build.txt"), read("hooks.log"))
	}
	ds := ok(t, env, "deploy", "list-deployments", "--application-name", "shop", "--deployment-group-name", "prod")
	id, _ := dig(ds, "deployments", 0).(string)
	d := ok(t, env, "deploy", "get-deployment", "--deployment-id", id)
	if dig(d, "deploymentInfo", "status") != "Succeeded" || dig(d, "deploymentInfo", "revision", "s3Location", "bucket") != "codepipeline-artifacts" {
		t.Fatalf("deployment %v", d)
	}
	for _, state := range []string{"START", "SUCCESS"} {
		m, err := deployEvents.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no %s event: %v", state, err)
		}
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct{ DeploymentID, State string }
		}
		json.Unmarshal(m.Data, &ev)
		if ev.DetailType != "CodeDeploy Deployment State-change Notification" || ev.Detail.DeploymentID != id || ev.Detail.State != state {
			t.Errorf("event %s, want %s of %s", m.Data, state, id)
		}
	}
}
