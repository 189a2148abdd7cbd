package domain

import (
	"encoding/json"
	"sort"
	"time"
)

// The types below are the inputs and outputs of the metadata store, shared
// by the control plane and the formats so that neither imports a storage
// backend.

// VersionResult is one successful version of a batch operation.
type VersionResult struct {
	Revision string
	Status   Status
}

// VersionFailure is one failed version of a batch operation.
type VersionFailure struct {
	Code    string // Code*
	Message string
}

// BatchResult is the outcome of a batch version operation.
type BatchResult struct {
	OK     map[string]VersionResult
	Failed map[string]VersionFailure
}

// BatchInput selects versions of one package for a batch operation.
type BatchInput struct {
	Domain, Repository string
	Ref                PackageRef
	Versions           []string
	Revisions          map[string]string // version -> expected revision (optional)
	ExpectedStatus     Status            // "" for any
}

// CopyInput selects versions of one package to copy between repositories
// of a domain. IncludeFromUpstream also copies versions the source does
// not hold but reaches through its upstream repositories.
type CopyInput struct {
	Domain              string
	Source, Dest        string
	Ref                 PackageRef
	Versions            []string
	Revisions           map[string]string
	AllowOverwrite      bool
	IncludeFromUpstream bool
}

// Policy is a stored resource policy.
type Policy struct {
	Document string
	Revision string
}

// PackageFilter narrows ListPackages. Namespace and Prefix are prefixes
// (CodeArtifact's ListPackages treats namespace as a prefix too).
type PackageFilter struct {
	Format    Format
	Namespace string
	Prefix    string
	Publish   Restriction
	Upstream  Restriction
}

// VersionFilter narrows ListVersions.
type VersionFilter struct {
	Status          Status
	OriginType      OriginType
	SortByPublished bool
}

// VersionMeta is what a format client publishes about a version besides
// its assets. Metadata is the format's own document for the version (npm:
// the version manifest), stored verbatim as JSON.
type VersionMeta struct {
	DisplayName          string
	Summary              string
	HomePage             string
	SourceCodeRepository string
	Licenses             []License
	Readme               string
	Metadata             json.RawMessage
}

// PublishInput is a whole package version published through a format
// endpoint. Every asset's blob must already be committed.
type PublishInput struct {
	Domain, Repository string
	Ref                PackageRef
	Version            string
	Status             Status // "" means Published
	Meta               VersionMeta
	Assets             []Asset
	Dependencies       []Dependency
	// DistTags are set (tag -> version) in the same transaction.
	DistTags map[string]string
}

// Page is a pagination request: After is the opaque token of the previous
// page ("" for the first), Limit the page size (1-1000).
type Page struct {
	After string
	Limit int
}

// RepositoryFilter narrows ListRepositories.
type RepositoryFilter struct {
	Domain string // "" lists every domain
	Prefix string
}

// AddAssetInput is one asset to attach to a package version. The asset's
// blob must already be committed to the blob store.
type AddAssetInput struct {
	Domain, Repository string
	Ref                PackageRef
	Version            string
	Asset              Asset
	// Unfinished keeps (or creates) the version in status Unfinished;
	// otherwise the version ends up Published.
	Unfinished bool
}

// VersionRecord is a version with the format's metadata and its assets,
// as a format renders it.
type VersionRecord struct {
	PackageVersion
	UpdatedAt int64 // unix milliseconds of the last change
	Metadata  json.RawMessage
	Assets    []Asset
}

// PackageView is everything a format needs to render a package document
// (an npm packument): the package, its revision, tags and every version
// of every status (the format decides what is visible), oldest first.
type PackageView struct {
	Package  Package
	Revision int64
	DistTags map[string]string
	Versions []VersionRecord
}

// Size returns the page size, 100 when unset or out of range.
func (p Page) Size() int {
	if p.Limit <= 0 || p.Limit > 1000 {
		return 100
	}
	return p.Limit
}

// AllVersions returns the versions named by Versions and Revisions, each
// once, Versions first in order, then the rest sorted.
func (in BatchInput) AllVersions() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range in.Versions {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	var extra []string
	for v := range in.Revisions {
		if !seen[v] {
			seen[v] = true
			extra = append(extra, v)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// OutboxEvent is a package-version change event waiting in the outbox to
// be published. Detail is CodeArtifact's event detail; Subject is relative
// to the configured prefix ("codeartifact.<domain>.<repo>.<format>");
// Resource is the package path "<domain>/<repo>/<format>/<namespace>/<name>"
// an ARN is built from.
type OutboxEvent struct {
	ID       int64
	DedupID  string
	Subject  string
	Resource string
	Detail   json.RawMessage
	Time     time.Time
}
