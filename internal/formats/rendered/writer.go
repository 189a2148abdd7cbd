package rendered

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"runtime"
)

// Writer renders a Doc as it is written: the bytes are hashed for the
// entity tag and gzip-compressed on the way, and never held whole. Once
// more than a sixteenth of the cache budget has been written, the gzip
// stream moves from memory to an unlinked file in the spill directory (see
// Configure), so rendering a document of any size holds only the
// compressor's window. It implements io.Writer, io.StringWriter and
// io.ByteWriter; it is not safe for concurrent use.
type Writer struct {
	*bufio.Writer // in front of tee, so small writes cost a copy
	tee           tee
	zw            *gzip.Writer
}

// tee counts and hashes the document and feeds the compressor.
type tee struct {
	n     int64
	limit int64 // above it the gzip stream moves to a file
	sum   hash.Hash
	zw    io.Writer
	sink  *sink
}

func (t *tee) Write(p []byte) (int, error) {
	t.n += int64(len(p))
	t.sum.Write(p)
	if t.n > t.limit && t.sink.file == nil {
		t.sink.spill() // on failure the document stays in memory
	}
	return t.zw.Write(p)
}

// sink receives the gzip stream: memory, then perhaps a file.
type sink struct {
	mem  bytes.Buffer
	file *os.File
	bw   *bufio.Writer
	err  error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.bw != nil {
		n, err := s.bw.Write(p)
		s.err = err
		return n, err
	}
	return s.mem.Write(p)
}

// spill moves what is buffered to a new spill file and sends the rest of
// the stream there.
func (s *sink) spill() {
	f, err := newSpillFile(currentSpillDir())
	if err != nil {
		return
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if _, err := bw.Write(s.mem.Bytes()); err != nil {
		f.Close()
		return
	}
	s.file, s.bw = f, bw
	s.mem = bytes.Buffer{}
}

// NewWriter returns a Writer for one document.
func NewWriter() *Writer { return newWriter(largeThreshold()) }

// newWriter returns a Writer that spills after limit bytes.
func newWriter(limit int64) *Writer {
	w := &Writer{}
	w.tee = tee{limit: limit, sum: sha256.New(), sink: &sink{}}
	w.zw, _ = gzip.NewWriterLevel(w.tee.sink, gzip.DefaultCompression)
	w.tee.zw = w.zw
	w.Writer = bufio.NewWriterSize(&w.tee, 32<<10)
	return w
}

// Doc finishes the document. It fails only when the spill file could not
// be written (the document is incomplete, and nothing of it is kept).
func (w *Writer) Doc() (*Doc, error) {
	w.Flush()
	w.zw.Close()
	s := w.tee.sink
	tag := hex.EncodeToString(w.tee.sum.Sum(nil)[:16])
	if s.file == nil {
		d := &Doc{size: w.tee.n, tag: tag}
		if !shelve(d, s.mem.Bytes()) {
			d.gz = bytes.Clone(s.mem.Bytes()) // exact size: the buffer grew by doubling
		}
		return d, nil
	}
	err := s.err
	if err == nil {
		err = s.bw.Flush()
	}
	var n int64
	if err == nil {
		n, err = s.file.Seek(0, io.SeekCurrent)
	}
	if err != nil {
		s.file.Close()
		return nil, err
	}
	d := &Doc{size: w.tee.n, tag: tag, file: &spilled{f: s.file, size: w.tee.n, gzSize: n}}
	runtime.AddCleanup(d, func(f *os.File) { f.Close() }, s.file)
	return d, nil
}
