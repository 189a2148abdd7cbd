package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func pypiSetup(t *testing.T) (*DB, domain.PackageRef) {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "shared", "", "1", nil); err != nil {
		t.Fatal(err)
	}
	return db, domain.PackageRef{Format: domain.FormatPyPI, Name: "my-lib"}
}

func hashed(name, sha string) domain.Asset {
	return domain.Asset{Name: name, Size: 3, Hashes: domain.Hashes{SHA256: strings.Repeat(sha, 64)[:64], MD5: "m", SHA1: "s", SHA512: "x"}}
}

func TestAttachAssets(t *testing.T) {
	ctx := context.Background()
	db, ref := pypiSetup(t)
	attach := func(version string, patch string, assets ...domain.Asset) (domain.PackageVersion, error) {
		return db.AttachAssets(ctx, domain.AttachInput{Domain: "acme", Repository: "shared", Ref: ref, Version: version, Assets: assets, MetadataPatch: json.RawMessage(patch)})
	}
	if _, err := attach("1.0", `{}`, hashed("my_lib-1.0.tar.gz", "a")); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("attach to a missing package: %v", err)
	}
	v0, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "shared", Ref: ref, Version: "1.0",
		Meta:   domain.VersionMeta{Summary: "s", Metadata: json.RawMessage(`{"name":"My_Lib","files":{"my_lib-1.0.tar.gz":{"upload_time":"t1"}}}`)},
		Assets: []domain.Asset{hashed("my_lib-1.0.tar.gz", "a")}})
	if err != nil {
		t.Fatal(err)
	}
	rev0, _ := db.PackageRevision(ctx, "acme", "shared", ref)
	if _, err := attach("2.0", `{}`, hashed("my_lib-2.0.tar.gz", "a")); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("attach to a missing version: %v", err)
	}

	// A new wheel and its metadata file arrive together.
	v1, err := attach("1.0", `{"files":{"my_lib-1.0-py3-none-any.whl":{"upload_time":"t2"}}}`,
		hashed("my_lib-1.0-py3-none-any.whl", "b"), hashed("my_lib-1.0-py3-none-any.whl.metadata", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Revision == v0.Revision || v1.Status != domain.StatusPublished || v1.Summary != "s" {
		t.Fatalf("after attach: %+v (before %+v)", v1, v0)
	}
	rev1, _ := db.PackageRevision(ctx, "acme", "shared", ref)
	if rev1 <= rev0 {
		t.Fatalf("package revision %d -> %d", rev0, rev1)
	}
	pv, err := db.View(ctx, "acme", "shared", ref)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Name  string
		Files map[string]map[string]string
	}
	if err := json.Unmarshal(pv.Versions[0].Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Name != "My_Lib" || meta.Files["my_lib-1.0.tar.gz"]["upload_time"] != "t1" || meta.Files["my_lib-1.0-py3-none-any.whl"]["upload_time"] != "t2" {
		t.Fatalf("merged metadata: %s", pv.Versions[0].Metadata)
	}
	if n := len(pv.Versions[0].Assets); n != 3 {
		t.Fatalf("assets: %v", pv.Versions[0].Assets)
	}

	// Identical bytes again: nothing changes, not even the revision or the
	// metadata.
	v2, err := attach("1.0", `{"files":{"my_lib-1.0-py3-none-any.whl":{"upload_time":"t3"}}}`,
		hashed("my_lib-1.0-py3-none-any.whl", "b"), hashed("my_lib-1.0-py3-none-any.whl.metadata", "c"))
	if err != nil || v2.Revision != v1.Revision {
		t.Fatalf("identical re-attach: %+v %v", v2, err)
	}
	if rev, _ := db.PackageRevision(ctx, "acme", "shared", ref); rev != rev1 {
		t.Fatalf("identical re-attach moved the package revision %d -> %d", rev1, rev)
	}

	// Different bytes under a known name: conflict, and the new file that
	// came with it is not written either.
	_, err = attach("1.0", `{}`, hashed("my_lib-1.0-py3-none-win32.whl", "d"), hashed("my_lib-1.0-py3-none-any.whl", "e"))
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("different bytes: %v", err)
	}
	if _, _, err := db.GetAsset(ctx, "acme", "shared", ref, "1.0", "my_lib-1.0-py3-none-win32.whl"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("half-written attach: %v", err)
	}

	// Unlisted (yanked) versions still gain files; archived ones do not.
	if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "shared", Ref: ref, Versions: []string{"1.0"}}, domain.StatusUnlisted); err != nil {
		t.Fatal(err)
	}
	if v, err := attach("1.0", `{}`, hashed("my_lib-1.0-py3-none-win32.whl", "d")); err != nil || v.Status != domain.StatusUnlisted {
		t.Fatalf("attach to an unlisted version: %+v %v", v, err)
	}
	if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "shared", Ref: ref, Versions: []string{"1.0"}}, domain.StatusArchived); err != nil {
		t.Fatal(err)
	}
	if _, err := attach("1.0", `{}`, hashed("my_lib-1.0-py3-none-win_amd64.whl", "f")); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("attach to an archived version: %v", err)
	}
}

func TestAttachAssetsRespectsOriginControls(t *testing.T) {
	ctx := context.Background()
	db, ref := pypiSetup(t)
	if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "shared", Ref: ref, Version: "1.0",
		Assets: []domain.Asset{hashed("my_lib-1.0.tar.gz", "a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE packages SET publish = 'BLOCK'`); err != nil {
		t.Fatal(err)
	}
	_, err := db.AttachAssets(ctx, domain.AttachInput{Domain: "acme", Repository: "shared", Ref: ref, Version: "1.0", Assets: []domain.Asset{hashed("my_lib-1.0-py3-none-any.whl", "b")}})
	if !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("attach with publish BLOCK: %v", err)
	}
}

// TestAttachAssetsConcurrent checks that concurrent uploads of different
// files to one version all land (the metadata merge happens inside each
// transaction, so none overwrites another's entry).
func TestAttachAssetsConcurrent(t *testing.T) {
	ctx := context.Background()
	db, ref := pypiSetup(t)
	if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "shared", Ref: ref, Version: "1.0",
		Meta: domain.VersionMeta{Metadata: json.RawMessage(`{"files":{}}`)}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	names := []string{"a", "b", "c", "d", "e", "f", "0", "1"}
	errs := make(chan error, len(names))
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			file := "my_lib-1.0-py3-none-" + n + ".whl"
			_, err := db.AttachAssets(ctx, domain.AttachInput{Domain: "acme", Repository: "shared", Ref: ref, Version: "1.0",
				Assets: []domain.Asset{hashed(file, n)}, MetadataPatch: json.RawMessage(`{"files":{"` + file + `":{"upload_time":"x"}}}`)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pv, err := db.View(ctx, "acme", "shared", ref)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Files map[string]any }
	json.Unmarshal(pv.Versions[0].Metadata, &meta)
	if len(meta.Files) != len(names) || len(pv.Versions[0].Assets) != len(names) {
		t.Fatalf("files %d, assets %d, want %d", len(meta.Files), len(pv.Versions[0].Assets), len(names))
	}
}

func TestDownloadablePackageNames(t *testing.T) {
	ctx := context.Background()
	db, _ := pypiSetup(t)
	publish := func(f domain.Format, ns, name string) {
		t.Helper()
		if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "shared", Ref: domain.PackageRef{Format: f, Namespace: ns, Name: name}, Version: "1.0"}); err != nil {
			t.Fatal(err)
		}
	}
	publish(domain.FormatPyPI, "", "zeta")
	publish(domain.FormatPyPI, "", "alpha")
	publish(domain.FormatPyPI, "", "archived")
	publish(domain.FormatPyPI, "", "yanked")
	publish(domain.FormatNPM, "", "left-pad")
	set := func(name string, s domain.Status) {
		t.Helper()
		in := domain.BatchInput{Domain: "acme", Repository: "shared", Ref: domain.PackageRef{Format: domain.FormatPyPI, Name: name}, Versions: []string{"1.0"}}
		if _, err := db.UpdateStatus(ctx, in, s); err != nil {
			t.Fatal(err)
		}
	}
	set("archived", domain.StatusArchived)
	set("yanked", domain.StatusUnlisted)
	got, err := db.DownloadablePackageNames(ctx, "acme", "shared", domain.FormatPyPI)
	if err != nil || strings.Join(got, ",") != "alpha,yanked,zeta" {
		t.Fatalf("names %v %v", got, err)
	}
	if _, err := db.DownloadablePackageNames(ctx, "acme", "nope", domain.FormatPyPI); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown repository: %v", err)
	}
}
