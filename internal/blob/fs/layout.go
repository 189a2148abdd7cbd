// Package fs is the filesystem blob.Store: one file per blob under a root
// directory, written to a temporary file, fsynced, verified and renamed into
// place, so a blob is either absent or complete and durable.
//
// This file owns the on-disk layout:
//
//	<root>/
//	├── sha256/                  committed blobs, sharded by the first two hex digits
//	│   ├── 00/
//	│   │   └── 00a1…e9          a blob, named by its full lowercase hex sha256, mode 0644
//	│   └── ff/
//	└── tmp/                     in-flight writes (put-*); anything here after a crash
//	                             is garbage, removed by Store.CleanTemp
//
// Nothing else is created under root. Shard directories are never removed,
// so there are at most 256 of them. Temporary files live on the same
// filesystem as the blobs so that the final rename is atomic.
//
// The package imports only the standard library, internal/blob and
// internal/domain.
package fs

import (
	"fmt"
	"path/filepath"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

const (
	blobsDir = "sha256"
	tempDir  = "tmp"
	// tempPattern names in-flight files in tempDir (see os.CreateTemp).
	tempPattern = "put-*"
	// blobMode is the permission of a committed blob: world-readable so a
	// separate web server or backup job can serve or copy the tree.
	blobMode = 0o644
	dirMode  = 0o755
)

// blobsRoot is the directory holding the shard directories.
func (s *Store) blobsRoot() string { return filepath.Join(s.root, blobsDir) }

// tempRoot is the directory holding in-flight writes.
func (s *Store) tempRoot() string { return filepath.Join(s.root, tempDir) }

// shardDir is the directory holding the blob named digest, which must be
// valid (see checkDigest).
func (s *Store) shardDir(digest string) string {
	return filepath.Join(s.root, blobsDir, digest[:2])
}

// blobPath is the file of the blob named digest, which must be valid.
func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.root, blobsDir, digest[:2], digest)
}

// checkDigest rejects any name that is not a lowercase hex sha256, so no
// argument can reach outside the layout above.
func checkDigest(op, digest string) error {
	if !blob.ValidDigest(digest) {
		return fmt.Errorf("blob/fs: %s: %w", op, domain.Invalid("blob digest %.80q is not a lowercase hex sha256", digest))
	}
	return nil
}
