package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuildSucceeds(t *testing.T) {
	h := newHarness(t, nil)
	p := testProject("app", `version: 0.2
env:
  variables:
    GREETING: hello
    OVERRIDDEN: from-buildspec
  parameter-store:
    TOKEN: /app/token
  secrets-manager:
    DB_PASS: db:password
    RAW: raw
  exported-variables: [VERSION, GREETING, UNSET_ONE, LEAK]
phases:
  install:
    commands:
      - cd sub 2>/dev/null || mkdir sub && cd sub
      - export VERSION=0.0.1
  pre_build:
    commands:
      - echo "pwd=$(basename $(pwd))"
  build:
    commands:
      - export VERSION=1.2.3
      - echo "token=$TOKEN pass=$DB_PASS raw=$RAW"
      - echo "id=$CODEBUILD_BUILD_ID number=$CODEBUILD_BUILD_NUMBER initiator=$CODEBUILD_INITIATOR succeeding=$CODEBUILD_BUILD_SUCCEEDING"
      - echo "src=$CODEBUILD_SRC_DIR arn=$CODEBUILD_BUILD_ARN region=$AWS_REGION over=$OVERRIDDEN project=$PROJECT_VAR"
      - export LEAK="x-$DB_PASS-y"
      - mkdir -p $CODEBUILD_SRC_DIR/dist/js $CODEBUILD_SRC_DIR/reports
      - echo app > $CODEBUILD_SRC_DIR/dist/js/app.js; echo map > $CODEBUILD_SRC_DIR/dist/js/app.js.map
      - printf '<testsuite><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>' > $CODEBUILD_SRC_DIR/reports/junit.xml
artifacts:
  files: ['**/*']
  base-directory: dist
  exclude-paths: ['**/*.map']
reports:
  unit:
    files: ['reports/*.xml']
`)
	p.Artifacts = ArtifactsConfig{Type: ArtifactsS3, Location: "bucket", Name: "app.zip"}
	p.Environment.EnvironmentVariables = []EnvVar{{Name: "PROJECT_VAR", Value: "p"}, {Name: "OVERRIDDEN", Value: "from-project"}}
	h.project(p)
	started := h.start(StartRequest{Project: "app", Initiator: "alice", EnvironmentVariables: []EnvVar{{Name: "OVERRIDDEN", Value: "from-override"}}})
	if started.Number != 1 || started.Status != StatusInProgress || !strings.HasPrefix(started.ID, "app:") {
		t.Errorf("started %+v", started)
	}
	b := h.wait(started.ID)
	if b.Status != StatusSucceeded || !b.Complete || b.CurrentPhase != PhaseCompleted || b.EndTime.IsZero() {
		t.Fatalf("build %s %s complete=%v: %s", b.Status, b.CurrentPhase, b.Complete, phases(b))
	}
	want := "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED"
	if got := phases(b); got != want {
		t.Errorf("phases\n got %s\nwant %s", got, want)
	}
	log := h.log(b)
	for _, w := range []string{
		"pwd=sub",
		"token=*** pass=*** raw=***",
		"id=" + b.ID + " number=1 initiator=alice succeeding=1",
		"arn=arn:aws:codebuild:us-east-1:123456789012:build/" + b.ID + " region=us-east-1 over=from-override project=p",
		"Running command export VERSION=1.2.3",
		"Phase complete: BUILD State: SUCCEEDED",
	} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	for _, secret := range []string{"tok-3f9a8b7c6d", "hunter2-pw-xyz", "raw-secret-value"} {
		if strings.Contains(log, secret) {
			t.Errorf("secret %q in the log", secret)
		}
	}
	gotVars := map[string]string{}
	for _, v := range b.ExportedVariables {
		gotVars[v.Name] = v.Value
	}
	if gotVars["VERSION"] != "1.2.3" || gotVars["GREETING"] != "hello" || gotVars["LEAK"] != "x-***-y" || len(gotVars) != 3 {
		t.Errorf("exported %+v", b.ExportedVariables)
	}
	if b.Artifacts == nil {
		t.Fatal("no artifact")
	}
	if files := h.zipFiles(b.Artifacts.Digest); len(files) != 1 || files["js/app.js"] != "app\n" {
		t.Errorf("artifact holds %v", files)
	}
	if b.Artifacts.Name != "app.zip" || b.Artifacts.MD5 == "" || b.Artifacts.Size == 0 {
		t.Errorf("artifact %+v", b.Artifacts)
	}
	if len(b.Reports) != 1 || b.Reports[0].Total != 2 || b.Reports[0].Counts[TestFailed] != 1 || b.Reports[0].Status != "FAILED" || b.Reports[0].Name != "app-unit" {
		t.Errorf("reports %+v", b.Reports)
	}
	if _, err := os.Stat(h.svc.workDir(b.UUID())); !os.IsNotExist(err) {
		t.Errorf("workspace left behind: %v", err)
	}

	// Events: the state at start and end, one phase change per phase.
	evs := h.events.all()
	var states []string
	phaseEvents := 0
	for _, e := range evs {
		switch d := e.Detail.(type) {
		case StateChangeDetail:
			states = append(states, d.BuildStatus)
		case PhaseChangeDetail:
			phaseEvents++
		}
		if e.Source != "aws.codebuild" || e.Subject("registry") != "registry.codebuild.app" || e.Resources[0] != b.ARN {
			t.Errorf("event %+v", e)
		}
	}
	if strings.Join(states, ",") != "IN_PROGRESS,SUCCEEDED" || phaseEvents != 9 { // QUEUED through FINALIZING
		t.Errorf("states %v, %d phase events", states, phaseEvents)
	}

	// The next build gets the next number.
	if b2 := h.wait(h.start(StartRequest{Project: "app"}).ID); b2.Number != 2 {
		t.Errorf("second build number %d", b2.Number)
	}
}

// TestTransitions runs CodeBuild's phase transition rules for real.
func TestTransitions(t *testing.T) {
	h := newHarness(t, nil)
	for i, tc := range []struct {
		name, spec, phases string
		status             Status
		inLog, notInLog    []string
	}{
		{
			name:   "build failure runs post_build with CODEBUILD_BUILD_SUCCEEDING=0",
			spec:   "version: 0.2\nphases:\n  build:\n    commands:\n      - echo before\n      - exit 2 || false\n      - echo skipped-command\n    finally:\n      - echo finally-ran\n  post_build:\n    commands:\n      - echo post succeeding=$CODEBUILD_BUILD_SUCCEEDING\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed,
			inLog:  []string{"finally-ran", "post succeeding=0", "COMMAND_EXECUTION_ERROR"}, notInLog: []string{"skipped-command"},
		},
		{
			name:   "install failure skips to FINALIZING",
			spec:   "version: 0.2\nphases:\n  install:\n    commands: [false]\n  pre_build:\n    commands: [echo pre-ran]\n  build:\n    commands: [echo build-ran]\n  post_build:\n    commands: [echo post-ran]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, notInLog: []string{"pre-ran", "build-ran", "post-ran"},
		},
		{
			name:   "pre_build failure skips to FINALIZING",
			spec:   "version: 0.2\nphases:\n  pre_build:\n    commands: [false]\n  build:\n    commands: [echo build-ran]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, notInLog: []string{"build-ran"},
		},
		{
			name:   "on-failure CONTINUE goes on",
			spec:   "version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands: [false]\n  build:\n    commands: [echo build-ran succeeding=$CODEBUILD_BUILD_SUCCEEDING]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:FAILED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, inLog: []string{"build-ran succeeding=0"},
		},
		{
			name:   "on-failure ABORT skips post_build",
			spec:   "version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands: [false]\n  post_build:\n    commands: [echo post-ran]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, notInLog: []string{"post-ran"},
		},
		{
			name:   "a failing finally fails the phase",
			spec:   "version: 0.2\nphases:\n  build:\n    commands: [echo ok]\n    finally: [false, echo after-failed-finally]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, notInLog: []string{"after-failed-finally"},
		},
		{
			name:   "post_build failure still uploads",
			spec:   "version: 0.2\nphases:\n  post_build:\n    commands: [false]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:FAILED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed,
		},
		{
			name:   "a missing parameter fails DOWNLOAD_SOURCE",
			spec:   "version: 0.2\nenv:\n  parameter-store:\n    X: /no/such\nphases:\n  build:\n    commands: [echo build-ran]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, inLog: []string{"Decrypted Variables Error", "/no/such"}, notInLog: []string{"build-ran"},
		},
		{
			name:   "a missing JSON key fails DOWNLOAD_SOURCE",
			spec:   "version: 0.2\nenv:\n  secrets-manager:\n    X: db:nokey\nphases:\n  build:\n    commands: [echo build-ran]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, inLog: []string{"has no key nokey"},
		},
		{
			name:   "exit in a command ends the session; the next command gets a new shell",
			spec:   "version: 0.2\nphases:\n  build:\n    commands: [export A=1, exit 0]\n  post_build:\n    commands: ['echo a=${A:-unset}']\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, inLog: []string{"a=unset", "starts a new shell session"},
		},
		{
			name:   "no matching artifact fails UPLOAD_ARTIFACTS",
			spec:   "version: 0.2\nphases:\n  build:\n    commands: [echo hi]\nartifacts:\n  files: [nothing/*]\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:FAILED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusFailed, inLog: []string{"no matching artifact paths found"},
		},
		{
			name:   "sh as env.shell",
			spec:   "version: 0.2\nenv:\n  shell: /bin/sh\nphases:\n  build:\n    commands: ['cd /', 'echo \"in $(pwd)\"']\n",
			phases: "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED",
			status: StatusSucceeded, inLog: []string{"in /\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProject("t"+itoa(i), tc.spec)
			if tc.name == "no matching artifact fails UPLOAD_ARTIFACTS" {
				p.Artifacts.Type = ArtifactsS3
			}
			h.project(p)
			b := h.wait(h.start(StartRequest{Project: p.Name}).ID)
			if got := phases(b); got != tc.phases {
				t.Errorf("phases\n got %s\nwant %s", got, tc.phases)
			}
			if b.Status != tc.status {
				t.Errorf("status %s, want %s", b.Status, tc.status)
			}
			log := h.log(b)
			for _, w := range tc.inLog {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			for _, w := range tc.notInLog {
				if strings.Contains(strings.ReplaceAll(log, "Running command echo "+w, ""), w) {
					t.Errorf("log has %q:\n%s", w, log)
				}
			}
		})
	}
}

// TestTimeoutKillsTree: a build that never ends is TIMED_OUT and every
// process it started is killed.
func TestTimeoutKillsTree(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	h.project(testProject("slow", "version: 0.2\nphases:\n  build:\n    commands:\n      - (sh -c 'echo $$ > "+dir+"/bg.pid; exec sleep 300') &\n      - sh -c 'echo $$ > "+dir+"/fg.pid; exec sleep 300'\n  post_build:\n    commands: [echo post-ran]\n"))
	b := h.start(StartRequest{Project: "slow", Timeout: 2 * time.Second})
	bg, fg := readPid(t, dir+"/bg.pid"), readPid(t, dir+"/fg.pid")
	b = h.wait(b.ID)
	if b.Status != StatusTimedOut {
		t.Fatalf("status %s: %s", b.Status, phases(b))
	}
	if ph := b.phase(PhaseBuild); ph.Status != StatusTimedOut || ph.Contexts[0].StatusCode != "BUILD_TIMED_OUT" {
		t.Errorf("BUILD phase %+v", ph)
	}
	if b.phase(PhasePostBuild) != nil {
		t.Error("POST_BUILD ran after a timeout")
	}
	for _, pid := range []int{bg, fg} {
		waitFor(t, 5*time.Second, "process to die", func() bool { return !alive(pid) })
	}
}

func TestStopBuild(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	h.project(testProject("stoppable", "version: 0.2\nphases:\n  build:\n    commands:\n      - (sh -c 'echo $$ > "+dir+"/bg.pid; exec sleep 300') &\n      - sh -c 'echo $$ > "+dir+"/fg.pid; exec sleep 300'\n"))
	b := h.start(StartRequest{Project: "stoppable"})
	bg, fg := readPid(t, dir+"/bg.pid"), readPid(t, dir+"/fg.pid")
	running, err := h.svc.Build(context.Background(), b.ID)
	if err != nil || running.Complete || running.CurrentPhase != PhaseBuild || running.PGID == 0 {
		t.Fatalf("while running: %+v %v", running, err)
	}
	stopped, err := h.svc.StopBuild(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != StatusStopped || !stopped.Complete || stopped.phase(PhaseBuild).Status != StatusStopped {
		t.Fatalf("after StopBuild: %s %s", stopped.Status, phases(stopped))
	}
	for _, pid := range []int{bg, fg} {
		waitFor(t, 5*time.Second, "process to die", func() bool { return !alive(pid) })
	}
	// Stopping again returns the build unchanged.
	again, err := h.svc.StopBuild(context.Background(), b.ID)
	if err != nil || again.Status != StatusStopped {
		t.Errorf("second stop: %s %v", again.Status, err)
	}
	if _, err := h.svc.StopBuild(context.Background(), "stoppable:nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("stopping a missing build: %v", err)
	}
}

func TestLogFlood(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxLogBytes = 64 << 10 })
	b := h.run("flood", "version: 0.2\nphases:\n  build:\n    commands:\n      - head -c 20000000 /dev/zero | tr '\\0' 'a'\n      - yes flood | head -n 200000\n      - echo done-flooding\n")
	if b.Status != StatusSucceeded {
		t.Fatalf("status %s", b.Status)
	}
	fi, err := os.Stat(h.svc.logPath(b.UUID()))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 64<<10+logReserve {
		t.Errorf("log is %d bytes", fi.Size())
	}
	log := h.log(b)
	if !strings.Contains(log, "reached its limit") || !strings.Contains(log, "Phase complete: BUILD State: SUCCEEDED") {
		t.Errorf("log tail:\n%s", log[max(0, len(log)-1500):])
	}
}

func TestCacheBetweenBuilds(t *testing.T) {
	h := newHarness(t, nil)
	p := testProject("cached", `version: 0.2
phases:
  build:
    commands:
      - if [ -f deps/lib.txt ]; then echo "cache hit $(cat deps/lib.txt)"; else echo cache miss; mkdir -p deps; echo v1 > deps/lib.txt; fi
cache:
  paths: ['deps/**/*']
`)
	p.Cache = Cache{Type: "LOCAL", Modes: []string{"LOCAL_CUSTOM_CACHE"}}
	h.project(p)
	first := h.wait(h.start(StartRequest{Project: "cached"}).ID)
	second := h.wait(h.start(StartRequest{Project: "cached"}).ID)
	if l := h.log(first); !strings.Contains(l, "cache miss") {
		t.Errorf("first build:\n%s", l)
	}
	if l := h.log(second); !strings.Contains(l, "cache hit v1") {
		t.Errorf("second build:\n%s", l)
	}
}

// TestPipelineArtifacts drives a build the way the pipeline engine does:
// input zips from the blob store, named outputs back into it.
func TestPipelineArtifacts(t *testing.T) {
	h := newHarness(t, nil)
	p := testProject("pipe", "")
	p.Source = Source{Type: SourceCodePipeline}
	p.Artifacts = ArtifactsConfig{Type: ArtifactsCodePipeline}
	h.project(p)
	src := h.putZip(map[string]string{"buildspec.yml": `version: 0.2
env:
  exported-variables: [APP_VERSION]
phases:
  build:
    commands:
      - export APP_VERSION=$(cat version.txt)
      - mkdir -p out docs && cp version.txt out/ && cat $CODEBUILD_SRC_DIR_Libs/lib.txt > out/lib.txt && echo doc > docs/index.md
artifacts:
  files: ['out/*']
  discard-paths: yes
  secondary-artifacts:
    Docs:
      files: ['docs/**/*']
`, "version.txt": "4.5.6"})
	libs := h.putZip(map[string]string{"lib.txt": "library"})
	b := h.start(StartRequest{Project: "pipe", Initiator: "codepipeline/app",
		InputArtifacts:  []InputArtifact{{Name: "Libs", Digest: libs}, {Name: "Source", Digest: src}},
		PrimarySource:   "Source",
		OutputArtifacts: []string{"BuildOutput", "Docs"}})
	b = h.wait(b.ID)
	if b.Status != StatusSucceeded {
		t.Fatalf("status %s: %s\n%s", b.Status, phases(b), h.log(b))
	}
	arts := b.AllArtifacts()
	if len(arts) != 2 || arts[0].Identifier != "BuildOutput" || arts[1].Identifier != "Docs" {
		t.Fatalf("artifacts %+v", arts)
	}
	if got := h.zipFiles(arts[0].Digest); got["version.txt"] != "4.5.6" || got["lib.txt"] != "library" || len(got) != 2 {
		t.Errorf("BuildOutput holds %v", got)
	}
	if got := h.zipFiles(arts[1].Digest); got["docs/index.md"] != "doc\n" {
		t.Errorf("Docs holds %v", got)
	}
	if len(b.ExportedVariables) != 1 || b.ExportedVariables[0].Value != "4.5.6" {
		t.Errorf("exported %+v", b.ExportedVariables)
	}
	if b.ResolvedSourceVersion != src || b.Initiator != "codepipeline/app" {
		t.Errorf("resolved %q initiator %q", b.ResolvedSourceVersion, b.Initiator)
	}
	rc, a, err := h.svc.OpenArtifact(context.Background(), b.ID, "Docs")
	if err != nil || a.Digest != arts[1].Digest {
		t.Fatalf("OpenArtifact: %+v %v", a, err)
	}
	rc.Close()
}

func TestInlineProjectAndQueue(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxConcurrent = 1 })
	gate := filepath.Join(t.TempDir(), "gate")
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - while [ ! -f " + gate + " ]; do sleep 0.05; done\n"
	inline := testProject("ignored", spec)
	first := h.start(StartRequest{Project: "commands-action", Inline: &inline})
	second := h.start(StartRequest{Project: "commands-action", Inline: &inline})
	if second.Number != first.Number+1 {
		t.Errorf("numbers %d, %d", first.Number, second.Number)
	}
	waitFor(t, 20*time.Second, "the first build to run", func() bool {
		b, _ := h.svc.Build(context.Background(), first.ID)
		return b.CurrentPhase == PhaseBuild
	})
	if b, _ := h.svc.Build(context.Background(), second.ID); b.CurrentPhase != PhaseQueued {
		t.Errorf("second build is in %s while the only slot is taken", b.CurrentPhase)
	}
	os.WriteFile(gate, nil, 0o600)
	for _, id := range []string{first.ID, second.ID} {
		if b := h.wait(id); b.Status != StatusSucceeded {
			t.Errorf("%s: %s", id, b.Status)
		}
	}
	if _, _, err := h.svc.Projects(context.Background(), []string{"commands-action"}); err != nil {
		t.Error(err)
	}
}

func TestRetryBuild(t *testing.T) {
	h := newHarness(t, nil)
	b := h.run("flaky", "version: 0.2\nphases:\n  build:\n    commands: ['test -n \"$PASS\"']\n")
	if b.Status != StatusFailed {
		t.Fatalf("status %s", b.Status)
	}
	h.svc.UpdateProject(context.Background(), "flaky", func(p *Project) error {
		p.Environment.EnvironmentVariables = []EnvVar{{Name: "PASS", Value: "1"}}
		return nil
	})
	// A retry repeats the original settings, so it fails the same way.
	r := h.wait(mustRetry(t, h, b.ID).ID)
	if r.Number != 2 || r.Status != StatusFailed || r.Initiator != "bob" {
		t.Errorf("retry %d %s %q", r.Number, r.Status, r.Initiator)
	}
	running := h.start(StartRequest{Project: "flaky", BuildspecOverride: "version: 0.2\nphases:\n  build:\n    commands: [sleep 5]\n"})
	if _, err := h.svc.RetryBuild(context.Background(), running.ID, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("retrying a running build: %v", err)
	}
	h.svc.StopBuild(context.Background(), running.ID)
}

func mustRetry(t *testing.T, h *harness, id string) Build {
	t.Helper()
	b, err := h.svc.RetryBuild(context.Background(), id, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProjectValidation(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ok := testProject("good", "version: 0.2\nphases:\n  build:\n    commands: [true]\n")
	h.project(ok)
	if _, err := h.svc.CreateProject(ctx, ok); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Project)
		want string
	}{
		{"bad name", func(p *Project) { p.Name = "-x" }, "Invalid project name"},
		{"one char name", func(p *Project) { p.Name = "x" }, "Invalid project name"},
		{"151 char name", func(p *Project) { p.Name = strings.Repeat("x", 151) }, "Invalid project name"},
		{"git source", func(p *Project) { p.Source.Type = "GITHUB" }, "not supported by this server"},
		{"bad inline buildspec", func(p *Project) { p.Source.Buildspec = "version: 0.2\nphases:\n  biuld: {}\n" }, "phases.biuld: unknown key"},
		{"no buildspec", func(p *Project) { p.Source.Buildspec = "" }, "buildspec is required"},
		{"relative S3 location", func(p *Project) { p.Source = Source{Type: SourceS3, Location: "dir"} }, "absolute path"},
		{"timeout", func(p *Project) { p.TimeoutInMinutes = 3 }, "timeoutInMinutes"},
		{"reserved variable", func(p *Project) { p.Environment.EnvironmentVariables = []EnvVar{{Name: "CODEBUILD_X", Value: "1"}} }, "reserved"},
		{"codepipeline mismatch", func(p *Project) { p.Artifacts.Type = ArtifactsCodePipeline }, "CODEPIPELINE"},
		{"no environment", func(p *Project) { p.Environment = Environment{} }, "environment.type"},
	} {
		p := testProject("p-"+strings.ReplaceAll(tc.name, " ", "-"), ok.Source.Buildspec)
		tc.mod(&p)
		_, err := h.svc.CreateProject(ctx, p)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := h.svc.StartBuild(ctx, StartRequest{Project: "good", BuildspecOverride: "version: 0.2\nenv:\n  variables: [x]\n"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "env.variables") {
		t.Errorf("bad override: %v", err)
	}
	if _, err := h.svc.StartBuild(ctx, StartRequest{Project: "missing"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing project: %v", err)
	}
	lim := 1
	if _, err := h.svc.UpdateProject(ctx, "good", func(p *Project) error { p.ConcurrentBuildLimit = &lim; return nil }); err != nil {
		t.Fatal(err)
	}
	b := h.start(StartRequest{Project: "good", BuildspecOverride: "version: 0.2\nphases:\n  build:\n    commands: [sleep 5]\n"})
	if _, err := h.svc.StartBuild(ctx, StartRequest{Project: "good"}); !errors.Is(err, ErrLimit) {
		t.Errorf("over the concurrent build limit: %v", err)
	}
	h.svc.StopBuild(ctx, b.ID)
}
