package domain

import "time"

// Format is a package format. Core code treats it as an opaque label; the
// set below is what the control plane accepts.
type Format string

// Known formats.
const (
	FormatNPM     Format = "npm"
	FormatPyPI    Format = "pypi"
	FormatMaven   Format = "maven"
	FormatGeneric Format = "generic"
)

// Formats is the list of formats the control plane accepts.
var Formats = []Format{FormatNPM, FormatPyPI, FormatMaven, FormatGeneric}

// Status is a package version's status (CodeArtifact's PackageVersionStatus).
type Status string

// Version statuses.
const (
	StatusPublished  Status = "Published"
	StatusUnfinished Status = "Unfinished"
	StatusUnlisted   Status = "Unlisted"
	StatusArchived   Status = "Archived"
	StatusDisposed   Status = "Disposed"
	StatusDeleted    Status = "Deleted"
)

// Statuses lists every status, in the order CodeArtifact documents them.
var Statuses = []Status{StatusPublished, StatusUnfinished, StatusUnlisted, StatusArchived, StatusDisposed, StatusDeleted}

// OriginType says where a version entered the domain.
type OriginType string

// Origin types.
const (
	OriginInternal OriginType = "INTERNAL"
	OriginExternal OriginType = "EXTERNAL"
	OriginUnknown  OriginType = "UNKNOWN"
)

// Restriction is a package origin control value.
type Restriction string

// Origin control values.
const (
	Allow Restriction = "ALLOW"
	Block Restriction = "BLOCK"
)

// Domain is a domain with its computed counters.
type Domain struct {
	Name            string
	Owner           string // account id
	CreatedAt       time.Time
	EncryptionKey   string
	RepositoryCount int
	AssetSizeBytes  int64
}

// Repository is a repository of a domain.
type Repository struct {
	Domain             string
	Owner              string // domain owner account id
	Name               string
	Description        string
	Administrator      string // account id
	Upstreams          []string
	ExternalConnection string // "" when none
	CreatedAt          time.Time
}

// PackageRef names a package inside a repository. Namespace is "" for
// formats without one.
type PackageRef struct {
	Format    Format
	Namespace string
	Name      string
}

// Package is a package with its origin configuration.
type Package struct {
	PackageRef
	Publish  Restriction
	Upstream Restriction
}

// License is a package version's license.
type License struct {
	Name string
	URL  string
}

// Origin records where a version first entered the domain.
type Origin struct {
	Type               OriginType
	Repository         string // set for INTERNAL
	ExternalConnection string // set for EXTERNAL
}

// PackageVersion is a version with its metadata.
type PackageVersion struct {
	PackageRef
	Version              string
	Revision             string
	Status               Status
	DisplayName          string
	Summary              string
	HomePage             string
	SourceCodeRepository string
	Licenses             []License
	PublishedAt          time.Time
	Origin               Origin
}

// Hashes are an asset's digests, lowercase hex.
type Hashes struct {
	MD5    string
	SHA1   string
	SHA256 string
	SHA512 string
}

// Asset is a file of a package version; its bytes are the blob named by
// Hashes.SHA256.
type Asset struct {
	Name   string
	Size   int64
	Hashes Hashes
}

// Dependency is a declared dependency of a package version
// (ListPackageVersionDependencies). Type is format-specific: npm
// regular/dev/peer/optional; Maven compile/runtime/test/provided/...;
// PyPI Requires-Dist.
type Dependency struct {
	Namespace          string
	Name               string
	Type               string
	VersionRequirement string
}
