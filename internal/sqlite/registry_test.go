package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func asset(name, content string) domain.Asset {
	// Digests need not be real here; the blob store is not involved.
	h := strings.Repeat(string(rune('a'+len(content)%6)), 64)
	return domain.Asset{Name: name, Size: int64(len(content)), Hashes: domain.Hashes{SHA256: h, SHA1: "s1", MD5: "m5", SHA512: "s5"}}
}

func TestDomainsAndRepositories(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDomain(ctx, "acme", ""); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Fatalf("duplicate domain: %v", err)
	}
	for _, r := range []string{"a", "b", "c"} {
		if _, err := db.CreateRepository(ctx, "acme", "repo-"+r, "", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	ups := []string{"repo-b", "repo-c"}
	r, err := db.UpdateRepository(ctx, "acme", "repo-a", nil, &ups)
	if err != nil || strings.Join(r.Upstreams, ",") != "repo-b,repo-c" {
		t.Fatalf("upstreams %v %v", r.Upstreams, err)
	}
	cyc := []string{"repo-a"}
	if _, err := db.UpdateRepository(ctx, "acme", "repo-c", nil, &cyc); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("cycle accepted: %v", err)
	}
	if r, _ := db.GetRepository(ctx, "acme", "repo-c"); len(r.Upstreams) != 0 {
		t.Fatalf("rejected update was half-written: %v", r.Upstreams)
	}
	if _, err := db.DeleteRepository(ctx, "acme", "repo-b"); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("deleting an upstream: %v", err)
	}
	if _, err := db.DeleteDomain(ctx, "acme"); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("deleting a non-empty domain: %v", err)
	}
	got, next, err := db.ListRepositories(ctx, domain.RepositoryFilter{Domain: "acme"}, domain.Page{Limit: 2})
	if err != nil || len(got) != 2 || next == "" {
		t.Fatalf("page 1: %v %q %v", got, next, err)
	}
	got, next, err = db.ListRepositories(ctx, domain.RepositoryFilter{Domain: "acme"}, domain.Page{Limit: 2, After: next})
	if err != nil || len(got) != 1 || got[0].Name != "repo-c" || next != "" {
		t.Fatalf("page 2: %v %q %v", got, next, err)
	}
}

func TestAssetsAndDedup(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.CreateDomain(ctx, "acme", "")
	db.CreateRepository(ctx, "acme", "one", "", "1", nil)
	db.CreateRepository(ctx, "acme", "two", "", "1", nil)
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "p"}
	a := asset("a.bin", "hello")
	for _, repo := range []string{"one", "two"} {
		if _, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: repo, Ref: ref, Version: "1", Asset: a}); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := db.GetDomain(ctx, "acme")
	if d.AssetSizeBytes != 5 {
		t.Fatalf("assetSizeBytes %d, want 5 (one blob counted once)", d.AssetSizeBytes)
	}
	// Same name, same bytes: idempotent; different bytes: conflict.
	if _, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: "one", Ref: ref, Version: "1", Asset: a}); err != nil {
		t.Fatalf("identical re-upload: %v", err)
	}
	b := asset("a.bin", "different!")
	if _, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: "one", Ref: ref, Version: "1", Asset: b}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("different bytes: %v", err)
	}
	// A new asset on a Published version is refused.
	c := asset("c.bin", "xyz")
	if _, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: "one", Ref: ref, Version: "1", Asset: c}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("asset added to a published version: %v", err)
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.CreateDomain(ctx, "acme", "")
	db.CreateRepository(ctx, "acme", "one", "", "1", nil)
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "p"}
	for _, v := range []string{"1", "2"} {
		if _, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: "one", Ref: ref, Version: v, Asset: asset("x", v)}); err != nil {
			t.Fatal(err)
		}
	}
	in := domain.BatchInput{Domain: "acme", Repository: "one", Ref: ref, Versions: []string{"1", "2"}, Revisions: map[string]string{"2": "WRONG"}}
	res, err := db.UpdateStatus(ctx, in, domain.StatusArchived)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed["2"].Code != domain.CodeMismatchedRevision || res.Failed["1"].Code != domain.CodeSkipped || len(res.OK) != 0 {
		t.Fatalf("result %+v", res)
	}
	if v, _ := db.GetVersion(ctx, "acme", "one", ref, "1"); v.Status != domain.StatusPublished {
		t.Fatalf("skipped version changed to %s", v.Status)
	}
	in.Revisions = nil
	if res, _ := db.DisposeVersions(ctx, in); len(res.OK) != 2 {
		t.Fatalf("dispose: %+v", res)
	}
	if as, _, _, _ := db.ListAssets(ctx, "acme", "one", ref, "1", domain.Page{}); len(as) != 0 {
		t.Fatalf("disposed version keeps assets: %v", as)
	}
	if res, _ := db.UpdateStatus(ctx, in, domain.StatusPublished); res.Failed["1"].Code != domain.CodeNotAllowed {
		t.Fatalf("disposed version republished: %+v", res)
	}
	if res, _ := db.DeleteVersions(ctx, in); len(res.OK) != 2 || res.OK["1"].Status != domain.StatusDeleted {
		t.Fatalf("delete: %+v", res)
	}
	if _, err := db.GetVersion(ctx, "acme", "one", ref, "1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted version still there: %v", err)
	}
}

func TestCopyIsMetadataOnly(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.CreateDomain(ctx, "acme", "")
	db.CreateRepository(ctx, "acme", "src", "", "1", nil)
	db.CreateRepository(ctx, "acme", "dst", "", "1", nil)
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "p"}
	db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: "src", Ref: ref, Version: "1", Asset: asset("x", "abc")})
	in := domain.CopyInput{Domain: "acme", Source: "src", Dest: "dst", Ref: ref, Versions: []string{"1", "7"}}
	res, err := db.CopyVersions(ctx, in)
	if err != nil || len(res.OK) != 1 || res.Failed["7"].Code != domain.CodeNotFound {
		t.Fatalf("copy: %+v %v", res, err)
	}
	if res, _ := db.CopyVersions(ctx, in); res.Failed["1"].Code != domain.CodeAlreadyExists {
		t.Fatalf("second copy: %+v", res)
	}
	as, _, _, _ := db.ListAssets(ctx, "acme", "dst", ref, "1", domain.Page{})
	blobs, _ := db.Blobs(ctx)
	if len(as) != 1 || len(blobs) != 1 {
		t.Fatalf("copied assets %v, blobs %v", as, blobs)
	}
}

func TestDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.CreateDomain(context.Background(), "acme", "") // make SQLite create -wal and -shm
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; it holds secrets", p, fi.Mode().Perm())
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	root, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := db.LookupAccessKey(ctx, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	db.CreateDomain(ctx, "acme", "")
	exp := time.Now().Add(time.Hour)
	if err := db.StoreToken(ctx, "h1", p.ID, "acme", exp); err != nil {
		t.Fatal(err)
	}
	if _, dom, err := db.LookupToken(ctx, "h1", time.Now()); err != nil || dom != "acme" {
		t.Fatalf("fresh token: %q %v", dom, err)
	}
	if _, _, err := db.LookupToken(ctx, "h1", exp); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("expired token accepted: %v", err)
	}
	if _, _, err := db.LookupToken(ctx, "nope", time.Now()); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("unknown token accepted: %v", err)
	}
	if err := db.StoreToken(ctx, "h2", p.ID, "missing", exp); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("token for a missing domain: %v", err)
	}

	// Issued tokens: prefixed (never an option to npm config set), each
	// found by its sha256, none stored in the clear.
	seen := map[string]bool{}
	for range 300 { // a bare base64url token starts with '-' once in 64
		tok, err := db.IssueToken(ctx, p.ID, "acme", exp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, TokenPrefix) || strings.HasPrefix(tok, "-") || seen[tok] {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
		sum := sha256.Sum256([]byte(tok))
		if q, dom, err := db.LookupToken(ctx, hex.EncodeToString(sum[:]), time.Now()); err != nil || dom != "acme" || q.ID != p.ID {
			t.Fatalf("issued token: %+v %q %v", q, dom, err)
		}
		if _, _, err := db.LookupToken(ctx, tok, time.Now()); err == nil {
			t.Fatal("a token is stored in the clear")
		}
	}
	if _, err := db.IssueToken(ctx, p.ID, "missing", exp); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("issued for a missing domain: %v", err)
	}
}

func TestGraph(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.CreateDomain(ctx, "acme", "")
	for _, r := range []string{"cc", "dd", "ee", "bb"} {
		db.CreateRepository(ctx, "acme", r, "", "1", nil)
	}
	db.UpdateRepository(ctx, "acme", "dd", nil, &[]string{"ee"})
	db.CreateRepository(ctx, "acme", "aa", "", "1", []string{"cc", "dd"})
	db.CreateRepository(ctx, "acme", "my_repo", "", "1", []string{"aa", "bb"})
	db.SetExternalConnection(ctx, "acme", "ee", "public:npmjs", false)
	g, err := db.Graph(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range g.SearchOrder("my_repo") {
		got = append(got, h.Repository+h.ExternalConnection)
	}
	if s := strings.Join(got, " "); s != "my_repo aa cc dd ee eepublic:npmjs bb" {
		t.Fatalf("search order %q", s)
	}
}
