package build

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const fullSpec = `version: 0.2
run-as: ""
env:
  shell: bash
  variables:
    GREETING: hello
    COUNT: 3
  parameter-store:
    TOKEN: /app/token
  secrets-manager:
    DB_PASS: db-secret:password
    WHOLE: arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf
  exported-variables:
    - VERSION
  git-credential-helper: no
proxy:
  upload-artifacts: yes
  logs: no
batch:
  fast-fail: false
phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - echo install
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo pre
  build:
    on-failure: ABORT
    commands:
      - echo build
      - |
        multi
        line
    finally:
      - echo finally
  post_build:
    commands:
      - echo post
reports:
  unit:
    files: ['**/*.xml']
    base-directory: reports
    file-format: JUNITXML
artifacts:
  files:
    - '**/*'
  name: app-$(date +%Y)
  base-directory: dist
  discard-paths: yes
  exclude-paths: ['**/*.map']
  secondary-artifacts:
    docs:
      files: [README.md]
cache:
  paths:
    - node_modules/**/*
`

func TestParseSpecFull(t *testing.T) {
	s, err := ParseSpec(fullSpec)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "0.2" || s.Env.Shell != "bash" {
		t.Errorf("version %q shell %q", s.Version, s.Env.Shell)
	}
	wantVars := []EnvVar{{Name: "GREETING", Value: "hello", Type: EnvPlaintext}, {Name: "COUNT", Value: "3", Type: EnvPlaintext}}
	if !reflect.DeepEqual(s.Env.Variables, wantVars) {
		t.Errorf("variables %+v", s.Env.Variables)
	}
	if len(s.Env.SecretsManager) != 2 || s.Env.ParameterStore[0].Value != "/app/token" {
		t.Errorf("secrets %+v %+v", s.Env.SecretsManager, s.Env.ParameterStore)
	}
	if b := s.Phases[PhaseBuild]; b == nil || b.OnFailure != OnFailureAbort || len(b.Commands) != 2 || b.Commands[1] != "multi\nline\n" || b.Finally[0] != "echo finally" {
		t.Errorf("build phase %+v", b)
	}
	if s.Phases[PhasePreBuild].OnFailure != OnFailureContinue {
		t.Errorf("pre_build on-failure %q", s.Phases[PhasePreBuild].OnFailure)
	}
	a := s.Artifacts
	if a == nil || !a.DiscardPaths || a.BaseDirectory != "dist" || len(a.Secondary) != 1 || a.Secondary[0].Identifier != "docs" || a.ExcludePaths[0] != "**/*.map" {
		t.Errorf("artifacts %+v", a)
	}
	if len(s.Reports) != 1 || s.Reports[0].Name != "unit" || s.Reports[0].BaseDirectory != "reports" {
		t.Errorf("reports %+v", s.Reports)
	}
	if len(s.Cache.Paths) != 1 {
		t.Errorf("cache %+v", s.Cache)
	}
}

// TestParseSpecProblems pins the field path each mistake is reported at.
func TestParseSpecProblems(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string // substrings of the error, in order of appearance
	}{
		{"unknown top-level key", "version: 0.2\nphase:\n  build: {}\n", []string{"phase: unknown key", "(line 2)"}},
		{"unknown phase", "version: 0.2\nphases:\n  test:\n    commands: [x]\n", []string{"phases.test: unknown key", "known keys at phases: build, install, post_build, pre_build"}},
		{"misspelled commands", "version: 0.2\nphases:\n  build:\n    comands: [x]\n", []string{"phases.build.comands: unknown key"}},
		{"commands not a list", "version: 0.2\nphases:\n  build:\n    commands: echo hi\n", []string{"phases.build.commands: must be a list, not a scalar \"echo hi\""}},
		{"command read as a map", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", []string{"phases.build.commands[0]: must be a string, not a mapping", "quote the command"}},
		{"variables not a map", "version: 0.2\nenv:\n  variables: [A]\n", []string{"env.variables: must be a mapping, not a list"}},
		{"variable value a map", "version: 0.2\nenv:\n  variables:\n    A: {b: c}\n", []string{"env.variables.A: must be a string, not a mapping"}},
		{"reserved variable", "version: 0.2\nenv:\n  variables:\n    CODEBUILD_X: y\n", []string{"env.variables.CODEBUILD_X: names starting with CODEBUILD_ are reserved"}},
		{"bad on-failure", "version: 0.2\nphases:\n  build:\n    on-failure: SKIP\n    commands: [x]\n", []string{"phases.build.on-failure: \"SKIP\" is not one of ABORT, CONTINUE, RETRY"}},
		{"bad retry count", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-101\n    commands: [x]\n", []string{"phases.build.on-failure: \"RETRY-101\": the retry count must be between 0 and 100"}},
		{"bad yes/no", "version: 0.2\nartifacts:\n  files: [a]\n  discard-paths: maybe\n", []string{"artifacts.discard-paths: must be yes or no"}},
		{"missing version", "phases:\n  build:\n    commands: [x]\n", []string{"version: is required"}},
		{"version 0.1", "version: 0.1\n", []string{"version: version 0.1 runs every command in its own shell"}},
		{"bad shell", "version: 0.2\nenv:\n  shell: zsh\n", []string{"env.shell: \"zsh\" is not supported"}},
		{"artifacts without files", "version: 0.2\nartifacts:\n  name: x\n", []string{"artifacts.files: is required"}},
		{"secondary artifact unknown key", "version: 0.2\nartifacts:\n  files: [a]\n  secondary-artifacts:\n    docs:\n      filez: [b]\n", []string{"artifacts.secondary-artifacts.docs.filez: unknown key", "artifacts.secondary-artifacts.docs.files: is required"}},
		{"report format", "version: 0.2\nreports:\n  r:\n    files: [a.json]\n    file-format: CUCUMBERJSON\n", []string{"reports.r.file-format: \"CUCUMBERJSON\" is not supported"}},
		{"bad secret reference", "version: 0.2\nenv:\n  secrets-manager:\n    P: s:k:AWSCURRENT:v1\n", []string{"env.secrets-manager.P:", "both a version stage and a version id"}},
		{"duplicate key", "version: 0.2\nphases:\n  build:\n    commands: [a]\n    commands: [b]\n", []string{"phases.build.commands: is given more than once"}},
		{"phase run-as", "version: 0.2\nphases:\n  build:\n    run-as: nobody\n    commands: [a]\n", []string{"phases.build.run-as: a user other than the top-level run-as is not supported"}},
		{"not YAML", "version: 0.2\nphases: [\n", []string{"YAML:"}},
		{"top level a list", "- a\n- b\n", []string{"the top level: must be a mapping"}},
		{"exported name", "version: 0.2\nenv:\n  exported-variables: [\"A-B\"]\n", []string{"env.exported-variables[0]: \"A-B\" is not a valid environment variable name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec(tc.spec)
			if err == nil {
				t.Fatal("ParseSpec accepted it")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			msg, at := err.Error(), 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i
			}
		})
	}
}

func TestParseSpecAllProblemsTogether(t *testing.T) {
	_, err := ParseSpec("version: 0.2\nfoo: 1\nphases:\n  build:\n    bar: 2\n")
	var se *SpecError
	if !errors.As(err, &se) || len(se.Problems) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
}

func TestParseSecretRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SecretRef
		bad  bool
	}{
		{in: "db", want: SecretRef{SecretID: "db"}},
		{in: "db:password", want: SecretRef{SecretID: "db", JSONKey: "password"}},
		{in: "db::AWSPREVIOUS", want: SecretRef{SecretID: "db", VersionStage: "AWSPREVIOUS"}},
		{in: "db:k::v1", want: SecretRef{SecretID: "db", JSONKey: "k", VersionID: "v1"}},
		{in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password", want: SecretRef{SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", JSONKey: "password"}},
		{in: "arn:aws:secretsmanager:us-east-1", bad: true},
		{in: "db:k:s:v:extra", bad: true},
		{in: ":k", bad: true},
	} {
		got, err := ParseSecretRef(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSecretRef(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add(fullSpec)
	f.Add("version: 0.2\nphases:\n  build:\n    commands: [x]\n")
	f.Add("&a [*a]")
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err == nil && spec.Version != "0.2" {
			t.Fatalf("accepted version %q", spec.Version)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v is not ErrInvalid", err)
		}
	})
}
