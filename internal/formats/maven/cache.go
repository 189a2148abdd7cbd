package maven

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// docKey names one metadata document of one state of a package: the stamp
// changes with every change of the package. dir is "" for artifact-level
// metadata, the -SNAPSHOT version for snapshot-level metadata.
type docKey struct {
	domain, repo, groupID, artifactID, dir, stamp string
}

// rendered is a metadata document rendered once, with every digest a
// client may ask for and a strong entity tag.
type rendered struct {
	body    []byte
	hashes  domain.Hashes
	etag    string // quoted
	modTime time.Time
}

func newRendered(body []byte, modTime time.Time) *rendered {
	h := blob.NewHasher()
	h.Write(body)
	hashes := h.Result().Hashes
	return &rendered{body: body, hashes: hashes, etag: `"` + hashes.SHA256[:32] + `"`, modTime: modTime}
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

// serve writes d as text/xml, or 304 when a conditional request matches
// its entity tag or modification time.
func (d *rendered) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("ETag", d.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set(echo.HeaderContentType, "text/xml; charset=utf-8")
	http.ServeContent(c.Response(), c.Request(), "", d.modTime, bytes.NewReader(d.body))
	return nil
}
