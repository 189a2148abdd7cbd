package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageGroupsE2E drives package groups and CopyPackageVersions
// --include-from-upstream with the real aws CLI against a registry
// process.
func TestPackageGroupsE2E(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "upstream")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "app", "--upstreams", "repositoryName=upstream")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "release")

	g := ok(t, env, "codeartifact", "create-package-group", "--domain", "acme", "--package-group", "/npm/acme/*",
		"--contact-info", "web@acme.example", "--description", "internal scope")
	if dig(g, "packageGroup", "pattern") != "/npm/acme/*" || dig(g, "packageGroup", "parent", "pattern") != "/*" {
		t.Fatalf("create-package-group: %v", g)
	}
	fails(t, env, "ConflictException", "codeartifact", "create-package-group", "--domain", "acme", "--package-group", "/npm/acme/*")
	fails(t, env, "ValidationException", "codeartifact", "create-package-group", "--domain", "acme", "--package-group", "/npm/acme/foo-~")

	u := ok(t, env, "codeartifact", "update-package-group-origin-configuration", "--domain", "acme", "--package-group", "/npm/acme/*",
		"--restrictions", "EXTERNAL_UPSTREAM=BLOCK")
	if dig(u, "packageGroup", "originConfiguration", "restrictions", "EXTERNAL_UPSTREAM", "mode") != "BLOCK" {
		t.Fatalf("update-package-group-origin-configuration: %v", u)
	}
	a := ok(t, env, "codeartifact", "get-associated-package-group", "--domain", "acme", "--format", "npm", "--namespace", "acme", "--package", "ui-kit")
	if dig(a, "packageGroup", "pattern") != "/npm/acme/*" || dig(a, "associationType") != "STRONG" ||
		dig(a, "packageGroup", "originConfiguration", "restrictions", "EXTERNAL_UPSTREAM", "effectiveMode") != "BLOCK" {
		t.Fatalf("get-associated-package-group: %v", a)
	}
	a = ok(t, env, "codeartifact", "get-associated-package-group", "--domain", "acme", "--format", "npm", "--package", "react")
	if dig(a, "packageGroup", "pattern") != "/*" {
		t.Fatalf("get-associated-package-group for an unscoped package: %v", a)
	}

	// A group blocking PUBLISH except in release refuses a new package elsewhere.
	ok(t, env, "codeartifact", "create-package-group", "--domain", "acme", "--package-group", "/generic/tools/locked~")
	ok(t, env, "codeartifact", "update-package-group-origin-configuration", "--domain", "acme", "--package-group", "/generic/tools/locked~",
		"--restrictions", "PUBLISH=ALLOW_SPECIFIC_REPOSITORIES", "--add-allowed-repositories", "originRestrictionType=PUBLISH,repositoryName=release")
	r := ok(t, env, "codeartifact", "list-allowed-repositories-for-group", "--domain", "acme", "--package-group", "/generic/tools/locked~",
		"--origin-restriction-type", "PUBLISH")
	if l, _ := dig(r, "allowedRepositories").([]any); len(l) != 1 || l[0] != "release" {
		t.Fatalf("list-allowed-repositories-for-group: %v", r)
	}
	path, sum := writeAsset(t, "a.txt", []byte("locked bytes\n"))
	fails(t, env, "AccessDeniedException", publishArgs("app", "locked-cli", "1.0.0", path, "a.txt", sum)...)
	ok(t, env, publishArgs("release", "locked-cli", "1.0.0", path, "a.txt", sum)...)

	l := ok(t, env, "codeartifact", "list-package-groups", "--domain", "acme")
	var patterns []string
	for _, x := range dig(l, "packageGroups").([]any) {
		patterns = append(patterns, dig(x, "pattern").(string))
	}
	if len(patterns) != 3 || patterns[0] != "/*" || patterns[1] != "/generic/tools/locked~" || patterns[2] != "/npm/acme/*" {
		t.Fatalf("list-package-groups: %v", patterns)
	}
	d := ok(t, env, "codeartifact", "describe-package-group", "--domain", "acme", "--package-group", "/npm/acme/*")
	if dig(d, "packageGroup", "contactInfo") != "web@acme.example" {
		t.Fatalf("describe-package-group: %v", d)
	}
	ok(t, env, "codeartifact", "delete-package-group", "--domain", "acme", "--package-group", "/npm/acme/*")
	fails(t, env, "ResourceNotFoundException", "codeartifact", "describe-package-group", "--domain", "acme", "--package-group", "/npm/acme/*")

	// copy-package-versions --include-from-upstream takes a version held
	// only by app's upstream.
	p1, s1 := writeAsset(t, "lib-1.txt", []byte("lib one\n"))
	p2, s2 := writeAsset(t, "lib-2.txt", []byte("lib two\n"))
	ok(t, env, publishArgs("app", "lib", "1.0.0", p1, "lib.txt", s1)...)
	ok(t, env, publishArgs("upstream", "lib", "2.0.0", p2, "lib.txt", s2)...)
	copyArgs := []string{"codeartifact", "copy-package-versions", "--domain", "acme", "--source-repository", "app",
		"--destination-repository", "release", "--format", "generic", "--namespace", "tools", "--package", "lib", "--versions", "1.0.0", "2.0.0"}
	c := ok(t, env, copyArgs...)
	if dig(c, "successfulVersions", "1.0.0", "status") != "Published" || dig(c, "failedVersions", "2.0.0", "errorCode") != "NOT_FOUND" {
		t.Fatalf("copy without --include-from-upstream: %v", c)
	}
	c = ok(t, env, append(copyArgs, "--include-from-upstream", "--allow-overwrite")...)
	if dig(c, "successfulVersions", "2.0.0", "status") != "Published" || dig(c, "failedVersions") != nil && len(dig(c, "failedVersions").(map[string]any)) != 0 {
		t.Fatalf("copy with --include-from-upstream: %v", c)
	}
	v := ok(t, env, "codeartifact", "list-package-version-assets", "--domain", "acme", "--repository", "release", "--format", "generic",
		"--namespace", "tools", "--package", "lib", "--package-version", "2.0.0")
	if dig(v, "assets", 0, "hashes", "SHA-256") != s2 {
		t.Fatalf("copied asset: %v", v)
	}
}

// TestPackageGroupInternalUpstreamNPM: with the real aws CLI and npm, a
// package group whose INTERNAL_UPSTREAM is BLOCK keeps a repository from
// its upstream repository's versions of the group's packages;
// ALLOW_SPECIFIC_REPOSITORIES naming the repository lets them through.
func TestPackageGroupInternalUpstreamNPM(t *testing.T) {
	requireAWS(t)
	in := startRegistry(t, t.TempDir())
	env := in.awsEnv(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "shared")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "app", "--upstreams", "repositoryName=shared")
	n := newNPMEnv(t, env)
	login := func(repo string) {
		t.Helper()
		if r := runAWS(n.env, "codeartifact", "login", "--tool", "npm", "--domain", "acme", "--repository", repo); r.err != nil {
			t.Fatalf("login %s: %v\n%s", repo, r.err, r.stderr)
		}
	}
	login("shared")
	n.run(t, writePackage(t, "@acme/ui", "1.0.0", nil), "publish")
	n.run(t, writePackage(t, "left-pad", "1.0.0", nil), "publish")
	login("app")

	ok(t, env, "codeartifact", "create-package-group", "--domain", "acme", "--package-group", "/npm/acme/*")
	ok(t, env, "codeartifact", "update-package-group-origin-configuration", "--domain", "acme", "--package-group", "/npm/acme/*",
		"--restrictions", "INTERNAL_UPSTREAM=BLOCK")
	if _, errOut, err := n.try(t.TempDir(), "view", "@acme/ui", "version"); err == nil || !strings.Contains(errOut, "E404") {
		t.Fatalf("npm view through app with INTERNAL_UPSTREAM blocked: %v\n%s", err, errOut)
	}
	if got := strings.TrimSpace(n.run(t, t.TempDir(), "view", "left-pad", "version")); got != "1.0.0" {
		t.Fatalf("a package outside the group: %q", got)
	}

	ok(t, env, "codeartifact", "update-package-group-origin-configuration", "--domain", "acme", "--package-group", "/npm/acme/*",
		"--restrictions", "INTERNAL_UPSTREAM=ALLOW_SPECIFIC_REPOSITORIES",
		"--add-allowed-repositories", "originRestrictionType=INTERNAL_UPSTREAM,repositoryName=app")
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"proj","version":"1.0.0","private":true}`), 0o644)
	n.run(t, proj, "install", "@acme/ui@1.0.0")
	if m := readManifest(t, filepath.Join(proj, "node_modules", "@acme", "ui", "package.json")); m["version"] != "1.0.0" {
		t.Fatalf("installed %v", m["version"])
	}
}
