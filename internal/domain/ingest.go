package domain

import "time"

// IngestInput is a package version fetched through an external connection,
// to be recorded (origin EXTERNAL, status Published) in Repositories, the
// targets domain.RetainIn names. Every asset's blob must already be
// committed.
type IngestInput struct {
	Domain             string
	Repositories       []string
	Ref                PackageRef
	Version            string
	ExternalConnection string // e.g. "public:npmjs"
	Meta               VersionMeta
	Assets             []Asset
	Dependencies       []Dependency
	// PublishedAt is when upstream says the version was published; zero
	// means now.
	PublishedAt time.Time
}
