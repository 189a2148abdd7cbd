package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/blob/blobtest"
	"github.com/artifactd/registry/internal/blob/s3/miniotest"
	"github.com/artifactd/registry/internal/domain"
)

// server is one MinIO shared by the tests of a top-level test.
type server struct {
	endpoint, accessKey, secretKey string
	n                              atomic.Int64
}

func startServer(t *testing.T) *server {
	srv := &server{}
	srv.endpoint, srv.accessKey, srv.secretKey = miniotest.Start(t)
	return srv
}

func (srv *server) config(bucket, prefix string) Config {
	return Config{Endpoint: srv.endpoint, Bucket: bucket, Prefix: prefix,
		AccessKey: srv.accessKey, SecretKey: srv.secretKey, CreateBucket: true}
}

// newStore opens a store and fails the test if a put leaves a temporary
// object behind.
func (srv *server) newStore(t *testing.T, bucket, prefix string) *Store {
	t.Helper()
	s, err := New(t.Context(), srv.config(bucket, prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := s.tempObjects(t); len(left) > 0 {
			t.Errorf("objects left under %s: %v", s.tempPrefix(), left)
		}
	})
	return s
}

// tempObjects lists what is under the store's temporary prefix, including
// unfinished multipart uploads.
func (s *Store) tempObjects(t *testing.T) []string {
	ctx := context.Background() // also called from Cleanup, after t.Context ends
	var keys []string
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.tempPrefix(), Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		keys = append(keys, oi.Key)
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) { // see CleanTemp
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		if strings.HasPrefix(up.Key, s.tempPrefix()) {
			keys = append(keys, "upload:"+up.Key)
		}
	}
	return keys
}

// TestConformance gives every subtest a bucket of its own.
func TestConformance(t *testing.T) {
	srv := startServer(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return srv.newStore(t, fmt.Sprintf("conformance-%d", srv.n.Add(1)), "")
	})
}

// TestConformancePrefix runs every subtest in one bucket under a prefix
// of its own, while the subtests run in parallel: Walk must see only its
// prefix ("p1/" is not a prefix of "p10/").
func TestConformancePrefix(t *testing.T) {
	srv := startServer(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return srv.newStore(t, "shared", fmt.Sprintf("p%d", srv.n.Add(1)))
	})
}

func TestLayout(t *testing.T) {
	srv := startServer(t)
	s := srv.newStore(t, "layout", "registry/blobs-here")
	p, err := s.Put(t.Context(), strings.NewReader("hello"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Hashes.SHA256
	key := "registry/blobs-here/blobs/sha256/" + d[:2] + "/" + d
	if _, err := s.client.StatObject(t.Context(), "layout", key, minio.StatObjectOptions{}); err != nil {
		t.Errorf("blob not at key %s: %v", key, err)
	}
}

func TestNewBucket(t *testing.T) {
	srv := startServer(t)
	cfg := srv.config("missing", "")
	cfg.CreateBucket = false
	if _, err := New(t.Context(), cfg); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("New on a missing bucket without CreateBucket: error = %v; want domain.ErrNotFound", err)
	}
	cfg.CreateBucket = true
	for range 2 { // the second finds the bucket created by the first
		if _, err := New(t.Context(), cfg); err != nil {
			t.Fatalf("New with CreateBucket: %v", err)
		}
	}
	cfg.SecretKey = "wrong-secret"
	if _, err := New(t.Context(), cfg); err == nil {
		t.Error("New with a wrong secret key succeeded")
	}
}

func TestConfigInvalid(t *testing.T) {
	cases := map[string]Config{
		"no endpoint":   {Bucket: "b"},
		"scheme":        {Endpoint: "http://127.0.0.1:9000", Bucket: "b"},
		"no bucket":     {Endpoint: "127.0.0.1:9000"},
		"bad bucket":    {Endpoint: "127.0.0.1:9000", Bucket: "Bad_Bucket"},
		"rooted prefix": {Endpoint: "127.0.0.1:9000", Bucket: "b1c", Prefix: "/x"},
		"half creds":    {Endpoint: "127.0.0.1:9000", Bucket: "b1c", AccessKey: "k"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(t.Context(), cfg); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("New(%+v) error = %v; want domain.ErrInvalid", cfg, err)
			}
		})
	}
	err := Config{}.validate()
	if n := strings.Count(err.Error(), "\n") + 1; n < 2 {
		t.Errorf("validate of an empty Config reported %d problem(s), want all of them: %v", n, err)
	}
}

func TestCleanTemp(t *testing.T) {
	srv := startServer(t)
	s, err := New(t.Context(), srv.config("clean", ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, k := range []string{s.tempKey(), s.tempKey()} {
		if _, err := s.client.PutObject(ctx, s.bucket, k, strings.NewReader("partial"), 7, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := (minio.Core{Client: s.client}).NewMultipartUpload(ctx, s.bucket, s.tempKey(), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanTemp(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if left := s.tempObjects(t); len(left) != 3 {
		t.Errorf("CleanTemp(1h) left %v; want the 3 fresh ones", left)
	}
	if err := s.CleanTemp(ctx, -time.Minute); err != nil { // cutoff in the future: everything is stale
		t.Fatal(err)
	}
	if left := s.tempObjects(t); len(left) != 0 {
		t.Errorf("CleanTemp left %v", left)
	}
}

// TestPutExistingRefreshes checks that a Put of stored bytes rewrites the
// blob's metadata, which is what moves its LastModified (the ModTime a
// garbage collector sparing young blobs looks at). LastModified itself has
// a resolution of a second, so the test watches the metadata instead.
func TestPutExistingRefreshes(t *testing.T) {
	srv := startServer(t)
	s := srv.newStore(t, "refresh", "")
	stored := func(d string) string {
		t.Helper()
		oi, err := s.client.StatObject(t.Context(), s.bucket, s.blobKey(d), minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return oi.UserMetadata["Stored"]
	}
	p, err := s.Put(t.Context(), strings.NewReader("same bytes"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Hashes.SHA256
	prev := stored(d)
	for _, want := range []string{"", d} {
		if _, err := s.Put(t.Context(), strings.NewReader("same bytes"), want); err != nil {
			t.Fatal(err)
		}
		now := stored(d)
		if now == "" || now == prev {
			t.Errorf("Put(want %q) of stored bytes left the blob's metadata at %q", want, now)
		}
		prev = now
	}
}
