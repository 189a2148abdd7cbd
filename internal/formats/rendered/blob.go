package rendered

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Blobs opens stored bytes; the blob store satisfies it.
type Blobs interface {
	Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error)
}

// ServeAsset writes a stored asset as a file download named name: with
// http.ServeContent when the store hands out an *os.File (sendfile,
// Range, conditional requests), otherwise streamed; the ETag is the
// asset's sha256 and If-None-Match is honoured either way.
func ServeAsset(c echo.Context, blobs Blobs, a domain.Asset, name, contentType string) error {
	rc, info, err := blobs.Open(c.Request().Context(), a.Hashes.SHA256)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("ETag", `"`+a.Hashes.SHA256+`"`)
	h.Set(echo.HeaderContentType, contentType)
	if file, ok := rc.(*os.File); ok {
		http.ServeContent(sendfileWriter{c.Response()}, c.Request(), name, info.ModTime, file)
		return nil
	}
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && Matches(inm, h.Get("ETag")) {
		return c.NoContent(http.StatusNotModified)
	}
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(c.Response(), rc)
	return err
}

// sendfileWriter lets io.Copy inside http.ServeContent reach the
// connection's ReadFrom (sendfile for an *os.File) through echo's
// response, which records status and size but does not implement
// io.ReaderFrom itself.
type sendfileWriter struct{ *echo.Response }

func (w sendfileWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.Response}, r)
	}
	n, err := rf.ReadFrom(r)
	w.Size += n
	return n, err
}
