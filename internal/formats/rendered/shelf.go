package rendered

import (
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/labstack/echo/v4"
)

// The shelf keeps the gzip bytes of documents that are too small for a
// spill file of their own (see Configure) in one unlinked file of the
// spill directory, each from a page boundary over whole pages, so that
// releasing a document punches a hole that frees its pages exactly. The
// bytes live in the page cache, as a static file server's do, instead of
// among the Go heap's small objects, where a few hundred long-lived
// documents allocated amid a render's garbage pinned several times their
// size in partly used spans. A response from the shelf is read and
// written through a pooled 32 KiB buffer (pread and write, a pair per
// 32 KiB); the document is released (the hole punched) when its Doc is no
// longer reachable. Where the file system cannot punch holes,
// or the spill directory cannot be written, documents stay in memory.

// shelfPage is the shelf's unit of allocation.
const shelfPage = 4096

// shelfMin is the smallest gzip body put on the shelf: below it, most of
// a page would be empty, and such documents cost little on the heap.
const shelfMin = 1024

// shelfFile is one shelf file; shelved documents keep it open.
type shelfFile struct {
	f   *os.File
	dir string // the spill directory it was made in
}

// shelved is where one document's gzip bytes are.
type shelved struct {
	sf  *shelfFile
	off int64
	n   int64
}

var shelf struct {
	mu     sync.Mutex
	cur    *shelfFile
	end    int64 // the next free page boundary of cur
	broken bool  // hole punching failed: documents stay in memory
}

// pages rounds n up to whole pages.
func pages(n int64) int64 { return (n + shelfPage - 1) / shelfPage * shelfPage }

// shelve writes gz to the shelf and ties its release to d. It reports
// false, leaving d alone, when the document should stay in memory.
func shelve(d *Doc, gz []byte) bool {
	if len(gz) < shelfMin {
		return false
	}
	n := int64(len(gz))
	dir := currentSpillDir()
	shelf.mu.Lock()
	if shelf.broken || dir == "" {
		shelf.mu.Unlock()
		return false
	}
	if shelf.cur == nil || shelf.cur.dir != dir {
		f, err := newSpillFile(dir)
		if err == nil && punchHole(f, 0, shelfPage) != nil {
			f.Close()
			shelf.broken = true // would only grow: keep documents in memory
			err = os.ErrInvalid
		}
		if err != nil {
			shelf.mu.Unlock()
			return false
		}
		// the file stays open while a shelved document refers to it
		sf := &shelfFile{f: f, dir: dir}
		runtime.AddCleanup(sf, func(f *os.File) { f.Close() }, f)
		shelf.cur, shelf.end = sf, 0
	}
	s := shelved{sf: shelf.cur, off: shelf.end, n: n}
	shelf.end += pages(n)
	shelf.mu.Unlock()
	if _, err := s.sf.f.WriteAt(gz, s.off); err != nil {
		s.release() // a full disk: the document stays in memory
		return false
	}
	d.shelf = &s
	runtime.AddCleanup(d, shelved.release, s)
	return true
}

// release frees the document's pages (in the page cache and on disk).
func (s shelved) release() { punchHole(s.sf.f, s.off, pages(s.n)) }

// section reads the gzip bytes; many may read at once (ReadAt).
func (s *shelved) section() *io.SectionReader { return io.NewSectionReader(s.sf.f, s.off, s.n) }

// copyBufs holds the buffers responses from the shelf are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// send writes the gzip bytes; the caller has written the header.
func (s *shelved) send(c echo.Context) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	_, err := io.CopyBuffer(struct{ io.Writer }{c.Response()}, s.section(), *bp)
	return err
}
