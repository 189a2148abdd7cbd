// Package formats defines how a package format (npm, PyPI, Maven) plugs
// into the registry: one small interface, implemented in a subpackage and
// registered explicitly in cmd/registry.
//
// Formats import internal/domain and internal/server; they never import
// each other or a storage backend.
package formats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/upstream"
)

// Format is one package format's native protocol.
type Format interface {
	// Name is the first path segment of the format's endpoint
	// (/<name>/<domain>/<repo>/).
	Name() string
	// Flavour is the error dialect its clients understand.
	Flavour() server.Flavour
	// Register adds the format's routes to g, the group mounted at
	// /<name>/:domain/:repo with token authentication applied.
	Register(g *echo.Group)
}

// Chain is what resolving through upstreams and external connections
// needs of the metadata store (*sqlite.DB), shared by every format.
type Chain interface {
	// Graph returns the upstream configuration of a domain.
	Graph(ctx context.Context, dom string) (domain.Graph, error)
	// OriginControls returns a package's origin controls; ErrNotFound for
	// an unknown package.
	OriginControls(ctx context.Context, dom, repo string, ref domain.PackageRef) (publish, upstream domain.Restriction, err error)
	// RetainVersion copies a version (metadata only, same blobs, origin
	// kept) from one repository into others; idempotent.
	RetainVersion(ctx context.Context, dom, from string, ref domain.PackageRef, version string, into []string) error
	// IngestVersion records a version fetched through an external
	// connection in the given repositories; idempotent.
	IngestVersion(ctx context.Context, in domain.IngestInput) error
	// ExternalUpstreamAllowed reports whether the package group governing
	// ref lets repository repo take ref from external connections (true
	// when no group restricts it).
	ExternalUpstreamAllowed(ctx context.Context, dom, repo string, ref domain.PackageRef) (bool, error)
	// InternalUpstreamAllowed reports whether the package group governing
	// ref lets repository repo retain ref's versions from its upstream
	// repositories (true when no group restricts it).
	InternalUpstreamAllowed(ctx context.Context, dom, repo string, ref domain.PackageRef) (bool, error)
}

// SearchOrder is g.SearchOrder(asked) for package ref: when ref's package
// group does not allow asked to take versions from internal upstreams
// (INTERNAL_UPSTREAM), only asked's own hops are left (the repository and
// its external connection); the upstream repositories and whatever they
// reach are not searched.
func SearchOrder(ctx context.Context, c Chain, g domain.Graph, dom, asked string, ref domain.PackageRef) ([]domain.Hop, error) {
	order := g.SearchOrder(asked)
	if !slices.ContainsFunc(order, func(h domain.Hop) bool { return h.Repository != asked }) {
		return order, nil // no upstream repository: nothing to restrict
	}
	ok, err := c.InternalUpstreamAllowed(ctx, dom, asked, ref)
	if err != nil || ok {
		return order, err
	}
	var own []domain.Hop
	for _, h := range order {
		if h.Repository == asked {
			own = append(own, h)
		}
	}
	return own, nil
}

// UpstreamBlocked reports whether the external connections of asked's
// search order are hidden for ref: a package whose origin controls block
// upstream in any internal hop (every package published internally, or
// blocked in advance) hides them, and so does a package group that
// blocks external upstreams for the asked repository. A BLOCKed upstream
// contributes nothing to merged views and is never fetched from.
func UpstreamBlocked(ctx context.Context, c Chain, dom, asked string, order []domain.Hop, ref domain.PackageRef) (bool, error) {
	for _, h := range order {
		if h.ExternalConnection != "" {
			continue
		}
		_, up, err := c.OriginControls(ctx, dom, h.Repository, ref)
		if err != nil && domain.KindOf(err) != domain.ErrNotFound {
			return false, err
		}
		if err == nil && up == domain.Block {
			return true, nil
		}
	}
	ok, err := c.ExternalUpstreamAllowed(ctx, dom, asked, ref)
	return !ok, err
}

// Upstream is an external connection's registry (*upstream.Client):
// metadata with TTL and revalidation, artifacts fetched once, verified
// and committed to the blob store.
//
// Validator returns a metadata document's validators (ETag,
// Last-Modified, FetchedAt) fresh per the TTL; its body may be left on
// disk: read it with Doc.Bytes, only when rendering, so a large upstream
// document is not held in memory between requests.
type Upstream interface {
	Validator(ctx context.Context, key, rawURL string, opt upstream.MetaOptions) (upstream.Doc, error)
	Fetch(ctx context.Context, key, rawURL string, want upstream.Integrity) (*upstream.Download, error)
}

// PurgeUpstreams forgets the cached upstream document under key on every
// client of ups that can (*upstream.Client), and returns the connections
// purged, sorted; what stands for the document in error messages.
func PurgeUpstreams(ctx context.Context, ups map[string]Upstream, key, what string) ([]string, error) {
	type purger interface {
		Purge(ctx context.Context, key string) error
	}
	var purged []string
	var errs []error
	for conn, cl := range ups {
		p, ok := cl.(purger)
		if !ok {
			continue
		}
		if err := p.Purge(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("purge %s on %s: %w", what, conn, err))
			continue
		}
		purged = append(purged, conn)
	}
	sort.Strings(purged)
	return purged, errors.Join(errs...)
}

// AssetGetter reads a stored asset and its version (the formats' stores).
type AssetGetter func(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error)

// RetainFromHop looks for a file in one internal hop of asked's search
// order; found, its version is retained (domain.RetainIn) and the asset
// returned, ready to serve. The asked repository itself and versions
// that are not downloadable are skipped (found false).
func RetainFromHop(ctx context.Context, get AssetGetter, c Chain, dom, asked string, h domain.Hop, ref domain.PackageRef, version, file string) (domain.Asset, bool, error) {
	if h.ExternalConnection != "" || h.Repository == asked {
		return domain.Asset{}, false, nil
	}
	a, v, err := get(ctx, dom, h.Repository, ref, version, file)
	if domain.KindOf(err) == domain.ErrNotFound || err == nil && !v.Status.Downloadable() {
		return domain.Asset{}, false, nil
	}
	if err != nil {
		return domain.Asset{}, false, err
	}
	if err := c.RetainVersion(ctx, dom, h.Repository, ref, version, domain.RetainIn(asked, h)); err != nil {
		return domain.Asset{}, false, err
	}
	return a, true, nil
}
