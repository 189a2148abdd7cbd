package rendered

import (
	"errors"
	"io"
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

// currentSpillDir returns the spill directory ("" for none).
func currentSpillDir() string {
	spillMu.Lock()
	defer spillMu.Unlock()
	return spillDir
}

// newSpillFile creates an unlinked file in dir, the spill directory.
func newSpillFile(dir string) (*os.File, error) {
	if dir == "" {
		return nil, errors.New("rendered: no spill directory")
	}
	f, err := os.CreateTemp(dir, "doc-*.gz")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file stays readable; the name goes now
	return f, nil
}

// section reads the gzip bytes; many may read at once (ReadAt).
func (s *spilled) section() *io.SectionReader { return io.NewSectionReader(s.f, 0, s.gzSize) }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// send writes the gzip bytes with sendfile through a second open file
// description of the same file (its own offset), where /proc/self/fd
// allows it; the caller has written the header.
func (s *spilled) send(c echo.Context) error {
	if f, err := os.Open("/proc/self/fd/" + strconv.FormatUint(uint64(s.f.Fd()), 10)); err == nil {
		defer f.Close()
		_, err = sendfileWriter{c.Response()}.ReadFrom(io.LimitReader(f, s.gzSize))
		return err
	}
	_, err := io.Copy(struct{ io.Writer }{c.Response()}, s.section())
	return err
}
