package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/artifactd/registry/internal/blob"
)

const (
	// smallSize is the largest body sent as one PUT of known length; larger
	// bodies stream as a multipart upload.
	smallSize = 1 << 20
	// partSize is what minio-go buffers and sends at a time when streaming:
	// the memory one large Put holds. S3's 10,000 parts cap a blob at
	// 156 GiB. (Left at 0, minio-go would buffer 537 MiB parts.)
	partSize = 16 << 20
	// maxCopySize is the largest object a single CopyObject may copy; above
	// it a multipart copy is needed.
	maxCopySize = 5 << 30
	// cleanupTimeout bounds removing a temporary object, which happens even
	// when the caller's context is cancelled.
	cleanupTimeout = time.Minute
	contentType    = "application/octet-stream"
)

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallSize); return &b }}

// Put streams r to a temporary object while hashing it, checks its sha256
// against want (if want is not empty), then copies it server-side to the
// blob's key and removes the temporary object. About partSize (16 MiB) of
// r is held in memory at a time. On a mismatch nothing is committed and
// the error wraps blob.ErrDigestMismatch; a want that is not a lowercase
// hex sha256 is an error wrapping domain.ErrInvalid. A cancelled ctx fails
// Put with an error wrapping ctx.Err(), and nothing is committed unless the
// cancellation came during the final server-side copy (which copies only
// verified bytes). Putting a blob that exists succeeds and sets its ModTime
// to now, so a garbage collector sparing young blobs spares it too.
func (s *Store) Put(ctx context.Context, r io.Reader, want string) (blob.Put, error) {
	if want != "" {
		if err := checkDigest("put", want); err != nil {
			return blob.Put{}, err
		}
		oi, err := s.client.StatObject(ctx, s.bucket, s.blobKey(want), minio.StatObjectOptions{})
		if err != nil && !isNoSuchKey(err) {
			return blob.Put{}, putErr(ctx, err)
		}
		if err == nil {
			err = s.copy(ctx, s.blobKey(want), s.blobKey(want), oi.Size) // refresh ModTime
			if err == nil {
				// Already stored: the caller still needs every digest of r
				// and proof that r matches, but nothing needs uploading.
				return verifyOnly(ctx, r, want)
			}
			if !isNoSuchKey(err) {
				return blob.Put{}, putErr(ctx, err)
			}
			// Deleted meanwhile: upload after all.
		}
	}

	h := blob.NewHasher()
	tmp := s.tempKey()
	defer s.removeTemp(ctx, tmp)
	if err := s.upload(ctx, tmp, io.TeeReader(blob.ContextReader(ctx, r), h)); err != nil {
		return blob.Put{}, putErr(ctx, err)
	}
	p := h.Result()
	digest := p.Hashes.SHA256
	if want != "" && digest != want {
		return blob.Put{}, fmt.Errorf("blob/s3: put: got sha256 %s, want %s: %w", digest, want, blob.ErrDigestMismatch)
	}
	if err := ctx.Err(); err != nil {
		return blob.Put{}, fmt.Errorf("blob/s3: put %s: %w", digest, err)
	}
	// Refresh the blob if it exists (identical bytes), else copy it in.
	// Concurrent Puts of the same bytes may both copy; the content is the
	// same whichever lands last.
	final := s.blobKey(digest)
	err := s.copy(ctx, final, final, p.Size)
	if isNoSuchKey(err) {
		err = s.copy(ctx, tmp, final, p.Size)
	}
	if err != nil {
		return blob.Put{}, fmt.Errorf("blob/s3: put %s: %w", digest, withCtx(ctx, err))
	}
	return p, nil
}

// upload writes body to key: one PUT if it is small, else a multipart
// upload of partSize parts (aborted by minio-go on failure).
func (s *Store) upload(ctx context.Context, key string, body io.Reader) error {
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	buf := *bp
	opts := minio.PutObjectOptions{ContentType: contentType}
	n, err := io.ReadFull(body, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		_, err = s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(buf[:n]), int64(n), opts)
		return err
	}
	if err != nil {
		return err
	}
	opts.PartSize = partSize
	_, err = s.client.PutObject(ctx, s.bucket, key, io.MultiReader(bytes.NewReader(buf), body), -1, opts)
	return err
}

// copy copies src to dst server-side, replacing dst's metadata so that its
// LastModified is now even when src and dst are the same key.
func (s *Store) copy(ctx context.Context, src, dst string, size int64) error {
	d := minio.CopyDestOptions{
		Bucket: s.bucket, Object: dst, ContentType: contentType,
		ReplaceMetadata: true, UserMetadata: map[string]string{"Stored": time.Now().UTC().Format(time.RFC3339Nano)},
	}
	from := minio.CopySrcOptions{Bucket: s.bucket, Object: src}
	var err error
	if size <= maxCopySize {
		_, err = s.client.CopyObject(ctx, d, from)
	} else {
		_, err = s.client.ComposeObject(ctx, d, from)
	}
	return err
}

// removeTemp deletes a temporary object, also after ctx is cancelled. A
// failure leaves garbage for CleanTemp, not an error for the caller.
func (s *Store) removeTemp(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

// verifyOnly hashes r without storing it, for a blob that already exists.
func verifyOnly(ctx context.Context, r io.Reader, want string) (blob.Put, error) {
	h := blob.NewHasher()
	if _, err := io.Copy(h, blob.ContextReader(ctx, r)); err != nil {
		return blob.Put{}, putErr(ctx, err)
	}
	p := h.Result()
	if p.Hashes.SHA256 != want {
		return blob.Put{}, fmt.Errorf("blob/s3: put: got sha256 %s, want %s: %w", p.Hashes.SHA256, want, blob.ErrDigestMismatch)
	}
	return p, nil
}

// putErr wraps err, and ctx's error when ctx is done, so callers can tell
// a cancelled Put with errors.Is whatever minio-go made of it.
func putErr(ctx context.Context, err error) error {
	return fmt.Errorf("blob/s3: put: %w", withCtx(ctx, err))
}

// withCtx adds ctx's error to err when ctx is done and err does not wrap it.
func withCtx(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
