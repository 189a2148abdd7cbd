package engine

import (
	"context"
	"errors"
)

// The engine reaches the registry and CodeBuild only through the small
// interfaces below; cmd/registry wires adapters that implement them. Every
// one is optional: an action whose port is missing fails with a message
// saying so.

// Builder runs CodeBuild builds for the Build and Test actions of provider
// CodeBuild. Builds must be durable on their side: after a restart of the
// server the engine calls WaitBuild again with the id StartBuild returned.
type Builder interface {
	// StartBuild starts a build of project and returns its id at once.
	StartBuild(ctx context.Context, project string, in BuildInput) (buildID string, err error)
	// WaitBuild blocks until the build ends (or ctx is done) and returns
	// its outcome. A build id the builder does not know is an error
	// wrapping ErrUnknownBuild.
	WaitBuild(ctx context.Context, buildID string) (BuildResult, error)
	// StopBuild stops a running build (killing its processes).
	StopBuild(ctx context.Context, buildID string) error
}

// ErrUnknownBuild is wrapped by WaitBuild for an id the builder never
// issued or has forgotten; the engine then starts a new build.
var ErrUnknownBuild = errors.New("unknown build")

// BuildInput is what a pipeline hands a build: its source artifacts (the
// first is the primary source, the others secondary sources named by
// artifact), the environment variables of the action, the names of the
// output artifacts it expects, and who started it.
type BuildInput struct {
	Sources   []Artifact
	Env       map[string]string
	Outputs   []string // output artifact names: the primary first
	Initiator string   // "codepipeline/<pipeline name>", CODEBUILD_INITIATOR
	// SourceVersion is CODEBUILD_RESOLVED_SOURCE_VERSION: the source
	// action's revision (commit id, package version).
	SourceVersion string
	// Repositories are the registry repositories the execution's
	// CodeArtifact Source actions read, in stage order. A builder gives
	// the build short-lived credentials for them, so that package
	// managers inside the build reach the same repositories.
	Repositories []Repository
}

// Repository is a registry repository and the package format read from it
// ("" when the source action did not name one).
type Repository struct {
	Domain, Repository, Format string
}

// BuildResult is the outcome of a finished build.
type BuildResult struct {
	// Status is CodeBuild's buildStatus: SUCCEEDED, FAILED, FAULT,
	// TIMED_OUT or STOPPED.
	Status string
	// Message says why a build did not succeed (the failing phase).
	Message string
	// Outputs are the artifacts the build produced, by output name.
	Outputs []Artifact
	// ExportedVariables are the buildspec's env.exported-variables.
	ExportedVariables map[string]string
	// LogURL is where the build's log can be read (logs.deepLink).
	LogURL string
}

// Artifact is a pipeline artifact: a zip archive in the blob store.
type Artifact struct {
	Name   string
	SHA256 string // blob digest of the zip
	Size   int64
}

// PackageSource reads package versions from the registry for the
// CodeArtifact Source action.
type PackageSource interface {
	// Latest returns the newest Published version the filter selects (by
	// the format's version ordering, else publication time), or an error
	// wrapping ErrNoPackageVersion.
	Latest(ctx context.Context, f PackageQuery) (PackageVersion, error)
	// Assets returns the assets of a version. Their bytes are in the blob
	// store the engine was given, under Asset.SHA256.
	Assets(ctx context.Context, v PackageVersion) ([]Asset, error)
}

// ErrNoPackageVersion is wrapped by PackageSource.Latest when nothing
// matches.
var ErrNoPackageVersion = errors.New("no matching package version")

// PackageQuery selects package versions: Domain and Repository exact,
// Format exact or "" for any, Namespace and Name globs ("" for any),
// Version a pattern in pipeline.MatchVersion's syntax ("" for any).
type PackageQuery struct {
	Domain, Repository, Format, Namespace, Name, Version string
}

// PackageVersion identifies one package version.
type PackageVersion struct {
	Domain, Repository, Format, Namespace, Name, Version string
	// Revision is the version's packageVersionRevision.
	Revision string
}

// Asset is one file of a package version, or one file to publish.
type Asset struct {
	Name   string
	SHA256 string // blob digest
	Size   int64
}

// PackagePublisher publishes package versions into the registry for the
// Deploy action of provider CodeArtifact.
type PackagePublisher interface {
	// Publish publishes the files as a new package version and returns
	// what was published. For format "generic" every file becomes an
	// asset; for "npm" the files hold the package (a .tgz or an unpacked
	// directory with package.json) and an empty Name or Version is read
	// from package.json. Publishing identical content again succeeds.
	Publish(ctx context.Context, p Publication) (PackageVersion, error)
}

// Publication is a package version to publish.
type Publication struct {
	Domain, Repository, Format, Namespace, Name, Version string
	// Files are the files of the input artifact, relative paths with
	// forward slashes, their bytes in the blob store.
	Files []Asset
}

// SecretResolver resolves the SECRETS_MANAGER environment variables of a
// Commands action: value is "secret-id[:json-key[:version-stage[:version-id]]]".
type SecretResolver func(ctx context.Context, value string) (string, error)
