package pypi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
)

// pageKey names one rendering of one state of a project page: the stamp
// changes with every change of the package.
type pageKey struct {
	domain, repo, project, stamp string
	json                         bool
}

// rendered is a page rendered once: its bytes, gzip-compressed once, and
// the tag its entity tags are built from.
type rendered struct {
	body, gz []byte
	tag      string // hex; the entity tag adds the media type and the coding
}

func newRendered(body []byte) *rendered {
	sum := sha256.Sum256(body)
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(body)
	zw.Close()
	return &rendered{body: body, gz: buf.Bytes(), tag: hex.EncodeToString(sum[:16])}
}

// etag returns the strong entity tag of one representation: the two HTML
// media types share a body but not a Content-Type, so they get different
// tags, as do the gzip-coded bytes.
func (d *rendered) etag(m media, gz bool) string {
	t := `"` + d.tag + "-" + strconv.Itoa(int(m))
	if gz {
		t += "-gz"
	}
	return t + `"`
}

// pageCache keeps rendered project pages, least recently used out first,
// and renders each missing key once however many requests ask for it at
// the same time.
type pageCache struct {
	lru *lru.Cache[pageKey, *rendered]

	mu       sync.Mutex // guards inflight
	inflight map[pageKey]*flight
}

type flight struct {
	done chan struct{}
	doc  *rendered
	err  error
}

// renderTimeout bounds a rendering that several requests may be waiting
// for; it runs detached from the cancellation of the request that started
// it.
const renderTimeout = time.Minute

func newPageCache(entries int) *pageCache {
	c, err := lru.New[pageKey, *rendered](entries)
	if err != nil {
		panic(err) // only for entries <= 0, which the caller rules out
	}
	return &pageCache{lru: c, inflight: map[pageKey]*flight{}}
}

// get returns the page for k, calling render (at most once at a time per
// key) when it is not cached. Errors are not cached.
func (c *pageCache) get(ctx context.Context, k pageKey, render func(context.Context) (*rendered, error)) (*rendered, error) {
	if d, ok := c.lru.Get(k); ok {
		return d, nil
	}
	c.mu.Lock()
	if fl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-fl.done:
			return fl.doc, fl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fl := &flight{done: make(chan struct{})}
	c.inflight[k] = fl
	c.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
	fl.doc, fl.err = render(rctx)
	cancel()
	if fl.err == nil {
		c.lru.Add(k, fl.doc)
	}
	c.mu.Lock()
	delete(c.inflight, k)
	c.mu.Unlock()
	close(fl.done)
	return fl.doc, fl.err
}

// serve writes d as media m, gzip-compressed when the client accepts it,
// or 304 when If-None-Match names the representation.
func (d *rendered) serve(c echo.Context, m media) error {
	r := c.Request()
	h := c.Response().Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, etag := d.body, d.etag(m, gz)
	if gz {
		body = d.gz
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && matchesETag(inm, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, m.contentType(), body)
}

// matchesETag reports whether an If-None-Match value names etag (weak
// comparison, RFC 9110 section 13.1.2).
func matchesETag(inm, etag string) bool {
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		return qValue(params) > 0
	}
	return false
}
