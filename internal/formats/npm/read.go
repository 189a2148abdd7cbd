package npm

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// prefix returns the repository endpoint tarball URLs start with.
func (f *Format) prefix(rp repo) string {
	return strings.TrimRight(f.BaseURL, "/") + "/npm/" + rp.domain + "/" + rp.name + "/"
}

// document returns a rendering of the current state of a package, from
// the cache when it has one for this state.
func (f *Format) document(ctx context.Context, rp repo, n Name, fm form) (*rendered.Doc, error) {
	if f.Chain != nil {
		return f.mergedDocument(ctx, rp, n, fm)
	}
	ref := n.Ref()
	stamp, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, ref)
	if err != nil {
		return nil, notFoundPackage(err, n)
	}
	k := docKey{domain: rp.domain, repo: rp.name, scope: n.Scope, pkg: n.Pkg, stamp: stamp, form: fm}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*rendered.Doc, error) {
		f.renders.Add(1)
		pv, err := f.Store.View(ctx, rp.domain, rp.name, ref)
		if err != nil {
			return nil, notFoundPackage(err, n)
		}
		v, ok := visible(pv)
		if !ok {
			return nil, domain.NotFound("package", n.String())
		}
		return renderForm(fm, v, f.prefix(rp), docRev(stamp), func(version string) (string, error) {
			readme, _, err := f.Store.Readme(ctx, rp.domain, rp.name, ref, version)
			if err != nil && domain.KindOf(err) != domain.ErrNotFound {
				return "", err
			}
			return readme, nil
		})
	})
}

// notFoundPackage gives a missing package npm's wording.
func notFoundPackage(err error, n Name) error {
	if domain.KindOf(err) == domain.ErrNotFound {
		return domain.NotFound("package", n.String())
	}
	return err
}

// wantsAbbreviated reports whether an Accept header asks for the
// abbreviated packument (npm install sends it first, with q=1.0).
func wantsAbbreviated(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), ctAbbreviated) && !zeroQ(params) {
			return true
		}
	}
	return false
}

func (f *Format) getPackument(c echo.Context, rp repo, n Name) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	fm := formFull
	if wantsAbbreviated(c.Request().Header.Get("Accept")) {
		fm = formAbbreviated
	}
	d, err := f.document(c.Request().Context(), rp, n, fm)
	if err != nil {
		return err
	}
	return serveDoc(c, d, fm)
}

func (f *Format) getDistTags(c echo.Context, rp repo, n Name) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	d, err := f.document(c.Request().Context(), rp, n, formDistTags)
	if err != nil {
		return err
	}
	return serveDoc(c, d, formDistTags)
}

// getTarball serves a version's tarball: Published and Unlisted versions
// (an Unlisted version is hidden from the packument but exact pins keep
// working). Files are served with http.ServeContent (sendfile, Range,
// conditional requests, ETag = the sha256); other readers are streamed.
func (f *Format) getTarball(c echo.Context, rp repo, rt route) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	ctx := c.Request().Context()
	version := rt.name.versionOfFile(rt.file)
	if version == "" {
		return domain.NotFound("tarball", rt.name.String()+"/-/"+rt.file)
	}
	a, v, err := f.Store.GetAsset(ctx, rp.domain, rp.name, rt.name.Ref(), version, assetName)
	if domain.KindOf(err) == domain.ErrNotFound && f.Chain != nil {
		served, err := f.proxyTarball(c, rp, rt, version)
		if served || err != nil {
			return err
		}
	}
	if err != nil {
		if domain.KindOf(err) == domain.ErrNotFound {
			return domain.NotFound("tarball", rt.name.String()+"/-/"+rt.file)
		}
		return err
	}
	if !v.Status.Downloadable() {
		return domain.NotFound("tarball", rt.name.String()+"/-/"+rt.file)
	}
	return f.serveAsset(c, a, rt.file)
}

// serveAsset serves a stored tarball: files with http.ServeContent
// (sendfile, Range, conditional requests, ETag = the sha256), other
// readers streamed.
func (f *Format) serveAsset(c echo.Context, a domain.Asset, name string) error {
	return rendered.ServeAsset(c, f.Blobs, a, name, "application/octet-stream")
}
