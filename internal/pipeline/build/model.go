package build

import (
	"encoding/json"
	"time"
)

// Source types this server runs. NO_SOURCE takes the buildspec inline;
// S3 is mapped onto the server's filesystem: its location names a local
// directory (copied into the workspace) or a local .zip file (extracted);
// CODEPIPELINE receives the pipeline's input artifacts (StartRequest).
const (
	SourceNoSource     = "NO_SOURCE"
	SourceS3           = "S3"
	SourceCodePipeline = "CODEPIPELINE"
)

// Artifact types. S3 and CODEPIPELINE artifacts are zip files in the
// blob store; NO_ARTIFACTS ignores the buildspec's artifacts section.
const (
	ArtifactsNone         = "NO_ARTIFACTS"
	ArtifactsS3           = "S3"
	ArtifactsCodePipeline = "CODEPIPELINE"
)

// Environment variable types.
const (
	EnvPlaintext      = "PLAINTEXT"
	EnvParameterStore = "PARAMETER_STORE"
	EnvSecretsManager = "SECRETS_MANAGER"
)

// EnvVar is a CodeBuild EnvironmentVariable. For PARAMETER_STORE Value is
// a parameter name; for SECRETS_MANAGER a reference
// "secret-id[:json-key[:version-stage[:version-id]]]".
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// Source is a ProjectSource.
type Source struct {
	Type string `json:"type"`
	// Location is a local directory or .zip path for S3 sources.
	Location string `json:"location,omitempty"`
	// Buildspec is inline YAML, or a file name relative to the source
	// root; empty means buildspec.yml in the source root.
	Buildspec         string `json:"buildspec,omitempty"`
	SourceIdentifier  string `json:"sourceIdentifier,omitempty"`
	GitCloneDepth     *int   `json:"gitCloneDepth,omitempty"`
	InsecureSsl       *bool  `json:"insecureSsl,omitempty"`
	ReportBuildStatus *bool  `json:"reportBuildStatus,omitempty"`
}

// ArtifactsConfig is a ProjectArtifacts.
type ArtifactsConfig struct {
	Type                 string `json:"type"`
	Location             string `json:"location,omitempty"`
	Path                 string `json:"path,omitempty"`
	NamespaceType        string `json:"namespaceType,omitempty"`
	Name                 string `json:"name,omitempty"`
	Packaging            string `json:"packaging,omitempty"`
	OverrideArtifactName *bool  `json:"overrideArtifactName,omitempty"`
	EncryptionDisabled   *bool  `json:"encryptionDisabled,omitempty"`
	ArtifactIdentifier   string `json:"artifactIdentifier,omitempty"`
}

// Cache is a ProjectCache. Any type but NO_CACHE keeps cache.paths
// between builds of the project on this server.
type Cache struct {
	Type           string   `json:"type"`
	Location       string   `json:"location,omitempty"`
	Modes          []string `json:"modes,omitempty"`
	CacheNamespace string   `json:"cacheNamespace,omitempty"`
}

func (c Cache) enabled() bool { return c.Type != "" && c.Type != "NO_CACHE" }

// Environment is a ProjectEnvironment. Builds run as local processes, so
// type, image and computeType are recorded (and exported as
// CODEBUILD_BUILD_IMAGE) but select nothing.
type Environment struct {
	Type                     string   `json:"type"`
	Image                    string   `json:"image"`
	ComputeType              string   `json:"computeType"`
	EnvironmentVariables     []EnvVar `json:"environmentVariables,omitempty"`
	PrivilegedMode           *bool    `json:"privilegedMode,omitempty"`
	Certificate              string   `json:"certificate,omitempty"`
	ImagePullCredentialsType string   `json:"imagePullCredentialsType,omitempty"`
}

// Tag is a project tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Project is a build project (CodeBuild's Project).
type Project struct {
	Name                   string            `json:"name"`
	ARN                    string            `json:"arn"`
	Description            string            `json:"description,omitempty"`
	Source                 Source            `json:"source"`
	SecondarySources       []Source          `json:"secondarySources,omitempty"`
	SourceVersion          string            `json:"sourceVersion,omitempty"`
	Artifacts              ArtifactsConfig   `json:"artifacts"`
	SecondaryArtifacts     []ArtifactsConfig `json:"secondaryArtifacts,omitempty"`
	Cache                  Cache             `json:"cache"`
	Environment            Environment       `json:"environment"`
	ServiceRole            string            `json:"serviceRole"`
	TimeoutInMinutes       int               `json:"timeoutInMinutes"`
	QueuedTimeoutInMinutes int               `json:"queuedTimeoutInMinutes"`
	EncryptionKey          string            `json:"encryptionKey,omitempty"`
	Tags                   []Tag             `json:"tags,omitempty"`
	ConcurrentBuildLimit   *int              `json:"concurrentBuildLimit,omitempty"`
	// LogsConfig is kept as given and returned; logs always go to this
	// server.
	LogsConfig   json.RawMessage `json:"logsConfig,omitempty"`
	Created      time.Time       `json:"created"`
	LastModified time.Time       `json:"lastModified"`
}

// InputArtifact is a zip in the blob store handed to a build by the
// pipeline engine. The primary one is extracted into CODEBUILD_SRC_DIR,
// the others into CODEBUILD_SRC_DIR_<Name>.
type InputArtifact struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // sha256 hex of the zip blob
}

// StartRequest starts a build. Only Project is required.
type StartRequest struct {
	Project string `json:"project"`
	// Initiator is CODEBUILD_INITIATOR: an IAM user name, or
	// "codepipeline/<pipeline>" for the pipeline engine.
	Initiator     string `json:"initiator,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// BuildspecOverride replaces the project's buildspec (inline YAML or
	// a file name in the source).
	BuildspecOverride string `json:"buildspecOverride,omitempty"`
	// EnvironmentVariables override the project's and the buildspec's.
	EnvironmentVariables []EnvVar `json:"environmentVariablesOverride,omitempty"`
	// Timeout overrides the project's timeoutInMinutes when positive.
	Timeout time.Duration `json:"timeout,omitempty"`
	// InputArtifacts are the pipeline's input artifacts. When set, the
	// build's sources come from them whatever the project's source type.
	InputArtifacts []InputArtifact `json:"inputArtifacts,omitempty"`
	// PrimarySource names the input artifact that becomes
	// CODEBUILD_SRC_DIR; default the first.
	PrimarySource string `json:"primarySource,omitempty"`
	// OutputArtifacts are the names of the artifacts the caller wants:
	// the first is made from the buildspec's artifacts section, the
	// others from its secondary-artifacts of the same identifier.
	OutputArtifacts []string `json:"outputArtifacts,omitempty"`
	// Project, when Inline is set, is used instead of a stored project
	// (for the pipeline's Commands actions); Project names it.
	Inline *Project `json:"inline,omitempty"`
	// Repositories are the registry repositories the build reads
	// packages from; Config.Credentials gives the build credentials for
	// them.
	Repositories []Repository `json:"repositories,omitempty"`
	// AutoRetryNumber, AutoRetryLimit and PreviousAutoRetry (a build
	// ARN) are set on the builds an on-failure RETRY starts (retry.go).
	AutoRetryNumber   int    `json:"autoRetryNumber,omitempty"`
	AutoRetryLimit    int    `json:"autoRetryLimit,omitempty"`
	PreviousAutoRetry string `json:"previousAutoRetry,omitempty"`
}

// Repository is a registry repository a build reads packages from, and
// the package format it reads ("" for any).
type Repository struct {
	Domain     string `json:"domain"`
	Repository string `json:"repository"`
	Format     string `json:"format,omitempty"`
}

// PhaseContext is extra information about a phase, typically an error.
type PhaseContext struct {
	StatusCode string `json:"statusCode"`
	Message    string `json:"message"`
}

// PhaseRecord is one phase a build has entered.
type PhaseRecord struct {
	Type      Phase          `json:"phaseType"`
	Status    Status         `json:"phaseStatus,omitempty"` // "" while in progress, and for COMPLETED
	StartTime time.Time      `json:"startTime"`
	EndTime   time.Time      `json:"endTime,omitzero"`
	Contexts  []PhaseContext `json:"contexts,omitempty"`
}

// Duration returns the phase's length in whole seconds (0 while running).
func (p PhaseRecord) Duration() int64 {
	if p.EndTime.IsZero() {
		return 0
	}
	return int64(p.EndTime.Sub(p.StartTime) / time.Second)
}

// OutputArtifact is a zip a build produced, stored in the blob store.
type OutputArtifact struct {
	// Identifier is the artifact's identifier: the project's
	// artifactIdentifier or the pipeline's output name ("" for the
	// primary artifact of a project without one).
	Identifier string `json:"identifier"`
	// Name is the artifact name (buildspec artifacts.name or the
	// project's artifacts name).
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest"` // sha256 hex of the zip
	MD5    string `json:"md5"`
	Size   int64  `json:"size"`
}

// Report is a test report produced from a buildspec reports group.
type Report struct {
	ARN        string `json:"arn"`
	GroupARN   string `json:"reportGroupArn"`
	Name       string `json:"name"`
	Status     string `json:"status"` // SUCCEEDED | FAILED | INCOMPLETE
	FileFormat string `json:"fileFormat"`
	Total      int    `json:"total"`
	// Counts maps test statuses (SUCCEEDED, FAILED, ERROR, SKIPPED) to
	// how many tests ended so.
	Counts   map[string]int `json:"statusCounts"`
	Duration time.Duration  `json:"duration"`
	Created  time.Time      `json:"created"`
	Message  string         `json:"message,omitempty"`
}

// Build is one run of a project.
type Build struct {
	ID                    string           `json:"id"` // project:uuid
	ARN                   string           `json:"arn"`
	Number                int64            `json:"buildNumber"`
	Project               string           `json:"projectName"`
	StartTime             time.Time        `json:"startTime"`
	EndTime               time.Time        `json:"endTime,omitzero"`
	CurrentPhase          Phase            `json:"currentPhase"`
	Status                Status           `json:"buildStatus"`
	Complete              bool             `json:"buildComplete"`
	Phases                []PhaseRecord    `json:"phases"`
	SourceVersion         string           `json:"sourceVersion,omitempty"`
	ResolvedSourceVersion string           `json:"resolvedSourceVersion,omitempty"`
	Initiator             string           `json:"initiator"`
	Artifacts             *OutputArtifact  `json:"artifacts,omitempty"`
	SecondaryArtifacts    []OutputArtifact `json:"secondaryArtifacts,omitempty"`
	// ExportedVariables are the buildspec's exported-variables as they
	// stood at the end of POST_BUILD (CodePipeline output variables).
	ExportedVariables []EnvVar `json:"exportedEnvironmentVariables,omitempty"`
	Reports           []Report `json:"reports,omitempty"`
	TimeoutInMinutes  int      `json:"timeoutInMinutes"`
	// Config is the project as it was when the build started.
	Config Project `json:"config"`
	// AutoRetry links the builds of an on-failure RETRY (nil for a build
	// that neither was nor started an automatic retry).
	AutoRetry *AutoRetry `json:"autoRetryConfig,omitempty"`
	// Request is what started the build (RetryBuild repeats it).
	Request StartRequest `json:"request"`
	// PGID is the process group of the build's shell while it runs.
	PGID int `json:"pgid,omitempty"`
}

// UUID returns the part of the build id after the project name.
func (b *Build) UUID() string {
	for i := len(b.ID) - 1; i >= 0; i-- {
		if b.ID[i] == ':' {
			return b.ID[i+1:]
		}
	}
	return b.ID
}

// AllArtifacts returns the primary artifact (if any) followed by the
// secondary ones: for a pipeline build, one per requested output, each
// with the output's name as Identifier.
func (b *Build) AllArtifacts() []OutputArtifact {
	var out []OutputArtifact
	if b.Artifacts != nil {
		out = append(out, *b.Artifacts)
	}
	return append(out, b.SecondaryArtifacts...)
}

func (b *Build) phase(p Phase) *PhaseRecord {
	for i := range b.Phases {
		if b.Phases[i].Type == p {
			return &b.Phases[i]
		}
	}
	return nil
}
