package npm

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

// form is a rendering of a package.
type form uint8

const (
	formFull        form = iota // application/json packument
	formAbbreviated             // application/vnd.npm.install-v1+json
	formDistTags                // the dist-tags object
)

// docKey names one rendering of one state of a package: the stamp
// changes with every change of the package.
type docKey struct {
	domain, repo, scope, pkg, stamp string
	form                            form
}

// rendered is a document rendered once: its bytes, gzip-compressed once,
// and a strong entity tag for each representation.
type rendered struct {
	body, gz     []byte
	etag, gzETag string // quoted
	contentType  string
}

func newRendered(body []byte, contentType string) *rendered {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(body)
	zw.Close()
	return &rendered{body: body, gz: buf.Bytes(), etag: `"` + tag + `"`, gzETag: `"` + tag + `-gz"`, contentType: contentType}
}

// docCache keeps rendered documents, least recently used out first, and
// renders each missing key once however many requests ask for it at the
// same time.
type docCache struct {
	lru *lru.Cache[docKey, *rendered]

	mu       sync.Mutex // guards inflight
	inflight map[docKey]*flight
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

func newDocCache(entries int) *docCache {
	c, err := lru.New[docKey, *rendered](entries)
	if err != nil {
		panic(err) // only for entries <= 0, which the caller rules out
	}
	return &docCache{lru: c, inflight: map[docKey]*flight{}}
}

// get returns the document for k, calling render (at most once at a time
// per key) when it is not cached. Errors are not cached.
func (c *docCache) get(ctx context.Context, k docKey, render func(context.Context) (*rendered, error)) (*rendered, error) {
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

// serve writes d, gzip-compressed when the client accepts it, or 304 when
// If-None-Match names it.
func (d *rendered) serve(c echo.Context) error {
	r := c.Request()
	h := c.Response().Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	body, etag := d.body, d.etag
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag = d.gz, d.gzETag
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && d.matches(inm) {
		return c.NoContent(http.StatusNotModified)
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, d.contentType, body)
}

// matches reports whether an If-None-Match value names either
// representation of d (weak comparison, RFC 9110 section 13.1.2).
func (d *rendered) matches(inm string) bool {
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == d.etag || t == d.gzETag {
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
		return !zeroQ(params)
	}
	return false
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
