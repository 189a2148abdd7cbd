package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Persister keeps metadata documents across restarts, so a restarted
// registry can serve stale copies while its upstream is down. Only
// documents are kept (never negative entries or stale marks); a copy read
// back is revalidated once its FetchedAt is older than the TTL.
type Persister interface {
	// Load returns the document saved under upstream and key, or an error
	// wrapping domain.ErrNotFound.
	Load(ctx context.Context, upstream, key string) (Doc, error)
	// Save replaces the document saved under upstream and key, atomically.
	Save(ctx context.Context, upstream, key string, d Doc) error
	// Delete forgets it; deleting a missing document succeeds.
	Delete(ctx context.Context, upstream, key string) error
}

// DiskCache is a Persister keeping one file per document in a directory:
//
//	<dir>/
//	└── 3f/                first two hex digits of the name
//	    ├── 3fa9…c1        sha256(upstream + "\x00" + key), lowercase hex:
//	    │                  one JSON header line, then the body bytes
//	    └── .tmp-*         a save in progress (garbage after a crash)
//
// Writes go to a temporary file renamed into place, so a reader sees a
// whole old or whole new file. The header records the body's size; a file
// cut short by a crash reads as missing. Files are not fsynced: this is a
// cache, losing it costs refetches only.
type DiskCache struct {
	dir string
}

var _ Persister = (*DiskCache)(nil)

// NewDiskCache returns a DiskCache in dir, creating it if needed.
func NewDiskCache(dir string) (*DiskCache, error) {
	if dir == "" {
		return nil, domain.Invalid("upstream: disk cache directory is empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("upstream: disk cache: %w", err)
	}
	return &DiskCache{dir: dir}, nil
}

// diskHeader is the first line of a cache file.
type diskHeader struct {
	Upstream     string    `json:"upstream"`
	Key          string    `json:"key"`
	ContentType  string    `json:"contentType,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	FetchedAt    time.Time `json:"fetchedAt"`
	Status       int       `json:"status"`
	Size         int64     `json:"size"`
}

func (d *DiskCache) path(upstream, key string) string {
	sum := sha256.Sum256([]byte(upstream + "\x00" + key))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, name[:2], name)
}

// Load implements Persister.
func (d *DiskCache) Load(ctx context.Context, upstream, key string) (Doc, error) {
	b, err := os.ReadFile(d.path(upstream, key))
	if errors.Is(err, fs.ErrNotExist) {
		return Doc{}, domain.NotFound("cached document", key)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("upstream: disk cache: %w", err)
	}
	line, body, ok := bytes.Cut(b, []byte{'\n'})
	var h diskHeader
	if !ok || json.Unmarshal(line, &h) != nil || h.Upstream != upstream || h.Key != key || h.Size != int64(len(body)) {
		return Doc{}, domain.NotFound("cached document", key) // torn or foreign: as if absent
	}
	return Doc{
		Body:         body,
		ContentType:  h.ContentType,
		ETag:         h.ETag,
		LastModified: h.LastModified,
		FetchedAt:    h.FetchedAt,
		Status:       h.Status,
	}, nil
}

// sectionOpener is implemented by Persisters that can hand out a
// document's body as a range of a file (DiskCache).
type sectionOpener interface {
	OpenSection(ctx context.Context, upstream, key string) (*Section, Doc, error)
}

// OpenSection opens the body of a cached document as a range of its file,
// checked as Load checks it, and returns the document's other fields (Body
// left nil); domain.ErrNotFound if absent or torn.
func (d *DiskCache) OpenSection(ctx context.Context, upstream, key string) (*Section, Doc, error) {
	f, err := os.Open(d.path(upstream, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Doc{}, domain.NotFound("cached document", key)
	}
	if err != nil {
		return nil, Doc{}, fmt.Errorf("upstream: disk cache: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Doc{}, fmt.Errorf("upstream: disk cache: %w", err)
	}
	line, err := bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()), 4096).ReadSlice('\n')
	var h diskHeader
	if err != nil || json.Unmarshal(line, &h) != nil || h.Upstream != upstream || h.Key != key || h.Size != fi.Size()-int64(len(line)) {
		f.Close()
		return nil, Doc{}, domain.NotFound("cached document", key) // torn or foreign: as if absent
	}
	sec := &Section{SectionReader: io.NewSectionReader(f, int64(len(line)), h.Size), close: f.Close}
	return sec, Doc{ContentType: h.ContentType, ETag: h.ETag, LastModified: h.LastModified, FetchedAt: h.FetchedAt, Status: h.Status}, nil
}

// Save implements Persister.
func (d *DiskCache) Save(ctx context.Context, upstream, key string, doc Doc) error {
	_, err := d.SaveFrom(ctx, upstream, key, doc, bytes.NewReader(doc.Body), int64(len(doc.Body)))
	return err
}

// bodySaver is implemented by Persisters that can save a body as it is
// read (DiskCache), so a big document is never held in memory.
type bodySaver interface {
	SaveFrom(ctx context.Context, upstream, key string, doc Doc, body io.Reader, limit int64) (int64, error)
}

// headerRoom is the room a header line keeps for its size's digits, so
// the header can be written after a body of unknown length.
const headerRoom = 20

// SaveFrom is Save of doc with its body read from body (doc.Body is not
// used): the bytes go to the file as they come, and the header, padded to
// a size fixed before the body, is written last. A body longer than limit
// saves nothing and fails with an error wrapping ErrUpstreamUnavailable;
// so does a failing body or file, with its error. It returns the body's
// size.
func (d *DiskCache) SaveFrom(ctx context.Context, upstream, key string, doc Doc, body io.Reader, limit int64) (int64, error) {
	p := d.path(upstream, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, fmt.Errorf("upstream: disk cache: %w", err)
	}
	h := diskHeader{
		Upstream: upstream, Key: key, ContentType: doc.ContentType, ETag: doc.ETag,
		LastModified: doc.LastModified, FetchedAt: doc.FetchedAt, Status: doc.Status,
	}
	line, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("upstream: disk cache: %w", err)
	}
	room := int64(len(line)) + headerRoom + 1 // the size's digits, then '\n'
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("upstream: disk cache: %w", err)
	}
	n, err := io.Copy(io.NewOffsetWriter(f, room), io.LimitReader(body, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("document exceeds the %d byte limit", limit)
	}
	if err == nil {
		h.Size = n
		if line, err = json.Marshal(h); err == nil {
			// JSON allows the spaces that pad the line to its room
			line = append(append(line, bytes.Repeat([]byte{' '}, int(room)-1-len(line))...), '\n')
			_, err = f.WriteAt(line, 0)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, fmt.Errorf("upstream: disk cache: %v: %w", err, ErrUpstreamUnavailable)
	}
	return n, nil
}

// Delete implements Persister.
func (d *DiskCache) Delete(ctx context.Context, upstream, key string) error {
	err := os.Remove(d.path(upstream, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upstream: disk cache: %w", err)
	}
	return nil
}
