package codeartifact

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// lister names a list operation, its items and how to identify one.
type lister struct {
	op    string
	in    params
	items string                // output member holding the page
	key   func(item any) string // identity of an item
}

// walk pages through l with page size size (0: the server's default) and
// returns every item's key in the order served. It checks that no page is
// larger than size, that next tokens never repeat, and that only the last
// page has none.
func (h *harness) walk(t *testing.T, l lister, size int) []string {
	t.Helper()
	var keys []string
	seenTokens := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("%s: more than 1000 pages", l.op)
		}
		in := l.in.with()
		if size > 0 {
			in["maxResults"] = size
		}
		if token != "" {
			in["nextToken"] = token
		}
		out := h.call(t, l.op, in).ok(t)
		items, _ := get(out, l.items).([]any)
		if size > 0 && len(items) > size {
			t.Fatalf("%s: page %d has %d items, more than %d", l.op, page, len(items), size)
		}
		for _, it := range items {
			keys = append(keys, l.key(it))
		}
		token = str(out, "nextToken")
		if token == "" {
			return keys
		}
		if len(items) == 0 {
			t.Fatalf("%s: page %d is empty but has a next token", l.op, page)
		}
		if seenTokens[token] {
			t.Fatalf("%s: next token %q served twice", l.op, token)
		}
		seenTokens[token] = true
	}
}

// checkWalks walks l with several page sizes: each walk yields exactly want,
// in the order of the walk with the default size, without duplicates.
func (h *harness) checkWalks(t *testing.T, l lister, want []string) {
	t.Helper()
	all := h.walk(t, l, 0)
	if !sameSet(all, want) {
		t.Fatalf("%s: listed %v, want %v", l.op, all, want)
	}
	for _, size := range []int{1, 2, 3, len(want), len(want) + 1, 1000} {
		if size < 1 {
			continue
		}
		got := h.walk(t, l, size)
		if !reflect.DeepEqual(got, all) {
			t.Errorf("%s with pages of %d: %v, want %v", l.op, size, got, all)
		}
	}
}

func sameSet(got, want []string) bool {
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			return false // a duplicate
		}
		seen[g] = true
	}
	a, b := append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(a)
	sort.Strings(b)
	return reflect.DeepEqual(a, b) || (len(a) == 0 && len(b) == 0)
}

func nameKey(item any) string { return str(item, "name") }

func pkgKey(item any) string {
	return str(item, "format") + ":" + str(item, "namespace") + "/" + str(item, "package")
}

// TestPagination walks every paginated list, by body (ListDomains) or query
// parameters (the others), with page sizes from 1 to past the end.
func TestPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	domains := []string{fxDomain}
	for i := 0; i < 6; i++ {
		domains = append(domains, fmt.Sprintf("d-%d", i))
		h.call(t, "CreateDomain", params{"domain": domains[i+1]}).ok(t)
	}
	h.call(t, "CreateDomain", params{"domain": fxDomain}).ok(t)
	var acmeRepos, allRepos []string
	for i := 0; i < 7; i++ {
		r := fmt.Sprintf("r-%d", i)
		h.call(t, "CreateRepository", params{"domain": fxDomain, "repository": r}).ok(t)
		acmeRepos, allRepos = append(acmeRepos, r), append(allRepos, fxDomain+"/"+r)
	}
	for _, r := range []string{"r-0", "x-1", "r-9"} {
		h.call(t, "CreateRepository", params{"domain": "d-0", "repository": r}).ok(t)
		allRepos = append(allRepos, "d-0/"+r)
	}
	// Packages of three formats in acme/r-0.
	for _, p := range [][2]string{{"ns-a", "lib-1"}, {"ns-a", "lib-2"}, {"ns-a", "app-1"}, {"ns-b", "lib-3"}, {"other", "lib-x"}} {
		in := params{"domain": fxDomain, "repository": "r-0", "format": "generic", "namespace": p[0], "package": p[1],
			"packageVersion": "1.0.0", "assetName": "a", "assetContent": []byte(p[1])}
		h.call(t, "PublishPackageVersion", in).ok(t)
	}
	for _, ref := range []domain.PackageRef{{Format: "npm", Name: "left-pad"}, {Format: "npm", Namespace: "scope", Name: "lib-npm"}, {Format: "pypi", Name: "requests"}} {
		if _, err := h.db.PublishVersion(ctx, domain.PublishInput{Domain: fxDomain, Repository: "r-0", Ref: ref, Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
	}
	allPkgs := []string{"generic:ns-a/lib-1", "generic:ns-a/lib-2", "generic:ns-a/app-1", "generic:ns-b/lib-3", "generic:other/lib-x",
		"npm:/left-pad", "npm:scope/lib-npm", "pypi:/requests"}
	// Seven versions of one package, five assets of one version.
	var versions []string
	for i := 0; i < 7; i++ {
		v := fmt.Sprintf("2.%d.0", i)
		h.publish(t, "r-0", "many", v, "a", []byte(v), false)
		versions = append(versions, v)
	}
	var assets []string
	for i := 0; i < 5; i++ {
		a := fmt.Sprintf("file-%d.bin", i)
		h.publish(t, "r-0", "many", "9.0.0", a, []byte(a), i < 4)
		assets = append(assets, a)
	}
	versions = append(versions, "9.0.0")
	manyPkg := pkgParams("r-0").with("package", "many")
	repoKey := func(item any) string { return str(item, "domainName") + "/" + str(item, "name") }

	for _, tc := range []struct {
		name string
		l    lister
		want []string
	}{
		{"ListDomains", lister{"ListDomains", params{}, "domains", nameKey}, domains},
		{"ListRepositories", lister{"ListRepositories", params{}, "repositories", repoKey}, allRepos},
		{"ListRepositories prefix", lister{"ListRepositories", params{"repositoryPrefix": "r-"}, "repositories", repoKey},
			append(append([]string(nil), allRepos[:7]...), "d-0/r-0", "d-0/r-9")},
		{"ListRepositoriesInDomain", lister{"ListRepositoriesInDomain", params{"domain": fxDomain}, "repositories", repoKey}, allRepos[:7]},
		{"ListRepositoriesInDomain prefix", lister{"ListRepositoriesInDomain", params{"domain": "d-0", "repositoryPrefix": "x"}, "repositories", repoKey}, []string{"d-0/x-1"}},
		{"ListRepositoriesInDomain other administrator", lister{"ListRepositoriesInDomain", params{"domain": fxDomain, "administratorAccount": "210987654321"}, "repositories", repoKey}, nil},
		{"ListPackages", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0"}, "packages", pkgKey}, append(allPkgs, "generic:ns/many")},
		{"ListPackages format", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0", "format": "npm"}, "packages", pkgKey}, []string{"npm:/left-pad", "npm:scope/lib-npm"}},
		{"ListPackages namespace prefix", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0", "namespace": "ns-"}, "packages", pkgKey},
			[]string{"generic:ns-a/lib-1", "generic:ns-a/lib-2", "generic:ns-a/app-1", "generic:ns-b/lib-3"}},
		{"ListPackages package prefix", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0", "packagePrefix": "lib"}, "packages", pkgKey},
			[]string{"generic:ns-a/lib-1", "generic:ns-a/lib-2", "generic:ns-b/lib-3", "generic:other/lib-x", "npm:scope/lib-npm"}},
		{"ListPackages all filters", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0", "format": "generic", "namespace": "ns-a", "packagePrefix": "lib"}, "packages", pkgKey},
			[]string{"generic:ns-a/lib-1", "generic:ns-a/lib-2"}},
		{"ListPackages publish filter", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-0", "publish": "BLOCK"}, "packages", pkgKey}, nil},
		{"ListPackages empty repository", lister{"ListPackages", params{"domain": fxDomain, "repository": "r-1"}, "packages", pkgKey}, nil},
		{"ListPackageVersions", lister{"ListPackageVersions", manyPkg, "versions", func(it any) string { return str(it, "version") }}, versions},
		{"ListPackageVersions by publish time", lister{"ListPackageVersions", manyPkg.with("sortBy", "PUBLISHED_TIME"), "versions", func(it any) string { return str(it, "version") }}, versions},
		{"ListPackageVersionAssets", lister{"ListPackageVersionAssets", manyPkg.with("packageVersion", "9.0.0"), "assets", nameKey}, assets},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h.checkWalks(t, tc.l, tc.want)
		})
	}
}

// TestListPackageVersions: the status filter, PUBLISHED_TIME order and
// defaultDisplayVersion (the latest Published version).
func TestListPackageVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t, fxRepo)
	pkg := pkgParams(fxRepo)
	// Published in an order unlike the version strings' order, each in a
	// later millisecond than the one before (publish times are kept in ms).
	order := []string{"3.0.0", "1.0.0", "10.0.0", "2.0.0"}
	for _, v := range order {
		h.publish(t, fxRepo, fxPkg, v, "a", []byte(v), false)
		waitForNextMillisecond(t)
	}
	list := func(in params) ([]string, string) {
		out := h.call(t, "ListPackageVersions", in).ok(t)
		var vs []string
		for _, it := range get(out, "versions").([]any) {
			vs = append(vs, str(it, "version")+"="+str(it, "status"))
		}
		return vs, str(out, "defaultDisplayVersion")
	}
	got, def := list(pkg)
	if want := []string{"1.0.0=Published", "10.0.0=Published", "2.0.0=Published", "3.0.0=Published"}; !reflect.DeepEqual(got, want) {
		t.Errorf("default order %v, want %v", got, want)
	}
	if def != "2.0.0" {
		t.Errorf("defaultDisplayVersion %q, want the last published 2.0.0", def)
	}
	got, _ = list(pkg.with("sortBy", "PUBLISHED_TIME"))
	if want := []string{"3.0.0=Published", "1.0.0=Published", "10.0.0=Published", "2.0.0=Published"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PUBLISHED_TIME order %v, want %v", got, want)
	}
	walked := h.walk(t, lister{"ListPackageVersions", pkg.with("sortBy", "PUBLISHED_TIME"), "versions", func(it any) string { return str(it, "version") }}, 1)
	if !reflect.DeepEqual(walked, order) {
		t.Errorf("PUBLISHED_TIME pages of 1: %v, want %v", walked, order)
	}

	h.call(t, "UpdatePackageVersionsStatus", pkg.with("versions", []string{"2.0.0", "3.0.0"}, "targetStatus", "Unlisted")).ok(t)
	h.call(t, "UpdatePackageVersionsStatus", pkg.with("versions", []string{"10.0.0"}, "targetStatus", "Archived")).ok(t)
	for status, want := range map[string][]string{
		"Published":  {"1.0.0=Published"},
		"Unlisted":   {"2.0.0=Unlisted", "3.0.0=Unlisted"},
		"Archived":   {"10.0.0=Archived"},
		"Unfinished": nil,
	} {
		got, def := list(pkg.with("status", status))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("status %s: %v, want %v", status, got, want)
		}
		if def != "1.0.0" {
			t.Errorf("status %s: defaultDisplayVersion %q, want 1.0.0, the only Published one", status, def)
		}
	}
	h.call(t, "UpdatePackageVersionsStatus", pkg.with("versions", []string{"1.0.0"}, "targetStatus", "Unlisted")).ok(t)
	if _, def := list(pkg); def != "" {
		t.Errorf("defaultDisplayVersion %q with no Published version", def)
	}
	out := h.call(t, "ListPackageVersions", pkg).ok(t)
	if v, ok := out["defaultDisplayVersion"]; ok && v != nil {
		t.Errorf("defaultDisplayVersion %v present with no Published version", v)
	}
}

// waitForNextMillisecond polls the clock until a new millisecond begins.
func waitForNextMillisecond(t *testing.T) {
	t.Helper()
	start := time.Now().UnixMilli()
	deadline := time.Now().Add(time.Second)
	for time.Now().UnixMilli() <= start {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not advance")
		}
	}
}

// TestFormatVersionDetails: what a format publishes (display name,
// licenses, readme, dependencies) comes back through the control plane in
// botocore's shapes.
func TestFormatVersionDetails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t, fxRepo)
	ref := domain.PackageRef{Format: "npm", Namespace: "scope", Name: "widget"}
	_, err := h.db.PublishVersion(context.Background(), domain.PublishInput{Domain: fxDomain, Repository: fxRepo, Ref: ref, Version: "1.2.3",
		Meta: domain.VersionMeta{DisplayName: "widget", Summary: "A widget", HomePage: "https://example.test", SourceCodeRepository: "https://git.example.test/w",
			Licenses: []domain.License{{Name: "MIT", URL: "https://opensource.org/licenses/MIT"}}, Readme: "# widget\n"},
		Dependencies: []domain.Dependency{{Name: "left-pad", Type: "regular", VersionRequirement: "^1.0.0"}, {Namespace: "types", Name: "node", Type: "dev", VersionRequirement: "*"}}})
	if err != nil {
		t.Fatal(err)
	}
	ver := params{"domain": fxDomain, "repository": fxRepo, "format": "npm", "namespace": "scope", "package": "widget", "packageVersion": "1.2.3"}
	out := h.call(t, "DescribePackageVersion", ver).ok(t)
	pv := get(out, "packageVersion")
	for k, want := range map[string]string{"displayName": "widget", "summary": "A widget", "homePage": "https://example.test",
		"sourceCodeRepository": "https://git.example.test/w", "format": "npm", "namespace": "scope", "packageName": "widget"} {
		if got := str(pv, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := get(pv, "licenses"); !reflect.DeepEqual(got, []any{map[string]any{"name": "MIT", "url": "https://opensource.org/licenses/MIT"}}) {
		t.Errorf("licenses %v", got)
	}
	if got := str(h.call(t, "GetPackageVersionReadme", ver).ok(t), "readme"); got != "# widget\n" {
		t.Errorf("readme %q", got)
	}
	deps := get(h.call(t, "ListPackageVersionDependencies", ver).ok(t), "dependencies")
	want := []any{
		map[string]any{"package": "left-pad", "dependencyType": "regular", "versionRequirement": "^1.0.0"},
		map[string]any{"namespace": "types", "package": "node", "dependencyType": "dev", "versionRequirement": "*"},
	}
	if !reflect.DeepEqual(withoutNulls(deps), want) {
		t.Errorf("dependencies %v, want %v", deps, want)
	}
	if got := str(h.call(t, "GetRepositoryEndpoint", params{"domain": fxDomain, "repository": fxRepo, "format": "npm"}).ok(t), "repositoryEndpoint"); !strings.HasSuffix(got, "/npm/acme/main/") {
		t.Errorf("endpoint %q", got)
	}
}

// withoutNulls drops null members of the objects of a list.
func withoutNulls(v any) any {
	list, _ := v.([]any)
	out := []any{}
	for _, x := range list {
		m := map[string]any{}
		for k, y := range x.(map[string]any) {
			if y != nil {
				m[k] = y
			}
		}
		out = append(out, m)
	}
	return out
}
