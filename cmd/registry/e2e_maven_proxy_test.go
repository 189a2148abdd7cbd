package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// writeProxyConsumer writes a project that depends on the internal
// com.acme:acme-lib 1.0.0 and on commons-lang 2.6 from Debian's tree, and
// calls both.
func writeProxyConsumer(t *testing.T, dir string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>proxy-app</artifactId>
  <version>1.0</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.source>8</maven.compiler.source>
    <maven.compiler.target>8</maven.compiler.target>
  </properties>
  <dependencies>
    <dependency><groupId>com.acme</groupId><artifactId>acme-lib</artifactId><version>1.0.0</version></dependency>
    <dependency><groupId>commons-lang</groupId><artifactId>commons-lang</artifactId><version>2.6</version></dependency>
  </dependencies>
` + pluginManagement() + `</project>
`,
		"src/main/java/com/example/App.java": `package com.example;

public final class App {
    public static void main(String[] args) {
        System.out.println(org.apache.commons.lang.StringUtils.upperCase(com.acme.lib.Greeter.greet("world")));
    }
}
`,
	})
}

// TestMavenProxy builds with the real mvn through a repository whose
// upstreams are an internal repository and one holding public:maven-central,
// served by Debian's Maven repository tree over HTTP: every plugin and
// dependency comes through the proxy (nothing is seeded), then the same
// build works with the upstream stopped and an empty local repository.
func TestMavenProxy(t *testing.T) {
	requireAWS(t)
	requireMaven(t)
	var requests atomic.Int64
	files := http.FileServer(http.Dir(debianMavenRepo))
	central := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer central.Close()
	in := startRegistry(t, t.TempDir(), "--maven-upstream", central.URL+"/")
	awsEnv := in.awsEnv(t)
	ca := func(args ...string) map[string]any {
		return ok(t, awsEnv, append([]string{"codeartifact"}, append(args, "--domain", "acme")...)...)
	}
	ca("create-domain")
	ca("create-repository", "--repository", "shared")
	ca("create-repository", "--repository", "maven-store")
	ca("associate-external-connection", "--repository", "maven-store", "--external-connection", "public:maven-central")
	ca("create-repository", "--repository", "app", "--upstreams", "repositoryName=shared", "repositoryName=maven-store")
	endpoint := func(repo string) string {
		e, _ := dig(ca("get-repository-endpoint", "--repository", repo, "--format", "maven"), "repositoryEndpoint").(string)
		return e
	}
	shared, app := endpoint("shared"), endpoint("app")
	tok := runAWS(awsEnv, "codeartifact", "get-authorization-token", "--domain", "acme", "--query", "authorizationToken")
	token := strings.Trim(strings.TrimSpace(tok.out), `"`)
	if tok.err != nil || token == "" {
		t.Fatalf("get-authorization-token: %v %s", tok.err, tok.stderr)
	}

	// mvn reads through app (its mirror) and deploys the internal library
	// to shared; the build's plugins come through the proxy.
	m := newMavenEnv(t, awsEnv, app, token)
	lib := t.TempDir()
	writeLibrary(t, lib, "1.0.0", shared, "Hello")
	m.run(t, lib, t.TempDir(), "deploy")
	if requests.Load() == 0 {
		t.Fatal("the build's plugins did not come from the upstream")
	}
	t.Logf("upstream requests for the library's deploy: %d", requests.Load())

	consumer := t.TempDir()
	writeProxyConsumer(t, consumer)
	resolved := []string{
		"com/acme/acme-lib/1.0.0/acme-lib-1.0.0.jar",
		"com/acme/acme-parent/1.0.0/acme-parent-1.0.0.pom",
		"commons-lang/commons-lang/2.6/commons-lang-2.6.jar",
		"org/apache/maven/plugins/maven-compiler-plugin/3.10.1/maven-compiler-plugin-3.10.1.jar",
	}
	build := func(label string) {
		t.Helper()
		local := t.TempDir()
		m.run(t, consumer, local, "compile")
		for _, f := range resolved {
			if _, err := os.Stat(filepath.Join(local, f)); err != nil {
				t.Errorf("%s: not resolved into the local repository: %s", label, f)
			}
		}
		if _, err := os.Stat(filepath.Join(consumer, "target/classes/com/example/App.class")); err != nil {
			t.Errorf("%s: the consumer did not compile: %v", label, err)
		}
	}
	build("through the upstream")

	origin := func(repo, ns, pkg string) string {
		r := runAWS(awsEnv, "codeartifact", "list-package-versions", "--domain", "acme", "--repository", repo, "--format", "maven",
			"--namespace", ns, "--package", pkg)
		if r.err != nil {
			if strings.Contains(r.stderr, "ResourceNotFoundException") {
				return ""
			}
			t.Fatalf("list-package-versions %s %s:%s: %v\n%s", repo, ns, pkg, r.err, r.stderr)
		}
		var out []string
		for _, v := range dig(r.json(t), "versions").([]any) {
			out = append(out, dig(v, "version").(string)+":"+dig(v, "origin", "originType").(string))
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ repo, ns, pkg, want string }{
		{"app", "commons-lang", "commons-lang", "2.6:EXTERNAL"},
		{"maven-store", "commons-lang", "commons-lang", "2.6:EXTERNAL"},
		{"shared", "commons-lang", "commons-lang", ""},
		{"app", "org.apache.maven.plugins", "maven-compiler-plugin", "3.10.1:EXTERNAL"},
		{"app", "com.acme", "acme-lib", "1.0.0:INTERNAL"},
		{"shared", "com.acme", "acme-lib", "1.0.0:INTERNAL"},
		{"maven-store", "com.acme", "acme-lib", ""},
	} {
		if got := origin(c.repo, c.ns, c.pkg); got != c.want {
			t.Errorf("%s:%s in %s: %q, want %q", c.ns, c.pkg, c.repo, got, c.want)
		}
	}

	// The upstream goes away; an empty local repository resolves the same
	// build from what app retained.
	central.Close()
	build("upstream stopped")
}
