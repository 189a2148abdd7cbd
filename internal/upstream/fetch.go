package upstream

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Fetch returns the immutable file at rawURL (absolute, or relative to the
// base URL), known to callers as key (e.g. "tarball/lodash/4.17.21"; one
// key must always mean the same bytes), as a Download that streams its
// bytes while they arrive from upstream.
//
// However many callers ask for key at once, one request goes upstream: the
// first caller starts a fill, detached from its ctx, which writes the bytes
// to the blob store while teeing them, through a spool file, to every
// caller; one that joins late first reads what has already arrived. Before
// committing, the fill checks the bytes against want (the first caller's);
// every other caller's want is checked too before it sees the end of the
// body. A fill that completed recently is served from the blob store.
//
// Fetch returns once upstream has answered with headers. Errors: a 404/410
// wraps domain.ErrNotFound (not remembered); other failures wrap
// ErrUpstreamUnavailable; a malformed want wraps domain.ErrInvalid; ctx's
// error when ctx ends first (the fill goes on). The caller must Close the
// Download.
func (c *Client) Fetch(ctx context.Context, key, rawURL string, want Integrity) (*Download, error) {
	if err := want.Validate(); err != nil {
		return nil, err
	}
	u, err := c.resolve(rawURL)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		c.mu.Lock()
		f := c.fills[key]
		joined := f != nil
		if f == nil && try == 0 {
			if at, ok := c.missing.Get(key); ok && c.cfg.Now().Sub(at) < c.cfg.NegativeTTL {
				c.mu.Unlock()
				// A miss upstream answered lately (404/410) is not asked
				// again for NegativeTTL: clients probe for files that do
				// not exist (Maven's checksums and default plugins) on
				// every build.
				c.metrics.Lookup(c.cfg.Name, KindArtifact, NegativeHit)
				return nil, c.wrap("GET", u, notFoundError(http.StatusNotFound))
			}
			if p, ok := c.recent.Get(key); ok && want.Check(p.Hashes) == nil {
				c.mu.Unlock()
				d, err := c.openCommitted(ctx, key, p)
				if err == nil || !blob.IsNotFound(err) {
					return d, err
				}
				continue // collected since: fetch again
			}
		}
		if f == nil {
			f = newFill(key, want)
			fctx, release := c.detach(ctx, c.cfg.FetchTimeout)
			if !c.spawn(func() { defer release(); c.runFill(fctx, f, u) }) {
				c.mu.Unlock()
				release()
				return nil, c.wrap("GET", u, errClosed)
			}
			c.fills[key] = f
		}
		f.acquire()
		c.mu.Unlock()

		if joined {
			c.metrics.Lookup(c.cfg.Name, KindArtifact, Coalesced)
		} else {
			c.metrics.Lookup(c.cfg.Name, KindArtifact, Miss)
		}
		select {
		case <-f.headers:
		case <-ctx.Done():
			f.release()
			return nil, ctx.Err()
		}
		if f.headErr != nil {
			f.release()
			return nil, f.headErr
		}
		return &Download{ctx: ctx, f: f, want: want, size: f.size}, nil
	}
}

// openCommitted serves a recently completed fill from the blob store.
func (c *Client) openCommitted(ctx context.Context, key string, p blob.Put) (*Download, error) {
	rc, _, err := c.cfg.Blobs.Open(ctx, p.Hashes.SHA256)
	if err != nil {
		if blob.IsNotFound(err) {
			c.recent.Remove(key)
		}
		return nil, fmt.Errorf("upstream %s: open %s: %w", c.cfg.Name, key, err)
	}
	c.metrics.Lookup(c.cfg.Name, KindArtifact, Hit)
	return &Download{ctx: ctx, committed: rc, size: p.Size, put: p}, nil
}

// runFill is the one upstream request for f.key. It ends by publishing the
// outcome to f's readers and forgetting f, remembering the committed blob
// on success.
func (c *Client) runFill(ctx context.Context, f *fill, u *url.URL) {
	var put blob.Put
	err := c.exchange(ctx, request{kind: KindArtifact, url: u}, func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusNotFound, http.StatusGone:
			return notFoundError(resp.StatusCode)
		default:
			return statusError(resp.StatusCode)
		}
		spool, err := c.newSpool()
		if err != nil {
			return err
		}
		f.begin(spool, resp.ContentLength)
		put, err = c.stream(ctx, f, resp.Body)
		return err
	})
	if err != nil {
		err = c.wrap("GET", u, err)
	}
	c.mu.Lock()
	delete(c.fills, f.key)
	switch {
	case err == nil:
		c.recent.Add(f.key, put)
		c.missing.Remove(f.key)
	case domain.KindOf(err) == domain.ErrNotFound:
		c.missing.Add(f.key, c.cfg.Now())
	}
	c.mu.Unlock()
	if unseen := f.finish(put, err); unseen && err != nil && !errors.Is(err, domain.ErrNotFound) {
		c.metrics.BackgroundError(c.cfg.Name, err)
	}
}

// newSpool creates the fill's tee file and unlinks it at once where the
// system allows, so nothing outlives the open handle.
func (c *Client) newSpool() (*spoolFile, error) {
	f, err := os.CreateTemp(c.cfg.SpoolDir, "upstream-spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &spoolFile{File: f}
	if os.Remove(f.Name()) != nil {
		s.removeOnClose = true
	}
	return s, nil
}

// stream copies body to the spool (for readers), to the declared-digest
// hashers and through a pipe into blob.Store.Put. The end of the pipe is
// only closed cleanly once every declared digest matched, so nothing
// unverified is committed: on a mismatch or a broken body the pipe is
// closed with the error and Put commits nothing.
func (c *Client) stream(ctx context.Context, f *fill, body io.Reader) (blob.Put, error) {
	pr, pw := io.Pipe()
	type result struct {
		p   blob.Put
		err error
	}
	res := make(chan result, 1)
	go func() { // waited for below, before stream returns
		p, err := c.cfg.Blobs.Put(ctx, pr, strings.ToLower(f.want.SHA256))
		pr.CloseWithError(errPutEnded)
		res <- result{p, err}
	}()

	var hashers []io.Writer
	var sha1h, sha512h hash.Hash
	if f.want.SHA1 != "" {
		sha1h = sha1.New()
		hashers = append(hashers, sha1h)
	}
	if f.want.SHA512 != "" {
		sha512h = sha512.New()
		hashers = append(hashers, sha512h)
	}
	buf := make([]byte, 256<<10)
	var failed error
	for failed == nil {
		n, rerr := body.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if _, err := f.spool.Write(chunk); err != nil {
				failed = fmt.Errorf("spool: %w", err)
				break
			}
			f.advance(int64(n))
			for _, h := range hashers {
				h.Write(chunk)
			}
			if _, err := pw.Write(chunk); err != nil {
				failed = errPutEnded // Put gave up; its error says why
				break
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			failed = &bodyError{err: rerr}
		}
	}
	if failed == nil {
		var got domain.Hashes
		if sha1h != nil {
			got.SHA1 = hex.EncodeToString(sha1h.Sum(nil))
		}
		if sha512h != nil {
			got.SHA512 = hex.EncodeToString(sha512h.Sum(nil))
		}
		failed = Integrity{SHA1: f.want.SHA1, SHA512: f.want.SHA512}.Check(got)
	}
	if failed != nil {
		pw.CloseWithError(failed)
	} else {
		pw.Close()
	}
	r := <-res
	switch {
	case failed != nil && failed != errPutEnded:
		return blob.Put{}, failed
	case r.err == nil && failed != nil:
		return blob.Put{}, failed
	case r.err != nil && ctx.Err() != nil:
		return blob.Put{}, transportError(ctx, r.err)
	case errors.Is(r.err, blob.ErrDigestMismatch):
		return blob.Put{}, fmt.Errorf("%v: %w", r.err, ErrIntegrity)
	case r.err != nil:
		return blob.Put{}, r.err
	}
	return r.p, nil
}

// errPutEnded tells the two ends of the fill's pipe that the other stopped.
var errPutEnded = errors.New("blob store put ended early")
