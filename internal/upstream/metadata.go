package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Doc is a metadata document (packument, simple index, maven-metadata.xml,
// a .sha1 file) as the upstream last sent it.
type Doc struct {
	// Body is the document's bytes, shared by every caller and the cache:
	// read it, never modify it. Metadata always sets it; Validator leaves
	// it nil for a document too large for the memory cache
	// (Config.MemoryEntryBytes): call Bytes to read it.
	Body         []byte
	ContentType  string
	ETag         string // as upstream sent it, weak or strong
	LastModified string // as upstream sent it
	// FetchedAt is when upstream last sent these bytes or confirmed them
	// with a 304.
	FetchedAt time.Time
	// Status is the upstream status that produced Body (200).
	Status int
	// Stale says the copy is older than the TTL and could not be
	// revalidated: StaleReason (wrapping ErrUpstreamUnavailable,
	// ErrUpstreamTimeout or ErrCircuitOpen) says why.
	Stale       bool
	StaleReason error

	// onDisk says Body was left out: the Persister holds it.
	onDisk bool
	// load reads the body back when Body was left out (Validator).
	load func(ctx context.Context) ([]byte, error)
	// open opens the Persister's copy when it can (a DiskCache).
	open func(ctx context.Context) (*Section, error)
}

// Section is a document's body for reading at offsets, without holding it
// in memory: a range of the disk cache's file, or the bytes in hand.
// Close it when done.
type Section struct {
	*io.SectionReader
	close func() error
}

// Close releases the file behind the section, if any.
func (s *Section) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// Open returns the document's body for reading at offsets: from the disk
// cache's file when the body was left out of memory (so a document of
// tens of megabytes is read piecewise, never held whole), else the bytes
// in hand. The same caveat as for Bytes applies.
func (d Doc) Open(ctx context.Context) (*Section, error) {
	if d.Body == nil && d.open != nil {
		if s, err := d.open(ctx); err == nil {
			return s, nil
		}
	}
	b, err := d.Bytes(ctx)
	if err != nil {
		return nil, err
	}
	return &Section{SectionReader: io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))}, nil
}

// Bytes returns the document's body: Body when it is in hand, else the
// copy the Persister holds, read now. Read it, never modify it. The
// body read back is the one cached under the document's key; in the rare
// case it was replaced or dropped since Validator returned (a purge, a
// refresh in between), the current document's body is returned.
func (d Doc) Bytes(ctx context.Context) ([]byte, error) {
	if d.Body != nil || d.load == nil {
		return d.Body, nil
	}
	return d.load(ctx)
}

// MetaOptions adjust one Metadata call.
type MetaOptions struct {
	// Accept is sent as the Accept header (npm's abbreviated
	// "application/vnd.npm.install-v1+json", PEP 691's
	// "application/vnd.pypi.simple.v1+json"). Different Accept values must
	// use different keys.
	Accept string
	// PreferCached serves any cached copy, however old, without asking
	// upstream; upstream is asked only when there is none. It is the
	// per-repository setting for offline and CI use.
	PreferCached bool
}

// errSlow is the StaleReason when a revalidation outlasts StaleAfter.
var errSlow = fmt.Errorf("revalidation slower than the stale-after deadline: %w", ErrUpstreamTimeout)

// metaFlight is a metadata refresh shared by every caller of one key.
type metaFlight struct {
	done    chan struct{}
	doc     Doc
	err     error
	waiters atomic.Int32 // callers still waiting; 0 at the end means nobody saw err
}

// Metadata returns the document at rawURL (absolute, or relative to the
// base URL), cached under key. key names the document within this
// upstream, e.g. "packument/@types/node" or "simple/requests"; callers of
// one key must agree on rawURL and Accept.
//
// A copy younger than MetadataTTL (or any copy with PreferCached) is
// returned without contacting upstream. An older one is revalidated with
// If-None-Match / If-Modified-Since; if upstream fails, its breaker is
// open, or it takes longer than StaleAfter, the old copy is returned with
// Stale set instead of an error. Without a copy, concurrent callers share
// one request, which goes on if the caller that started it gives up.
//
// Errors: a definitive 404/410 wraps domain.ErrNotFound and is remembered
// for NegativeTTL (timeouts and 5xx never are); failures with no copy wrap
// ErrUpstreamUnavailable; ctx's error when ctx ends first.
func (c *Client) Metadata(ctx context.Context, key, rawURL string, opt MetaOptions) (Doc, error) {
	d, err := c.lookup(ctx, key, rawURL, opt)
	if err != nil || !d.onDisk {
		return d, err
	}
	return c.withBody(ctx, key, rawURL, opt, d)
}

// Validator is Metadata for a caller that needs the document's
// validators (ETag, Last-Modified, FetchedAt) on every call but its body
// only sometimes, e.g. to key a cache of documents rendered from it. It
// caches, revalidates, coalesces, serves stale copies and fails exactly
// as Metadata does, but a document larger than Config.MemoryEntryBytes is
// returned without Body, as the memory cache holds it: Doc.Bytes reads
// the body from the Persister when the caller needs it.
func (c *Client) Validator(ctx context.Context, key, rawURL string, opt MetaOptions) (Doc, error) {
	d, err := c.lookup(ctx, key, rawURL, opt)
	if err != nil || !d.onDisk {
		return d, err
	}
	d.load = func(ctx context.Context) ([]byte, error) {
		full, err := c.withBody(ctx, key, rawURL, opt, d)
		return full.Body, err
	}
	if o, ok := c.cfg.Persist.(sectionOpener); ok {
		d.open = func(ctx context.Context) (*Section, error) {
			sec, _, err := o.OpenSection(ctx, c.cfg.Name, key)
			return sec, err
		}
	}
	return d, nil
}

// withBody returns d, a document whose body the memory cache left to the
// Persister, with its body read back. When the Persister has lost it
// (deleted under us, a purge racing), the memory entry is dropped and
// the document fetched again, once.
func (c *Client) withBody(ctx context.Context, key, rawURL string, opt MetaOptions, d Doc) (Doc, error) {
	for again := false; ; again = true {
		pd, err := c.cfg.Persist.Load(ctx, c.cfg.Name, key)
		if err == nil {
			d.Body, d.onDisk, d.load = pd.Body, false, nil
			return d, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return Doc{}, fmt.Errorf("upstream %s: load %s: %v: %w", c.cfg.Name, key, err, ErrUpstreamUnavailable)
		}
		if again {
			return Doc{}, fmt.Errorf("upstream %s: %s: cached body lost: %w", c.cfg.Name, key, ErrUpstreamUnavailable)
		}
		c.meta.dropOnDisk(key)
		if d, err = c.lookup(ctx, key, rawURL, opt); err != nil || !d.onDisk {
			return d, err
		}
	}
}

// lookup is Metadata without reading back a body left to the Persister.
func (c *Client) lookup(ctx context.Context, key, rawURL string, opt MetaOptions) (Doc, error) {
	now := c.cfg.Now()
	e, have := c.meta.get(key)
	if !have && c.cfg.Persist != nil {
		var err error
		if e, have, err = c.loadPersisted(ctx, key); err != nil {
			return Doc{}, err
		}
	}
	if have {
		if answered, d, err := c.fromCache(key, e, opt, now); answered {
			if err != nil {
				c.metrics.Lookup(c.cfg.Name, KindMetadata, NegativeHit)
			} else {
				c.metrics.Lookup(c.cfg.Name, KindMetadata, Hit)
			}
			return d, err
		}
		have = !e.negative
	}

	u, err := c.resolve(rawURL)
	if err != nil {
		return Doc{}, err
	}
	fl, started := c.startRefresh(ctx, key, u, opt)
	if fl == nil {
		return c.staleOr(have, e.doc, c.wrap("GET", u, errClosed))
	}
	var deadline <-chan time.Time
	if have {
		t := time.NewTimer(c.cfg.StaleAfter)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case <-fl.done:
	case <-deadline:
		fl.waiters.Add(-1)
		return c.staleOr(have, e.doc, errSlow)
	case <-ctx.Done():
		fl.waiters.Add(-1)
		return Doc{}, ctx.Err()
	}
	if fl.err != nil {
		if errors.Is(fl.err, domain.ErrNotFound) {
			c.metrics.Lookup(c.cfg.Name, KindMetadata, Miss)
			return Doc{}, fl.err
		}
		return c.staleOr(have, e.doc, fl.err)
	}
	if started {
		c.metrics.Lookup(c.cfg.Name, KindMetadata, Miss)
	} else {
		c.metrics.Lookup(c.cfg.Name, KindMetadata, Coalesced)
	}
	return fl.doc, nil
}

// staleOr returns the old copy marked stale if there is one, else err.
func (c *Client) staleOr(have bool, old Doc, err error) (Doc, error) {
	if !have {
		c.metrics.Lookup(c.cfg.Name, KindMetadata, Miss)
		return Doc{}, err
	}
	c.metrics.Lookup(c.cfg.Name, KindMetadata, Stale)
	old.Stale, old.StaleReason = true, err
	return old, nil
}

// fromCache answers a lookup from a cached entry when the entry can
// answer it: a 404 younger than NegativeTTL (err), a copy younger than
// MetadataTTL or any copy with PreferCached (d).
func (c *Client) fromCache(key string, e entry, opt MetaOptions, now time.Time) (answered bool, d Doc, err error) {
	switch {
	case e.negative && now.Sub(e.doc.FetchedAt) < c.cfg.NegativeTTL:
		return true, Doc{}, fmt.Errorf("upstream %s: %s: %w", c.cfg.Name, key, notFoundError(e.doc.Status))
	case !e.negative && (opt.PreferCached || now.Sub(e.doc.FetchedAt) < c.cfg.MetadataTTL):
		return true, e.doc, nil
	}
	return false, Doc{}, nil
}

// startRefresh joins the refresh of key in progress or starts one, detached
// from ctx. A refresh that ended after the caller looked at the cache has
// stored its answer (before it left c.flights): that answer is returned
// as a finished flight instead of asking upstream again. It returns nil
// after Close.
func (c *Client) startRefresh(ctx context.Context, key string, u *url.URL, opt MetaOptions) (fl *metaFlight, started bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fl := c.flights[key]; fl != nil {
		fl.waiters.Add(1)
		return fl, false
	}
	if e, ok := c.meta.get(key); ok {
		if answered, d, err := c.fromCache(key, e, opt, c.cfg.Now()); answered {
			fl := &metaFlight{done: make(chan struct{}), doc: d, err: err}
			close(fl.done)
			return fl, false
		}
	}
	accept := opt.Accept
	fl = &metaFlight{done: make(chan struct{})}
	fl.waiters.Store(1)
	fctx, release := c.detach(ctx, c.cfg.MetadataTimeout)
	ok := c.spawn(func() {
		defer release()
		fl.doc, fl.err = c.refresh(fctx, key, u, accept)
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(fl.done)
		if fl.err != nil && fl.waiters.Load() <= 0 && !errors.Is(fl.err, domain.ErrNotFound) {
			c.metrics.BackgroundError(c.cfg.Name, fl.err)
		}
	})
	if !ok {
		release()
		return nil, false
	}
	c.flights[key] = fl
	return fl, true
}

// refresh asks upstream for key, conditionally when a copy is cached, and
// stores the answer: a new or reconfirmed copy, or a negative entry for a
// 404/410. Failures leave the cache as it was.
func (c *Client) refresh(ctx context.Context, key string, u *url.URL, accept string) (Doc, error) {
	gen := c.meta.generation()
	prev, have := c.meta.get(key)
	have = have && !prev.negative
	r := request{kind: KindMetadata, url: u, accept: accept}
	if have {
		r.ifNoneMatch, r.ifModifiedSince = prev.doc.ETag, prev.doc.LastModified
	}
	conditional := r.ifNoneMatch != "" || r.ifModifiedSince != ""

	var doc Doc
	var status int
	streamed := false // the body went straight to the Persister
	err := c.exchange(ctx, r, func(resp *http.Response) error {
		status = resp.StatusCode
		switch {
		case status == http.StatusOK:
			doc = Doc{
				ContentType:  resp.Header.Get("Content-Type"),
				ETag:         resp.Header.Get("ETag"),
				LastModified: resp.Header.Get("Last-Modified"),
				FetchedAt:    c.cfg.Now(),
				Status:       status,
			}
			var err error
			doc.Body, streamed, err = c.takeBody(ctx, key, doc, resp.Body, resp.ContentLength, gen)
			if err != nil {
				return err
			}
			doc.onDisk = streamed
		case status == http.StatusNotModified && conditional:
			doc = prev.doc
			doc.FetchedAt = c.cfg.Now()
			if v := resp.Header.Get("ETag"); v != "" {
				doc.ETag = v
			}
			if v := resp.Header.Get("Last-Modified"); v != "" {
				doc.LastModified = v
			}
		case status == http.StatusNotFound || status == http.StatusGone:
			return notFoundError(status)
		default:
			return statusError(status)
		}
		return nil
	})
	if have && (err == nil || errors.Is(err, domain.ErrNotFound)) {
		c.metrics.Revalidated(c.cfg.Name, status)
	}
	if errors.Is(err, domain.ErrNotFound) {
		neg := entry{negative: true, doc: Doc{Status: status, FetchedAt: c.cfg.Now()}}
		if c.meta.put(key, neg, gen, false) && c.cfg.Persist != nil {
			c.persistDelete(ctx, key)
		}
	}
	if err != nil {
		return Doc{}, c.wrap("GET", u, err)
	}
	// A new body is saved before the memory entry that may point to it
	// is stored, so a reader of that entry finds the body on disk.
	saved := streamed
	if status == http.StatusOK && !streamed && c.cfg.Persist != nil && c.meta.generation() == gen {
		if err := c.cfg.Persist.Save(ctx, c.cfg.Name, key, doc); err != nil {
			c.metrics.BackgroundError(c.cfg.Name, fmt.Errorf("upstream %s: persist %s: %w", c.cfg.Name, key, err))
		} else {
			saved = true
		}
	}
	mem := doc
	if saved && !c.holdsBody(int64(len(doc.Body))) {
		mem.Body, mem.onDisk = nil, true
	}
	c.meta.put(key, entry{doc: mem}, gen, false) // refused when purged meanwhile, or larger than MemoryBytes
	if saved && c.meta.generation() != gen {
		c.persistDelete(ctx, key) // purged while saving
	}
	return doc, nil
}

// takeBody reads a 200 answer's body into memory when the memory cache
// can hold it (Config.MemoryEntryBytes), or when the Persister cannot
// take it as it comes; else it saves it straight to the Persister (a
// DiskCache) and returns saved, with no bytes: a packument of tens of
// megabytes is written to disk as it arrives and never held. A body of
// unknown length (gzip decoded on the fly) is read into memory up to
// that size first.
func (c *Client) takeBody(ctx context.Context, key string, doc Doc, r io.Reader, declared int64, gen uint64) (body []byte, saved bool, err error) {
	limit, small := c.cfg.MaxMetadataBytes, c.cfg.MemoryEntryBytes
	saver, ok := c.cfg.Persist.(bodySaver)
	if !ok || declared > limit || (declared >= 0 && declared <= small) || c.meta.generation() != gen {
		b, err := c.readMetadataBody(r, declared)
		return b, false, err
	}
	var head bytes.Buffer
	if declared < 0 {
		n, err := head.ReadFrom(io.LimitReader(r, small+1))
		if err != nil {
			return nil, false, &bodyError{err: err, retry: true}
		}
		if n <= small {
			return bytes.Clone(head.Bytes()), false, nil // the cache keeps it: not the grown buffer
		}
	}
	src := &recordErr{r: io.MultiReader(&head, r)}
	if _, err := saver.SaveFrom(ctx, c.cfg.Name, key, doc, src, limit); err != nil {
		if src.err != nil {
			return nil, false, &bodyError{err: src.err, retry: true}
		}
		return nil, false, err
	}
	return nil, true, nil
}

// recordErr is a reader remembering the error r returned, to tell a
// failed body from a failed disk.
type recordErr struct {
	r   io.Reader
	err error
}

func (e *recordErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// spoolAbove is the size from which a metadata body of unknown length
// (a gzip-coded answer, decoded on the fly) goes through a spool file.
const spoolAbove = 1 << 20

// readMetadataBody reads a whole metadata body (readBody). One of unknown
// length longer than spoolAbove is copied to an unlinked spool file first
// and read back into one buffer of its exact size: a buffer grown as the
// bytes come doubles, so a 30 MB packument would hold up to 64 MB while
// it is read.
func (c *Client) readMetadataBody(r io.Reader, declared int64) ([]byte, error) {
	limit := c.cfg.MaxMetadataBytes
	if declared >= 0 || c.cfg.SpoolDir == "" {
		return readBody(r, declared, limit)
	}
	var head bytes.Buffer
	n, err := head.ReadFrom(io.LimitReader(r, spoolAbove))
	if err != nil {
		return nil, &bodyError{err: err, retry: true}
	}
	if n < spoolAbove {
		b := head.Bytes()
		if cap(b) > len(b)+len(b)/4 {
			b = bytes.Clone(b) // the cache keeps it: not the grown buffer
		}
		return b, nil
	}
	sp, err := c.newSpool()
	if err != nil {
		return readBody(io.MultiReader(&head, r), -1, limit)
	}
	defer sp.close()
	total, err := io.Copy(sp.File, io.LimitReader(io.MultiReader(&head, r), limit+1))
	if err != nil {
		return nil, &bodyError{err: err, retry: true}
	}
	if total > limit {
		return nil, fmt.Errorf("document exceeds the %d byte limit: %w", limit, ErrUpstreamUnavailable)
	}
	b := make([]byte, total)
	if _, err := sp.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return b, nil
}

// readBody reads a whole metadata body of at most limit bytes. A read
// failure is a retryable *bodyError; an oversized body is not retried.
func readBody(r io.Reader, declared, limit int64) ([]byte, error) {
	if declared > limit {
		return nil, fmt.Errorf("document of %d bytes exceeds the %d byte limit: %w", declared, limit, ErrUpstreamUnavailable)
	}
	var buf bytes.Buffer
	if declared > 0 {
		// ReadFrom wants MinRead bytes free before every read, the one
		// that sees EOF included: without them an exactly sized buffer
		// doubles at the end.
		buf.Grow(int(declared) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &bodyError{err: err, retry: true}
	}
	if n > limit {
		return nil, fmt.Errorf("document exceeds the %d byte limit: %w", limit, ErrUpstreamUnavailable)
	}
	return buf.Bytes(), nil
}

// Purge forgets the cached copy of key, in memory and in the persistent
// cache, and any negative entry, so the next Metadata call asks upstream.
// A refresh in progress completes for its waiters but is not stored.
func (c *Client) Purge(ctx context.Context, key string) error {
	c.meta.purge(key)
	c.missing.Remove(key)
	if c.cfg.Persist == nil {
		return nil
	}
	if err := c.cfg.Persist.Delete(ctx, c.cfg.Name, key); err != nil {
		return fmt.Errorf("upstream %s: purge %s: %w", c.cfg.Name, key, err)
	}
	return nil
}

func (c *Client) persistDelete(ctx context.Context, key string) {
	if err := c.cfg.Persist.Delete(ctx, c.cfg.Name, key); err != nil {
		c.metrics.BackgroundError(c.cfg.Name, fmt.Errorf("upstream %s: persist delete %s: %w", c.cfg.Name, key, err))
	}
}

// persistLoad is a read of the persistent cache shared by every caller of
// one key.
type persistLoad struct {
	done chan struct{}
	e    entry
	ok   bool
}

// holdsBody reports whether the memory cache keeps a body of n bytes that
// the Persister holds too.
func (c *Client) holdsBody(n int64) bool { return !c.cfg.DiskBodies && n <= c.cfg.MemoryEntryBytes }

// loadHeaderOrDoc reads a persisted document: only its header when the
// memory cache does not keep its body (holdsBody) and the Persister can tell without reading
// the body (a DiskCache), so a restarted server does not read a document
// of tens of megabytes to learn its validators (the Doc comes back with
// onDisk set); else the whole document.
func (c *Client) loadHeaderOrDoc(ctx context.Context, key string) (Doc, error) {
	if o, ok := c.cfg.Persist.(sectionOpener); ok {
		sec, d, err := o.OpenSection(ctx, c.cfg.Name, key)
		if err == nil {
			sec.Close()
			if !c.holdsBody(sec.Size()) {
				d.onDisk = true
				return d, nil
			}
		}
	}
	return c.cfg.Persist.Load(ctx, c.cfg.Name, key)
}

// loadPersisted reads key's persisted copy into memory, once however many
// callers miss at the same time. The error is ctx's, or one after Close.
func (c *Client) loadPersisted(ctx context.Context, key string) (entry, bool, error) {
	c.mu.Lock()
	pl := c.loads[key]
	if pl == nil {
		pl = &persistLoad{done: make(chan struct{})}
		lctx, release := c.detach(ctx, c.cfg.MetadataTimeout)
		gen := c.meta.generation()
		ok := c.spawn(func() {
			defer release()
			doc, err := c.loadHeaderOrDoc(lctx, key)
			switch {
			case err == nil:
				pl.e, pl.ok = entry{doc: doc}, true
				mem := pl.e
				if doc.onDisk || !c.holdsBody(int64(len(doc.Body))) {
					mem.doc.Body, mem.doc.onDisk = nil, true
				}
				c.meta.put(key, mem, gen, true)
			case !errors.Is(err, domain.ErrNotFound):
				c.metrics.BackgroundError(c.cfg.Name, fmt.Errorf("upstream %s: load %s: %w", c.cfg.Name, key, err))
			}
			c.mu.Lock()
			delete(c.loads, key)
			c.mu.Unlock()
			close(pl.done)
		})
		if !ok {
			c.mu.Unlock()
			release()
			return entry{}, false, fmt.Errorf("upstream %s: %w", c.cfg.Name, errClosed)
		}
		c.loads[key] = pl
	}
	c.mu.Unlock()
	select {
	case <-pl.done:
		return pl.e, pl.ok, nil
	case <-ctx.Done():
		return entry{}, false, ctx.Err()
	}
}
