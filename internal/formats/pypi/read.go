package pypi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// acceptable returns the representation the request asks for, or the 406
// error to return.
func acceptable(c echo.Context) (media, error) {
	m, ok := negotiate(c.Request().Header.Get("Accept"))
	if !ok {
		return 0, echo.NewHTTPError(http.StatusNotAcceptable, "not acceptable: this index serves "+ctJSON+", "+ctHTMLv1+" and text/html")
	}
	return m, nil
}

// getIndex serves /simple/: every project with a downloadable version.
// The page is rendered per request (one indexed query) and served with
// an entity tag of its bytes.
func (f *Format) getIndex(c echo.Context, rp repo) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	m, err := acceptable(c)
	if err != nil {
		return err
	}
	names, err := f.Store.DownloadablePackageNames(c.Request().Context(), rp.domain, rp.name, domain.FormatPyPI)
	if err != nil {
		return err
	}
	body := rootHTML(names)
	if m.isJSON() {
		body = rootJSON(names)
	}
	return servePage(c, rendered.NewDoc(body), m)
}

// getProject serves /simple/{project}/ from the page cache.
func (f *Format) getProject(c echo.Context, rp repo, name string) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	m, err := acceptable(c)
	if err != nil {
		return err
	}
	d, err := f.page(c.Request().Context(), rp, name, m.isJSON())
	if err != nil {
		return err
	}
	return servePage(c, d, m)
}

// page returns a rendering of the current state of a project, from the
// cache when it has one for this state; with Chain set, merged along the
// repository's search order (proxy.go).
func (f *Format) page(ctx context.Context, rp repo, name string, asJSON bool) (*rendered.Doc, error) {
	if f.Chain != nil {
		return f.mergedPage(ctx, rp, name, asJSON)
	}
	r := ref(name)
	stamp, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, r)
	if err != nil {
		return nil, notFoundProject(err, name)
	}
	k := pageKey{domain: rp.domain, repo: rp.name, project: r.Name, stamp: stamp, json: asJSON}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*rendered.Doc, error) {
		f.renders.Add(1)
		pv, err := f.Store.View(ctx, rp.domain, rp.name, r)
		if err != nil {
			return nil, notFoundProject(err, name)
		}
		p, ok := buildProject(r.Name, pv)
		if !ok {
			return nil, domain.NotFound("package", r.Name)
		}
		if asJSON {
			return rendered.NewDoc(p.json()), nil
		}
		return rendered.NewDoc(p.html()), nil
	})
}

// notFoundProject names a missing project the way pip prints it.
func notFoundProject(err error, name string) error {
	if domain.KindOf(err) == domain.ErrNotFound {
		return domain.NotFound("package", Normalize(name))
	}
	return err
}

// getFile serves a distribution file, or a wheel's core metadata file
// ({file}.metadata), of a Published or Unlisted version; with Chain set,
// one the repository does not hold comes through its upstreams
// (proxy.go). Files are served
// with http.ServeContent (sendfile, Range, conditional requests; the ETag
// is the sha256); other readers are streamed.
func (f *Format) getFile(c echo.Context, rp repo, rt route) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	ctx := c.Request().Context()
	missing := domain.NotFound("file", rt.project+"/"+rt.version+"/"+rt.file)
	a, v, err := f.Store.GetAsset(ctx, rp.domain, rp.name, ref(rt.project), rt.version, rt.file)
	if domain.KindOf(err) == domain.ErrNotFound && f.Chain != nil {
		served, err := f.proxyFile(c, rp, rt)
		if err != nil || served {
			return err
		}
		return missing
	}
	if err != nil {
		if domain.KindOf(err) == domain.ErrNotFound {
			return missing
		}
		return err
	}
	if !v.Status.Downloadable() {
		return missing
	}
	return rendered.ServeAsset(c, f.Blobs, a, rt.file, "application/octet-stream")
}
