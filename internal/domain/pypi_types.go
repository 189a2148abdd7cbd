package domain

import "encoding/json"

// AttachInput adds assets to a package version that already exists and is
// no longer Unfinished (a PyPI release gains wheels over time). Every
// asset's blob must already be committed.
type AttachInput struct {
	Domain, Repository string
	Ref                PackageRef
	Version            string
	Assets             []Asset
	// MetadataPatch is a JSON merge patch (RFC 7396) applied to the
	// version's format metadata in the same transaction when at least one
	// asset is new; nil leaves the metadata alone.
	MetadataPatch json.RawMessage
}
