package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// debianMavenRepo is where Debian's Maven packages install plugins and
// their dependencies in the Maven 2 layout (libmaven-*-plugin-java,
// libsurefire-java; scripts/test.sh installs them).
const debianMavenRepo = "/usr/share/maven-repo"

// The plugin versions Debian ships (and the test poms pin); Maven's
// defaults for 3.8 are relocation POMs in Debian's tree that point at
// these.
var debianPlugins = map[string]string{
	"maven-compiler-plugin":  "3.10.1",
	"maven-resources-plugin": "3.3.0",
	"maven-jar-plugin":       "3.3.0",
	"maven-surefire-plugin":  "2.22.3",
	"maven-install-plugin":   "3.1.0",
	"maven-deploy-plugin":    "3.0.0",
}

// requireMaven skips when mvn is absent (CI has it) and fails with what to
// install when Debian's plugin packages are missing.
func requireMaven(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mvn"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mvn not found; CI must have it")
		}
		t.Skip("mvn not installed; skipping the Maven end-to-end test")
	}
	for p, v := range debianPlugins {
		if _, err := os.Stat(filepath.Join(debianMavenRepo, "org/apache/maven/plugins", p, v)); err != nil {
			t.Fatalf("%s %s is not in %s: install Debian's libmaven-compiler-plugin-java libmaven-jar-plugin-java "+
				"libmaven-install-plugin-java libmaven-deploy-plugin-java libmaven-resources-plugin-java libsurefire-java "+
				"(scripts/test.sh does)", p, v, debianMavenRepo)
		}
	}
}

// mavenEnv runs mvn with its own HOME, settings.xml and empty local
// repository, so everything it resolves comes from the registry.
type mavenEnv struct {
	env      []string
	settings string
}

func newMavenEnv(t *testing.T, awsEnv []string, endpoint, token string) *mavenEnv {
	t.Helper()
	home := t.TempDir()
	m := &mavenEnv{settings: filepath.Join(home, "settings.xml")}
	for _, kv := range awsEnv {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "MAVEN_") {
			m.env = append(m.env, kv)
		}
	}
	m.env = append(m.env, "HOME="+home, "CODEARTIFACT_AUTH_TOKEN="+token)
	// The credentials of server "registry" serve both the mirror (reads)
	// and distributionManagement (deploys); mvn sends them after the
	// registry's 401 with WWW-Authenticate: Basic. The mirror takes the
	// policies of what it mirrors, and Maven Central's disallows
	// snapshots, so a profile redefines central with snapshots enabled
	// (its URL is never used: the mirror replaces it).
	settings := `<settings>
  <servers>
    <server><id>registry</id><username>aws</username><password>${env.CODEARTIFACT_AUTH_TOKEN}</password></server>
  </servers>
  <mirrors>
    <mirror><id>registry</id><mirrorOf>*</mirrorOf><url>` + endpoint + `</url></mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>snapshots</id>
      <repositories>
        <repository><id>central</id><url>https://repo.maven.apache.org/maven2</url><snapshots><enabled>true</enabled></snapshots></repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository><id>central</id><url>https://repo.maven.apache.org/maven2</url><snapshots><enabled>true</enabled></snapshots></pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>snapshots</activeProfile></activeProfiles>
</settings>
`
	if err := os.WriteFile(m.settings, []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

// run runs mvn -B in dir with a fresh local repository and returns its
// output; a failure fails the test.
func (m *mavenEnv) run(t *testing.T, dir, localRepo string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := m.try(dir, localRepo, args...)
	if err != nil {
		t.Fatalf("mvn %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("mvn %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}

func (m *mavenEnv) try(dir, localRepo string, args ...string) (string, error) {
	cmd := exec.Command("mvn", append([]string{"-B", "-s", m.settings, "-Dmaven.repo.local=" + localRepo}, args...)...)
	cmd.Dir, cmd.Env = dir, m.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pluginManagement pins the plugins to the versions Debian ships.
func pluginManagement() string {
	var b strings.Builder
	for _, p := range []string{"maven-compiler-plugin", "maven-resources-plugin", "maven-jar-plugin", "maven-surefire-plugin", "maven-install-plugin", "maven-deploy-plugin"} {
		b.WriteString("      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>" + p + "</artifactId><version>" + debianPlugins[p] + "</version></plugin>\n")
	}
	return "  <build><pluginManagement><plugins>\n" + b.String() + "  </plugins></pluginManagement></build>\n"
}

// writeLibrary writes the two-module project: parent POM com.acme:acme-parent
// and jar module com.acme:acme-lib, at version, deploying to endpoint.
func writeLibrary(t *testing.T, dir, version, endpoint, greeting string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>acme-parent</artifactId>
  <version>` + version + `</version>
  <packaging>pom</packaging>
  <name>Acme parent</name>
  <description>The parent of the Acme libraries</description>
  <modules><module>lib</module></modules>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.source>8</maven.compiler.source>
    <maven.compiler.target>8</maven.compiler.target>
  </properties>
` + pluginManagement() + `  <distributionManagement>
    <repository><id>registry</id><url>` + endpoint + `</url></repository>
    <snapshotRepository><id>registry</id><url>` + endpoint + `</url></snapshotRepository>
  </distributionManagement>
</project>
`,
		"lib/pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>com.acme</groupId><artifactId>acme-parent</artifactId><version>` + version + `</version></parent>
  <artifactId>acme-lib</artifactId>
  <packaging>jar</packaging>
  <name>Acme lib</name>
  <description>Greets</description>
  <url>https://acme.example/lib</url>
  <licenses><license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0</url></license></licenses>
</project>
`,
		"lib/src/main/java/com/acme/lib/Greeter.java": `package com.acme.lib;

public final class Greeter {
    public static String greet(String name) { return "` + greeting + `, " + name; }
}
`,
	})
}

// writeConsumer writes a project that depends on com.acme:acme-lib at
// ${lib.version} and calls it.
func writeConsumer(t *testing.T, dir string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>greeter-app</artifactId>
  <version>1.0</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.source>8</maven.compiler.source>
    <maven.compiler.target>8</maven.compiler.target>
    <lib.version>1.0.0</lib.version>
  </properties>
  <dependencies>
    <dependency><groupId>com.acme</groupId><artifactId>acme-lib</artifactId><version>${lib.version}</version></dependency>
  </dependencies>
` + pluginManagement() + `</project>
`,
		"src/main/java/com/example/App.java": `package com.example;

public final class App {
    public static void main(String[] args) { System.out.println(com.acme.lib.Greeter.greet("world")); }
}
`,
	})
}

// TestMavenDeployAndResolve drives the user story with the real
// mvn: the registry is seeded with Debian's Maven plugins over HTTP, a
// two-module project is deployed as a release and twice as a snapshot,
// and a consumer builds against both, every artifact (plugins included)
// resolved from the registry into an empty local repository.
func TestMavenDeployAndResolve(t *testing.T) {
	requireAWS(t)
	requireMaven(t)
	in := startRegistry(t, t.TempDir())
	awsEnv := in.awsEnv(t)
	ok(t, awsEnv, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, awsEnv, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	endpoint, _ := dig(ok(t, awsEnv, "codeartifact", "get-repository-endpoint", "--domain", "acme", "--repository", "shared", "--format", "maven"),
		"repositoryEndpoint").(string)
	if endpoint != in.endpoint+"/maven/acme/shared/" {
		t.Fatalf("maven endpoint %q", endpoint)
	}
	tok := runAWS(awsEnv, "codeartifact", "get-authorization-token", "--domain", "acme", "--query", "authorizationToken")
	token := strings.Trim(strings.TrimSpace(tok.out), `"`)
	if tok.err != nil || token == "" {
		t.Fatalf("get-authorization-token: %v %s", tok.err, tok.stderr)
	}

	// Seed Debian's Maven repository through the seeding helper's command.
	seed := exec.Command(registryBin, "maven-seed", "--endpoint", endpoint, "--concurrency", "8", debianMavenRepo)
	seed.Env = append(isolatedEnv(t), "CODEARTIFACT_AUTH_TOKEN="+token)
	start := time.Now()
	out, err := seed.CombinedOutput()
	if err != nil {
		t.Fatalf("registry maven-seed: %v\n%s", err, out)
	}
	t.Logf("maven-seed (%v): %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))
	v := ok(t, awsEnv, "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "shared", "--format", "maven",
		"--namespace", "org.apache.maven.plugins", "--package", "maven-compiler-plugin", "--package-version", debianPlugins["maven-compiler-plugin"])
	if dig(v, "packageVersion", "status") != "Published" {
		t.Fatalf("seeded plugin: %v", v)
	}

	m := newMavenEnv(t, awsEnv, endpoint, token)
	project := t.TempDir()
	list := func(pkg string) map[string]string {
		t.Helper()
		l := ok(t, awsEnv, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", "shared", "--format", "maven",
			"--namespace", "com.acme", "--package", pkg)
		got := map[string]string{}
		vs, _ := l["versions"].([]any)
		for _, x := range vs {
			got[dig(x, "version").(string)], _ = dig(x, "status").(string)
		}
		return got
	}

	// A release.
	writeLibrary(t, project, "1.0.0", endpoint, "Hello")
	m.run(t, project, t.TempDir(), "deploy")
	for _, pkg := range []string{"acme-parent", "acme-lib"} {
		d := ok(t, awsEnv, "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "shared", "--format", "maven",
			"--namespace", "com.acme", "--package", pkg, "--package-version", "1.0.0")
		if dig(d, "packageVersion", "status") != "Published" {
			t.Fatalf("%s 1.0.0 after deploy: %v", pkg, d)
		}
	}
	d := ok(t, awsEnv, "codeartifact", "describe-package-version", "--domain", "acme", "--repository", "shared", "--format", "maven",
		"--namespace", "com.acme", "--package", "acme-lib", "--package-version", "1.0.0")
	if dig(d, "packageVersion", "displayName") != "Acme lib" || dig(d, "packageVersion", "summary") != "Greets" ||
		dig(d, "packageVersion", "homePage") != "https://acme.example/lib" || dig(d, "packageVersion", "licenses", 0, "name") != "Apache-2.0" {
		t.Errorf("describe-package-version acme-lib 1.0.0: %v", d)
	}
	deps := ok(t, awsEnv, "codeartifact", "list-package-version-dependencies", "--domain", "acme", "--repository", "shared", "--format", "maven",
		"--namespace", "com.acme", "--package", "acme-lib", "--package-version", "1.0.0")
	if dig(deps, "dependencies", 0, "package") != "acme-parent" || dig(deps, "dependencies", 0, "dependencyType") != "parent" ||
		dig(deps, "dependencies", 0, "versionRequirement") != "1.0.0" {
		t.Errorf("list-package-version-dependencies: %v", deps)
	}
	assets := ok(t, awsEnv, "codeartifact", "list-package-version-assets", "--domain", "acme", "--repository", "shared", "--format", "maven",
		"--namespace", "com.acme", "--package", "acme-lib", "--package-version", "1.0.0")
	var names []string
	for _, a := range assets["assets"].([]any) {
		names = append(names, dig(a, "name").(string))
	}
	if strings.Join(names, " ") != "acme-lib-1.0.0.jar acme-lib-1.0.0.pom" {
		t.Errorf("assets (checksums must not be stored): %v", names)
	}

	// A snapshot, deployed twice: two timestamped builds.
	writeLibrary(t, project, "1.1.0-SNAPSHOT", endpoint, "Hi")
	m.run(t, project, t.TempDir(), "deploy")
	writeLibrary(t, project, "1.1.0-SNAPSHOT", endpoint, "Howdy")
	m.run(t, project, t.TempDir(), "deploy")
	build := regexp.MustCompile(`^1\.1\.0-\d{8}\.\d{6}-(\d+)$`)
	got := list("acme-lib")
	var older, newer string
	for ver, status := range got {
		switch mm := build.FindStringSubmatch(ver); {
		case mm != nil && mm[1] == "1":
			older = ver
			if status != "Unlisted" {
				t.Errorf("build 1 %s is %s, want Unlisted", ver, status)
			}
		case mm != nil && mm[1] == "2":
			newer = ver
			if status != "Published" {
				t.Errorf("build 2 %s is %s, want Published", ver, status)
			}
		case ver == "1.0.0":
			if status != "Published" {
				t.Errorf("release 1.0.0 is %s", status)
			}
		default:
			t.Errorf("unexpected version %s (%s)", ver, status)
		}
	}
	if older == "" || newer == "" || len(got) != 3 {
		t.Fatalf("acme-lib versions after two snapshot deploys: %v", got)
	}

	// A consumer resolves the release, then the snapshot (its newest
	// build), with plugins and the parent POM, from the registry alone.
	consumer := t.TempDir()
	writeConsumer(t, consumer)
	repo1 := t.TempDir()
	m.run(t, consumer, repo1, "package")
	if _, err := os.Stat(filepath.Join(consumer, "target", "greeter-app-1.0.jar")); err != nil {
		t.Fatalf("consumer jar: %v", err)
	}
	for _, f := range []string{
		"com/acme/acme-lib/1.0.0/acme-lib-1.0.0.jar",
		"com/acme/acme-parent/1.0.0/acme-parent-1.0.0.pom",
		"org/apache/maven/plugins/maven-compiler-plugin/3.10.1/maven-compiler-plugin-3.10.1.jar",
	} {
		if _, err := os.Stat(filepath.Join(repo1, f)); err != nil {
			t.Errorf("not resolved into the local repository: %s", f)
		}
	}
	repo2 := t.TempDir()
	m.run(t, consumer, repo2, "package", "-Dlib.version=1.1.0-SNAPSHOT")
	if _, err := os.Stat(filepath.Join(repo2, "com/acme/acme-lib/1.1.0-SNAPSHOT", "acme-lib-"+newer+".jar")); err != nil {
		t.Errorf("the snapshot did not resolve to the newest build %s: %v", newer, err)
	}
	if _, err := os.Stat(filepath.Join(repo2, "com/acme/acme-lib/1.1.0-SNAPSHOT", "acme-lib-"+older+".jar")); err == nil {
		t.Errorf("the snapshot resolved the older build %s too", older)
	}
}
