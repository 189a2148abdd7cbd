package pipeline

import (
	"strings"
	"testing"
)

func TestMatchVersion(t *testing.T) {
	for _, tc := range []struct {
		pattern, version string
		want             bool
	}{
		{"", "1.0.0", true},
		{"*", "anything", true},
		{"1.2.3", "1.2.3", true},
		{"1.2.3", "1.2.30", false},
		{"1.*", "1.9.0", true},
		{"1.*", "2.0.0", false},
		{"1.?.0", "1.5.0", true},
		{"^1.2", "1.9.9", true},
		{"^1.2", "2.0.0", false},
		{"^1.2", "1.1.0", false},
		{">=1.0.0 <2", "1.5.0", true},
		{">=1.0.0 <2", "2.0.0", false},
		{"~1.2.0", "1.2.9", true},
		{"~1.2.0", "1.3.0", false},
		{"1.x || >=3", "3.1.0", true},
		{">=1.0.0", "not-semver", false},
		{">=1.0.0", "1.0.0-beta.1", false},
	} {
		got, err := MatchVersion(tc.pattern, tc.version)
		if err != nil || got != tc.want {
			t.Errorf("MatchVersion(%q, %q) = %v, %v; want %v", tc.pattern, tc.version, got, err, tc.want)
		}
	}
	for _, bad := range []string{">=1 <<2", "[1-"} {
		if _, err := MatchVersion(bad, "1.0.0"); err == nil {
			t.Errorf("MatchVersion(%q) accepted", bad)
		}
	}
}

func TestTriggers(t *testing.T) {
	base := PackageEvent{DomainName: "acme", RepositoryName: "main", PackageFormat: "npm", PackageNamespace: "acme", PackageName: "lib",
		PackageVersion: "1.2.0", PackageVersionState: "Published", OperationType: "Created", EventDeduplicationID: "x"}
	filter := func(cfg map[string]string) PackageFilter {
		c := map[string]string{CfgDomainName: "acme", CfgRepositoryName: "main"}
		for k, v := range cfg {
			c[k] = v
		}
		return FilterOf(c)
	}
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		ev   func(e *PackageEvent)
		want bool
	}{
		{"exact name", map[string]string{CfgPackageName: "lib"}, nil, true},
		{"name glob", map[string]string{CfgPackageName: "l*"}, nil, true},
		{"name glob miss", map[string]string{CfgPackageName: "app-*"}, nil, false},
		{"namespace", map[string]string{CfgPackageName: "lib", CfgPackageNamespace: "acme"}, nil, true},
		{"namespace miss", map[string]string{CfgPackageName: "lib", CfgPackageNamespace: "other"}, nil, false},
		{"no namespace filter", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) { e.PackageNamespace = "" }, true},
		{"format", map[string]string{CfgPackageName: "lib", CfgPackageFormat: "npm"}, nil, true},
		{"format miss", map[string]string{CfgPackageName: "lib", CfgPackageFormat: "pypi"}, nil, false},
		{"other domain", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) { e.DomainName = "other" }, false},
		{"other repository", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) { e.RepositoryName = "other" }, false},
		{"version range", map[string]string{CfgPackageName: "lib", CfgPackageVersion: "^1.0.0"}, nil, true},
		{"version range miss", map[string]string{CfgPackageName: "lib", CfgPackageVersion: ">=2"}, nil, false},
		{"version glob", map[string]string{CfgPackageName: "lib", CfgPackageVersion: "1.2.*"}, nil, true},
		{"detect changes off", map[string]string{CfgPackageName: "lib", CfgDetectChanges: "false"}, nil, false},
		{"detect changes FALSE", map[string]string{CfgPackageName: "lib", CfgDetectChanges: "FALSE"}, nil, false},
		{"unfinished", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) { e.PackageVersionState = "Unfinished" }, false},
		{"status changed to Published", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) {
			e.OperationType, e.Changes = "Updated", &PackageChanges{StatusChanged: true}
		}, true},
		{"asset added to a Published version", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) {
			e.OperationType, e.Changes = "Updated", &PackageChanges{AssetsAdded: 1}
		}, false},
		{"deleted", map[string]string{CfgPackageName: "lib"}, func(e *PackageEvent) { e.OperationType = "Deleted" }, false},
	} {
		ev := base
		if tc.ev != nil {
			tc.ev(&ev)
		}
		if got := filter(tc.cfg).Triggers(ev); got != tc.want {
			t.Errorf("%s: Triggers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheckFilter(t *testing.T) {
	for cfg, key := range map[[2]string]string{
		{CfgDetectChanges, "maybe"}:   CfgDetectChanges,
		{CfgPackageName, "[a-"}:       CfgPackageName,
		{CfgPackageNamespace, "[a-"}:  CfgPackageNamespace,
		{CfgPackageVersion, ">=1 <<"}: CfgPackageVersion,
	} {
		err := CheckFilter(map[string]string{cfg[0]: cfg[1]})
		if err == nil || !strings.Contains(err.Error(), "configuration."+key) {
			t.Errorf("CheckFilter(%v) = %v, want an error naming %s", cfg, err, key)
		}
	}
	if err := CheckFilter(map[string]string{CfgPackageName: "lib-*", CfgPackageVersion: "^2", CfgDetectChanges: "true"}); err != nil {
		t.Errorf("valid filter: %v", err)
	}
}

// FuzzMatchVersion: version patterns come from users; matching never
// panics.
func FuzzMatchVersion(f *testing.F) {
	f.Add("^1.2", "1.3.0")
	f.Add("1.*", "1.0")
	f.Add("[", "x")
	f.Fuzz(func(t *testing.T, pattern, version string) {
		MatchVersion(pattern, version)
	})
}
