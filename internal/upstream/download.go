package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/artifactd/registry/internal/blob"
)

// fill is one upstream request for an artifact and the state its readers
// follow. The fill goroutine appends to spool and advances written; readers
// read spool at their own offsets with ReadAt and, when they have caught
// up, wait for wake to be closed.
type fill struct {
	key  string
	want Integrity

	headers chan struct{} // closed once size is known, or headErr is set
	size    int64         // Content-Length, -1 when unknown; set before headers closes
	headErr error         // set before headers closes when the fill failed before a body

	mu      sync.Mutex
	spool   *spoolFile
	written int64
	began   bool
	done    bool
	err     error    // set with done when the fill failed
	put     blob.Put // set with done when the fill committed
	refs    int      // the fill itself plus every open reader; the spool closes at 0
	wake    chan struct{}
	waiting bool // someone holds wake: replace it at the next change
}

func newFill(key string, want Integrity) *fill {
	return &fill{key: key, want: want, headers: make(chan struct{}), size: -1, refs: 1, wake: make(chan struct{})}
}

// spoolFile is a fill's tee file.
type spoolFile struct {
	*os.File
	removeOnClose bool // the early unlink failed
}

func (s *spoolFile) close() {
	s.File.Close()
	if s.removeOnClose {
		os.Remove(s.Name())
	}
}

func (f *fill) acquire() {
	f.mu.Lock()
	f.refs++
	f.mu.Unlock()
}

func (f *fill) release() {
	f.mu.Lock()
	f.refs--
	var spool *spoolFile
	if f.refs == 0 {
		spool, f.spool = f.spool, nil
	}
	f.mu.Unlock()
	if spool != nil {
		spool.close()
	}
}

// begin publishes the upstream's headers: from now on readers follow spool.
func (f *fill) begin(spool *spoolFile, size int64) {
	f.mu.Lock()
	f.spool, f.began = spool, true
	f.mu.Unlock()
	f.size = size
	close(f.headers)
}

// advance makes n more bytes of the spool readable.
func (f *fill) advance(n int64) {
	f.mu.Lock()
	f.written += n
	f.notifyLocked()
	f.mu.Unlock()
}

// finish publishes the outcome, drops the fill's own reference and
// reports whether nobody was following it (so a failure went unseen).
func (f *fill) finish(put blob.Put, err error) (unseen bool) {
	f.mu.Lock()
	f.done, f.put, f.err = true, put, err
	f.notifyLocked()
	if !f.began {
		f.headErr = err
		if err == nil { // cannot happen: success implies a body
			f.headErr = errors.New("fill ended without a response")
		}
		close(f.headers)
	}
	unseen = f.refs == 1
	f.mu.Unlock()
	f.release()
	return unseen
}

func (f *fill) notifyLocked() {
	if f.waiting {
		close(f.wake)
		f.wake, f.waiting = make(chan struct{}), false
	}
}

// waitLocked returns a channel closed at the next change.
func (f *fill) waitLocked() <-chan struct{} {
	f.waiting = true
	return f.wake
}

// Download is an artifact being fetched (or already committed), read like
// a file. Read returns the bytes as they arrive, but holds back the last
// one until the fill has been verified and committed: a body that fails
// (broken off, or not matching its declared digest) never reads to io.EOF,
// and Read returns the error instead. An HTTP handler streaming a Download
// must then abort the response (panic(http.ErrAbortHandler)) so the client
// sees a broken transfer, not a complete one; setting Content-Length from
// Size makes that unmistakable.
//
// A Download is for one goroutine. Read fails with the Fetch ctx's error
// once that ends; the fill goes on for others.
type Download struct {
	ctx  context.Context
	f    *fill // nil when served from the blob store
	want Integrity
	off  int64
	size int64
	// verified: the fill is done and want matched what it committed, so
	// the held-back last byte may be read.
	verified bool

	committed blob.ReadSeekCloser // set when served from the blob store
	put       blob.Put            // set when served from the blob store
	closed    bool
}

// Size returns the length upstream declared, or -1 if it declared none.
func (d *Download) Size() int64 { return d.size }

// Read implements io.Reader as described on Download.
func (d *Download) Read(p []byte) (int, error) {
	if d.closed {
		return 0, errors.New("upstream: read of a closed download")
	}
	if d.committed != nil {
		return d.committed.Read(p)
	}
	f := d.f
	for {
		f.mu.Lock()
		if f.err != nil {
			f.mu.Unlock()
			return 0, f.err
		}
		if f.done && !d.verified {
			if err := d.want.Check(f.put.Hashes); err != nil {
				f.mu.Unlock()
				return 0, fmt.Errorf("upstream: %s: %w", f.key, err)
			}
			d.verified = true
		}
		limit := f.written
		if !f.done && limit > 0 {
			limit-- // the last byte waits for the verdict
		}
		if d.off < limit {
			spool := f.spool
			f.mu.Unlock()
			n := min(int64(len(p)), limit-d.off)
			m, err := spool.ReadAt(p[:n], d.off)
			d.off += int64(m)
			if err != nil && !(err == io.EOF && int64(m) == n) {
				return m, fmt.Errorf("upstream: spool: %w", err)
			}
			return m, nil
		}
		if f.done {
			f.mu.Unlock()
			return 0, io.EOF
		}
		wake := f.waitLocked()
		f.mu.Unlock()
		select {
		case <-wake:
		case <-d.ctx.Done():
			return 0, d.ctx.Err()
		}
	}
}

// Wait blocks until the fill has been committed to the blob store (or has
// failed) and returns what blob.Store.Put reported: size and every digest,
// to record the asset with. It does not consume the Download. The error is
// the fill's, an integrity error if this caller's want differs from what
// was committed, or ctx's.
func (d *Download) Wait(ctx context.Context) (blob.Put, error) {
	if d.committed != nil {
		return d.put, nil
	}
	f := d.f
	for {
		f.mu.Lock()
		if f.done {
			put, err := f.put, f.err
			f.mu.Unlock()
			if err != nil {
				return blob.Put{}, err
			}
			if err := d.want.Check(put.Hashes); err != nil {
				return blob.Put{}, fmt.Errorf("upstream: %s: %w", f.key, err)
			}
			return put, nil
		}
		wake := f.waitLocked()
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return blob.Put{}, ctx.Err()
		}
	}
}

// Close releases the Download; the fill goes on for others. It is safe to
// call more than once.
func (d *Download) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.committed != nil {
		return d.committed.Close()
	}
	d.f.release()
	return nil
}
