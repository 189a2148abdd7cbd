package domain

// MavenFileInput is one file PUT into a Maven repository: an asset of a
// version that is created Unfinished when it does not exist yet. The
// asset's blob must already be committed to the blob store.
type MavenFileInput struct {
	Domain, Repository string
	Ref                PackageRef
	Version            string
	Asset              Asset
	// Meta is stored when the version is created. When POM is set the file
	// is the version's POM, and Meta and Dependencies replace what the
	// version had.
	Meta         VersionMeta
	POM          bool
	Dependencies []Dependency
}

// MavenFileResult is the outcome of a Maven file PUT.
type MavenFileResult struct {
	Version PackageVersion
	// Created is false when an identical file was already attached (an
	// idempotent re-upload that changed nothing).
	Created bool
}

// StatusPlan decides status changes for the versions of one package: it
// receives every version (oldest first, with Metadata, without assets) and
// returns version -> new status. It runs inside the store's write
// transaction, so what it sees is what it changes; it must not block.
type StatusPlan func(versions []VersionRecord) map[string]Status
