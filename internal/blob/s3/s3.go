package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

var _ blob.Store = (*Store)(nil)

// Config says where a Store keeps its blobs.
type Config struct {
	Endpoint  string // host[:port] of the S3 service, without a scheme: "s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
	Region    string // bucket region; empty lets the client discover it
	Bucket    string // bucket name
	Prefix    string // key prefix shared by every key; "/" is appended if missing
	AccessKey string // static credentials; both empty means the host's IAM role (EC2, ECS, EKS)
	SecretKey string
	UseSSL    bool // https instead of http
	// CreateBucket creates the bucket if it does not exist; otherwise a
	// missing bucket is an error from New.
	CreateBucket bool
}

// validate reports every problem of c at once, each wrapping
// domain.ErrInvalid.
func (c Config) validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, domain.Invalid("s3 endpoint is empty"))
	} else if strings.Contains(c.Endpoint, "://") || strings.Contains(c.Endpoint, "/") {
		errs = append(errs, domain.Invalid("s3 endpoint %q must be host[:port], without scheme or path (use UseSSL for https)", c.Endpoint))
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		errs = append(errs, domain.Invalid("s3 bucket %q: %v", c.Bucket, err))
	}
	if strings.HasPrefix(c.Prefix, "/") {
		errs = append(errs, domain.Invalid("s3 prefix %q must not start with /", c.Prefix))
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, domain.Invalid("s3 access key and secret key must be set together (or both left empty for an IAM role)"))
	}
	return errors.Join(errs...)
}

// Store is a blob.Store in an S3 bucket. It is safe for concurrent use,
// also by several processes sharing the bucket and prefix.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

// New connects to the S3 service of cfg and checks that the bucket exists
// (creating it when cfg.CreateBucket is set). An invalid cfg is an error
// wrapping domain.ErrInvalid listing every problem; a missing bucket one
// wrapping domain.ErrNotFound.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("blob/s3: new: %w", err)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewIAM("")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.UseSSL, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("blob/s3: new: %w", err)
	}
	prefix := cfg.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: prefix}
	if err := s.ensureBucket(ctx, cfg); err != nil {
		return nil, fmt.Errorf("blob/s3: new: %w", err)
	}
	return s, nil
}

func (s *Store) ensureBucket(ctx context.Context, cfg Config) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("bucket %s on %s: %w", s.bucket, cfg.Endpoint, err)
	}
	if ok {
		return nil
	}
	if !cfg.CreateBucket {
		return domain.Errorf(domain.ErrNotFound, "s3 bucket %s does not exist on %s (create it, or set CreateBucket)", s.bucket, cfg.Endpoint)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if errCode(err) == minio.BucketAlreadyOwnedByYou {
		err = nil // created concurrently by another instance
	}
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Stat returns the size and modification time of the blob named digest,
// an error wrapping domain.ErrNotFound if there is none, or one wrapping
// domain.ErrInvalid if digest is not a lowercase hex sha256.
func (s *Store) Stat(ctx context.Context, digest string) (blob.Info, error) {
	if err := checkDigest("stat", digest); err != nil {
		return blob.Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.blobKey(digest), minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/s3: stat %s: %w", digest, notFound(digest, err))
	}
	return blob.Info{Digest: digest, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Open returns the blob named digest for reading, and its Info. Reads and
// seeks issue ranged GETs bound to ctx, so the reader is only usable while
// ctx is; the caller must close it. Errors are as for Stat.
func (s *Store) Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error) {
	if err := checkDigest("open", digest); err != nil {
		return nil, blob.Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.blobKey(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, blob.Info{}, fmt.Errorf("blob/s3: open %s: %w", digest, err)
	}
	oi, err := obj.Stat() // GetObject is lazy: this is the first request
	if err != nil {
		obj.Close()
		return nil, blob.Info{}, fmt.Errorf("blob/s3: open %s: %w", digest, notFound(digest, err))
	}
	return obj, blob.Info{Digest: digest, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Delete removes the blob named digest. Deleting a missing blob succeeds;
// an invalid digest is an error wrapping domain.ErrInvalid.
func (s *Store) Delete(ctx context.Context, digest string) error {
	if err := checkDigest("delete", digest); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.blobKey(digest), minio.RemoveObjectOptions{})
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("blob/s3: delete %s: %w", digest, err)
	}
	return nil
}

// Walk calls fn for every committed blob, in key order, and returns the
// first error fn returns (wrapped) or the listing's error. Keys under the
// prefix that are not blobs of the layout are skipped. Blobs put or deleted
// during the walk may or may not be visited.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the lister when fn fails
	defer cancel()
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.blobsPrefix(), Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("blob/s3: walk: %w", oi.Err)
		}
		digest, ok := s.digestOf(oi.Key)
		if !ok {
			continue
		}
		if err := fn(blob.Info{Digest: digest, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return fmt.Errorf("blob/s3: walk: %w", err)
		}
	}
	return nil
}

// CleanTemp removes temporary objects and abandoned multipart uploads of
// puts that started more than olderThan ago: leftovers of a crash or kill.
// olderThan must exceed the longest upload expected (an hour is safe for
// package files).
func (s *Store) CleanTemp(ctx context.Context, olderThan time.Duration) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listers on an error
	defer cancel()
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.tempPrefix(), Recursive: true}) {
		if oi.Err != nil {
			errs = append(errs, oi.Err)
			break
		}
		if oi.LastModified.After(cutoff) {
			continue
		}
		if err := s.client.RemoveObject(ctx, s.bucket, oi.Key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
			errs = append(errs, err)
		}
	}
	// MinIO lists uploads by exact key or for the whole bucket, not by a
	// key prefix, so list them all and filter.
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err != nil {
			errs = append(errs, up.Err)
			break
		}
		if !strings.HasPrefix(up.Key, s.tempPrefix()) || up.Initiated.After(cutoff) {
			continue
		}
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil && !isNoSuchKey(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("blob/s3: clean temp: %w", err)
	}
	return nil
}

// errCode returns the S3 error code err carries, or "".
func errCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// isNoSuchKey reports whether err is S3's answer for a missing object or
// multipart upload.
func isNoSuchKey(err error) bool {
	code := errCode(err)
	return code == minio.NoSuchKey || code == minio.NoSuchUpload
}

// notFound turns S3's missing object into the domain's not-found error.
func notFound(digest string, err error) error {
	if isNoSuchKey(err) {
		return domain.NotFound("blob", digest)
	}
	return err
}
