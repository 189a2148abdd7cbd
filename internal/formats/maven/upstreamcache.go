package maven

import (
	"context"
	"net/url"
	"strings"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
)

// metadataPath returns the artifact-level maven-metadata.xml path of
// groupId:artifactId, checked as a request for it would be (ParsePath):
// errors wrap domain.ErrInvalid.
func metadataPath(groupID, artifactID string) (Path, error) {
	if groupID == "" {
		return Path{}, domain.Invalid("a maven package needs a namespace (its groupId), e.g. namespace=org.example and package=my-lib")
	}
	if artifactID == "" {
		return Path{}, domain.Invalid("a maven package needs a name (its artifactId)")
	}
	var segs []string
	for _, s := range strings.Split(groupID, ".") {
		if !groupSegRE.MatchString(s) {
			return Path{}, domain.Invalid("groupId %q: each of its dot-separated parts must match [A-Za-z0-9_-]+", groupID)
		}
		segs = append(segs, url.PathEscape(s))
	}
	if !idRE.MatchString(artifactID) || strings.Trim(artifactID, ".") == "" {
		return Path{}, domain.Invalid("artifactId %q must match [A-Za-z0-9_.-]+ and not be only dots", artifactID)
	}
	segs = append(segs, url.PathEscape(artifactID), MetadataFile)
	p, err := ParsePath(strings.Join(segs, "/"))
	if err != nil {
		return Path{}, err
	}
	if p.Kind != KindMetadata || p.GroupID != groupID || p.ArtifactID != artifactID {
		return Path{}, domain.Invalid("%s:%s is not a groupId:artifactId whose %s can be proxied", groupID, artifactID, MetadataFile)
	}
	return p, nil
}

// PurgeUpstream forgets the cached upstream artifact-level
// maven-metadata.xml of groupId:artifactId (namespace:name) on every
// external connection of the format, and the documents rendered from
// it, so that the next read asks upstream again (even in a repository
// that prefers cached metadata). Files of versions, and their published
// checksums, are immutable and stay cached. It returns the connections
// purged, sorted; a bad name is an error wrapping domain.ErrInvalid.
// Merged documents are keyed by the upstream copy's ETag and fetch time,
// so a Format sharing the clients without sharing this cache also
// renders afresh after the purge.
func (f *Format) PurgeUpstream(ctx context.Context, namespace, name string) ([]string, error) {
	p, err := metadataPath(namespace, name)
	if err != nil {
		return nil, err
	}
	key := cacheKey("maven", upstreamPath(p))
	purged, err := formats.PurgeUpstreams(ctx, f.Upstreams, key, p.Coordinates())
	if f.cache != nil {
		f.cache.Purge() // rarely used; the keys would change anyway
	}
	return purged, err
}
