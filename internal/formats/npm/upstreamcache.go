package npm

import (
	"context"
	"strings"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
)

// PurgeUpstream forgets the cached upstream metadata of a package on every
// external connection of the format, and the documents rendered from it,
// so that the next read asks upstream again (even in a repository that
// prefers cached metadata). namespace is the scope without '@' ("" for an
// unscoped package). It returns the connections purged, sorted. Rendered
// packuments are keyed by the upstream copy's ETag and fetch time, so a
// Format sharing the clients without sharing this cache also renders
// afresh after the purge.
func (f *Format) PurgeUpstream(ctx context.Context, namespace, name string) ([]string, error) {
	full := name
	if namespace != "" {
		full = "@" + strings.TrimPrefix(namespace, "@") + "/" + name
	}
	n, err := ParseName(full, false)
	if err != nil {
		return nil, err
	}
	purged, err := formats.PurgeUpstreams(ctx, f.Upstreams, packumentKey(n), n.String())
	if f.cache != nil {
		f.cache.Purge() // rarely used; the keys would change anyway
	}
	return purged, err
}

// checkUpstreamCollision refuses to publish a version of a package whose
// origin controls allow both publishing and upstream versions when an
// external connection along the repository's search order already has
// that version: both copies would otherwise be visible under one name
// (https://docs.aws.amazon.com/codeartifact/latest/ug/package-origin-controls.html).
// With the default controls of a package published here first (upstream
// BLOCK) nothing is asked. An unreachable upstream does not block
// publishing.
func (f *Format) checkUpstreamCollision(ctx context.Context, rp repo, n Name, version string) error {
	if f.Chain == nil || len(f.Upstreams) == 0 {
		return nil
	}
	pub, up, err := f.Chain.OriginControls(ctx, rp.domain, rp.name, n.Ref())
	if domain.KindOf(err) == domain.ErrNotFound {
		return nil // a new package: published first, upstream BLOCK
	}
	if err != nil {
		return err
	}
	if pub != domain.Allow || up != domain.Allow {
		return nil
	}
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return err
	}
	for _, h := range g.SearchOrder(rp.name) {
		if h.ExternalConnection == "" {
			continue
		}
		doc, found, err := f.upstreamPackument(ctx, rp, h.ExternalConnection, n)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		sec, err := doc.Open(ctx)
		if err != nil {
			return err
		}
		view, err := parseUpstreamPackumentAt(sec, sec.Size(), n, h.ExternalConnection)
		sec.Close()
		if err != nil {
			continue
		}
		if view.find(version) != nil {
			return domain.Conflict("package-version", version,
				"cannot publish %s@%s: version %s exists on the external connection %s and the package's origin configuration allows upstream versions",
				n, version, version, h.ExternalConnection)
		}
	}
	return nil
}
