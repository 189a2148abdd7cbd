package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func mustPattern(t *testing.T, s string) domain.GroupPattern {
	t.Helper()
	p, err := domain.ParseGroupPattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func groupsSetup(t *testing.T, repos ...string) (*DB, context.Context) {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range repos {
		if _, err := db.CreateRepository(ctx, "acme", r, "", "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	return db, ctx
}

func setModes(t *testing.T, db *DB, pattern string, modes map[domain.GroupRestrictionType]domain.GroupMode, add map[domain.GroupRestrictionType][]string) {
	t.Helper()
	if _, _, _, err := db.UpdatePackageGroupOrigin(context.Background(), "acme", pattern, domain.GroupUpdate{Modes: modes, Add: add}); err != nil {
		t.Fatal(err)
	}
}

// TestExternalUpstreamByGroup: a group blocking EXTERNAL_UPSTREAM for
// /npm/acme/* blocks @acme/x in every repository and nothing else; a
// child group set to INHERIT falls back to it, one with its own mode
// overrides it, ALLOW_SPECIFIC_REPOSITORIES allows exactly its list, and
// every change is seen at once (the cache is dropped on change).
func TestExternalUpstreamByGroup(t *testing.T) {
	db, ctx := groupsSetup(t, "app", "store", "proxy")
	ext := domain.RestrictExternalUpstream
	acmeX := domain.PackageRef{Format: domain.FormatNPM, Namespace: "acme", Name: "x"}
	acmeUI := domain.PackageRef{Format: domain.FormatNPM, Namespace: "acme", Name: "ui-kit"}
	other := domain.PackageRef{Format: domain.FormatNPM, Name: "react"}
	check := func(ref domain.PackageRef, repo string, want bool) {
		t.Helper()
		got, err := db.ExternalUpstreamAllowed(ctx, "acme", repo, ref)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("ExternalUpstreamAllowed(%s, %+v) = %v, want %v", repo, ref, got, want)
		}
	}
	check(acmeX, "app", true) // no groups: the root allows

	for _, p := range []string{"/npm/acme/*", "/npm/acme/ui~"} {
		if _, err := db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: "acme", Pattern: mustPattern(t, p)}); err != nil {
			t.Fatal(err)
		}
	}
	check(acmeX, "app", true) // new groups INHERIT from the root
	setModes(t, db, "/npm/acme/*", map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeBlock}, nil)
	for _, r := range []string{"app", "store", "proxy"} {
		check(acmeX, r, false)
		check(acmeUI, r, false) // /npm/acme/ui~ INHERITs the BLOCK
		check(other, r, true)
	}

	setModes(t, db, "/npm/acme/ui~", map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeAllowSpecific},
		map[domain.GroupRestrictionType][]string{ext: {"proxy"}})
	check(acmeUI, "proxy", true)
	check(acmeUI, "app", false)
	check(acmeX, "proxy", false)

	// Deleting the child re-parents nothing and leaves ui-kit under /npm/acme/*.
	if _, err := db.DeletePackageGroup(ctx, "acme", "/npm/acme/ui~"); err != nil {
		t.Fatal(err)
	}
	check(acmeUI, "proxy", false)

	// Blocking at the root reaches every package whose groups inherit.
	setModes(t, db, "/*", map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeBlock}, nil)
	check(other, "app", false)
	setModes(t, db, "/npm/acme/*", map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeInherit}, nil)
	check(acmeX, "app", false)
	setModes(t, db, "/*", map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeAllow}, nil)
	check(acmeX, "app", true)

	if _, _, _, err := db.UpdatePackageGroupOrigin(ctx, "acme", "/*", domain.GroupUpdate{Modes: map[domain.GroupRestrictionType]domain.GroupMode{ext: domain.ModeInherit}}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("INHERIT on the root: %v, want ErrInvalid", err)
	}
	if _, err := db.ExternalUpstreamAllowed(ctx, "nope", "app", acmeX); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown domain: %v, want ErrNotFound", err)
	}
}

// TestGroupLifecycle: duplicates conflict, the root exists implicitly and
// cannot be created or deleted, unknown groups are not found, allowed
// repositories must exist, and deleting a domain takes its groups along.
func TestGroupLifecycle(t *testing.T) {
	db, ctx := groupsSetup(t, "app")
	g := domain.PackageGroup{Domain: "acme", Pattern: mustPattern(t, "/npm/acme/*"), Description: "d"}
	if _, err := db.CreatePackageGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"duplicate": func() error { _, err := db.CreatePackageGroup(ctx, g); return err }(),
		"root": func() error {
			_, err := db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: "acme", Pattern: mustPattern(t, "/*")})
			return err
		}(),
	} {
		if !errors.Is(err, domain.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if _, err := db.DeletePackageGroup(ctx, "acme", "/*"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("delete root: %v, want ErrInvalid", err)
	}
	for name, err := range map[string]error{
		"describe": func() error { _, err := db.PackageGroup(ctx, "acme", "/npm/other/*"); return err }(),
		"update":   func() error { _, err := db.UpdatePackageGroup(ctx, "acme", "/npm/other/*", nil, nil); return err }(),
		"delete":   func() error { _, err := db.DeletePackageGroup(ctx, "acme", "/npm/other/*"); return err }(),
		"create in unknown domain": func() error {
			_, err := db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: "nope", Pattern: g.Pattern})
			return err
		}(),
		"unknown allowed repository": func() error {
			_, _, _, err := db.UpdatePackageGroupOrigin(ctx, "acme", "/npm/acme/*", domain.GroupUpdate{
				Add: map[domain.GroupRestrictionType][]string{domain.RestrictPublish: {"ghost"}}})
			return err
		}(),
	} {
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	root, err := db.PackageGroup(ctx, "acme", "/*")
	if err != nil || root.Modes[domain.RestrictPublish] != domain.ModeAllow {
		t.Fatalf("root %+v, %v", root, err)
	}
	if _, err := db.DeleteDomain(ctx, "acme"); err == nil {
		t.Fatal("deleted a domain with a repository")
	}
	if _, err := db.DeleteRepository(ctx, "acme", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteDomain(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PackageGroup(ctx, "acme", "/npm/acme/*"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("group survived its domain: %v", err)
	}
}

// TestPublishBlockedByGroup: a new package cannot be published into a
// repository its group's PUBLISH restriction does not allow, in any
// publish path; ALLOW_SPECIFIC_REPOSITORIES admits its list.
func TestPublishBlockedByGroup(t *testing.T) {
	db, ctx := groupsSetup(t, "app", "release")
	pub := domain.RestrictPublish
	if _, err := db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: "acme", Pattern: mustPattern(t, "/generic/internal~")}); err != nil {
		t.Fatal(err)
	}
	setModes(t, db, "/generic/internal~", map[domain.GroupRestrictionType]domain.GroupMode{pub: domain.ModeAllowSpecific},
		map[domain.GroupRestrictionType][]string{pub: {"release"}})
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "internal.tools", Name: "cli"}
	publish := func(repo string) error {
		_, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: repo, Ref: ref, Version: "1.0.0",
			Assets: []domain.Asset{asset("a.txt", "a")}})
		return err
	}
	addAsset := func(repo string) error {
		_, err := db.AddAsset(ctx, domain.AddAssetInput{Domain: "acme", Repository: repo, Ref: ref, Version: "2.0.0", Asset: asset("b.txt", "b")})
		return err
	}
	for name, err := range map[string]error{"PublishVersion": publish("app"), "AddAsset": addAsset("app")} {
		if !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("%s into app: %v, want ErrForbidden", name, err)
		}
	}
	if _, err := db.GetPackage(ctx, "acme", "app", ref); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a refused publish created the package: %v", err)
	}
	if err := publish("release"); err != nil {
		t.Errorf("publish into an allowed repository: %v", err)
	}
	other := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "internalx", Name: "cli"} // no word boundary: not in the group
	if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "app", Ref: other, Version: "1.0.0",
		Assets: []domain.Asset{asset("a.txt", "a")}}); err != nil {
		t.Errorf("publish of a package outside the group: %v", err)
	}
}

// TestCopyIncludeFromUpstream: versions the source does not hold are
// copied from the first upstream (search order) that holds them only
// when IncludeFromUpstream is set.
func TestCopyIncludeFromUpstream(t *testing.T) {
	db, ctx := groupsSetup(t, "far", "near")
	if _, err := db.CreateRepository(ctx, "acme", "src", "", "1", []string{"near", "far"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "dst", "", "1", nil); err != nil {
		t.Fatal(err)
	}
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "lib"}
	put := func(repo, version, content string) {
		t.Helper()
		if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: repo, Ref: ref, Version: version,
			Assets: []domain.Asset{asset("f.txt", content)}}); err != nil {
			t.Fatal(err)
		}
	}
	put("src", "1.0.0", "src-1")
	put("near", "2.0.0", "near-2")
	put("far", "2.0.0", "far-2")
	put("far", "3.0.0", "far-3")

	in := domain.CopyInput{Domain: "acme", Source: "src", Dest: "dst", Ref: ref, Versions: []string{"1.0.0", "2.0.0", "3.0.0", "4.0.0"}}
	res, err := db.CopyVersions(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OK) != 1 || res.Failed["2.0.0"].Code != domain.CodeNotFound || res.Failed["3.0.0"].Code != domain.CodeNotFound {
		t.Fatalf("without includeFromUpstream: %+v", res)
	}
	in.IncludeFromUpstream, in.AllowOverwrite = true, true
	res, err = db.CopyVersions(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OK) != 3 || res.Failed["4.0.0"].Code != domain.CodeNotFound {
		t.Fatalf("with includeFromUpstream: %+v", res)
	}
	for v, want := range map[string]string{"1.0.0": "src-1", "2.0.0": "near-2", "3.0.0": "far-3"} {
		a, _, err := db.GetAsset(ctx, "acme", "dst", ref, v, "f.txt")
		if err != nil || a.Hashes.SHA256 != asset("f.txt", want).Hashes.SHA256 {
			t.Errorf("%s copied from the wrong repository: %+v %v", v, a, err)
		}
	}
	// A package only upstream is found too; one nowhere is not.
	only := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "far-only"}
	if _, err := db.PublishVersion(ctx, domain.PublishInput{Domain: "acme", Repository: "far", Ref: only, Version: "1.0.0",
		Assets: []domain.Asset{asset("f.txt", "x")}}); err != nil {
		t.Fatal(err)
	}
	res, err = db.CopyVersions(ctx, domain.CopyInput{Domain: "acme", Source: "src", Dest: "dst", Ref: only, Versions: []string{"1.0.0"}, IncludeFromUpstream: true})
	if err != nil || len(res.OK) != 1 {
		t.Errorf("package held only upstream: %+v %v", res, err)
	}
	_, err = db.CopyVersions(ctx, domain.CopyInput{Domain: "acme", Source: "src", Dest: "dst", Ref: only, Versions: []string{"1.0.0"}})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("without includeFromUpstream a package only upstream: %v, want ErrNotFound", err)
	}
}

// BenchmarkExternalUpstreamAllowed measures the per-request group check
// with 50 groups in the domain (served from the in-memory tree).
func BenchmarkExternalUpstreamAllowed(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/r.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.CreateDomain(ctx, "acme", "")
	for i := range 50 {
		p, _ := domain.ParseGroupPattern(fmt.Sprintf("/npm/scope%d/*", i))
		if _, err := db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: "acme", Pattern: p}); err != nil {
			b.Fatal(err)
		}
	}
	ref := domain.PackageRef{Format: domain.FormatNPM, Namespace: "scope7", Name: "x"}
	b.ResetTimer()
	for range b.N {
		if _, err := db.ExternalUpstreamAllowed(ctx, "acme", "app", ref); err != nil {
			b.Fatal(err)
		}
	}
}
