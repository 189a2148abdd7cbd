package main

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/artifactd/registry/internal/blob/s3/miniotest"
)

// TestS3Backend runs the registry on a real MinIO: the same bytes published
// to two repositories are one object and are counted once.
func TestS3Backend(t *testing.T) {
	requireAWS(t)
	endpoint, access, secret := miniotest.Start(t)
	in := startRegistry(t, t.TempDir(), "--blob-backend", "s3", "--s3-endpoint", endpoint, "--s3-bucket", "registry",
		"--s3-prefix", "blobs-test/", "--s3-access-key", access, "--s3-secret-key", secret)
	if strings.Contains(in.log.String(), secret) {
		t.Fatal("the S3 secret key appears in the server log")
	}
	env := in.awsEnv(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "one")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "two")
	content := []byte(strings.Repeat("s3 bytes ", 1000))
	path, sum := writeAsset(t, "x.tgz", content)
	ok(t, env, publishArgs("one", "pkg", "1.0.0", path, "x.tgz", sum)...)
	ok(t, env, publishArgs("two", "pkg", "1.0.0", path, "x.tgz", sum)...)
	dd := ok(t, env, "codeartifact", "describe-domain", "--domain", "acme")
	if dig(dd, "domain", "assetSizeBytes") != float64(len(content)) {
		t.Fatalf("assetSizeBytes %v, want %d", dig(dd, "domain", "assetSizeBytes"), len(content))
	}
	mc, err := minio.New(endpoint, &minio.Options{Creds: miniocreds.NewStaticV4(access, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for obj := range mc.ListObjects(context.Background(), "registry", minio.ListObjectsOptions{Prefix: "blobs-test/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d objects in the bucket, want 1", n)
	}
	out := filepath.Join(t.TempDir(), "x.tgz")
	ok(t, env, "codeartifact", "get-package-version-asset", "--domain", "acme", "--repository", "two", "--format", "generic",
		"--namespace", "tools", "--package", "pkg", "--package-version", "1.0.0", "--asset", "x.tgz", out)
	if _, got := writeAssetSum(t, out); got != sum {
		t.Fatalf("downloaded content hashes to %s", got)
	}
}

// TestGCAndFsck: gc deletes exactly the blobs nothing references; fsck
// passes before and after, and fails when a referenced blob goes missing.
func TestGCAndFsck(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	in := startRegistry(t, dir)
	env := in.awsEnv(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "rr")
	keep, keepSum := writeAsset(t, "keep.tgz", []byte("keep me"))
	drop, dropSum := writeAsset(t, "drop.tgz", []byte("drop me"))
	ok(t, env, publishArgs("rr", "keep", "1.0.0", keep, "keep.tgz", keepSum)...)
	ok(t, env, publishArgs("rr", "drop", "1.0.0", drop, "drop.tgz", dropSum)...)
	ok(t, env, "codeartifact", "dispose-package-versions", "--domain", "acme", "--repository", "rr", "--format", "generic",
		"--namespace", "tools", "--package", "drop", "--versions", "1.0.0")
	dd := ok(t, env, "codeartifact", "describe-domain", "--domain", "acme")
	if dig(dd, "domain", "assetSizeBytes") != float64(len("keep me")) {
		t.Fatalf("assetSizeBytes after dispose: %v", dig(dd, "domain", "assetSizeBytes"))
	}
	registry := func(args ...string) (string, error) {
		out, err := exec.Command(registryBin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := registry("fsck", "--data-dir", dir); err != nil || !strings.Contains(out, "unreferenced blobs: 1") {
		t.Fatalf("fsck before gc: %v\n%s", err, out)
	}
	if out, err := registry("gc", "--data-dir", dir); err != nil || !strings.Contains(out, "deleted 0") {
		t.Fatalf("gc must spare young blobs: %v\n%s", err, out)
	}
	if out, err := registry("gc", "--data-dir", dir, "--grace", "0s"); err != nil || !strings.Contains(out, "deleted 1 ") {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	if n := countBlobs(t, filepath.Join(dir, "blobs")); n != 1 {
		t.Fatalf("%d blobs after gc, want 1", n)
	}
	if code := getAsset(t, in, env, "keep"); code != http.StatusOK {
		t.Fatalf("referenced asset after gc: %d", code)
	}
	if out, err := registry("fsck", "--data-dir", dir, "--verify"); err != nil {
		t.Fatalf("fsck after gc: %v\n%s", err, out)
	}
	// Lose a referenced blob behind the registry's back: fsck must notice.
	if err := exec.Command("sh", "-c", "rm "+filepath.Join(dir, "blobs", "sha256", keepSum[:2], keepSum)).Run(); err != nil {
		t.Fatal(err)
	}
	if out, err := registry("fsck", "--data-dir", dir); err == nil || !strings.Contains(out, "problem: blob "+keepSum) {
		t.Fatalf("fsck did not report the missing blob: %v\n%s", err, out)
	}
}

func getAsset(t *testing.T, in *instance, env []string, pkg string) int {
	t.Helper()
	r := runAWS(env, "codeartifact", "get-package-version-asset", "--domain", "acme", "--repository", "rr", "--format", "generic",
		"--namespace", "tools", "--package", pkg, "--package-version", "1.0.0", "--asset", pkg+".tgz", filepath.Join(t.TempDir(), "out"))
	if r.err != nil {
		t.Logf("%s", r.stderr)
		return http.StatusNotFound
	}
	return http.StatusOK
}
