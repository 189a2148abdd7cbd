package npm

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/formats/rendered"
)

// form is a rendering of a package.
type form uint8

const (
	formFull        form = iota // application/json packument
	formAbbreviated             // application/vnd.npm.install-v1+json
	formDistTags                // the dist-tags object
)

// contentType returns the media type a form is served as.
func (fm form) contentType() string {
	if fm == formAbbreviated {
		return ctAbbreviated
	}
	return ctFull
}

// docKey names one rendering of one state of a package: the stamp
// changes with every change of the package.
type docKey struct {
	domain, repo, scope, pkg, stamp string
	form                            form
}

// docCache keeps rendered documents; see package rendered.
type docCache = rendered.Cache[docKey, *rendered.Doc]

func newDocCache(entries int) *docCache {
	return rendered.NewCache[docKey, *rendered.Doc](entries)
}

// serveDoc writes d as form fm, gzip-compressed when the client accepts
// it, or 304 when If-None-Match names either coding of it.
func serveDoc(c echo.Context, d *rendered.Doc, fm form) error {
	return d.Serve(c, rendered.Rep{ContentType: fm.contentType(), AnyCoding: true, Weight: gzipWeight})
}

// gzipWeight weighs an Accept-Encoding element 0 when its q parses as 0,
// and 1 otherwise.
func gzipWeight(params string) float64 {
	if zeroQ(params) {
		return 0
	}
	return 1
}

// zeroQ reports whether media-range parameters carry q=0.
func zeroQ(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
