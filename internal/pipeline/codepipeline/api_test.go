package codepipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/awsmodel"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/server"
)

// harness serves the API through the real server (its JSON 1.1 error
// handler) on an engine with a real SQLite file and blob store. SigV4 is
// the server's concern and is covered there and end to end; here the
// route skips it.
type harness struct {
	t  *testing.T
	ts *httptest.Server
	m  *awsmodel.Model
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(context.Background(), engine.Options{DBPath: filepath.Join(dir, "pipelines.db"), Blobs: blobs, Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(server.Options{Log: log, Auth: &server.Authenticator{}})
	api := &API{Engine: e, Region: "us-east-1", Account: "123456789012",
		Caller: func(echo.Context) string { return "arn:aws:iam::123456789012:user/tester" }}
	srv.Echo.POST("/cp", api.Handle, server.SetFlavour(server.JSON11))
	h := &harness{t: t, ts: httptest.NewServer(srv.Echo), m: model(t)}
	t.Cleanup(func() { h.ts.Close(); e.Close() })
	return h
}

// call sends an operation and checks the answer against the model: the
// output shape on success, a modelled exception otherwise. It returns the
// status, the exception code ("" on success) and the decoded body.
func (h *harness) call(op string, in any) (int, string, map[string]any) {
	h.t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/cp", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	v, err := decodeJSON(raw)
	if err != nil {
		h.t.Fatalf("%s: body is not JSON: %v\n%s", op, err, raw)
	}
	obj, _ := v.(map[string]any)
	_, known := h.m.Operations[op]
	if resp.StatusCode != http.StatusOK {
		code, _ := obj["__type"].(string)
		if err := h.m.CheckError(op, code, obj); known && err != nil && code != "SerializationException" {
			h.t.Errorf("%s: exception %s is not one the model lists for it: %v", op, code, err)
		}
		if resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" || resp.Header.Get("x-amzn-ErrorType") != code {
			h.t.Errorf("%s: error headers %v", op, resp.Header)
		}
		return resp.StatusCode, code, obj
	}
	if known {
		if err := h.m.CheckOutput(op, v); err != nil {
			h.t.Errorf("%s: %v", op, err)
		}
	}
	return resp.StatusCode, "", obj
}

// ok calls an operation that must succeed.
func (h *harness) ok(op string, in any) map[string]any {
	h.t.Helper()
	st, code, out := h.call(op, in)
	if st != http.StatusOK {
		h.t.Fatalf("%s: %d %s %v", op, st, code, out["message"])
	}
	return out
}

// fails calls an operation that must fail with the exception code.
func (h *harness) fails(code, op string, in any) string {
	h.t.Helper()
	st, got, out := h.call(op, in)
	if st != http.StatusBadRequest || got != code {
		h.t.Fatalf("%s: %d %s %v, want 400 %s", op, st, got, out, code)
	}
	msg, _ := out["message"].(string)
	return msg
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func awsType(category, provider string) map[string]string {
	return map[string]string{"category": category, "owner": "AWS", "provider": provider, "version": "1"}
}

func declaration(name, src string, stages ...map[string]any) map[string]any {
	all := append([]map[string]any{{"name": "Source", "actions": []any{map[string]any{"name": "Src", "actionTypeId": awsType("Source", "LocalDirectory"),
		"configuration": map[string]string{"Path": src}, "outputArtifacts": []any{map[string]string{"name": "S"}}}}}}, stages...)
	return map[string]any{"name": name, "roleArn": "arn:aws:iam::123456789012:role/p", "pipelineType": "V2", "stages": all,
		"variables": []any{map[string]string{"name": "who", "defaultValue": "world"}}}
}

func commandsStage(name string, commands ...string) map[string]any {
	return map[string]any{"name": name, "actions": []any{map[string]any{"name": name + "Action", "actionTypeId": awsType("Invoke", "Commands"),
		"commands": commands, "inputArtifacts": []any{map[string]string{"name": "S"}}, "namespace": name + "NS", "outputVariables": []string{"OUT"}}}}
}

func approvalStage(name string) map[string]any {
	return map[string]any{"name": name, "actions": []any{map[string]any{"name": "Gate", "actionTypeId": awsType("Approval", "Manual"),
		"configuration": map[string]string{"CustomData": "#{variables.who}"}}}}
}

// TestAPI drives every operation and checks each answer against the
// botocore model.
func TestAPI(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	marks := t.TempDir()

	d := declaration("app", src, commandsStage("Build", "export OUT=built-#{variables.who}"), approvalStage("Approve"))
	created := h.ok("CreatePipeline", map[string]any{"pipeline": d, "tags": []any{map[string]string{"key": "team", "value": "a"}}})
	if dig(created, "pipeline", "version") != json.Number("1") || dig(created, "tags", 0, "key") != "team" {
		t.Errorf("CreatePipeline: %v", created)
	}
	h.fails("PipelineNameInUseException", "CreatePipeline", map[string]any{"pipeline": d})
	h.fails("ValidationException", "CreatePipeline", map[string]any{})
	bad := declaration("bad", src)
	if msg := h.fails("InvalidStructureException", "CreatePipeline", map[string]any{"pipeline": bad}); !strings.Contains(msg, "minimum of 2") {
		t.Errorf("one-stage message %q", msg)
	}
	badAction := declaration("bad", src, map[string]any{"name": "B", "actions": []any{map[string]any{"name": "X", "actionTypeId": awsType("Build", "Jenkins")}}})
	if msg := h.fails("InvalidActionDeclarationException", "CreatePipeline", map[string]any{"pipeline": badAction}); !strings.Contains(msg, "actionTypeId") {
		t.Errorf("unknown provider message %q", msg)
	}
	h.fails("SerializationException", "CreatePipeline", map[string]any{"pipeline": map[string]any{"name": 5}})

	got := h.ok("GetPipeline", map[string]any{"name": "app"})
	if dig(got, "metadata", "pipelineArn") != "arn:aws:codepipeline:us-east-1:123456789012:app" {
		t.Errorf("GetPipeline: %v", got)
	}
	h.fails("PipelineNotFoundException", "GetPipeline", map[string]any{"name": "nope"})
	h.fails("PipelineVersionNotFoundException", "GetPipeline", map[string]any{"name": "app", "version": 7})

	upd := h.ok("UpdatePipeline", map[string]any{"pipeline": d})
	if dig(upd, "pipeline", "version") != json.Number("2") {
		t.Errorf("UpdatePipeline: %v", upd)
	}
	for i := 0; i < 3; i++ {
		h.ok("CreatePipeline", map[string]any{"pipeline": declaration(fmt.Sprintf("other-%d", i), src, commandsStage("Build", "true"))})
	}
	page := h.ok("ListPipelines", map[string]any{"maxResults": 2})
	next, _ := page["nextToken"].(string)
	if len(page["pipelines"].([]any)) != 2 || next == "" || dig(page, "pipelines", 0, "name") != "app" {
		t.Fatalf("ListPipelines page 1: %v", page)
	}
	page = h.ok("ListPipelines", map[string]any{"maxResults": 2, "nextToken": next})
	if len(page["pipelines"].([]any)) != 2 || page["nextToken"] != nil || dig(page, "pipelines", 1, "name") != "other-2" {
		t.Fatalf("ListPipelines page 2: %v", page)
	}
	h.fails("InvalidNextTokenException", "ListPipelines", map[string]any{"nextToken": "garbage"})
	h.fails("ValidationException", "ListPipelines", map[string]any{"maxResults": 0})

	// Run: start with a variable override, wait for the approval, approve.
	start := h.ok("StartPipelineExecution", map[string]any{"name": "app", "variables": []any{map[string]string{"name": "who", "value": "you"}},
		"clientRequestToken": "token-1"})
	id := start["pipelineExecutionId"].(string)
	if again := h.ok("StartPipelineExecution", map[string]any{"name": "app", "clientRequestToken": "token-1"}); again["pipelineExecutionId"] != id {
		t.Errorf("the client request token did not make the start idempotent: %v", again)
	}
	h.fails("PipelineNotFoundException", "StartPipelineExecution", map[string]any{"name": "nope"})
	h.fails("ValidationException", "StartPipelineExecution", map[string]any{"name": "app", "variables": []any{map[string]string{"name": "nope", "value": "x"}}})
	var token string
	h.waitFor("the approval", func() bool {
		s := h.ok("GetPipelineState", map[string]any{"name": "app"})
		token, _ = dig(s, "stageStates", 2, "actionStates", 0, "latestExecution", "token").(string)
		return token != ""
	})
	s := h.ok("GetPipelineState", map[string]any{"name": "app"})
	if dig(s, "pipelineVersion") != json.Number("2") || dig(s, "stageStates", 0, "actionStates", 0, "currentRevision", "revisionId") == nil {
		t.Errorf("GetPipelineState: %v", s)
	}
	h.fails("InvalidApprovalTokenException", "PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Approve", "actionName": "Gate",
		"result": map[string]string{"summary": "", "status": "Approved"}, "token": "00000000-0000-4000-8000-000000000000"})
	h.fails("StageNotFoundException", "PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Nope", "actionName": "Gate",
		"result": map[string]string{"summary": "", "status": "Approved"}, "token": token})
	h.fails("ActionNotFoundException", "PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Approve", "actionName": "Nope",
		"result": map[string]string{"summary": "", "status": "Approved"}, "token": token})
	h.fails("ValidationException", "PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Approve", "actionName": "Gate",
		"result": map[string]string{"summary": "", "status": "Maybe"}, "token": token})
	h.ok("PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Approve", "actionName": "Gate",
		"result": map[string]string{"summary": "fine", "status": "Approved"}, "token": token})
	h.fails("ApprovalAlreadyCompletedException", "PutApprovalResult", map[string]any{"pipelineName": "app", "stageName": "Approve", "actionName": "Gate",
		"result": map[string]string{"summary": "", "status": "Approved"}, "token": token})
	var x map[string]any
	h.waitFor("the execution to succeed", func() bool {
		x = h.ok("GetPipelineExecution", map[string]any{"pipelineName": "app", "pipelineExecutionId": id})
		return dig(x, "pipelineExecution", "status") == "Succeeded"
	})
	if dig(x, "pipelineExecution", "variables", 0, "resolvedValue") != "you" || dig(x, "pipelineExecution", "trigger", "triggerDetail") != "arn:aws:iam::123456789012:user/tester" {
		t.Errorf("GetPipelineExecution: %v", x)
	}
	h.fails("PipelineExecutionNotFoundException", "GetPipelineExecution", map[string]any{"pipelineName": "app", "pipelineExecutionId": "00000000-0000-4000-8000-000000000000"})
	h.fails("ValidationException", "GetPipelineExecution", map[string]any{"pipelineName": "app", "pipelineExecutionId": "not-an-id"})

	l := h.ok("ListPipelineExecutions", map[string]any{"pipelineName": "app", "filter": map[string]any{"succeededInStage": map[string]string{"stageName": "Approve"}}})
	if dig(l, "pipelineExecutionSummaries", 0, "pipelineExecutionId") != id || len(l["pipelineExecutionSummaries"].([]any)) != 1 {
		t.Errorf("ListPipelineExecutions: %v", l)
	}
	acts := h.ok("ListActionExecutions", map[string]any{"pipelineName": "app", "filter": map[string]any{"pipelineExecutionId": id}})
	if n := len(acts["actionExecutionDetails"].([]any)); n != 3 {
		t.Errorf("ListActionExecutions: %d details", n)
	}
	first := h.ok("ListActionExecutions", map[string]any{"pipelineName": "app", "maxResults": 2})
	if first["nextToken"] == nil {
		t.Fatalf("ListActionExecutions maxResults 2: %v", first)
	}
	rest := h.ok("ListActionExecutions", map[string]any{"pipelineName": "app", "maxResults": 2, "nextToken": first["nextToken"]})
	if n := len(rest["actionExecutionDetails"].([]any)); n != 1 || rest["nextToken"] != nil {
		t.Errorf("ListActionExecutions page 2: %v", rest)
	}
	latest := h.ok("ListActionExecutions", map[string]any{"pipelineName": "app",
		"filter": map[string]any{"latestInPipelineExecution": map[string]string{"pipelineExecutionId": id, "startTimeRange": "Latest"}}})
	if n := len(latest["actionExecutionDetails"].([]any)); n != 3 {
		t.Errorf("latestInPipelineExecution: %d", n)
	}

	// Retry: a stage that fails until a file exists.
	flag := filepath.Join(marks, "ok")
	h.ok("CreatePipeline", map[string]any{"pipeline": declaration("flaky", src, commandsStage("Build", "test -f "+flag))})
	fid := h.ok("StartPipelineExecution", map[string]any{"name": "flaky"})["pipelineExecutionId"].(string)
	h.waitFor("flaky to fail", func() bool {
		return dig(h.ok("GetPipelineExecution", map[string]any{"pipelineName": "flaky", "pipelineExecutionId": fid}), "pipelineExecution", "status") == "Failed"
	})
	s = h.ok("GetPipelineState", map[string]any{"name": "flaky"})
	if dig(s, "stageStates", 1, "actionStates", 0, "latestExecution", "errorDetails", "code") != "JobFailed" {
		t.Errorf("failed action state: %v", dig(s, "stageStates", 1))
	}
	h.fails("StageNotFoundException", "RetryStageExecution", map[string]any{"pipelineName": "flaky", "stageName": "Nope", "pipelineExecutionId": fid, "retryMode": "FAILED_ACTIONS"})
	os.WriteFile(flag, nil, 0o644)
	h.ok("RetryStageExecution", map[string]any{"pipelineName": "flaky", "stageName": "Build", "pipelineExecutionId": fid, "retryMode": "FAILED_ACTIONS"})
	h.waitFor("flaky to succeed", func() bool {
		return dig(h.ok("GetPipelineExecution", map[string]any{"pipelineName": "flaky", "pipelineExecutionId": fid}), "pipelineExecution", "status") == "Succeeded"
	})
	h.fails("StageNotRetryableException", "RetryStageExecution", map[string]any{"pipelineName": "flaky", "stageName": "Build", "pipelineExecutionId": fid, "retryMode": "ALL_ACTIONS"})
	if s := h.ok("GetPipelineState", map[string]any{"name": "flaky"}); dig(s, "stageStates", 1, "retryStageMetadata", "manualStageRetryAttempt") != json.Number("1") {
		t.Errorf("retry metadata: %v", dig(s, "stageStates", 1))
	}

	// Stop: wait, then abandon.
	gate := filepath.Join(marks, "gate")
	h.ok("CreatePipeline", map[string]any{"pipeline": declaration("slow", src, commandsStage("Build", fmt.Sprintf("for i in $(seq 600); do [ -f %s ] && break; sleep 0.05; done", gate)))})
	sid := h.ok("StartPipelineExecution", map[string]any{"name": "slow"})["pipelineExecutionId"].(string)
	h.waitFor("slow to build", func() bool {
		s := h.ok("GetPipelineState", map[string]any{"name": "slow"})
		return dig(s, "stageStates", 1, "actionStates", 0, "latestExecution", "status") == "InProgress"
	})
	h.ok("StopPipelineExecution", map[string]any{"pipelineName": "slow", "pipelineExecutionId": sid, "reason": "wait"})
	h.fails("DuplicatedStopRequestException", "StopPipelineExecution", map[string]any{"pipelineName": "slow", "pipelineExecutionId": sid})
	h.ok("StopPipelineExecution", map[string]any{"pipelineName": "slow", "pipelineExecutionId": sid, "abandon": true})
	h.waitFor("slow to stop", func() bool {
		return dig(h.ok("GetPipelineExecution", map[string]any{"pipelineName": "slow", "pipelineExecutionId": sid}), "pipelineExecution", "status") == "Stopped"
	})
	h.fails("PipelineExecutionNotStoppableException", "StopPipelineExecution", map[string]any{"pipelineName": "slow", "pipelineExecutionId": sid})
	l = h.ok("ListPipelineExecutions", map[string]any{"pipelineName": "slow"})
	if dig(l, "pipelineExecutionSummaries", 0, "stopTrigger", "reason") != "wait" {
		t.Errorf("stop trigger: %v", l)
	}
	acts = h.ok("ListActionExecutions", map[string]any{"pipelineName": "slow", "filter": map[string]any{"pipelineExecutionId": sid}})
	if dig(acts, "actionExecutionDetails", 0, "status") != "Abandoned" {
		t.Errorf("abandoned action: %v", dig(acts, "actionExecutionDetails", 0))
	}

	// Transitions.
	h.ok("DisableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Build", "transitionType": "Inbound", "reason": "Freeze (release)"})
	s = h.ok("GetPipelineState", map[string]any{"name": "app"})
	if dig(s, "stageStates", 1, "inboundTransitionState", "enabled") != false || dig(s, "stageStates", 1, "inboundTransitionState", "lastChangedBy") == nil {
		t.Errorf("disabled: %v", dig(s, "stageStates", 1, "inboundTransitionState"))
	}
	h.fails("ValidationException", "DisableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Build", "transitionType": "Inbound", "reason": "no_underscores"})
	h.fails("ValidationException", "DisableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Build", "transitionType": "Inbound"})
	h.fails("StageNotFoundException", "EnableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Nope", "transitionType": "Inbound"})
	h.fails("ValidationException", "EnableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Build", "transitionType": "Sideways"})
	h.ok("EnableStageTransition", map[string]any{"pipelineName": "app", "stageName": "Build", "transitionType": "Inbound"})

	h.ok("DeletePipeline", map[string]any{"name": "app"})
	h.ok("DeletePipeline", map[string]any{"name": "app"})
	h.fails("PipelineNotFoundException", "GetPipelineState", map[string]any{"name": "app"})
	if st, code, _ := h.call("Frobnicate", map[string]any{}); st != http.StatusBadRequest || code != "UnknownOperationException" {
		t.Errorf("unknown operation: %d %s", st, code)
	}
}
