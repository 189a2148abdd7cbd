package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func mavenSetup(t *testing.T) (*DB, domain.PackageRef) {
	t.Helper()
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "shared", "", "1", nil); err != nil {
		t.Fatal(err)
	}
	return db, domain.PackageRef{Format: domain.FormatMaven, Namespace: "com.acme", Name: "lib"}
}

// mavenFile is a file of content for version.
func mavenFile(ref domain.PackageRef, version, name, content string) domain.MavenFileInput {
	return domain.MavenFileInput{Domain: "acme", Repository: "shared", Ref: ref, Version: version, Asset: asset(name, content)}
}

func TestPutMavenFile(t *testing.T) {
	ctx := context.Background()
	db, ref := mavenSetup(t)
	jar := mavenFile(ref, "1.0", "lib-1.0.jar", "jar")
	res, err := db.PutMavenFile(ctx, jar)
	if err != nil || !res.Created || res.Version.Status != domain.StatusUnfinished {
		t.Fatalf("first file: %+v %v", res, err)
	}
	rev, _ := db.PackageRevision(ctx, "acme", "shared", ref)

	// Identical bytes: accepted, nothing changes.
	res, err = db.PutMavenFile(ctx, jar)
	if err != nil || res.Created {
		t.Fatalf("identical re-upload: %+v %v", res, err)
	}
	if r, _ := db.PackageRevision(ctx, "acme", "shared", ref); r != rev {
		t.Errorf("an idempotent re-upload changed the package revision %d -> %d", rev, r)
	}
	// Different bytes: a conflict.
	if _, err := db.PutMavenFile(ctx, mavenFile(ref, "1.0", "lib-1.0.jar", "other bytes")); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("different bytes: %v", err)
	}

	// A POM replaces the metadata and the dependencies.
	pom := mavenFile(ref, "1.0", "lib-1.0.pom", "<project/>")
	pom.POM = true
	pom.Meta = domain.VersionMeta{DisplayName: "Lib", Summary: "A lib", Licenses: []domain.License{{Name: "MIT"}}, Metadata: json.RawMessage(`{"packaging":"jar"}`)}
	pom.Dependencies = []domain.Dependency{{Namespace: "com.acme", Name: "parent", Type: "parent", VersionRequirement: "1"}, {Namespace: "junit", Name: "junit", Type: "test"}}
	if _, err := db.PutMavenFile(ctx, pom); err != nil {
		t.Fatal(err)
	}
	deps, v, err := db.Dependencies(ctx, "acme", "shared", ref, "1.0")
	if err != nil || len(deps) != 2 || deps[0].Type != "parent" || v.DisplayName != "Lib" || v.Summary != "A lib" || len(v.Licenses) != 1 {
		t.Fatalf("after the POM: %+v %+v %v", deps, v, err)
	}

	// Published versions take more files; Archived ones do not.
	if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "shared", Ref: ref, Versions: []string{"1.0"}}, domain.StatusPublished); err != nil {
		t.Fatal(err)
	}
	res, err = db.PutMavenFile(ctx, mavenFile(ref, "1.0", "lib-1.0-sources.jar", "sources"))
	if err != nil || res.Version.Status != domain.StatusPublished {
		t.Fatalf("file added to a Published version: %+v %v", res, err)
	}
	if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "shared", Ref: ref, Versions: []string{"1.0"}}, domain.StatusArchived); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutMavenFile(ctx, mavenFile(ref, "1.0", "lib-1.0-javadoc.jar", "doc")); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("file added to an Archived version: %v", err)
	}
	assets, _, _, _ := db.ListAssets(ctx, "acme", "shared", ref, "1.0", domain.Page{})
	if len(assets) != 3 {
		t.Errorf("assets: %v", assets)
	}

	// Origin controls apply.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE packages SET publish = 'BLOCK'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutMavenFile(ctx, mavenFile(ref, "2.0", "lib-2.0.jar", "x")); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("publish=BLOCK: %v", err)
	}
}

// TestPutMavenFileConcurrent: parallel PUTs of the files of one version
// (Maven 3.9's parallelPut) all land, without busy errors.
func TestPutMavenFileConcurrent(t *testing.T) {
	ctx := context.Background()
	db, ref := mavenSetup(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("lib-1.0-c%d.jar", i)
			if _, err := db.PutMavenFile(ctx, mavenFile(ref, "1.0", name, strings.Repeat("x", i))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assets, _, _, err := db.ListAssets(ctx, "acme", "shared", ref, "1.0", domain.Page{Limit: 100})
	if err != nil || len(assets) != n {
		t.Fatalf("%d assets, %v", len(assets), err)
	}
}

func TestTransitionVersions(t *testing.T) {
	ctx := context.Background()
	db, ref := mavenSetup(t)
	for _, v := range []string{"1.0", "1.1", "2.0"} {
		if _, err := db.PutMavenFile(ctx, mavenFile(ref, v, "lib-"+v+".jar", v)); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	changed, err := db.TransitionVersions(ctx, "acme", "shared", ref, func(vs []domain.VersionRecord) map[string]domain.Status {
		for _, v := range vs {
			seen = append(seen, v.Version+"="+string(v.Status))
		}
		return map[string]domain.Status{"1.0": domain.StatusPublished, "1.1": domain.StatusUnlisted, "9.9": domain.StatusPublished}
	})
	if err != nil || len(changed) != 2 {
		t.Fatalf("changed %+v, %v", changed, err)
	}
	if strings.Join(seen, " ") != "1.0=Unfinished 1.1=Unfinished 2.0=Unfinished" {
		t.Errorf("plan saw %v", seen)
	}
	if v, _ := db.GetVersion(ctx, "acme", "shared", ref, "1.0"); v.Status != domain.StatusPublished {
		t.Errorf("1.0: %s", v.Status)
	}
	if v, _ := db.GetVersion(ctx, "acme", "shared", ref, "2.0"); v.Status != domain.StatusUnfinished {
		t.Errorf("2.0: %s", v.Status)
	}
	// A refused transition is skipped; an empty plan changes nothing.
	rev, _ := db.PackageRevision(ctx, "acme", "shared", ref)
	changed, err = db.TransitionVersions(ctx, "acme", "shared", ref, func([]domain.VersionRecord) map[string]domain.Status {
		return map[string]domain.Status{"2.0": domain.StatusDisposed}
	})
	if err != nil || len(changed) != 0 {
		t.Fatalf("refused transition: %+v %v", changed, err)
	}
	if r, _ := db.PackageRevision(ctx, "acme", "shared", ref); r != rev {
		t.Errorf("no change bumped the revision")
	}
	other := domain.PackageRef{Format: domain.FormatMaven, Namespace: "com.acme", Name: "nope"}
	if _, err := db.TransitionVersions(ctx, "acme", "shared", other, func([]domain.VersionRecord) map[string]domain.Status { return nil }); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown package: %v", err)
	}
}
