// Package blob stores content-addressed bytes: every blob is named by the
// lowercase hex sha256 of its content and is written once, atomically,
// whatever the backend (local filesystem or S3).
//
// Backends live in subpackages (blob/fs, blob/s3); blob/blobtest is the
// conformance suite every backend passes. This package imports only the
// standard library and internal/domain.
package blob

import (
	"context"
	"errors"
	"io"
	"regexp"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Info describes a committed blob.
type Info struct {
	Digest  string // lowercase hex sha256
	Size    int64
	ModTime time.Time
}

// Put is the result of a successful Put: the blob's size and every digest
// the registry serves (md5, sha1, sha256, sha512).
type Put struct {
	Size   int64
	Hashes domain.Hashes
}

// ReadSeekCloser is what Open returns: seekable so HTTP range requests and
// sendfile work.
type ReadSeekCloser interface {
	io.ReadSeeker
	io.Closer
}

// Store is a content-addressed blob store.
//
// Put reads r to EOF while hashing it; when want is non-empty the sha256
// must equal it or nothing is committed and the error wraps
// ErrDigestMismatch. A committed blob is durable (survives kill -9 and power
// loss of the host once Put returns). Putting bytes that already exist is
// cheap and succeeds. Stat and Open return an error wrapping
// domain.ErrNotFound for a missing blob; Delete of a missing blob succeeds.
// Walk visits every committed blob (in no particular order) and stops at the
// first error fn returns.
type Store interface {
	Put(ctx context.Context, r io.Reader, want string) (Put, error)
	Stat(ctx context.Context, digest string) (Info, error)
	Open(ctx context.Context, digest string) (ReadSeekCloser, Info, error)
	Delete(ctx context.Context, digest string) error
	Walk(ctx context.Context, fn func(Info) error) error
}

// TempCleaner is implemented by stores that keep temporary objects for
// puts in flight: CleanTemp removes those last written more than olderThan
// ago (leftovers of a crash).
type TempCleaner interface {
	CleanTemp(ctx context.Context, olderThan time.Duration) error
}

// ErrDigestMismatch is wrapped by Put when the content does not hash to the
// expected digest. It also wraps domain.ErrInvalid.
var ErrDigestMismatch = &domain.Error{Kind: domain.ErrInvalid, Msg: "content does not match the expected sha256"}

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidDigest reports whether d is a lowercase hex sha256, the only form
// backends accept as a name (so no digest can escape the store's layout).
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// IsNotFound reports whether err says a blob does not exist.
func IsNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }
