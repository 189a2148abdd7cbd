package rendered

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Doc is a document rendered once: its bytes gzip-compressed once, its
// size, and the tag its entity tags are built from. Only the gzip bytes
// are kept (clients that do not take gzip get them decompressed on the
// fly), so a cached document costs a fraction of its size. A Doc is
// immutable and safe to serve from many goroutines.
//
// A document larger than a sixteenth of the cache budget (see Configure)
// is not held in memory: it is written gzip-compressed to an unlinked
// file, which Serve sends with sendfile from the page cache; the file is
// closed when the Doc is no longer reachable.
//
// A smaller one whose gzip bytes fill more than a quarter of a page is
// kept on the shelf (shelf.go), one file shared by such documents, when
// there is a spill directory.
type Doc struct {
	gz    []byte
	size  int64  // of the document
	tag   string // hex of the first 16 bytes of the body's sha256
	file  *spilled
	shelf *shelved
}

// NewDoc returns the Doc of body; the caller may reuse body. If the
// spill directory fails, the document is kept in memory.
func NewDoc(body []byte) *Doc {
	w := NewWriter()
	w.Write(body)
	d, err := w.Doc()
	if err != nil {
		w = newWriter(math.MaxInt64)
		w.Write(body)
		d, _ = w.Doc() // in memory: cannot fail
	}
	return d
}

// Size returns the bytes d holds in memory, for the cache's budget: its
// gzip bytes, or the pages they take on the shelf (in the page cache),
// but not a spill file's.
func (d *Doc) Size() int64 {
	n := int64(len(d.gz) + len(d.tag) + 64)
	if d.shelf != nil {
		n += pages(d.shelf.n)
	}
	return n
}

// Len returns the length of the document (not gzip-compressed).
func (d *Doc) Len() int64 { return d.size }

// Spilled reports whether d is kept on disk rather than in memory.
func (d *Doc) Spilled() bool { return d.file != nil }

// Body returns the document's bytes, decompressed on each call.
func (d *Doc) Body() []byte {
	b, _ := io.ReadAll(d.identity())
	runtime.KeepAlive(d)
	return b
}

// Gzipped returns the document's bytes gzip-compressed; the caller must
// not change them. For a document kept on disk they are read back on each
// call.
func (d *Doc) Gzipped() []byte {
	if d.file != nil || d.shelf != nil {
		b, _ := io.ReadAll(d.gzipReader())
		runtime.KeepAlive(d)
		return b
	}
	return d.gz
}

// gzipReader reads the gzip bytes.
func (d *Doc) gzipReader() io.Reader {
	switch {
	case d.file != nil:
		return d.file.section()
	case d.shelf != nil:
		return d.shelf.section()
	}
	return bytes.NewReader(d.gz)
}

// identity reads the document decompressed.
func (d *Doc) identity() io.Reader {
	zr, err := gzip.NewReader(d.gzipReader())
	if err != nil {
		return errReader{err}
	}
	return zr
}

// gzSize is the length of the gzip bytes.
func (d *Doc) gzSize() int64 {
	switch {
	case d.file != nil:
		return d.file.gzSize
	case d.shelf != nil:
		return d.shelf.n
	}
	return int64(len(d.gz))
}

// ETag returns the quoted strong entity tag of one representation of d:
// variant (when not empty) tells apart representations that share the
// bytes but not the Content-Type, gz the gzip-coded bytes.
func (d *Doc) ETag(variant string, gz bool) string {
	t := `"` + d.tag
	if variant != "" {
		t += "-" + variant
	}
	if gz {
		t += "-gz"
	}
	return t + `"`
}

// Rep says how Serve presents a Doc.
type Rep struct {
	// ContentType is the Content-Type of the response.
	ContentType string
	// Variant is passed to ETag; see there.
	Variant string
	// AnyCoding makes an If-None-Match that names the tag of either
	// coding a match; otherwise only the tag of the coding being served
	// matches.
	AnyCoding bool
	// Weight returns the weight of an Accept-Encoding element from its
	// parameters (the text after the first ';'); gzip is served when the
	// first gzip, x-gzip or * element weighs more than 0. It must not be
	// nil: formats differ on malformed q values, so each brings its own.
	Weight func(params string) float64
}

// Serve writes d as r says, gzip-compressed when the client accepts it,
// or 304 Not Modified when If-None-Match names the representation. The
// response is marked to be revalidated (Cache-Control: no-cache) and to
// vary with Accept and Accept-Encoding.
func (d *Doc) Serve(c echo.Context, r Rep) error {
	defer runtime.KeepAlive(d) // the spilled file stays open, the shelved pages in place, until the body is written
	req := c.Request()
	h := c.Response().Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	gz := acceptsGzip(req.Header.Get("Accept-Encoding"), r.Weight)
	etag := d.ETag(r.Variant, gz)
	h.Set("ETag", etag)
	if inm := req.Header.Get("If-None-Match"); inm != "" {
		tags := []string{etag}
		if r.AnyCoding {
			tags = append(tags, d.ETag(r.Variant, !gz))
		}
		if Matches(inm, tags...) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set(echo.HeaderContentType, r.ContentType)
	n := d.size
	if gz {
		n = d.gzSize()
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	c.Response().WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return nil
	}
	switch {
	case !gz:
		_, err := io.Copy(c.Response(), d.identity())
		return err
	case d.file != nil:
		return d.file.send(c)
	case d.shelf != nil:
		return d.shelf.send(c)
	}
	_, err := c.Response().Write(d.gz)
	return err
}

// Matches reports whether an If-None-Match value is "*" or names one of
// etags (weak comparison, RFC 9110 section 13.1.2:
// https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2).
func Matches(inm string, etags ...string) bool {
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" {
			return true
		}
		for _, e := range etags {
			if t == e {
				return true
			}
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip: the
// first element naming gzip, x-gzip or * decides, by its weight (RFC 9110
// section 12.5.3: https://www.rfc-editor.org/rfc/rfc9110#section-12.5.3).
func acceptsGzip(ae string, weight func(string) float64) bool {
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		return weight(params) > 0
	}
	return false
}
