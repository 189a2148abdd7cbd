package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

// TestCodeDeployAgentE2E deploys to a local instance and to one served
// by a second process, `registry agent`, over the server's NATS; then
// kills the agent during a long hook and sees its instance fail with the
// reason, within the transport's deadline.
func TestCodeDeployAgentE2E(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	natsAddr := testutil.FreeAddr(t)
	in := startRegistry(t, dir, "--nats-listen", natsAddr)
	t.Cleanup(func() { in.stop() })
	env := in.awsEnv(t)

	if out, err := exec.Command(registryBin, "instance", "register", "web-local", "--tags", "env=prod", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("registry instance register: %v\n%s", err, out)
	}
	agentDir := t.TempDir()
	agent := exec.Command(registryBin, "agent", "--nats-url", "nats://"+natsAddr, "--name", "edge-1", "--data-dir", agentDir,
		"--instance", "web-remote", "--tags", "env=prod,site=edge")
	agent.Env = isolatedEnv(t)
	var agentLog testutil.SyncBuffer
	agent.Stderr = &agentLog
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { agent.Wait(); close(exited) }()
	t.Cleanup(func() {
		agent.Process.Kill()
		<-exited
	})
	serving := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		serving <- line
	}()
	select {
	case line := <-serving:
		if !strings.Contains(line, "agent edge-1 serving instance web-remote") {
			t.Fatalf("agent said %q; log:\n%s", line, agentLog.String())
		}
	case <-exited:
		t.Fatalf("the agent exited: %s", agentLog.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not register within 30s; log:\n%s", agentLog.String())
	}
	if got := ok(t, env, "deploy", "list-on-premises-instances", "--tag-filters", "Key=env,Value=prod,Type=KEY_AND_VALUE"); fmt.Sprint(got["instanceNames"]) != "[web-local web-remote]" {
		t.Fatalf("instances %v", got)
	}
	if got := ok(t, env, "deploy", "get-on-premises-instance", "--instance-name", "web-remote"); !strings.HasSuffix(fmt.Sprint(dig(got, "instanceInfo", "iamSessionArn")), ":assumed-role/registry-agent/edge-1") {
		t.Fatalf("web-remote %v", got)
	}

	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "releases")
	ok(t, env, "deploy", "create-application", "--application-name", "shop")
	for group, filter := range map[string]string{"prod": "Key=env,Value=prod,Type=KEY_AND_VALUE", "edge": "Key=site,Value=edge,Type=KEY_AND_VALUE"} {
		ok(t, env, "deploy", "create-deployment-group", "--application-name", "shop", "--deployment-group-name", group,
			"--service-role-arn", "arn:aws:iam::123456789012:role/codedeploy",
			"--on-premises-instance-tag-filters", filter, "--deployment-config-name", "CodeDeployDefault.AllAtOnce")
	}
	deployVersion := func(group, version, validate string) string {
		path, sum := codeDeployBundle(t, version, validate)
		ok(t, env, publishArgs("releases", "shop", version, path, "bundle.zip", sum)...)
		// OVERWRITE: the edge group installs over what the prod group installed.
		d := ok(t, env, "deploy", "create-deployment", "--application-name", "shop", "--deployment-group-name", group,
			"--s3-location", "bucket=acme/releases,key=tools/shop/"+version+"/bundle.zip,bundleType=zip", "--file-exists-behavior", "OVERWRITE")
		return d["deploymentId"].(string)
	}
	roots := map[string]string{
		"web-local":  filepath.Join(dir, "instances", "web-local", "root"),
		"web-remote": filepath.Join(agentDir, "instances", "web-remote", "root"),
	}
	read := func(inst, p string) string {
		b, _ := os.ReadFile(filepath.Join(roots[inst], p))
		return string(b)
	}

	// 1. Both instances get the revision's files; the hooks run on each
	// with CodeDeploy's variables.
	id1 := deployVersion("prod", "1.0.0", "grep -qx 1.0.0 srv/shop/version.txt")
	d1 := waitDeployment(t, env, id1)
	if d1["status"] != "Succeeded" || dig(d1, "deploymentOverview", "Succeeded") != 2.0 {
		t.Fatalf("first deployment %v; agent log:\n%s", d1, agentLog.String())
	}
	for inst := range roots {
		if got := read(inst, "srv/shop/version.txt"); got != "1.0.0\n" {
			t.Errorf("%s: version.txt %q", inst, got)
		}
		want := ""
		for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
			want += fmt.Sprintf("1.0.0 %s shop prod %s\n", ev, id1)
		}
		if got := read(inst, "hooks.log"); got != want {
			t.Errorf("%s: hooks.log\n%s\nwant\n%s", inst, got, want)
		}
		summary := ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id1, "--instance-id", inst)
		var events []string
		for _, ev := range dig(summary, "instanceSummary", "lifecycleEvents").([]any) {
			e := ev.(map[string]any)
			events = append(events, fmt.Sprint(e["lifecycleEventName"], "=", e["status"]))
		}
		if got := strings.Join(events, " "); got != "ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded ApplicationStart=Succeeded ValidateService=Succeeded" {
			t.Errorf("%s: lifecycle events: %s", inst, got)
		}
	}

	// 2. The agent dies during a long ValidateService hook of a
	// deployment to the edge group (web-remote only): the instance and
	// the deployment fail with the reason instead of hanging.
	id2 := deployVersion("edge", "2.0.0", "echo $$ > slow.pid; exec sleep 25")
	pidFile := filepath.Join(roots["web-remote"], "slow.pid")
	deadline := time.Now().Add(60 * time.Second)
	var pid int
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the long hook never started: %v; agent log:\n%s", ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id2, "--instance-id", "web-remote"), agentLog.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the hook's mark
	}
	t.Cleanup(func() {
		if pid > 0 {
			syscall.Kill(-pid, syscall.SIGKILL) // the orphaned hook's process group
		}
	})
	agent.Process.Kill()
	<-exited
	killed := time.Now()
	d2 := waitDeployment(t, env, id2)
	took := time.Since(killed)
	if d2["status"] != "Failed" {
		t.Fatalf("second deployment %v", d2)
	}
	if took > 30*time.Second {
		t.Errorf("the deployment took %s after the agent died to fail", took)
	}
	summary := ok(t, env, "deploy", "get-deployment-instance", "--deployment-id", id2, "--instance-id", "web-remote")
	if dig(summary, "instanceSummary", "status") != "Failed" {
		t.Fatalf("web-remote %v", summary)
	}
	var validate map[string]any
	for _, ev := range dig(summary, "instanceSummary", "lifecycleEvents").([]any) {
		if e := ev.(map[string]any); e["lifecycleEventName"] == "ValidateService" {
			validate = e
		}
	}
	if validate["status"] != "Failed" || !strings.Contains(fmt.Sprint(dig(validate, "diagnostics", "message")), "agent edge-1 stopped responding") {
		t.Fatalf("ValidateService %v", validate)
	}
	t.Logf("the deployment failed %s after the agent was killed", took.Round(time.Millisecond))
}
