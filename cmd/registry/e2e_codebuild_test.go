package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/secrets"
)

// The CodeBuild end-to-end tests drive a real registry process with the
// real aws CLI: the secret stores (SSM SecureString, Secrets Manager), a
// project whose inline buildspec reads both, a build polled to
// completion, its log fetched from logs.deepLink with a token, and a
// sleeping build followed and stopped.

const (
	cbParamValue  = "ssm-plaintext-7Hq2"
	cbSecretValue = "sm-plaintext-Zk93"
)

// cbPoll polls cond until it holds or the deadline passes.
func cbPoll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cbBuild returns the build with id from batch-get-builds.
func cbBuild(t *testing.T, env []string, id string) map[string]any {
	t.Helper()
	out := ok(t, env, "codebuild", "batch-get-builds", "--ids", id)
	b, _ := dig(out, "builds", 0).(map[string]any)
	if b == nil {
		t.Fatalf("batch-get-builds %s: %v", id, out)
	}
	return b
}

// cbWait polls batch-get-builds until the build is complete.
func cbWait(t *testing.T, env []string, id string) map[string]any {
	t.Helper()
	var b map[string]any
	cbPoll(t, 90*time.Second, "build "+id+" to complete", func() bool {
		b = cbBuild(t, env, id)
		return b["buildComplete"] == true
	})
	return b
}

// cbPhases renders a build's phases as "TYPE:STATUS ...".
func cbPhases(b map[string]any) string {
	var out []string
	for _, p := range b["phases"].([]any) {
		ph := p.(map[string]any)
		s := ph["phaseType"].(string)
		if st, ok := ph["phaseStatus"].(string); ok {
			s += ":" + st
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// cbToken returns a CodeArtifact authorization token.
func cbToken(t *testing.T, env []string) string {
	t.Helper()
	ok(t, env, "codeartifact", "create-domain", "--domain", "builds")
	r := runAWS(env, "codeartifact", "get-authorization-token", "--domain", "builds", "--query", "authorizationToken")
	tok := strings.Trim(strings.TrimSpace(r.out), `"`)
	if r.err != nil || tok == "" {
		t.Fatalf("get-authorization-token: %v %s", r.err, r.stderr)
	}
	return tok
}

func cbGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func cbWriteJSON(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

func cbCreateProject(t *testing.T, env []string, name, buildspec string) {
	t.Helper()
	ok(t, env, "codebuild", "create-project", "--name", name,
		"--source", cbWriteJSON(t, map[string]any{"type": "NO_SOURCE", "buildspec": buildspec}),
		"--artifacts", "type=NO_ARTIFACTS",
		"--environment", "type=LINUX_CONTAINER,image=local,computeType=BUILD_GENERAL1_SMALL",
		"--service-role", "local")
}

func TestCodeBuildSecretStores(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)

	p := ok(t, env, "ssm", "put-parameter", "--name", "/app/token", "--type", "SecureString", "--value", cbParamValue)
	if dig(p, "Version") != float64(1) {
		t.Errorf("put-parameter: %v", p)
	}
	fails(t, env, "ParameterAlreadyExists", "ssm", "put-parameter", "--name", "/app/token", "--type", "SecureString", "--value", "x")
	g := ok(t, env, "ssm", "get-parameter", "--name", "/app/token", "--with-decryption")
	if dig(g, "Parameter", "Value") != cbParamValue || dig(g, "Parameter", "Type") != "SecureString" {
		t.Errorf("get-parameter --with-decryption: %v", g)
	}
	if v := dig(ok(t, env, "ssm", "get-parameter", "--name", "/app/token"), "Parameter", "Value"); v == cbParamValue || v == "" {
		t.Errorf("get-parameter without decryption returned %v", v)
	}
	ok(t, env, "ssm", "put-parameter", "--name", "/app/plain", "--type", "String", "--value", "plain")
	gs := ok(t, env, "ssm", "get-parameters", "--names", "/app/plain", "/app/missing")
	if dig(gs, "Parameters", 0, "Value") != "plain" || dig(gs, "InvalidParameters", 0) != "/app/missing" {
		t.Errorf("get-parameters: %v", gs)
	}
	ok(t, env, "ssm", "delete-parameter", "--name", "/app/plain")
	fails(t, env, "ParameterNotFound", "ssm", "get-parameter", "--name", "/app/plain")

	c := ok(t, env, "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", `{"password":"`+cbSecretValue+`"}`)
	if !strings.HasPrefix(dig(c, "ARN").(string), "arn:aws:secretsmanager:") || dig(c, "VersionId") == nil {
		t.Errorf("create-secret: %v", c)
	}
	fails(t, env, "ResourceExistsException", "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", "x")
	sv := ok(t, env, "secretsmanager", "get-secret-value", "--secret-id", "app/db")
	if dig(sv, "SecretString") != `{"password":"`+cbSecretValue+`"}` || dig(sv, "VersionStages", 0) != "AWSCURRENT" {
		t.Errorf("get-secret-value: %v", sv)
	}
	ok(t, env, "secretsmanager", "put-secret-value", "--secret-id", "app/db", "--secret-string", `{"password":"`+cbSecretValue+`-v2"}`)
	if prev := ok(t, env, "secretsmanager", "get-secret-value", "--secret-id", "app/db", "--version-stage", "AWSPREVIOUS"); dig(prev, "SecretString") != `{"password":"`+cbSecretValue+`"}` {
		t.Errorf("AWSPREVIOUS: %v", prev)
	}
	if l := ok(t, env, "secretsmanager", "list-secrets"); dig(l, "SecretList", 0, "Name") != "app/db" {
		t.Errorf("list-secrets: %v", l)
	}
	ok(t, env, "secretsmanager", "create-secret", "--name", "scratch", "--secret-string", "scratch-value")
	ok(t, env, "secretsmanager", "delete-secret", "--secret-id", "scratch", "--force-delete-without-recovery")
	fails(t, env, "ResourceNotFoundException", "secretsmanager", "get-secret-value", "--secret-id", "scratch")

	// The store on disk holds no plaintext: not the database, not its WAL.
	files, _ := filepath.Glob(filepath.Join(in.dataDir, "secrets.*"))
	if len(files) < 2 {
		t.Fatalf("secret store files: %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, plain := range []string{cbParamValue, cbSecretValue, "scratch-value"} {
			if bytes.Contains(b, []byte(plain)) {
				t.Errorf("%s holds the plaintext %q", filepath.Base(f), plain)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(in.dataDir, "secrets.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key: %v %v", fi, err)
	}
}

func TestCodeBuildEndToEnd(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)
	ok(t, env, "ssm", "put-parameter", "--name", "/app/token", "--type", "SecureString", "--value", cbParamValue)
	ok(t, env, "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", `{"password":"`+cbSecretValue+`"}`)

	// A buildspec with an unknown key is refused, naming the field.
	msg := fails(t, env, "InvalidInputException", "codebuild", "create-project", "--name", "bad",
		"--source", cbWriteJSON(t, map[string]any{"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    comands: [x]\n"}),
		"--artifacts", "type=NO_ARTIFACTS", "--environment", "type=LINUX_CONTAINER,image=local,computeType=BUILD_GENERAL1_SMALL", "--service-role", "local")
	if !strings.Contains(msg, "phases.build.comands") {
		t.Errorf("create-project with a bad buildspec: %s", msg)
	}

	cbCreateProject(t, env, "app-build", `version: 0.2
env:
  variables:
    STAGE: test
  parameter-store:
    TOKEN: /app/token
  secrets-manager:
    DB_PASSWORD: app/db:password
  exported-variables:
    - APP_VERSION
    - STAGE
phases:
  install:
    commands:
      - mkdir -p work && cd work
  pre_build:
    commands:
      - echo "in $(basename $(pwd))"
  build:
    commands:
      - echo "token=$TOKEN password=$DB_PASSWORD"
      - export APP_VERSION=1.4.2
      - echo "build $CODEBUILD_BUILD_NUMBER of $CODEBUILD_BUILD_ID by $CODEBUILD_INITIATOR"
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING version=$APP_VERSION"
`)
	if l := ok(t, env, "codebuild", "list-projects"); dig(l, "projects", 0) != "app-build" {
		t.Errorf("list-projects: %v", l)
	}
	if p := ok(t, env, "codebuild", "batch-get-projects", "--names", "app-build"); dig(p, "projects", 0, "arn") == nil {
		t.Errorf("batch-get-projects: %v", p)
	}

	start := ok(t, env, "codebuild", "start-build", "--project-name", "app-build")
	id := dig(start, "build", "id").(string)
	if !strings.HasPrefix(id, "app-build:") || dig(start, "build", "buildStatus") != "IN_PROGRESS" {
		t.Fatalf("start-build: %v", start)
	}
	b := cbWait(t, env, id)
	if b["buildStatus"] != "SUCCEEDED" {
		t.Fatalf("build %s: %s", b["buildStatus"], cbPhases(b))
	}
	want := "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED"
	if got := cbPhases(b); got != want {
		t.Errorf("phases\n got %s\nwant %s", got, want)
	}
	exported := map[string]any{}
	for _, v := range b["exportedEnvironmentVariables"].([]any) {
		exported[dig(v, "name").(string)] = dig(v, "value")
	}
	if exported["APP_VERSION"] != "1.4.2" || exported["STAGE"] != "test" {
		t.Errorf("exported variables: %v", exported)
	}
	if b["initiator"] != "root" || b["buildNumber"] != float64(1) {
		t.Errorf("initiator %v number %v", b["initiator"], b["buildNumber"])
	}

	// The log at logs.deepLink, with a token as Bearer and as Basic.
	link := dig(b, "logs", "deepLink").(string)
	if !strings.HasPrefix(link, in.endpoint+"/builds/") {
		t.Fatalf("deepLink %q", link)
	}
	if status, _ := cbGet(t, link, ""); status != http.StatusUnauthorized {
		t.Errorf("log without a token: %d", status)
	}
	token := cbToken(t, env)
	status, log := cbGet(t, link, "Bearer "+token)
	if status != http.StatusOK {
		t.Fatalf("log: %d %s", status, log)
	}
	for _, w := range []string{"in work", "token=*** password=***", "build 1 of " + id + " by root", "succeeding=1 version=1.4.2", "Phase complete: BUILD State: SUCCEEDED"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	for _, secret := range []string{cbParamValue, cbSecretValue} {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows the secret %q", secret)
		}
	}
	if status, basic := cbGet(t, link, "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+token))); status != http.StatusOK || basic != log {
		t.Errorf("log with Basic: %d", status)
	}

	// A failing build runs post_build with CODEBUILD_BUILD_SUCCEEDING=0.
	fb := ok(t, env, "codebuild", "start-build", "--project-name", "app-build", "--buildspec-override",
		"version: 0.2\nphases:\n  build:\n    commands: [\"false\"]\n  post_build:\n    commands: [\"echo post-succeeding=$CODEBUILD_BUILD_SUCCEEDING\"]\n")
	failed := cbWait(t, env, dig(fb, "build", "id").(string))
	if failed["buildStatus"] != "FAILED" || !strings.Contains(cbPhases(failed), "BUILD:FAILED POST_BUILD:SUCCEEDED") {
		t.Errorf("failing build: %v %s", failed["buildStatus"], cbPhases(failed))
	}
	if _, flog := cbGet(t, dig(failed, "logs", "deepLink").(string), "Bearer "+token); !strings.Contains(flog, "post-succeeding=0") {
		t.Errorf("failing build log:\n%s", flog)
	}

	// A sleeping build: its log streams while it runs, stop-build stops it.
	sb := ok(t, env, "codebuild", "start-build", "--project-name", "app-build", "--buildspec-override",
		"version: 0.2\nphases:\n  build:\n    commands:\n      - echo now-sleeping\n      - sleep 600\n")
	sid := dig(sb, "build", "id").(string)
	req, _ := http.NewRequest(http.MethodGet, dig(sb, "build", "logs", "deepLink").(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var streamed []string
	cbPoll(t, 60*time.Second, "the running build's log to stream now-sleeping", func() bool {
		for {
			select {
			case l, more := <-lines:
				if !more {
					t.Fatalf("the log stream ended while the build runs:\n%s", strings.Join(streamed, "\n"))
				}
				streamed = append(streamed, l)
				if l == "now-sleeping" {
					return true
				}
			default:
				return false
			}
		}
	})
	if running := cbBuild(t, env, sid); running["currentPhase"] != "BUILD" || running["buildStatus"] != "IN_PROGRESS" {
		t.Errorf("while sleeping: %v %v", running["currentPhase"], running["buildStatus"])
	}
	ok(t, env, "codebuild", "stop-build", "--id", sid)
	stopped := cbWait(t, env, sid)
	if stopped["buildStatus"] != "STOPPED" || !strings.Contains(cbPhases(stopped), "BUILD:STOPPED FINALIZING:SUCCEEDED") {
		t.Errorf("stopped build: %v %s", stopped["buildStatus"], cbPhases(stopped))
	}
	// The stream ends once the build completes.
	cbPoll(t, 30*time.Second, "the log stream to end", func() bool {
		for {
			select {
			case l, more := <-lines:
				if !more {
					return true
				}
				streamed = append(streamed, l)
			default:
				return false
			}
		}
	})
	if all := strings.Join(streamed, "\n"); !strings.Contains(all, "Phase complete: BUILD State: STOPPED") {
		t.Errorf("streamed log:\n%s", all)
	}

	ids := ok(t, env, "codebuild", "list-builds-for-project", "--project-name", "app-build")
	if got := len(dig(ids, "ids").([]any)); got != 3 || dig(ids, "ids", 0) != sid {
		t.Errorf("list-builds-for-project: %v", ids)
	}
	retried := ok(t, env, "codebuild", "retry-build", "--id", id)
	if r := cbWait(t, env, dig(retried, "build", "id").(string)); r["buildStatus"] != "SUCCEEDED" || r["buildNumber"] != float64(4) {
		t.Errorf("retry-build: %v %v", r["buildStatus"], r["buildNumber"])
	}
	fails(t, env, "ResourceNotFoundException", "codebuild", "start-build", "--project-name", "missing")
}

// TestCodeBuildRestart kills the server during a build; after a restart
// the build is FAILED with the reason in its phase contexts.
func TestCodeBuildRestart(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	in := startRegistry(t, dir)
	env := in.awsEnv(t)
	cbCreateProject(t, env, "long", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - sleep 600\n")
	id := dig(ok(t, env, "codebuild", "start-build", "--project-name", "long"), "build", "id").(string)
	cbPoll(t, 60*time.Second, "the build to reach BUILD", func() bool { return cbBuild(t, env, id)["currentPhase"] == "BUILD" })
	in.kill()

	in = startRegistry(t, dir)
	env = in.awsEnv(t)
	b := cbBuild(t, env, id)
	if b["buildStatus"] != "FAILED" || b["buildComplete"] != true || !strings.Contains(cbPhases(b), "BUILD:FAILED FINALIZING:SUCCEEDED COMPLETED") {
		t.Fatalf("after restart: %v %s", b["buildStatus"], cbPhases(b))
	}
	var reason string
	for _, p := range b["phases"].([]any) {
		if dig(p, "phaseType") == "BUILD" {
			reason, _ = dig(p, "contexts", 0, "message").(string)
		}
	}
	if !strings.Contains(reason, "server stopped while this build was in progress") {
		t.Errorf("BUILD phase context: %q", reason)
	}
	if _, log := cbGet(t, dig(b, "logs", "deepLink").(string), "Bearer "+cbToken(t, env)); !strings.Contains(log, "started") || !strings.Contains(log, "marked failed") {
		t.Errorf("log after restart:\n%s", log)
	}
}

// TestCodeBuildPipelineBuilder drives the engine.Builder adapter the way
// the pipeline engine does: a source zip in, named output zips and
// exported variables out; an unknown id is ErrUnknownBuild.
func TestCodeBuildPipelineBuilder(t *testing.T) {
	dir := t.TempDir()
	blobs, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sec, err := secrets.Open(ctx, secrets.Options{Path: filepath.Join(dir, "secrets.db"), KeyFile: filepath.Join(dir, "secrets.key"), Region: "us-east-1", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := build.Open(ctx, build.Config{DataDir: dir, Blobs: blobs, Secrets: sec, Region: "us-east-1", Account: "123456789012", BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	cb := &codeBuild{Builds: svc, Secrets: sec}
	defer cb.Close()
	if _, err := sec.CreateSecret(ctx, secrets.CreateSecretInput{Name: "db", String: ptr(`{"password":"pw"}`)}); err != nil {
		t.Fatal(err)
	}
	if v, err := cb.SecretResolver()(ctx, "db:password"); err != nil || v != "pw" {
		t.Errorf("SecretResolver: %q %v", v, err)
	}
	p := build.Project{Name: "app-build", Source: build.Source{Type: build.SourceNoSource, Buildspec: `version: 0.2
env:
  exported-variables: [GREETING]
phases:
  build:
    commands:
      - export GREETING="$(cat hello.txt) $WHO"
      - mkdir -p dist && echo "$GREETING" > dist/out.txt
artifacts:
  files: [dist/*]
`}, Artifacts: build.ArtifactsConfig{Type: build.ArtifactsNone}, ServiceRole: "local",
		Environment: build.Environment{Type: "LINUX_CONTAINER", Image: "local", ComputeType: "BUILD_GENERAL1_SMALL"}}
	if _, err := svc.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("hello.txt")
	io.WriteString(w, "hello")
	zw.Close()
	put, err := blobs.Put(ctx, &zbuf, "")
	if err != nil {
		t.Fatal(err)
	}
	b := cb.PipelineBuilder()
	id, err := b.StartBuild(ctx, "app-build", engine.BuildInput{Sources: []engine.Artifact{{Name: "SourceArtifact", SHA256: put.Hashes.SHA256}},
		Env: map[string]string{"WHO": "pipeline"}, Outputs: []string{"BuildArtifact"}, Initiator: "codepipeline/app", SourceVersion: "1.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := b.WaitBuild(wctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" || res.ExportedVariables["GREETING"] != "hello pipeline" || len(res.Outputs) != 1 || res.Outputs[0].Name != "BuildArtifact" || res.LogURL == "" {
		t.Fatalf("result %+v", res)
	}
	rc, info, err := blobs.Open(ctx, res.Outputs[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	zr, err := zip.NewReader(bytes.NewReader(data), info.Size)
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "dist/out.txt" {
		t.Fatalf("output zip: %v %v", zr, err)
	}
	if _, err := b.WaitBuild(ctx, "app-build:unknown"); !errors.Is(err, engine.ErrUnknownBuild) {
		t.Errorf("unknown build: %v", err)
	}
	missing := strings.Repeat("0", 64) // a source zip that is not in the blob store
	fid, _ := b.StartBuild(ctx, "app-build", engine.BuildInput{Sources: []engine.Artifact{{Name: "Gone", SHA256: missing}}, Outputs: []string{"BuildArtifact"}})
	if res, err := b.WaitBuild(wctx, fid); err != nil || res.Status != "FAILED" || !strings.Contains(res.Message, "DOWNLOAD_SOURCE FAILED") || !strings.Contains(res.Message, "input artifact Gone") {
		t.Errorf("failing build: %+v %v", res, err)
	}
}

func ptr(s string) *string { return &s }
