package rendered

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Doc is a document rendered once: its bytes, the same bytes
// gzip-compressed once, and the tag its entity tags are built from. A Doc
// is immutable and safe to serve from many goroutines.
//
// A document larger than a sixteenth of the cache budget (see Configure)
// is not held in memory: NewDoc writes it gzip-compressed to an unlinked
// file, which Serve sends with sendfile (or decompresses on the fly for a
// client that does not take gzip); the file is closed when the Doc is no
// longer reachable.
type Doc struct {
	body, gz []byte
	tag      string // hex of the first 16 bytes of the body's sha256
	file     *spilled
}

// NewDoc returns the Doc of body. The caller must not change body
// afterwards.
func NewDoc(body []byte) *Doc {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	if int64(len(body)) > largeThreshold() {
		if f, err := spill(body); err == nil {
			d := &Doc{tag: tag, file: f}
			runtime.AddCleanup(d, func(f *os.File) { f.Close() }, f.f)
			return d
		}
		// no spill directory, or it failed: keep it in memory
	}
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(body)
	zw.Close()
	return &Doc{body: body, gz: buf.Bytes(), tag: tag}
}

// Size returns the bytes d holds in memory, for the cache's budget.
func (d *Doc) Size() int64 {
	return int64(len(d.body)+len(d.gz)+len(d.tag)) + 64
}

// Spilled reports whether d is kept on disk rather than in memory.
func (d *Doc) Spilled() bool { return d.file != nil }

// Body returns the document's bytes; the caller must not change them. For
// a document kept on disk they are read back and decompressed on each
// call.
func (d *Doc) Body() []byte {
	if d.file != nil {
		b, _ := io.ReadAll(d.file.identity())
		runtime.KeepAlive(d)
		return b
	}
	return d.body
}

// Gzipped returns the document's bytes gzip-compressed; the caller must
// not change them. For a document kept on disk they are read back on each
// call.
func (d *Doc) Gzipped() []byte {
	if d.file != nil {
		b, _ := io.ReadAll(d.file.section())
		runtime.KeepAlive(d)
		return b
	}
	return d.gz
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
	defer runtime.KeepAlive(d) // the spilled file stays open until the body is written
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
	if d.file != nil {
		return d.file.serve(c, r.ContentType, gz)
	}
	body := d.body
	if gz {
		body = d.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, r.ContentType, body)
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
