package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cpWaitFor polls cond until it holds or the deadline passes.
func cpWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cpPipeline is the pipeline of TestCodePipelineEndToEnd: a local
// directory as the source, a Commands stage that builds an artifact and
// exports a variable, a manual approval, and a Commands stage that checks
// the artifact.
func cpPipeline(name, srcDir string) string {
	commands := func(cmds ...string) string { b, _ := json.Marshal(cmds); return string(b) }
	return fmt.Sprintf(`{
  "name": %q,
  "roleArn": "arn:aws:iam::123456789012:role/pipelines",
  "pipelineType": "V2",
  "variables": [{"name": "greeting", "defaultValue": "hello"}],
  "stages": [
    {"name": "Source", "actions": [{
      "name": "Checkout",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
      "configuration": {"Path": %q},
      "outputArtifacts": [{"name": "SourceArtifact"}],
      "namespace": "SourceVariables"}]},
    {"name": "Build", "actions": [{
      "name": "Compile",
      "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": %s,
      "inputArtifacts": [{"name": "SourceArtifact"}],
      "outputArtifacts": [{"name": "BuildArtifact", "files": ["out/**"]}],
      "outputVariables": ["BUILT"],
      "namespace": "BuildVariables"}]},
    {"name": "Approve", "actions": [{
      "name": "Gate",
      "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
      "configuration": {"CustomData": "release #{BuildVariables.BUILT}?"}}]},
    {"name": "Release", "actions": [{
      "name": "Check",
      "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": %s,
      "inputArtifacts": [{"name": "BuildArtifact"}]}]}
  ]
}`, name, srcDir,
		commands("mkdir -p out", "cp app.txt out/app.txt", "echo '#{variables.greeting}' >> out/app.txt", "export BUILT=build-#{codepipeline.PipelineExecutionId}"),
		commands("grep -q 'version 1' out/app.txt", "grep -q '#{variables.greeting}' out/app.txt", "echo released #{BuildVariables.BUILT}"))
}

// TestCodePipelineEndToEnd drives a pipeline with the real aws CLI:
// create, start with a variable override, wait for the approval, approve
// with the token from get-pipeline-state, see it succeed, and list the
// executions and action executions.
func TestCodePipelineEndToEnd(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)

	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "app.txt"), []byte("app version 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(t.TempDir(), "pipeline.json")
	if err := os.WriteFile(spec, []byte(cpPipeline("app", src)), 0o644); err != nil {
		t.Fatal(err)
	}
	created := ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+spec)
	if dig(created, "pipeline", "version") != 1.0 || dig(created, "pipeline", "executionMode") != "SUPERSEDED" ||
		dig(created, "pipeline", "stages", 1, "actions", 0, "runOrder") != 1.0 {
		t.Fatalf("create-pipeline: %v", created)
	}
	fails(t, env, "PipelineNameInUseException", "codepipeline", "create-pipeline", "--pipeline", "file://"+spec)
	got := ok(t, env, "codepipeline", "get-pipeline", "--name", "app")
	if arn, _ := dig(got, "metadata", "pipelineArn").(string); !strings.HasPrefix(arn, "arn:aws:codepipeline:") || !strings.HasSuffix(arn, ":app") {
		t.Fatalf("get-pipeline metadata: %v", got["metadata"])
	}
	if l := ok(t, env, "codepipeline", "list-pipelines"); dig(l, "pipelines", 0, "name") != "app" {
		t.Fatalf("list-pipelines: %v", l)
	}

	start := ok(t, env, "codepipeline", "start-pipeline-execution", "--name", "app", "--variables", "name=greeting,value=bonjour")
	id, _ := start["pipelineExecutionId"].(string)
	if len(id) != 36 {
		t.Fatalf("start-pipeline-execution: %v", start)
	}

	// The execution stops at the approval; its token is in the state.
	var token string
	cpWaitFor(t, 60*time.Second, "the approval to wait for a response", func() bool {
		s := ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
		if dig(s, "stageStates", 1, "latestExecution", "status") == "Failed" {
			t.Fatalf("the build failed: %v", dig(s, "stageStates", 1))
		}
		token, _ = dig(s, "stageStates", 2, "actionStates", 0, "latestExecution", "token").(string)
		return token != ""
	})
	s := ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
	if dig(s, "stageStates", 2, "latestExecution", "pipelineExecutionId") != id || dig(s, "stageStates", 2, "latestExecution", "status") != "InProgress" ||
		dig(s, "stageStates", 1, "latestExecution", "status") != "Succeeded" || dig(s, "stageStates", 0, "inboundTransitionState", "enabled") != true {
		t.Fatalf("get-pipeline-state while waiting for approval: %v", s)
	}
	fails(t, env, "InvalidApprovalTokenException", "codepipeline", "put-approval-result", "--pipeline-name", "app", "--stage-name", "Approve",
		"--action-name", "Gate", "--result", "summary=no,status=Approved", "--token", "00000000-0000-4000-8000-000000000000")
	approved := ok(t, env, "codepipeline", "put-approval-result", "--pipeline-name", "app", "--stage-name", "Approve", "--action-name", "Gate",
		"--result", "summary=looks good,status=Approved", "--token", token)
	if _, ok := approved["approvedAt"].(float64); !ok {
		t.Fatalf("put-approval-result: %v", approved)
	}
	fails(t, env, "ApprovalAlreadyCompletedException", "codepipeline", "put-approval-result", "--pipeline-name", "app", "--stage-name", "Approve",
		"--action-name", "Gate", "--result", "summary=again,status=Approved", "--token", token)

	var x map[string]any
	cpWaitFor(t, 60*time.Second, "the execution to end", func() bool {
		x = ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "app", "--pipeline-execution-id", id)
		st := dig(x, "pipelineExecution", "status")
		return st != "InProgress"
	})
	if dig(x, "pipelineExecution", "status") != "Succeeded" {
		t.Fatalf("execution: %v\nactions: %v", x, ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "app"))
	}
	if dig(x, "pipelineExecution", "variables", 0, "resolvedValue") != "bonjour" ||
		dig(x, "pipelineExecution", "trigger", "triggerType") != "StartPipelineExecution" ||
		dig(x, "pipelineExecution", "artifactRevisions", 0, "name") != "SourceArtifact" {
		t.Fatalf("get-pipeline-execution: %v", x)
	}

	l := ok(t, env, "codepipeline", "list-pipeline-executions", "--pipeline-name", "app")
	if dig(l, "pipelineExecutionSummaries", 0, "pipelineExecutionId") != id || dig(l, "pipelineExecutionSummaries", 0, "status") != "Succeeded" ||
		dig(l, "pipelineExecutionSummaries", 0, "sourceRevisions", 0, "actionName") != "Checkout" {
		t.Fatalf("list-pipeline-executions: %v", l)
	}
	acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "app", "--filter", "pipelineExecutionId="+id)
	details, _ := acts["actionExecutionDetails"].([]any)
	byName := map[string]any{}
	for _, d := range details {
		byName[dig(d, "actionName").(string)] = d
		if dig(d, "status") != "Succeeded" {
			t.Errorf("action %v: %v", dig(d, "actionName"), d)
		}
	}
	if len(details) != 4 {
		t.Fatalf("list-action-executions: %d details: %v", len(details), acts)
	}
	built := "build-" + id
	if v := dig(byName["Compile"], "output", "outputVariables", "BUILT"); v != built {
		t.Errorf("Compile output variable BUILT = %v, want %s", v, built)
	}
	if v := dig(byName["Gate"], "input", "resolvedConfiguration", "CustomData"); v != "release "+built+"?" {
		t.Errorf("Gate resolved CustomData = %v", v)
	}
	if v := dig(byName["Gate"], "updatedBy"); v == nil || !strings.HasSuffix(v.(string), ":root") {
		t.Errorf("Gate updatedBy = %v", v)
	}
	if v := dig(byName["Compile"], "output", "outputArtifacts", 0, "name"); v != "BuildArtifact" {
		t.Errorf("Compile output artifacts: %v", dig(byName["Compile"], "output"))
	}

	// Bad input is refused with the exceptions of the model, naming the field.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"name": "bad", "roleArn": "arn:aws:iam::123456789012:role/x", "stages": [
	  {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
	    "configuration": {"Path": "/tmp"}, "outputArtifacts": [{"name": "A"}]}]},
	  {"name": "Build", "actions": [{"name": "B", "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
	    "commands": ["true"], "inputArtifacts": [{"name": "Missing"}]}]}]}`), 0o644)
	msg := fails(t, env, "InvalidStructureException", "codepipeline", "create-pipeline", "--pipeline", "file://"+bad)
	if !strings.Contains(msg, "inputArtifacts") || !strings.Contains(msg, "Missing") {
		t.Errorf("InvalidStructureException does not name the field: %s", msg)
	}
	fails(t, env, "PipelineNotFoundException", "codepipeline", "get-pipeline-state", "--name", "nope")
	fails(t, env, "PipelineExecutionNotFoundException", "codepipeline", "get-pipeline-execution", "--pipeline-name", "app",
		"--pipeline-execution-id", "00000000-0000-4000-8000-000000000000")
	fails(t, env, "PipelineExecutionNotStoppableException", "codepipeline", "stop-pipeline-execution", "--pipeline-name", "app",
		"--pipeline-execution-id", id)

	// Transitions and deletion.
	ok(t, env, "codepipeline", "disable-stage-transition", "--pipeline-name", "app", "--stage-name", "Release", "--transition-type", "Inbound",
		"--reason", "freeze")
	s = ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
	if dig(s, "stageStates", 3, "inboundTransitionState", "enabled") != false || dig(s, "stageStates", 3, "inboundTransitionState", "disabledReason") != "freeze" {
		t.Fatalf("disabled transition: %v", dig(s, "stageStates", 3))
	}
	ok(t, env, "codepipeline", "enable-stage-transition", "--pipeline-name", "app", "--stage-name", "Release", "--transition-type", "Inbound")
	ok(t, env, "codepipeline", "delete-pipeline", "--name", "app")
	fails(t, env, "PipelineNotFoundException", "codepipeline", "get-pipeline", "--name", "app")
}

// TestCodePipelineCodeBuild: a CodeBuild action builds through the build
// service (a project with CODEPIPELINE source and artifacts); its
// artifact and exported variable feed the next action.
func TestCodePipelineCodeBuild(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)

	buildspec := "version: 0.2\nenv:\n  exported-variables: [VERSION]\nphases:\n  build:\n    commands:\n" +
		"      - export VERSION=2.0.7\n      - mkdir -p dist\n      - cp app.txt dist/out.txt\nartifacts:\n  files: ['dist/**/*']\n"
	source, _ := json.Marshal(map[string]string{"type": "CODEPIPELINE", "buildspec": buildspec})
	sourceFile := filepath.Join(t.TempDir(), "source.json")
	os.WriteFile(sourceFile, source, 0o644)
	ok(t, env, "codebuild", "create-project", "--name", "app-build", "--source", "file://"+sourceFile, "--artifacts", "type=CODEPIPELINE",
		"--environment", "type=LINUX_CONTAINER,image=local,computeType=BUILD_GENERAL1_SMALL", "--service-role", "local")

	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "app.txt"), []byte("app version 2\n"), 0o644)
	spec := fmt.Sprintf(`{"name": "built", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "stages": [
	  {"name": "Source", "actions": [{"name": "Checkout", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
	    "configuration": {"Path": %q}, "outputArtifacts": [{"name": "SourceArtifact"}]}]},
	  {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
	    "configuration": {"ProjectName": "app-build"}, "inputArtifacts": [{"name": "SourceArtifact"}], "outputArtifacts": [{"name": "BuildArtifact"}],
	    "namespace": "BuildVariables"}]},
	  {"name": "Check", "actions": [{"name": "Check", "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
	    "commands": ["grep -q 'version 2' dist/out.txt", "test '#{BuildVariables.VERSION}' = 2.0.7"], "inputArtifacts": [{"name": "BuildArtifact"}]}]}]}`, src)
	specFile := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(specFile, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)
	id := ok(t, env, "codepipeline", "start-pipeline-execution", "--name", "built")["pipelineExecutionId"].(string)
	var x map[string]any
	cpWaitFor(t, 120*time.Second, "the execution to end", func() bool {
		x = ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "built", "--pipeline-execution-id", id)
		return dig(x, "pipelineExecution", "status") != "InProgress"
	})
	acts := ok(t, env, "codepipeline", "list-action-executions", "--pipeline-name", "built", "--filter", "pipelineExecutionId="+id)
	if dig(x, "pipelineExecution", "status") != "Succeeded" {
		t.Fatalf("execution: %v\nactions: %v", x, acts)
	}
	for _, d := range acts["actionExecutionDetails"].([]any) {
		if dig(d, "actionName") != "Build" {
			continue
		}
		buildID, _ := dig(d, "output", "executionResult", "externalExecutionId").(string)
		if !strings.HasPrefix(buildID, "app-build:") || dig(d, "output", "outputVariables", "VERSION") != "2.0.7" {
			t.Fatalf("Build action: %v", d)
		}
		b := ok(t, env, "codebuild", "batch-get-builds", "--ids", buildID)
		if dig(b, "builds", 0, "buildStatus") != "SUCCEEDED" || dig(b, "builds", 0, "initiator") != "codepipeline/built" {
			t.Errorf("batch-get-builds: %v", b)
		}
	}
}

// TestCodePipelineSurvivesKill: the server is killed (SIGKILL) while an
// action runs; after a restart on the same data directory the execution
// resumes, the action runs again, and the execution succeeds.
func TestCodePipelineSurvivesKill(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	in := startRegistry(t, dir)
	env := in.awsEnv(t)
	work := t.TempDir()
	runs, gate := filepath.Join(work, "runs"), filepath.Join(work, "gate")
	wait := fmt.Sprintf("for i in $(seq 1200); do [ -f %s ] && break; sleep 0.05; done; [ -f %s ]", gate, gate)
	spec := fmt.Sprintf(`{"name": "durable", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "stages": [
	  {"name": "Source", "actions": [{"name": "Checkout", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "LocalDirectory", "version": "1"},
	    "configuration": {"Path": %q}, "outputArtifacts": [{"name": "Src"}]}]},
	  {"name": "Work", "actions": [{"name": "Long", "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
	    "commands": [%q, %q], "inputArtifacts": [{"name": "Src"}]}]}]}`, work, "echo run >> "+runs, wait)
	specFile := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(specFile, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)
	id := ok(t, env, "codepipeline", "start-pipeline-execution", "--name", "durable")["pipelineExecutionId"].(string)
	countRuns := func() int { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") }
	cpWaitFor(t, 60*time.Second, "the action to run", func() bool { return countRuns() == 1 })

	in.kill()
	in = startRegistry(t, dir)
	env = in.awsEnv(t)
	cpWaitFor(t, 60*time.Second, "the action to run again after the restart", func() bool { return countRuns() == 2 })
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var x map[string]any
	cpWaitFor(t, 60*time.Second, "the execution to end", func() bool {
		x = ok(t, env, "codepipeline", "get-pipeline-execution", "--pipeline-name", "durable", "--pipeline-execution-id", id)
		return dig(x, "pipelineExecution", "status") != "InProgress"
	})
	if dig(x, "pipelineExecution", "status") != "Succeeded" {
		t.Fatalf("after the restart: %v", x)
	}
	if !strings.Contains(in.log.String(), "resuming an action after a restart") {
		t.Errorf("the restart did not log the resumed action:\n%s", in.log.String())
	}
}
