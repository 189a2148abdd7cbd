package upstream

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// origin is an upstream registry stand-in serving real bytes, with ETag
// and Last-Modified, answering conditional GETs (http.ServeContent).
type origin struct {
	mu    sync.Mutex
	files map[string]originFile
	// seen records, per path, the conditional headers of each request.
	seen map[string][]string
}

type originFile struct {
	body  []byte
	etag  string
	mod   time.Time
	ctype string
	gzip  bool // body is gzip-coded: sent with Content-Encoding: gzip
}

func newOrigin() *origin {
	return &origin{files: make(map[string]originFile), seen: make(map[string][]string)}
}

// set publishes body at path (the escaped request path), with a strong
// ETag derived from the bytes.
func (o *origin) set(path string, body []byte) {
	sum := sha256.Sum256(body)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[path] = originFile{
		body:  body,
		etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
		mod:   time.Date(2024, 1, 1, 0, 0, len(o.files), 0, time.UTC),
		ctype: "application/octet-stream",
	}
}

// setGzip publishes body at path gzip-coded, as registries send
// documents: Go's client decodes it on the fly, so its length is unknown.
func (o *origin) setGzip(path string, body []byte) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(body)
	zw.Close()
	o.set(path, b.Bytes())
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.files[path]
	f.gzip = true
	o.files[path] = f
}

func (o *origin) remove(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.files, path)
}

// conditionals returns the If-None-Match values sent for path, one per
// request ("" for an unconditional one).
func (o *origin) conditionals(path string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen[path]...)
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	o.mu.Lock()
	f, ok := o.files[path]
	o.seen[path] = append(o.seen[path], r.Header.Get("If-None-Match"))
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Content-Type", f.ctype)
	if f.gzip {
		w.Header().Set("Content-Encoding", "gzip")
	}
	http.ServeContent(w, r, "", f.mod, bytes.NewReader(f.body))
}

// fault is what the faulty handler does to one request. The zero fault
// passes the request through untouched.
type fault struct {
	status      int           // answer this status instead (with a short body)
	retryAfter  string        // Retry-After header with status
	delayHeader time.Duration // sleep before passing on: a slow first byte
	hold        chan struct{} // block before passing on until closed (or the request ends)
	reset       bool          // hijack the connection and reset it: no response at all
	gateAfter   int64         // with gate: pass this many body bytes, then wait for gate
	gate        chan struct{}
	stallAfter  int64         // pass this many body bytes, then stall until the request ends
	truncate    int64         // pass only this many body bytes (Content-Length stays), then drop
	corruptAt   int64         // flip the body byte at this offset (with corrupt)
	corrupt     bool          // wrong bytes
	chunkDelay  time.Duration // pass the body in 4 KiB chunks this far apart
}

// faulty wraps an http.Handler, applying queued faults to the next
// requests, one each, then the standing fault to the rest. It counts
// requests and records answered statuses.
type faulty struct {
	next    http.Handler
	release chan struct{} // closed when the test ends: every block returns

	requests atomic.Int64

	mu       sync.Mutex
	queue    []fault
	standing fault
	statuses []int
}

func newFaulty(next http.Handler) *faulty {
	return &faulty{next: next, release: make(chan struct{})}
}

// push queues faults for the next requests, in order.
func (f *faulty) push(fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// always sets the fault applied once the queue is empty.
func (f *faulty) always(ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.standing = ft
}

// clear drops queued and standing faults.
func (f *faulty) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.standing = nil, fault{}
}

func (f *faulty) answered() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.statuses...)
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	ft := f.standing
	if len(f.queue) > 0 {
		ft, f.queue = f.queue[0], f.queue[1:]
	}
	f.mu.Unlock()

	if ft.delayHeader > 0 {
		time.Sleep(ft.delayHeader) // simulating a slow upstream
	}
	if ft.hold != nil && !f.wait(r, ft.hold) {
		return
	}
	if ft.reset {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST
		}
		conn.Close()
		return
	}
	rec := &faultWriter{ResponseWriter: w, f: f, r: r, ft: ft}
	if ft.status != 0 {
		if ft.retryAfter != "" {
			w.Header().Set("Retry-After", ft.retryAfter)
		}
		http.Error(rec, http.StatusText(ft.status), ft.status)
		return
	}
	f.next.ServeHTTP(rec, r)
}

// wait blocks until ch is closed (true), or the request or test ends.
func (f *faulty) wait(r *http.Request, ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
	case <-f.release:
	}
	return false
}

// faultWriter applies a fault's body effects.
type faultWriter struct {
	http.ResponseWriter
	f    *faulty
	r    *http.Request
	ft   fault
	off  int64
	dead bool // stopped passing bytes
}

func (w *faultWriter) WriteHeader(status int) {
	w.f.mu.Lock()
	w.f.statuses = append(w.f.statuses, status)
	w.f.mu.Unlock()
	w.ResponseWriter.WriteHeader(status)
}

func (w *faultWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.dead {
			return n, nil
		}
		chunk := p
		if w.ft.chunkDelay > 0 && len(chunk) > 4096 {
			chunk = chunk[:4096]
		}
		// Cut the chunk at the next point where something happens.
		for _, at := range []int64{w.ft.gateAfter, w.ft.stallAfter, w.ft.truncate} {
			if at > w.off && at < w.off+int64(len(chunk)) {
				chunk = chunk[:at-w.off]
			}
		}
		if w.ft.corrupt && w.ft.corruptAt >= w.off && w.ft.corruptAt < w.off+int64(len(chunk)) {
			bad := append([]byte(nil), chunk...)
			bad[w.ft.corruptAt-w.off] ^= 0xff
			if _, err := w.ResponseWriter.Write(bad); err != nil {
				return 0, err
			}
		} else if _, err := w.ResponseWriter.Write(chunk); err != nil {
			return 0, err
		}
		w.off += int64(len(chunk))
		p = p[len(chunk):]
		switch {
		case w.ft.gate != nil && w.off == w.ft.gateAfter:
			http.NewResponseController(w.ResponseWriter).Flush()
			if !w.f.wait(w.r, w.ft.gate) {
				return 0, http.ErrAbortHandler
			}
		case w.ft.stallAfter > 0 && w.off == w.ft.stallAfter:
			http.NewResponseController(w.ResponseWriter).Flush()
			w.f.wait(w.r, nil)
			return 0, http.ErrAbortHandler
		case w.ft.truncate > 0 && w.off == w.ft.truncate:
			w.dead = true
		case w.ft.chunkDelay > 0:
			http.NewResponseController(w.ResponseWriter).Flush()
			time.Sleep(w.ft.chunkDelay) // simulating a slow but steady upstream
		}
	}
	return n, nil
}

func (w *faultWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }
