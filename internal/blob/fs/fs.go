package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

var _ blob.Store = (*Store)(nil)

// Store is a blob.Store on a local filesystem. It is safe for concurrent
// use, also by several processes sharing the same root.
type Store struct {
	root string
}

// New returns a Store rooted at root, creating root, root/sha256 and
// root/tmp if they do not exist. Nothing else in root is touched; stale
// temporary files are removed only by CleanTemp.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("blob/fs: new: %w", domain.Invalid("blob store root directory is empty"))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob/fs: new: %w", err)
	}
	s := &Store{root: abs}
	for _, dir := range []string{s.blobsRoot(), s.tempRoot()} {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("blob/fs: new: %w", err)
		}
	}
	if err := syncDir(abs); err != nil {
		return nil, fmt.Errorf("blob/fs: new: %w", err)
	}
	return s, nil
}

// Root returns the absolute directory the store was opened on.
func (s *Store) Root() string { return s.root }

// Stat returns the size and modification time of the blob named digest,
// an error wrapping domain.ErrNotFound if there is none, or one wrapping
// domain.ErrInvalid if digest is not a lowercase hex sha256.
func (s *Store) Stat(ctx context.Context, digest string) (blob.Info, error) {
	if err := checkDigest("stat", digest); err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(s.blobPath(digest))
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/fs: stat %s: %w", digest, notFound(digest, err))
	}
	return info(digest, fi), nil
}

// Open returns the blob named digest for reading, and its Info. The reader
// is an *os.File, so net/http can serve it with sendfile; the caller must
// close it. A blob deleted while open stays readable until closed. Errors
// are as for Stat.
func (s *Store) Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error) {
	if err := checkDigest("open", digest); err != nil {
		return nil, blob.Info{}, err
	}
	f, err := os.Open(s.blobPath(digest))
	if err != nil {
		return nil, blob.Info{}, fmt.Errorf("blob/fs: open %s: %w", digest, notFound(digest, err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blob.Info{}, fmt.Errorf("blob/fs: open %s: %w", digest, err)
	}
	return f, info(digest, fi), nil
}

// Delete removes the blob named digest durably. Deleting a missing blob
// succeeds; an invalid digest is an error wrapping domain.ErrInvalid.
// Readers that already opened the blob keep reading it.
func (s *Store) Delete(ctx context.Context, digest string) error {
	if err := checkDigest("delete", digest); err != nil {
		return err
	}
	err := os.Remove(s.blobPath(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob/fs: delete %s: %w", digest, err)
	}
	if err := syncDir(s.shardDir(digest)); err != nil {
		return fmt.Errorf("blob/fs: delete %s: %w", digest, err)
	}
	return nil
}

// Walk calls fn for every committed blob, in no particular order, and
// returns the first error fn returns (wrapped) or ctx's error if it is
// cancelled. Files under root that are not blobs of the layout (in tmp/,
// stray names) are skipped. Blobs put or deleted during the walk may or may
// not be visited.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	root := s.blobsRoot()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != root {
				return nil // removed under us
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		shard, name := filepath.Split(rel)
		if d.IsDir() {
			if shard != "" || len(name) != 2 {
				return fs.SkipDir // not a shard directory of the layout
			}
			return nil
		}
		if !d.Type().IsRegular() || !blob.ValidDigest(name) || shard != name[:2]+string(filepath.Separator) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted under us
		}
		if err != nil {
			return err
		}
		return fn(info(name, fi))
	})
	if err != nil {
		return fmt.Errorf("blob/fs: walk: %w", err)
	}
	return nil
}

// CleanTemp removes temporary files of puts that were last written more
// than olderThan ago: leftovers of a crash or kill. A put in progress
// rewrites its file continually, so an olderThan well above the slowest
// expected client pause (say an hour) never removes live work.
func (s *Store) CleanTemp(_ context.Context, olderThan time.Duration) error {
	entries, err := os.ReadDir(s.tempRoot())
	if err != nil {
		return fmt.Errorf("blob/fs: clean temp: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.tempRoot(), e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("blob/fs: clean temp: %w", err)
	}
	return nil
}

func info(digest string, fi fs.FileInfo) blob.Info {
	return blob.Info{Digest: digest, Size: fi.Size(), ModTime: fi.ModTime()}
}

// notFound turns a missing file into the domain's not-found error.
func notFound(digest string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return domain.NotFound("blob", digest)
	}
	return err
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
