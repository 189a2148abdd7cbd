package pypi

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/formats/rendered"
)

// pageKey names one rendering of one state of a project page: the stamp
// changes with every change of the package.
type pageKey struct {
	domain, repo, project, stamp string
	json                         bool
}

// pageCache keeps rendered project pages; see package rendered.
type pageCache = rendered.Cache[pageKey, *rendered.Doc]

func newPageCache(entries int) *pageCache {
	return rendered.NewCache[pageKey, *rendered.Doc](entries)
}

// servePage writes d as media m, gzip-compressed when the client accepts
// it, or 304 when If-None-Match names the representation. The two HTML
// media types share a body but not a Content-Type, so the media type is
// part of the entity tag, as is the coding.
func servePage(c echo.Context, d *rendered.Doc, m media) error {
	return d.Serve(c, rendered.Rep{ContentType: m.contentType(), Variant: strconv.Itoa(int(m)), Weight: qValue})
}
