package maven

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
	"github.com/artifactd/registry/internal/server"
)

// get serves GET and HEAD: metadata, files and checksums.
func (f *Format) get(c echo.Context, rp repository, raw string) error {
	// Authorise first: an anonymous mvn learns it must send credentials
	// before anything else is said about the path.
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	if _, err := Segments(raw); err != nil {
		return err // a path that tries to escape is a 400
	}
	p, err := ParsePath(raw)
	if err != nil {
		return domain.Errorf(domain.ErrNotFound, "not found: %v", err)
	}
	server.SetOperation(c, operation(c.Request().Method, p))
	switch p.Kind {
	case KindMetadata, KindSnapshotMetadata:
		d, err := f.metadata(c.Request().Context(), rp, p)
		if err != nil {
			return err
		}
		if p.Checksum != "" {
			return serveChecksum(c, hashOf(d.hashes, p.Checksum))
		}
		return d.serve(c)
	}
	return f.getFile(c, rp, p)
}

// metadata returns the rendered metadata document a path names: with a
// Chain, merged along the repository's search order (proxy.go).
func (f *Format) metadata(ctx context.Context, rp repository, p Path) (*metadataDoc, error) {
	if f.Chain == nil {
		return f.localMetadata(ctx, rp, p)
	}
	if p.Kind == KindSnapshotMetadata {
		return f.chainSnapshotMetadata(ctx, rp, p)
	}
	return f.mergedMetadata(ctx, rp, p)
}

// localMetadata returns the metadata document a path names from one
// repository's own state, from the cache when it holds one for the
// package's current state.
func (f *Format) localMetadata(ctx context.Context, rp repository, p Path) (*metadataDoc, error) {
	ref := p.Ref()
	where := p.Coordinates() + " " + MetadataFile
	if p.Kind == KindSnapshotMetadata {
		where = p.Coordinates() + ":" + p.Dir + " " + MetadataFile
	}
	notFound := func() error { return domain.NotFound("metadata", where) }
	stamp, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, ref)
	if domain.KindOf(err) == domain.ErrNotFound {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	dir := ""
	if p.Kind == KindSnapshotMetadata {
		dir = p.Dir
	}
	k := docKey{domain: rp.domain, repo: rp.name, groupID: p.GroupID, artifactID: p.ArtifactID, dir: dir, stamp: stamp}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*metadataDoc, error) {
		f.renders.Add(1)
		pv, err := f.Store.View(ctx, rp.domain, rp.name, ref)
		if domain.KindOf(err) == domain.ErrNotFound {
			return nil, notFound()
		}
		if err != nil {
			return nil, err
		}
		if dir == "" {
			l, ok := listArtifact(p.GroupID, p.ArtifactID, pv.Versions)
			if !ok {
				return nil, notFound()
			}
			return newMetadataDoc(l.render(), l.Updated), nil
		}
		l, ok := listSnapshot(p.GroupID, p.ArtifactID, dir, pv.Versions)
		if !ok {
			return nil, notFound()
		}
		return newMetadataDoc(l.render(), l.Updated), nil
	})
}

// readable reports whether a version's files may be fetched by exact path:
// Published and Unlisted ones, and Unfinished ones so that a deploy can
// read back what it uploaded.
func readable(s domain.Status) bool { return s.Downloadable() || s == domain.StatusUnfinished }

// resolve returns the version and file name a path's file lives under: a
// non-unique snapshot name resolves to the newest Published build.
func (f *Format) resolve(ctx context.Context, rp repository, p Path) (version, name string, err error) {
	if !p.NonUnique {
		return p.Version, p.File, nil
	}
	pv, err := f.Store.View(ctx, rp.domain, rp.name, p.Ref())
	if err != nil {
		return "", "", err
	}
	_, b, ok := newestBuild(p.Dir, pv.Versions, func(s domain.Status) bool { return s == domain.StatusPublished })
	if !ok {
		return "", "", domain.NotFound("package-version", p.Coordinates()+":"+p.Dir)
	}
	return b.Version(), FileName(p.ArtifactID, b.Version(), p.Classifier, p.Extension), nil
}

// asset finds the stored file a file path names.
func (f *Format) asset(ctx context.Context, rp repository, p Path) (domain.Asset, error) {
	notFound := domain.NotFound("asset", p.Coordinates()+":"+p.Dir+" "+p.File)
	version, name, err := f.resolve(ctx, rp, p)
	if err != nil {
		if domain.KindOf(err) == domain.ErrNotFound {
			return domain.Asset{}, notFound
		}
		return domain.Asset{}, err
	}
	a, v, err := f.Store.GetAsset(ctx, rp.domain, rp.name, p.Ref(), version, name)
	if domain.KindOf(err) == domain.ErrNotFound || (err == nil && !readable(v.Status)) {
		return domain.Asset{}, notFound
	}
	return a, err
}

// getFile serves a file or its checksum. Files are served with
// http.ServeContent (sendfile, Range, conditional requests, ETag = the
// sha256) when the blob store hands out *os.File; other readers are
// streamed.
func (f *Format) getFile(c echo.Context, rp repository, p Path) error {
	ctx := c.Request().Context()
	a, err := f.asset(ctx, rp, p)
	if domain.KindOf(err) == domain.ErrNotFound && f.Chain != nil {
		served, perr := f.proxyFile(c, rp, p)
		if served || perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	return f.serveStored(c, p, a)
}

// serveStored serves a stored file, or its checksum when the path names
// one.
func (f *Format) serveStored(c echo.Context, p Path, a domain.Asset) error {
	if p.Checksum != "" {
		return serveChecksum(c, hashOf(a.Hashes, p.Checksum))
	}
	return rendered.ServeAsset(c, f.Blobs, a, p.File, contentType(p.Extension))
}

// serveChecksum writes a digest as Maven repositories do: lowercase hex,
// nothing else.
func serveChecksum(c echo.Context, sum string) error {
	c.Response().Header().Set("ETag", `"`+sum+`"`)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(sum))
}

// contentType returns the media type a file is served with.
func contentType(ext string) string {
	switch ext {
	case "pom", "xml":
		return "text/xml"
	case "jar", "war", "ear":
		return "application/java-archive"
	case "asc":
		return "text/plain"
	}
	if strings.HasSuffix(ext, ".asc") {
		return "text/plain"
	}
	return "application/octet-stream"
}
