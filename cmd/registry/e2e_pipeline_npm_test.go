package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// npmAppBuildspec installs the triggering version of @acme/lib through the
// registry (the build's credentials select the lib's repository), tests
// the app against it and hands the app package on as the artifact, its
// version exported for the deploy action.
const npmAppBuildspec = `version: 0.2
env:
  variables:
    npm_config_update_notifier: "false"
    npm_config_audit: "false"
    npm_config_fund: "false"
  exported-variables: [APP_VERSION]
phases:
  install:
    commands:
      - export npm_config_cache="$(mktemp -d)"
      - test -n "$CODEARTIFACT_AUTH_TOKEN"
      - npm install --no-package-lock "@acme/lib@$LIB_VERSION"
  build:
    commands:
      - npm test
      - export APP_VERSION="1.0.0-lib.$LIB_VERSION"
artifacts:
  files: [package.json, index.js, test.js]
`

// TestNPMPublishTriggersAppPipeline is the scenario with the real
// aws CLI and the real npm: publishing @acme/lib@1.1.0 with npm starts the
// app's pipeline; its CodeBuild build installs @acme/lib@1.1.0 through the
// registry with the short-lived token the build is given, runs the app's
// tests and produces the app package; after put-approval-result the
// CodeArtifact deploy action publishes @acme/app as an npm package,
// installable with npm, and its package event reaches a separate NATS
// client connected over TCP.
func TestNPMPublishTriggersAppPipeline(t *testing.T) {
	requireAWS(t)
	addr := testutil.FreeAddr(t)
	in := startRegistry(t, t.TempDir(), "--nats-listen", addr)
	env := in.awsEnv(t)
	n := newNPMEnv(t, env)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	appEvents, err := nc.SubscribeSync("registry.codeartifact.acme.apps.npm")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "libs")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "apps", "--upstreams", "repositoryName=libs")
	if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "libs"); r.err != nil {
		t.Fatalf("aws codeartifact login: %v\n%s", r.err, r.stderr)
	}
	lib := func(version, greeting string) string {
		dir := writePackage(t, "@acme/lib", version, nil)
		os.WriteFile(filepath.Join(dir, "index.js"), []byte("exports.version = "+strconvQuote(version)+";\nexports.greet = () => "+strconvQuote(greeting)+";\n"), 0o644)
		return dir
	}
	n.run(t, lib("1.0.0", "hello"), "publish")

	// The app: its test checks it runs against the lib version it was
	// built for.
	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name": "@acme/app", "version": "0.0.0", "main": "index.js", "license": "MIT",
  "scripts": {"test": "node test.js"}}`), 0o644)
	os.WriteFile(filepath.Join(app, "index.js"), []byte("const lib = require('@acme/lib');\nexports.banner = () => lib.greet() + ' from lib ' + lib.version;\n"), 0o644)
	os.WriteFile(filepath.Join(app, "test.js"), []byte(`const assert = require('assert');
const want = process.env.LIB_VERSION;
assert.strictEqual(require('@acme/lib/package.json').version, want);
assert.strictEqual(require('./index.js').banner(), 'bonjour from lib ' + want);
console.log('app tests passed against @acme/lib@' + want);
`), 0o644)

	source, _ := json.Marshal(map[string]string{"type": "CODEPIPELINE", "buildspec": npmAppBuildspec})
	sourceFile := filepath.Join(t.TempDir(), "source.json")
	os.WriteFile(sourceFile, source, 0o644)
	ok(t, env, "codebuild", "create-project", "--name", "app-build", "--source", "file://"+sourceFile, "--artifacts", "type=CODEPIPELINE",
		"--environment", "type=LINUX_CONTAINER,image=local,computeType=BUILD_GENERAL1_SMALL", "--service-role", "local")
	buildEnv, _ := json.Marshal([]map[string]string{{"name": "LIB_VERSION", "value": "#{LibVariables.PackageVersion}", "type": "PLAINTEXT"}})
	spec := fmt.Sprintf(`{"name": "app", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "pipelineType": "V2", "stages": [
	  {"name": "Source", "actions": [
	    {"name": "Lib", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
	     "configuration": {"DomainName": "acme", "RepositoryName": "libs", "PackageFormat": "npm", "PackageNamespace": "acme", "PackageName": "lib"},
	     "outputArtifacts": [{"name": "LibPackage"}], "namespace": "LibVariables"},
	    {"name": "App", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
	     "configuration": {"Path": %q}, "outputArtifacts": [{"name": "AppSource"}]}]},
	  {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
	    "configuration": {"ProjectName": "app-build", "PrimarySource": "AppSource", "EnvironmentVariables": %q},
	    "inputArtifacts": [{"name": "AppSource"}, {"name": "LibPackage"}], "outputArtifacts": [{"name": "AppPackage"}], "namespace": "BuildVariables"}]},
	  {"name": "Approve", "actions": [{"name": "Release", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
	    "configuration": {"CustomData": "publish @acme/app #{BuildVariables.APP_VERSION}?"}}]},
	  {"name": "Deploy", "actions": [{"name": "Publish", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
	    "configuration": {"DomainName": "acme", "RepositoryName": "apps", "PackageFormat": "npm", "PackageNamespace": "acme", "PackageName": "app",
	      "PackageVersion": "#{BuildVariables.APP_VERSION}"},
	    "inputArtifacts": [{"name": "AppPackage"}]}]}]}`, app, buildEnv)
	specFile := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(specFile, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)

	// Publishing 1.1.0 with npm starts an execution.
	n.run(t, lib("1.1.0", "bonjour"), "publish")
	published := time.Now()
	var id string
	cpWaitFor(t, 30*time.Second, "an execution started by the publish", func() bool {
		s := ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
		id, _ = dig(s, "stageStates", 0, "latestExecution", "pipelineExecutionId").(string)
		return id != ""
	})
	seen := time.Since(published)
	x := ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "app", "--pipeline-execution-id", id)
	if dig(x, "pipelineExecution", "trigger", "triggerType") != "CloudWatchEvent" ||
		!strings.Contains(fmt.Sprint(dig(x, "pipelineExecution", "trigger", "triggerDetail")), "/npm/acme/lib@1.1.0") {
		t.Fatalf("execution trigger: %v", x)
	}
	// Event-to-start latency, on the server's clock: the version's
	// publication to the execution's start (logged, not asserted).
	v := ok(t, env, "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "libs", "--format", "npm",
		"--namespace", "acme", "--package", "lib", "--package-version", "1.1.0")
	list := ok(t, env, "codepipeline", "list-pipeline-executions", "--pipeline-name", "app")
	pt, err1 := cliTime(dig(v, "packageVersion", "publishedTime"))
	st, err2 := cliTime(dig(list, "pipelineExecutionSummaries", 0, "startTime"))
	if err1 != nil || err2 != nil {
		t.Fatalf("timestamps: %v, %v", err1, err2)
	}
	t.Logf("publish-to-execution-start latency %s (server clock); the CLI poll saw the execution %s after npm publish returned", st.Sub(pt), seen)

	// The build installs the lib through the registry and passes its
	// tests; the execution waits at the approval.
	var token string
	cpWaitFor(t, 180*time.Second, "the approval", func() bool {
		s := ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
		if dig(s, "stageStates", 1, "latestExecution", "status") == "Failed" {
			acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "app", "--filter", "pipelineExecutionId="+id)
			t.Fatalf("the build failed: %v\n%v", dig(s, "stageStates", 1), acts)
		}
		token, _ = dig(s, "stageStates", 2, "actionStates", 0, "latestExecution", "token").(string)
		return token != ""
	})
	acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "app", "--filter", "pipelineExecutionId="+id)
	var buildID string
	for _, d := range acts["actionExecutionDetails"].([]any) {
		if dig(d, "actionName") == "Build" {
			buildID, _ = dig(d, "output", "executionResult", "externalExecutionId").(string)
			if dig(d, "output", "outputVariables", "APP_VERSION") != "1.0.0-lib.1.1.0" {
				t.Fatalf("Build action: %v", d)
			}
		}
	}
	b := ok(t, env, "codebuild", "batch-get-builds", "--ids", buildID)
	if dig(b, "builds", 0, "buildStatus") != "SUCCEEDED" {
		t.Fatalf("batch-get-builds: %v", b)
	}
	logURL, _ := dig(b, "builds", 0, "logs", "deepLink").(string)
	code, log := cbGet(t, logURL, "Bearer "+cbToken(t, env))
	if code != 200 || !strings.Contains(log, "app tests passed against @acme/lib@1.1.0") {
		t.Fatalf("build log (HTTP %d):\n%s", code, log)
	}

	ok(t, env, "codepipeline", "put-approval-result", "--pipeline-name", "app", "--stage-name", "Approve", "--action-name", "Release",
		"--result", "summary=ship it,status=Approved", "--token", token)
	cpWaitFor(t, 60*time.Second, "the execution to end", func() bool {
		x = ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "app", "--pipeline-execution-id", id)
		return dig(x, "pipelineExecution", "status") != "InProgress"
	})
	if dig(x, "pipelineExecution", "status") != "Succeeded" {
		acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "app", "--filter", "pipelineExecutionId="+id)
		t.Fatalf("execution: %v\n%v", x, acts)
	}

	// The app's new version is an npm package others install.
	consumer := newNPMEnv(t, env)
	if r := runAWS(consumer.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", "apps"); r.err != nil {
		t.Fatalf("aws codeartifact login: %v\n%s", r.err, r.stderr)
	}
	var versions []string
	npmJSON(t, consumer.run(t, t.TempDir(), "view", "@acme/app", "versions", "--json"), &versions)
	if len(versions) != 1 || versions[0] != "1.0.0-lib.1.1.0" {
		t.Fatalf("@acme/app versions: %v", versions)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"consumer","version":"1.0.0","private":true}`), 0o644)
	consumer.run(t, dir, "install", "@acme/app@1.0.0-lib.1.1.0")
	got := readManifest(t, filepath.Join(dir, "node_modules", "@acme", "app", "package.json"))
	if got["version"] != "1.0.0-lib.1.1.0" || got["name"] != "@acme/app" || dig(got, "dependencies", "@acme/lib") == nil {
		t.Fatalf("installed @acme/app manifest: %v", got)
	}
	if got := readManifest(t, filepath.Join(dir, "node_modules", "@acme", "lib", "package.json")); got["version"] != "1.1.0" {
		t.Fatalf("installed @acme/lib manifest: %v", got)
	}

	// The deploy's package event, among those of the apps repository.
	var ev envelope
	for {
		m, err := appEvents.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no NATS event for the deployed version: %v", err)
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Detail.PackageName == "app" {
			t.Logf("deploy event: %s", m.Data)
			break
		}
	}
	if ev.DetailType != "CodeArtifact Package Version State Change" || ev.Detail.PackageName != "app" || ev.Detail.PackageNamespace != "acme" ||
		ev.Detail.PackageVersion != "1.0.0-lib.1.1.0" || ev.Detail.PackageFormat != "npm" || ev.Detail.EventDeduplicationID == "" {
		t.Fatalf("event %+v", ev)
	}
}

// cliTime reads a timestamp of the aws CLI's JSON output: epoch seconds
// or an ISO 8601 string, depending on the CLI's version and settings.
func cliTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case float64:
		return time.UnixMilli(int64(x * 1000)), nil
	case string:
		return time.Parse(time.RFC3339Nano, x)
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %v", v)
}

// TestPipelineAndBuildEventsSurviveKill: the server is killed (SIGKILL)
// while a pipeline's CodeBuild build runs. After a restart the execution
// ends Failed with the reason, and the stream holds every pipeline and
// build state change, those committed before the kill included (the
// events still in the outboxes at the kill among them), each with its
// dedup id as Nats-Msg-Id.
func TestPipelineAndBuildEventsSurviveKill(t *testing.T) {
	requireAWS(t)
	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	in := startRegistry(t, dir, "--nats-listen", addr)
	env := in.awsEnv(t)
	work := t.TempDir()
	mark, gate := filepath.Join(work, "building"), filepath.Join(work, "gate")
	buildspec := fmt.Sprintf("version: 0.2\nphases:\n  build:\n    commands:\n      - touch %s\n      - for i in $(seq 1200); do [ -f %s ] && break; sleep 0.05; done\n", mark, gate)
	source, _ := json.Marshal(map[string]string{"type": "CODEPIPELINE", "buildspec": buildspec})
	sourceFile := filepath.Join(t.TempDir(), "source.json")
	os.WriteFile(sourceFile, source, 0o644)
	ok(t, env, "codebuild", "create-project", "--name", "slow", "--source", "file://"+sourceFile, "--artifacts", "type=CODEPIPELINE",
		"--environment", "type=LINUX_CONTAINER,image=local,computeType=BUILD_GENERAL1_SMALL", "--service-role", "local")
	spec := fmt.Sprintf(`{"name": "durable.events", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "stages": [
	  {"name": "Source", "actions": [{"name": "Checkout", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
	    "configuration": {"Path": %q}, "outputArtifacts": [{"name": "Src"}]}]},
	  {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
	    "configuration": {"ProjectName": "slow"}, "inputArtifacts": [{"name": "Src"}]}]}]}`, t.TempDir())
	specFile := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(specFile, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)
	id := ok(t, env, "codepipeline", "start-pipeline-execution", "--name", "durable.events")["pipelineExecutionId"].(string)
	cpWaitFor(t, 60*time.Second, "the build to run", func() bool { _, err := os.Stat(mark); return err == nil })
	builds := ok(t, env, "codebuild", "list-builds-for-project", "--project-name", "slow")
	buildID, _ := dig(builds, "ids", 0).(string)
	if buildID == "" {
		t.Fatalf("list-builds-for-project: %v", builds)
	}

	in.kill()
	pending := outboxDedupIDs(t, filepath.Join(dir, "pipelines.db"))
	pending = append(pending, outboxDedupIDs(t, filepath.Join(dir, "builds.db"))...)
	t.Logf("%d events were in the outboxes at the kill", len(pending))

	in = startRegistry(t, dir, "--nats-listen", addr)
	env = in.awsEnv(t)
	var x map[string]any
	cpWaitFor(t, 60*time.Second, "the execution to end", func() bool {
		x = ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "durable.events", "--pipeline-execution-id", id)
		return dig(x, "pipelineExecution", "status") != "InProgress"
	})
	reason := fmt.Sprint(dig(x, "pipelineExecution", "statusSummary"))
	acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "durable.events", "--filter", "pipelineExecutionId="+id)
	if dig(x, "pipelineExecution", "status") != "Failed" || !strings.Contains(fmt.Sprint(acts), "SERVER_RESTARTED") {
		t.Fatalf("after the restart: %v\n%s\n%v", x, reason, acts)
	}

	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "REGISTRY", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"registry.codepipeline.durable_events", "registry.codebuild.slow"}})
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ subject, detailType, key, state string }
	wants := map[want]bool{
		{"registry.codepipeline.durable_events", "CodePipeline Pipeline Execution State Change", "", "STARTED"}:    false,
		{"registry.codepipeline.durable_events", "CodePipeline Stage Execution State Change", "Build", "STARTED"}:  false,
		{"registry.codepipeline.durable_events", "CodePipeline Action Execution State Change", "Build", "STARTED"}: false,
		{"registry.codepipeline.durable_events", "CodePipeline Action Execution State Change", "Build", "FAILED"}:  false,
		{"registry.codepipeline.durable_events", "CodePipeline Pipeline Execution State Change", "", "FAILED"}:     false,
		{"registry.codebuild.slow", "CodeBuild Build State Change", "", "IN_PROGRESS"}:                             false,
		{"registry.codebuild.slow", "CodeBuild Build Phase Change", "INSTALL", "SUCCEEDED"}:                        false,
		{"registry.codebuild.slow", "CodeBuild Build State Change", "", "FAILED"}:                                  false,
	}
	ids := map[string]bool{}
	missing := func() (out []string) {
		for w, seen := range wants {
			if !seen {
				out = append(out, fmt.Sprint(w))
			}
		}
		for _, d := range pending {
			if !ids[d] {
				out = append(out, "outbox event "+d)
			}
		}
		return out
	}
	for len(missing()) > 0 {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("missing events %v: %v", missing(), err)
		}
		msgID := m.Headers().Get(nats.MsgIdHdr)
		if msgID == "" {
			t.Fatalf("event without Nats-Msg-Id on %s: %s", m.Subject(), m.Data())
		}
		ids[msgID] = true
		var ev struct {
			DetailType string `json:"detail-type"`
			Source     string `json:"source"`
			Detail     struct {
				ExecutionID    string `json:"execution-id"`
				Stage, Action  string
				State          string
				BuildStatus    string `json:"build-status"`
				BuildID        string `json:"build-id"`
				CompletedPhase string `json:"completed-phase"`
				PhaseStatus    string `json:"completed-phase-status"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatalf("event %s: %v", m.Data(), err)
		}
		d := ev.Detail
		switch {
		case strings.HasPrefix(ev.DetailType, "CodePipeline") && d.ExecutionID == id:
			key := d.Action
			if ev.DetailType == "CodePipeline Stage Execution State Change" {
				key = d.Stage
			}
			wants[want{m.Subject(), ev.DetailType, key, d.State}] = true
		case ev.DetailType == "CodeBuild Build State Change" && strings.HasSuffix(d.BuildID, buildID):
			wants[want{m.Subject(), ev.DetailType, "", d.BuildStatus}] = true
		case ev.DetailType == "CodeBuild Build Phase Change" && strings.HasSuffix(d.BuildID, buildID):
			wants[want{m.Subject(), ev.DetailType, d.CompletedPhase, d.PhaseStatus}] = true
		}
	}
}

// outboxDedupIDs returns the dedup ids of the events waiting in the
// outbox of a database the killed server left.
func outboxDedupIDs(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT dedup_id FROM events ORDER BY id`)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}
