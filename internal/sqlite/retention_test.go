package sqlite

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// TestRetentionAndIngestion: retained and ingested versions are
// metadata-only records of the same blob, keep (or set) their origin,
// give a new package CodeArtifact's default origin controls, are
// idempotent, and each is a package-version change event.
func TestRetentionAndIngestion(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.SetAccount("123456789012")
	db.CreateDomain(ctx, "acme", "")
	for _, r := range []string{"src", "app", "store"} {
		if _, err := db.CreateRepository(ctx, "acme", r, "", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	ref := domain.PackageRef{Format: domain.FormatNPM, Name: "lib"}
	a := asset("package.tgz", "tarball bytes")
	if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "src", Ref: ref, Version: "1.0.0",
		Meta: domain.VersionMeta{Summary: "s", Metadata: json.RawMessage(`{"main":"x.js"}`)}, Assets: []domain.Asset{a},
		Dependencies: []domain.Dependency{{Name: "dep", Type: "regular", VersionRequirement: "^1"}}}); err != nil {
		t.Fatal(err)
	}
	evs, _ := db.PendingEvents(ctx, 1000)
	before := len(evs) // the publish's event

	for range 2 { // idempotent
		if err := db.RetainVersion(ctx, "acme", "src", ref, "1.0.0", []string{"app"}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := db.GetVersion(ctx, "acme", "app", ref, "1.0.0")
	if err != nil || v.Origin.Type != domain.OriginInternal || v.Origin.Repository != "src" || v.Status != domain.StatusPublished || v.Summary != "s" {
		t.Fatalf("retained %+v, %v", v, err)
	}
	got, _, err := db.GetAsset(ctx, "acme", "app", ref, "1.0.0", "package.tgz")
	if err != nil || got.Hashes.SHA256 != a.Hashes.SHA256 {
		t.Fatalf("retained asset %+v, %v", got, err)
	}
	deps, _, _ := db.Dependencies(ctx, "acme", "app", ref, "1.0.0")
	if len(deps) != 1 || deps[0].Name != "dep" {
		t.Fatalf("retained dependencies %+v", deps)
	}
	if p, u, _ := db.OriginControls(ctx, "acme", "app", ref); p != domain.Allow || u != domain.Block {
		t.Errorf("retained internal package controls %s/%s, want ALLOW/BLOCK", p, u)
	}

	ext := domain.PackageRef{Format: domain.FormatNPM, Name: "public-lib"}
	b := asset("package.tgz", "public bytes")
	in := domain.IngestInput{Domain: "acme", Repositories: []string{"app", "store"}, Ref: ext, Version: "2.0.0",
		ExternalConnection: "public:npmjs", Meta: domain.VersionMeta{Metadata: json.RawMessage(`{}`)}, Assets: []domain.Asset{b}}
	for range 2 {
		if err := db.IngestVersion(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []string{"app", "store"} {
		v, err := db.GetVersion(ctx, "acme", r, ext, "2.0.0")
		if err != nil || v.Origin.Type != domain.OriginExternal || v.Origin.ExternalConnection != "public:npmjs" {
			t.Fatalf("ingested in %s: %+v, %v", r, v, err)
		}
		if p, u, _ := db.OriginControls(ctx, "acme", r, ext); p != domain.Block || u != domain.Allow {
			t.Errorf("ingested package controls in %s: %s/%s, want BLOCK/ALLOW", r, p, u)
		}
	}
	if _, err := db.GetVersion(ctx, "acme", "src", ext, "2.0.0"); domain.KindOf(err) != domain.ErrNotFound {
		t.Errorf("ingestion wrote outside its targets: %v", err)
	}
	evs, err = db.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs) - before; n != 3 {
		t.Errorf("%d events for one retention and two ingestions (each written once), want 3", n)
	}
	if err := db.RetainVersion(ctx, "acme", "src", ref, "9.9.9", []string{"app"}); domain.KindOf(err) != domain.ErrNotFound {
		t.Errorf("retaining a missing version: %v", err)
	}
}

// TestIngestionAddsFilesToAVersion: a PyPI release or Maven version is
// fetched one file at a time; ingesting (or retaining) a version that is
// already recorded adds the files it lacks, once, as a change.
func TestIngestionAddsFilesToAVersion(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.SetAccount("123456789012")
	db.CreateDomain(ctx, "acme", "")
	for _, r := range []string{"app", "store"} {
		if _, err := db.CreateRepository(ctx, "acme", r, "", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	ref := domain.PackageRef{Format: domain.FormatPyPI, Name: "six"}
	whl, sdist := asset("six-1.0-py3-none-any.whl", "wheel"), asset("six-1.0.tar.gz", "sdist")
	ingest := func(a domain.Asset) {
		t.Helper()
		if err := db.IngestVersion(ctx, domain.IngestInput{Domain: "acme", Repositories: []string{"store"}, Ref: ref, Version: "1.0",
			ExternalConnection: "public:pypi", Assets: []domain.Asset{a}}); err != nil {
			t.Fatal(err)
		}
	}
	ingest(whl)
	rev1, _ := db.PackageRevision(ctx, "acme", "store", ref)
	ingest(sdist)
	ingest(sdist) // idempotent
	rev2, _ := db.PackageRevision(ctx, "acme", "store", ref)
	if rev2 == rev1 {
		t.Error("adding a file must change the package's revision (cached documents)")
	}
	as, _, _, err := db.ListAssets(ctx, "acme", "store", ref, "1.0", domain.Page{})
	if err != nil || len(as) != 2 {
		t.Fatalf("store assets %+v, %v", as, err)
	}
	if err := db.RetainVersion(ctx, "acme", "store", ref, "1.0", []string{"app"}); err != nil {
		t.Fatal(err)
	}
	ingest(asset("six-1.0-py2-none-any.whl", "old wheel"))
	if err := db.RetainVersion(ctx, "acme", "store", ref, "1.0", []string{"app"}); err != nil {
		t.Fatal(err)
	}
	as, _, _, err = db.ListAssets(ctx, "acme", "app", ref, "1.0", domain.Page{})
	if err != nil || len(as) != 3 {
		t.Fatalf("retained assets %+v, %v", as, err)
	}
}
