package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
	"github.com/nats-io/nats.go"
)

// TestPackageEventStartsPipeline: publishing a package version starts the
// pipeline whose CodeArtifact source watches it; the pipeline builds from
// the version's assets and its CodeArtifact deploy action publishes the
// app's new version, whose own event a separate NATS client sees over TCP.
func TestPackageEventStartsPipeline(t *testing.T) {
	requireAWS(t)
	addr := testutil.FreeAddr(t)
	in := startRegistry(t, t.TempDir(), "--nats-listen", addr)
	env := in.awsEnv(t)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	appEvents, err := nc.SubscribeSync("registry.codeartifact.acme.apps.generic")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "libs")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "apps")
	commands, _ := json.Marshal([]string{"test -f lib.txt", "mkdir -p out", "cat lib.txt > out/app.txt",
		"echo 'built from #{SourceVariables.PackageVersion}' >> out/app.txt"})
	spec := fmt.Sprintf(`{
  "name": "app", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "pipelineType": "V2",
  "stages": [
    {"name": "Source", "actions": [{"name": "Lib",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
      "configuration": {"DomainName": "acme", "RepositoryName": "libs", "PackageFormat": "generic", "PackageNamespace": "tools", "PackageName": "lib"},
      "outputArtifacts": [{"name": "Src"}], "namespace": "SourceVariables"}]},
    {"name": "Build", "actions": [{"name": "Build",
      "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": %s, "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "App", "files": ["out/**"]}]}]},
    {"name": "Deploy", "actions": [{"name": "Publish",
      "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
      "configuration": {"DomainName": "acme", "RepositoryName": "apps", "PackageFormat": "generic", "PackageNamespace": "tools",
        "PackageName": "app", "PackageVersion": "#{SourceVariables.PackageVersion}"},
      "inputArtifacts": [{"name": "App"}]}]}
  ]}`, commands)
	file := filepath.Join(t.TempDir(), "pipeline.json")
	os.WriteFile(file, []byte(spec), 0o644)
	ok(t, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+file)

	path, sum := writeAsset(t, "lib.txt", []byte("lib 1.1.0\n"))
	ok(t, env, "codeartifact", "publish-package-version", "--domain", "acme", "--repository", "libs", "--format", "generic",
		"--namespace", "tools", "--package", "lib", "--package-version", "1.1.0", "--asset-content", path, "--asset-name", "lib.txt", "--asset-sha256", sum)

	cpWaitFor(t, 60*time.Second, "the triggered execution to succeed", func() bool {
		l := ok(t, env, "codepipeline", "list-pipeline-executions", "--pipeline-name", "app")
		switch dig(l, "pipelineExecutionSummaries", 0, "status") {
		case "Failed", "Stopped":
			s := ok(t, env, "codepipeline", "get-pipeline-state", "--name", "app")
			t.Fatalf("execution failed: %v", s)
		case "Succeeded":
			return true
		}
		return false
	})
	vs := ok(t, env, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", "apps", "--format", "generic",
		"--namespace", "tools", "--package", "app")
	if dig(vs, "versions", 0, "version") != "1.1.0" {
		t.Fatalf("deployed versions: %v", vs)
	}
	as := ok(t, env, "codeartifact", "list-package-version-assets", "--domain", "acme", "--repository", "apps", "--format", "generic",
		"--namespace", "tools", "--package", "app", "--package-version", "1.1.0")
	name, _ := dig(as, "assets", 0, "name").(string)
	out := filepath.Join(t.TempDir(), "app.txt")
	ok(t, env, "codeartifact", "get-package-version-asset", "--domain", "acme", "--repository", "apps", "--format", "generic",
		"--namespace", "tools", "--package", "app", "--package-version", "1.1.0", "--asset", name, out)
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "lib 1.1.0") || !strings.Contains(string(b), "built from 1.1.0") {
		t.Fatalf("deployed asset %s: %q", name, b)
	}
	m, err := appEvents.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no event for the deployed version: %v", err)
	}
	if !strings.Contains(string(m.Data), `"packageName":"app"`) || !strings.Contains(string(m.Data), `"packageVersion":"1.1.0"`) {
		t.Fatalf("event %s", m.Data)
	}
}
