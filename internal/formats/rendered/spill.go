package rendered

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
)

var (
	spillMu  sync.Mutex
	spillDir string // where big documents go; "" keeps them in memory
)

// spilled is a document kept gzip-compressed in an unlinked file: nothing
// is left on disk when the process ends, however it ends.
type spilled struct {
	f      *os.File
	size   int64 // of the document
	gzSize int64 // of the file
}

// spill writes body gzip-compressed to an unlinked file in the spill
// directory.
func spill(body []byte) (*spilled, error) {
	spillMu.Lock()
	dir := spillDir
	spillMu.Unlock()
	if dir == "" {
		return nil, errors.New("rendered: no spill directory")
	}
	f, err := os.CreateTemp(dir, "doc-*.gz")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file stays readable; the name goes now
	bw := bufio.NewWriterSize(f, 64<<10)
	zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if _, err = zw.Write(body); err == nil {
		if err = zw.Close(); err == nil {
			err = bw.Flush()
		}
	}
	var n int64
	if err == nil {
		n, err = f.Seek(0, io.SeekCurrent)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &spilled{f: f, size: int64(len(body)), gzSize: n}, nil
}

// section reads the gzip bytes; many may read at once (ReadAt).
func (s *spilled) section() *io.SectionReader { return io.NewSectionReader(s.f, 0, s.gzSize) }

// identity reads the document decompressed.
func (s *spilled) identity() io.Reader {
	zr, err := gzip.NewReader(s.section())
	if err != nil {
		return errReader{err}
	}
	return zr
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// serve writes the status line and the body, gzip-compressed or not; the
// caller has set the other headers. The gzip bytes go out with sendfile
// through a second open file description of the same file (its own
// offset), where /proc/self/fd allows it.
func (s *spilled) serve(c echo.Context, contentType string, gz bool) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	n := s.size
	if gz {
		n = s.gzSize
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	if !gz {
		_, err := io.Copy(c.Response(), s.identity())
		return err
	}
	if f, err := os.Open("/proc/self/fd/" + strconv.FormatUint(uint64(s.f.Fd()), 10)); err == nil {
		defer f.Close()
		_, err = sendfileWriter{c.Response()}.ReadFrom(io.LimitReader(f, s.gzSize))
		return err
	}
	_, err := io.Copy(struct{ io.Writer }{c.Response()}, s.section())
	return err
}
