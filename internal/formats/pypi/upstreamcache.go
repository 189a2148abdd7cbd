package pypi

import (
	"context"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
)

// pageCacheKey is the upstream client's key for a project page; project
// is normalised (PEP 503).
func pageCacheKey(project string) string { return "pypi/simple/" + project }

// PurgeUpstream forgets the cached upstream project page of a project on
// every external connection of the format, and the pages rendered from
// it, so that the next read asks upstream again (even in a repository
// that prefers cached metadata). PyPI has no namespaces: namespace must
// be empty. name may be given in any spelling PEP 503 normalises to the
// project's name. Distribution files are immutable and stay cached. It
// returns the connections purged, sorted; a bad name is an error
// wrapping domain.ErrInvalid. Merged pages are keyed by the upstream
// page's ETag and fetch time, so a Format sharing the clients without
// sharing this cache also renders afresh after the purge.
func (f *Format) PurgeUpstream(ctx context.Context, namespace, name string) ([]string, error) {
	if namespace != "" {
		return nil, domain.Invalid("pypi projects have no namespace (got %q)", namespace)
	}
	if err := checkName("package", name); err != nil {
		return nil, err
	}
	project := Normalize(name)
	purged, err := formats.PurgeUpstreams(ctx, f.Upstreams, pageCacheKey(project), project)
	if f.cache != nil {
		f.cache.Purge() // rarely used; the keys would change anyway
	}
	return purged, err
}
