// Package s3 is the blob.Store on an S3 service (AWS S3, MinIO, any
// S3-compatible server) through minio-go. A blob is uploaded to a temporary
// key while it is hashed, verified, then copied server-side to its final
// key, so a blob is either absent or complete.
//
// This file owns the key layout inside the bucket:
//
//	<prefix>blobs/sha256/<first 2 hex>/<digest>   committed blobs, named by their
//	                                              lowercase hex sha256
//	<prefix>tmp/<random>                          in-flight uploads (crypto/rand.Text);
//	                                              anything here after a crash is
//	                                              garbage, removed by Store.CleanTemp
//
// Prefix is empty or ends with "/" (Config.Prefix is normalised), so several
// stores can share a bucket. Nothing else is written under prefix. The tree
// under blobs/ is the one blob/fs keeps under its root, so a store moves
// between backends with ordinary tools (aws s3 sync <root>/sha256
// s3://<bucket>/<prefix>blobs/sha256).
//
// The package imports the standard library, minio-go, internal/blob and
// internal/domain.
package s3

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

const (
	blobsDir = "blobs/sha256/"
	tempDir  = "tmp/"
)

// blobsPrefix is the key prefix of every committed blob.
func (s *Store) blobsPrefix() string { return s.prefix + blobsDir }

// tempPrefix is the key prefix of every in-flight upload.
func (s *Store) tempPrefix() string { return s.prefix + tempDir }

// blobKey is the key of the blob named digest, which must be valid.
func (s *Store) blobKey(digest string) string {
	return s.prefix + blobsDir + digest[:2] + "/" + digest
}

// tempKey returns a fresh key for an in-flight upload.
func (s *Store) tempKey() string {
	return s.prefix + tempDir + rand.Text()
}

// digestOf returns the digest a listed key names, or false if the key is
// not a blob of the layout.
func (s *Store) digestOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, s.prefix+blobsDir)
	if !ok {
		return "", false
	}
	shard, digest, ok := strings.Cut(rest, "/")
	if !ok || !blob.ValidDigest(digest) || shard != digest[:2] {
		return "", false
	}
	return digest, true
}

// checkDigest rejects any name that is not a lowercase hex sha256, so no
// argument can reach outside the layout above.
func checkDigest(op, digest string) error {
	if !blob.ValidDigest(digest) {
		return fmt.Errorf("blob/s3: %s: %w", op, domain.Invalid("blob digest %.80q is not a lowercase hex sha256", digest))
	}
	return nil
}
