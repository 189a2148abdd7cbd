package maven

import (
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// docKey names one metadata document of one state of a package: the stamp
// changes with every change of the package. dir is "" for artifact-level
// metadata, the -SNAPSHOT version for snapshot-level metadata.
type docKey struct {
	domain, repo, groupID, artifactID, dir, stamp string
}

// metadataDoc is a metadata document rendered once, with every digest a
// client may ask for and a strong entity tag.
type metadataDoc struct {
	body    []byte
	hashes  domain.Hashes
	etag    string // quoted
	modTime time.Time
}

func newMetadataDoc(body []byte, modTime time.Time) *metadataDoc {
	h := blob.NewHasher()
	h.Write(body)
	hashes := h.Result().Hashes
	return &metadataDoc{body: body, hashes: hashes, etag: `"` + hashes.SHA256[:32] + `"`, modTime: modTime}
}

// docCache keeps rendered metadata documents; see package rendered.
type docCache = rendered.Cache[docKey, *metadataDoc]

func newDocCache(entries int) *docCache {
	return rendered.NewCache[docKey, *metadataDoc](entries)
}

// serve writes d as text/xml, or 304 when a conditional request matches
// its entity tag or modification time.
func (d *metadataDoc) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("ETag", d.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set(echo.HeaderContentType, "text/xml; charset=utf-8")
	http.ServeContent(c.Response(), c.Request(), "", d.modTime, bytes.NewReader(d.body))
	return nil
}
