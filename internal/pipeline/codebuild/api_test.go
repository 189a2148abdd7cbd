package codebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/server"
)

// apiHarness serves the API on a real internal/server (its error handler
// renders the JSON 1.1 errors) without SigV4: the authorize callback
// stands in for access.Authorizer and records what it was asked.
type apiHarness struct {
	t   *testing.T
	ts  *httptest.Server
	svc *build.Service

	mu     sync.Mutex
	asked  []string        // "action resource"
	denied map[string]bool // actions to refuse
}

func newAPI(t *testing.T) *apiHarness {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobfs.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := build.Open(context.Background(), build.Config{DataDir: dir, Blobs: blobs, Region: "us-east-1", Account: "123456789012", BaseURL: "http://registry.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	h := &apiHarness{t: t, svc: svc, denied: map[string]bool{}}
	srv := server.New(server.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: &server.Authenticator{}})
	api := &API{Builds: svc, Authorize: h.authorize}
	srv.Echo.POST("/codebuild", api.Handle, server.SetFlavour(server.JSON11))
	api.RegisterDownloads(srv.Echo, server.SetFlavour(server.Text))
	h.ts = httptest.NewServer(srv.Echo)
	t.Cleanup(h.ts.Close)
	return h
}

func (h *apiHarness) authorize(c echo.Context, action, resource string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, action+" "+resource)
	if h.denied[action] {
		return &server.APIError{Status: http.StatusForbidden, Code: "AccessDeniedException", Msg: "not authorized to perform: " + action}
	}
	return nil
}

// call sends op with input in (checked against the model's input shape)
// and returns the status and decoded body, checked against the output
// shape, or for errors against the operation's error list.
func (h *apiHarness) call(op string, in any) (int, map[string]any) {
	h.t.Helper()
	m := model(h.t)
	if _, err := m.Operation(op); err != nil {
		h.t.Fatal(err)
	}
	body, _ := json.Marshal(in)
	if v, err := decodeJSON(body); err == nil && in != nil {
		if err := m.CheckInput(op, v); err != nil {
			h.t.Fatalf("the test sends an input botocore would not: %v", err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/codebuild", bytes.NewReader(body))
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
		h.t.Fatalf("%s: response is not JSON: %v\n%s", op, err, raw)
	}
	var problems []string
	if resp.StatusCode == http.StatusOK {
		if err := m.CheckOutput(op, v); err != nil {
			problems = append(problems, err.Error())
		}
	} else {
		obj, _ := v.(map[string]any)
		code, _ := obj["__type"].(string)
		if resp.Header.Get("x-amzn-ErrorType") != code || obj["message"] == nil {
			problems = append(problems, "error without __type/x-amzn-ErrorType/message: "+string(raw))
		}
		generic := code == "AccessDeniedException" || code == "SerializationException" || code == "UnknownOperationException"
		if err := m.CheckError(op, code, v); !generic && err != nil {
			problems = append(problems, op+" cannot return "+code+" in the model: "+err.Error())
		}
	}
	if len(problems) > 0 {
		h.t.Errorf("%s: %d problems against botocore:\n  %s\n%s", op, len(problems), strings.Join(problems, "\n  "), raw)
	}
	out, _ := v.(map[string]any)
	return resp.StatusCode, out
}

func (h *apiHarness) ok(op string, in any) map[string]any {
	h.t.Helper()
	status, out := h.call(op, in)
	if status != http.StatusOK {
		h.t.Fatalf("%s: status %d: %v", op, status, out)
	}
	return out
}

func (h *apiHarness) fails(op string, in any, code string, msg string) {
	h.t.Helper()
	status, out := h.call(op, in)
	if status == http.StatusOK || out["__type"] != code || !strings.Contains(out["message"].(string), msg) {
		h.t.Errorf("%s: status %d %v, want %s containing %q", op, status, out, code, msg)
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

const apiSpec = `version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - export VERSION=2.0.0
      - mkdir -p out && echo x > out/x.txt && echo '<testsuite><testcase name="t"/></testsuite>' > junit.xml
artifacts:
  files: [out/**/*]
reports:
  unit:
    files: [junit.xml]
`

func createInput(name string) map[string]any {
	return map[string]any{
		"name":        name,
		"description": "the app",
		"source":      map[string]any{"type": "NO_SOURCE", "buildspec": apiSpec},
		"artifacts":   map[string]any{"type": "S3", "location": "bucket", "name": "app.zip", "packaging": "ZIP"},
		"environment": map[string]any{"type": "LINUX_CONTAINER", "image": "local", "computeType": "BUILD_GENERAL1_SMALL",
			"environmentVariables": []any{map[string]any{"name": "A", "value": "1", "type": "PLAINTEXT"}}},
		"serviceRole":      "local",
		"timeoutInMinutes": 10,
		"tags":             []any{map[string]any{"key": "team", "value": "core"}},
		"cache":            map[string]any{"type": "LOCAL", "modes": []any{"LOCAL_CUSTOM_CACHE"}},
		"logsConfig":       map[string]any{"cloudWatchLogs": map[string]any{"status": "DISABLED"}},
	}
}

// TestShapes walks every operation once and checks what it returns
// against botocore.
func TestShapes(t *testing.T) {
	h := newAPI(t)
	p := h.ok("CreateProject", createInput("app"))
	if dig(p, "project", "arn") != "arn:aws:codebuild:us-east-1:123456789012:project/app" || dig(p, "project", "timeoutInMinutes") != json.Number("10") {
		t.Errorf("CreateProject: %v", p)
	}
	h.ok("CreateProject", createInput("other"))
	got := h.ok("BatchGetProjects", map[string]any{"names": []any{"app", "arn:aws:codebuild:us-east-1:123456789012:project/other", "nope"}})
	if len(dig(got, "projects").([]any)) != 2 || dig(got, "projectsNotFound", 0) != "nope" {
		t.Errorf("BatchGetProjects: %v", got)
	}
	upd := h.ok("UpdateProject", map[string]any{"name": "app", "description": "changed", "timeoutInMinutes": 20})
	if dig(upd, "project", "description") != "changed" || dig(upd, "project", "timeoutInMinutes") != json.Number("20") || dig(upd, "project", "source", "type") != "NO_SOURCE" {
		t.Errorf("UpdateProject: %v", upd)
	}
	if l := h.ok("ListProjects", map[string]any{"sortBy": "NAME", "sortOrder": "DESCENDING"}); dig(l, "projects", 0) != "other" {
		t.Errorf("ListProjects: %v", l)
	}

	started := h.ok("StartBuild", map[string]any{"projectName": "app", "sourceVersion": "v1", "timeoutInMinutesOverride": 15,
		"environmentVariablesOverride": []any{map[string]any{"name": "B", "value": "2"}}})
	id := dig(started, "build", "id").(string)
	if dig(started, "build", "buildStatus") != "IN_PROGRESS" || dig(started, "build", "timeoutInMinutes") != json.Number("15") {
		t.Errorf("StartBuild: %v", started)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.svc.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	bs := h.ok("BatchGetBuilds", map[string]any{"ids": []any{id, "app:00000000-0000-0000-0000-000000000000"}})
	b := dig(bs, "builds", 0)
	if dig(b, "buildStatus") != "SUCCEEDED" || dig(b, "currentPhase") != "COMPLETED" || dig(b, "buildComplete") != true ||
		dig(b, "sourceVersion") != "v1" || dig(b, "exportedEnvironmentVariables", 0, "value") != "2.0.0" ||
		dig(b, "logs", "deepLink") != "http://registry.test/builds/"+id+"/log" || dig(b, "artifacts", "sha256sum") == nil ||
		len(dig(b, "reportArns").([]any)) != 1 || len(dig(b, "environment", "environmentVariables").([]any)) != 2 {
		t.Errorf("BatchGetBuilds: %v", bs)
	}
	if len(dig(b, "phases").([]any)) != 11 || dig(bs, "buildsNotFound", 0) == nil {
		t.Errorf("phases/notFound: %v", bs)
	}
	if l := h.ok("ListBuildsForProject", map[string]any{"projectName": "app", "sortOrder": "ASCENDING"}); dig(l, "ids", 0) != id {
		t.Errorf("ListBuildsForProject: %v", l)
	}
	if l := h.ok("ListBuilds", map[string]any{}); dig(l, "ids", 0) != id {
		t.Errorf("ListBuilds: %v", l)
	}
	retried := h.ok("RetryBuild", map[string]any{"id": "arn:aws:codebuild:us-east-1:123456789012:build/" + id})
	rid := dig(retried, "build", "id").(string)
	if dig(retried, "build", "buildNumber") != json.Number("2") {
		t.Errorf("RetryBuild: %v", retried)
	}
	stopped := h.ok("StopBuild", map[string]any{"id": rid})
	if dig(stopped, "build", "buildComplete") != true {
		t.Errorf("StopBuild: %v", stopped)
	}
	h.ok("DeleteProject", map[string]any{"name": "other"})
	h.ok("DeleteProject", map[string]any{"name": "other"}) // deleting twice succeeds
	if l := h.ok("ListProjects", nil); len(dig(l, "projects").([]any)) != 1 {
		t.Errorf("after delete: %v", l)
	}
}

func TestErrors(t *testing.T) {
	h := newAPI(t)
	h.ok("CreateProject", createInput("app"))
	h.fails("CreateProject", createInput("app"), "ResourceAlreadyExistsException", "Project already exists: app")
	bad := createInput("bad")
	bad["source"] = map[string]any{"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: {a: b}\n"}
	h.fails("CreateProject", bad, "InvalidInputException", "phases.build.commands: must be a list")
	git := createInput("git")
	git["source"] = map[string]any{"type": "GITHUB", "location": "https://github.com/x/y"}
	h.fails("CreateProject", git, "InvalidInputException", "GITHUB is not supported")
	h.fails("StartBuild", map[string]any{"projectName": "missing"}, "ResourceNotFoundException", "missing")
	h.fails("StartBuild", map[string]any{"projectName": "app", "buildspecOverride": "version: 0.2\nfoo: 1\n"}, "InvalidInputException", "buildspecOverride: buildspec: foo: unknown key")
	h.fails("StartBuild", map[string]any{"projectName": "app", "environmentVariablesOverride": []any{map[string]any{"name": "CODEBUILD_X", "value": "1"}}}, "InvalidInputException", "reserved")
	h.fails("UpdateProject", map[string]any{"name": "missing", "description": "x"}, "ResourceNotFoundException", "missing")
	h.fails("StopBuild", map[string]any{"id": "app:nope"}, "ResourceNotFoundException", "app:nope")
	h.fails("RetryBuild", map[string]any{"id": "app:nope"}, "ResourceNotFoundException", "app:nope")
	h.fails("ListBuildsForProject", map[string]any{"projectName": "missing"}, "ResourceNotFoundException", "missing")
	h.fails("ListProjects", map[string]any{"nextToken": "zzz"}, "InvalidInputException", "nextToken")

	h.denied["codebuild:StartBuild"] = true
	h.fails("StartBuild", map[string]any{"projectName": "app"}, "AccessDeniedException", "codebuild:StartBuild")

	// Outside the model: a malformed body and an unknown operation.
	for _, tc := range []struct{ target, body, code string }{
		{TargetPrefix + "CreateProject", `{"name": 5}`, "SerializationException"},
		{TargetPrefix + "CreateProject", `{`, "SerializationException"},
		{TargetPrefix + "StartBuildBatch", `{}`, "UnknownOperationException"},
	} {
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/codebuild", strings.NewReader(tc.body))
		req.Header.Set("X-Amz-Target", tc.target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-amzn-ErrorType") != tc.code {
			t.Errorf("%s %s: %d %s", tc.target, tc.body, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
		}
	}
}

// TestAuthorization pins the action and resource each operation asks for.
func TestAuthorization(t *testing.T) {
	h := newAPI(t)
	arn := "arn:aws:codebuild:us-east-1:123456789012:project/app"
	h.ok("CreateProject", createInput("app"))
	id := dig(h.ok("StartBuild", map[string]any{"projectName": "app"}), "build", "id").(string)
	h.ok("BatchGetBuilds", map[string]any{"ids": []any{id}})
	h.ok("StopBuild", map[string]any{"id": id})
	h.ok("ListBuilds", nil)
	h.ok("ListBuildsForProject", map[string]any{"projectName": "app"})
	h.ok("BatchGetProjects", map[string]any{"names": []any{"app"}})
	h.ok("ListProjects", nil)
	h.ok("UpdateProject", map[string]any{"name": "app"})
	h.ok("RetryBuild", map[string]any{"id": id})
	h.ok("DeleteProject", map[string]any{"name": "app"})
	want := []string{
		"codebuild:CreateProject " + arn, "codebuild:StartBuild " + arn, "codebuild:BatchGetBuilds " + arn, "codebuild:StopBuild " + arn,
		"codebuild:ListBuilds *", "codebuild:ListBuildsForProject " + arn, "codebuild:BatchGetProjects " + arn, "codebuild:ListProjects *",
		"codebuild:UpdateProject " + arn, "codebuild:RetryBuild " + arn, "codebuild:DeleteProject " + arn,
	}
	if !slices.Equal(h.asked, want) {
		t.Errorf("asked\n %q\nwant\n %q", h.asked, want)
	}
	for _, op := range Operations() {
		if _, ok := model(t).Operations[op]; !ok {
			t.Errorf("botocore has no operation %s", op)
		}
	}
}

func TestDownloadsNeedACaller(t *testing.T) {
	h := newAPI(t)
	for _, path := range []string{"/builds/app:x/log", "/builds/app:x/artifacts/primary"} {
		resp, err := http.Get(h.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
}
