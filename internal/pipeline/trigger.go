package pipeline

import (
	"fmt"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// PackageEvent is the detail of CodeArtifact's "CodeArtifact Package
// Version State Change" EventBridge event, the input that starts pipelines
// with a CodeArtifact Source action.
// https://docs.aws.amazon.com/codeartifact/latest/ug/service-event-format-example.html
type PackageEvent struct {
	DomainOwner            string          `json:"domainOwner,omitempty"`
	DomainName             string          `json:"domainName"`
	RepositoryName         string          `json:"repositoryName"`
	PackageFormat          string          `json:"packageFormat"`
	PackageNamespace       string          `json:"packageNamespace,omitempty"`
	PackageName            string          `json:"packageName"`
	PackageVersion         string          `json:"packageVersion"`
	PackageVersionState    string          `json:"packageVersionState"`
	PackageVersionRevision string          `json:"packageVersionRevision,omitempty"`
	Changes                *PackageChanges `json:"changes,omitempty"`
	OperationType          string          `json:"operationType"` // Created, Updated, Deleted
	SequenceNumber         int64           `json:"sequenceNumber"`
	EventDeduplicationID   string          `json:"eventDeduplicationId"`
}

// PackageChanges is the "changes" member of a package event.
type PackageChanges struct {
	AssetsAdded     int  `json:"assetsAdded"`
	AssetsRemoved   int  `json:"assetsRemoved"`
	AssetsUpdated   int  `json:"assetsUpdated"`
	MetadataUpdated bool `json:"metadataUpdated"`
	StatusChanged   bool `json:"statusChanged"`
}

// Configuration keys of the CodeArtifact Source action.
const (
	CfgDomainName       = "DomainName"
	CfgRepositoryName   = "RepositoryName"
	CfgPackageFormat    = "PackageFormat"
	CfgPackageNamespace = "PackageNamespace"
	CfgPackageName      = "PackageName"
	CfgPackageVersion   = "PackageVersion"
	CfgDetectChanges    = "DetectChanges"
)

// PackageFilter selects package versions: what a CodeArtifact Source
// action listens to. Domain and Repository are exact; Format is exact or
// empty for any; Namespace and Name are globs (path.Match syntax, empty
// for any); Version is a version pattern (see MatchVersion).
type PackageFilter struct {
	Domain, Repository, Format, Namespace, Name, Version string
	// DetectChanges is false when the action starts only manually.
	DetectChanges bool
}

// FilterOf reads a CodeArtifact Source action's configuration.
func FilterOf(cfg map[string]string) PackageFilter {
	return PackageFilter{
		Domain: cfg[CfgDomainName], Repository: cfg[CfgRepositoryName], Format: cfg[CfgPackageFormat],
		Namespace: cfg[CfgPackageNamespace], Name: cfg[CfgPackageName], Version: cfg[CfgPackageVersion],
		DetectChanges: !strings.EqualFold(cfg[CfgDetectChanges], "false"),
	}
}

// CheckFilter validates a CodeArtifact Source configuration's patterns;
// the error names the key.
func CheckFilter(cfg map[string]string) error {
	if v := cfg[CfgDetectChanges]; v != "" && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return fmt.Errorf("configuration.%s: %q is not true or false", CfgDetectChanges, v)
	}
	for _, k := range []string{CfgPackageNamespace, CfgPackageName} {
		if _, err := path.Match(cfg[k], ""); err != nil {
			return fmt.Errorf("configuration.%s: %q is not a valid glob", k, cfg[k])
		}
	}
	if _, err := compileVersion(cfg[CfgPackageVersion]); err != nil {
		return fmt.Errorf("configuration.%s: %v", CfgPackageVersion, err)
	}
	return nil
}

// Triggers reports whether ev starts a pipeline whose CodeArtifact Source
// action has filter f: DetectChanges is on, the event is about a version
// that became Published (created Published, or its status changed to
// Published), and every field matches.
func (f PackageFilter) Triggers(ev PackageEvent) bool {
	if !f.DetectChanges || ev.PackageVersionState != "Published" {
		return false
	}
	switch ev.OperationType {
	case "Created":
	case "Updated":
		if ev.Changes == nil || !ev.Changes.StatusChanged {
			return false
		}
	default:
		return false
	}
	return f.Matches(ev.DomainName, ev.RepositoryName, ev.PackageFormat, ev.PackageNamespace, ev.PackageName, ev.PackageVersion)
}

// Matches reports whether a package version is one the filter selects.
func (f PackageFilter) Matches(domain, repo, format, namespace, name, version string) bool {
	if domain != f.Domain || repo != f.Repository || (f.Format != "" && format != f.Format) {
		return false
	}
	if !glob(f.Namespace, namespace) || !glob(f.Name, name) {
		return false
	}
	ok, err := MatchVersion(f.Version, version)
	return err == nil && ok
}

// glob matches s against a path.Match pattern; "" and "*" match anything
// (including the empty namespace).
func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// MatchVersion reports whether version matches pattern. The pattern is
//
//	""                 any version
//	a semver range     when it contains one of ^ ~ < > = or "||"
//	                   (Masterminds/semver syntax: "^1.2", ">=1.0.0 <2");
//	                   versions that are not semver never match
//	a glob             otherwise (path.Match: "1.*", "2.?.0", "1.2.3")
func MatchVersion(pattern, version string) (bool, error) {
	m, err := compileVersion(pattern)
	if err != nil {
		return false, err
	}
	return m(version), nil
}

func compileVersion(pattern string) (func(string) bool, error) {
	p := strings.TrimSpace(pattern)
	if p == "" || p == "*" {
		return func(string) bool { return true }, nil
	}
	if strings.ContainsAny(p, "^~<>=") || strings.Contains(p, "||") {
		c, err := semver.NewConstraint(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid version range: %v", pattern, err)
		}
		return func(v string) bool {
			sv, err := semver.NewVersion(v)
			return err == nil && c.Check(sv)
		}, nil
	}
	if _, err := path.Match(p, ""); err != nil {
		return nil, fmt.Errorf("%q is not a valid version glob", pattern)
	}
	return func(v string) bool { ok, _ := path.Match(p, v); return ok }, nil
}
