package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/blob"
)

// copyBufSize is the chunk Put reads and writes at a time; larger than
// io.Copy's 32 KiB default to cut syscalls on big blobs.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Put reads r to EOF into a temporary file while hashing it, fsyncs it,
// checks its sha256 against want (if want is not empty) and renames it into
// place, then fsyncs the directory: once Put returns, the blob survives a
// crash. On a mismatch nothing is committed and the error wraps
// blob.ErrDigestMismatch; a want that is not a lowercase hex sha256 is an
// error wrapping domain.ErrInvalid. If ctx is cancelled before the blob is
// committed, nothing is committed and the error wraps ctx.Err(). Putting a
// blob that exists succeeds, leaves its bytes untouched and sets its ModTime
// to now, so a garbage collector sparing young blobs spares it too.
func (s *Store) Put(ctx context.Context, r io.Reader, want string) (blob.Put, error) {
	if want != "" {
		if err := checkDigest("put", want); err != nil {
			return blob.Put{}, err
		}
		if s.touch(want) == nil {
			// Already stored: the caller still needs every digest of r and
			// proof that r matches, but nothing needs writing.
			return s.verifyOnly(ctx, r, want)
		}
	}

	f, err := os.CreateTemp(s.tempRoot(), tempPattern)
	if err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	h := blob.NewHasher()
	if _, err := copyCtx(ctx, io.MultiWriter(f, h), r); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	if err := f.Close(); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	p := h.Result()
	digest := p.Hashes.SHA256
	if want != "" && digest != want {
		return blob.Put{}, fmt.Errorf("blob/fs: put: got sha256 %s, want %s: %w", digest, want, blob.ErrDigestMismatch)
	}
	if err := ctx.Err(); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put %s: %w", digest, err)
	}
	if err := os.Chmod(tmp, blobMode); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put %s: %w", digest, err)
	}

	if s.touch(digest) == nil {
		return p, nil // identical bytes already committed; the deferred cleanup drops tmp
	}
	if err := s.ensureShard(digest); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put %s: %w", digest, err)
	}
	// A concurrent Put of the same bytes may rename first; rename replaces
	// its file atomically with identical content, so either order is fine.
	if err := os.Rename(tmp, s.blobPath(digest)); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put %s: %w", digest, err)
	}
	committed = true
	if err := syncDir(s.shardDir(digest)); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put %s: %w", digest, err)
	}
	return p, nil
}

// verifyOnly hashes r without storing it, for a blob that already exists.
func (s *Store) verifyOnly(ctx context.Context, r io.Reader, want string) (blob.Put, error) {
	h := blob.NewHasher()
	if _, err := copyCtx(ctx, h, r); err != nil {
		return blob.Put{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	p := h.Result()
	if p.Hashes.SHA256 != want {
		return blob.Put{}, fmt.Errorf("blob/fs: put: got sha256 %s, want %s: %w", p.Hashes.SHA256, want, blob.ErrDigestMismatch)
	}
	return p, nil
}

// touch sets the ModTime of the blob named digest to now; it fails if the
// blob does not exist.
func (s *Store) touch(digest string) error {
	return os.Chtimes(s.blobPath(digest), time.Time{}, time.Now())
}

// ensureShard creates the shard directory of digest if needed and makes its
// entry in sha256/ durable.
func (s *Store) ensureShard(digest string) error {
	err := os.Mkdir(s.shardDir(digest), dirMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(s.blobsRoot())
}

// copyCtx copies r to w, giving up with ctx's error once ctx is done.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := io.CopyBuffer(w, blob.ContextReader(ctx, r), *bp)
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}
