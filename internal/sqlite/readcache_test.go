package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// cacheDB is a database with domain acme, repositories app (upstream hub)
// and hub, a user "reader" and npm package lib@1.0.0 in hub.
func cacheDB(t testing.TB) (*DB, domain.Principal) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir()+"/registry.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "hub", "", "1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "app", "", "1", []string{"hub"}); err != nil {
		t.Fatal(err)
	}
	p, err := db.CreateUser(ctx, "reader", "/")
	if err != nil {
		t.Fatal(err)
	}
	publishLib(t, db, "hub", "1.0.0")
	return db, p
}

var libRef = domain.PackageRef{Format: domain.FormatNPM, Name: "lib"}

func publishLib(t testing.TB, db *DB, repo, version string) {
	t.Helper()
	in := domain.PublishInput{Domain: "acme", Repository: repo, Ref: libRef, Version: version,
		Assets: []domain.Asset{asset("lib-"+version+".tgz", "tarball "+version)}, DistTags: map[string]string{"latest": version}}
	if _, err := db.PublishVersion(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// Each cached read is warmed, then changed through the store's own write,
// and the next read must see the change.
func TestReadCacheSeesWrites(t *testing.T) {
	ctx := context.Background()
	db, reader := cacheDB(t)

	t.Run("GetRepository and Graph after UpdateRepository", func(t *testing.T) {
		r, err := db.GetRepository(ctx, "acme", "app")
		if err != nil || strings.Join(r.Upstreams, ",") != "hub" {
			t.Fatalf("warm: %v %v", r.Upstreams, err)
		}
		if g, _ := db.Graph(ctx, "acme"); strings.Join(g.Upstreams["app"], ",") != "hub" {
			t.Fatalf("warm graph: %v", g.Upstreams)
		}
		none := []string{}
		if _, err := db.UpdateRepository(ctx, "acme", "app", nil, &none); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.GetRepository(ctx, "acme", "app"); len(r.Upstreams) != 0 {
			t.Errorf("GetRepository after update: upstreams %v", r.Upstreams)
		}
		if g, _ := db.Graph(ctx, "acme"); len(g.Upstreams["app"]) != 0 {
			t.Errorf("Graph after update: %v", g.Upstreams)
		}
		hub := []string{"hub"}
		if _, err := db.UpdateRepository(ctx, "acme", "app", nil, &hub); err != nil {
			t.Fatal(err)
		}
		if g, _ := db.Graph(ctx, "acme"); strings.Join(g.Upstreams["app"], ",") != "hub" {
			t.Errorf("Graph after restoring: %v", g.Upstreams)
		}
	})

	t.Run("Graph after SetExternalConnection", func(t *testing.T) {
		db.Graph(ctx, "acme")
		if _, err := db.SetExternalConnection(ctx, "acme", "hub", "public:npmjs", false); err != nil {
			t.Fatal(err)
		}
		if g, _ := db.Graph(ctx, "acme"); g.External["hub"] != "public:npmjs" {
			t.Errorf("Graph after SetExternalConnection: %v", g.External)
		}
	})

	t.Run("not-found repository then created", func(t *testing.T) {
		if _, err := db.GetRepository(ctx, "acme", "late"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("missing repository: %v", err)
		}
		if _, err := db.GetPolicy(ctx, "acme", "late"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("policy of missing repository: %v", err)
		}
		if _, err := db.CreateRepository(ctx, "acme", "late", "d", "1", nil); err != nil {
			t.Fatal(err)
		}
		if r, err := db.GetRepository(ctx, "acme", "late"); err != nil || r.Description != "d" {
			t.Errorf("after create: %+v %v", r, err)
		}
		if _, err := db.DeleteRepository(ctx, "acme", "late"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetRepository(ctx, "acme", "late"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})

	t.Run("PackageStamp after publish", func(t *testing.T) {
		s1, err := db.PackageStamp(ctx, "acme", "hub", libRef)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PackageStamp(ctx, "acme", "app", libRef); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("stamp in app: %v", err)
		}
		publishLib(t, db, "hub", "1.1.0")
		publishLib(t, db, "app", "1.0.0")
		if s2, err := db.PackageStamp(ctx, "acme", "hub", libRef); err != nil || s2 == s1 {
			t.Errorf("stamp after publish: %q (was %q) %v", s2, s1, err)
		}
		if _, err := db.PackageStamp(ctx, "acme", "app", libRef); err != nil {
			t.Errorf("stamp in app after publish: %v", err)
		}
	})

	t.Run("OriginControls after SetOrigin", func(t *testing.T) {
		p0, u0, err := db.OriginControls(ctx, "acme", "hub", libRef)
		if err != nil {
			t.Fatal(err)
		}
		// Flip both: whatever a publish set, the next read sees the change.
		flip := map[domain.Restriction]domain.Restriction{domain.Allow: domain.Block, domain.Block: domain.Allow}
		if _, err := db.SetOrigin(ctx, "acme", "hub", libRef, flip[p0], flip[u0]); err != nil {
			t.Fatal(err)
		}
		if p, u, err := db.OriginControls(ctx, "acme", "hub", libRef); err != nil || p != flip[p0] || u != flip[u0] {
			t.Errorf("after SetOrigin: %q %q %v", p, u, err)
		}
	})

	t.Run("GetPolicy after PutPolicy and DeletePolicy", func(t *testing.T) {
		for _, repo := range []string{"", "hub"} {
			if _, err := db.GetPolicy(ctx, "acme", repo); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("%q: no policy yet: %v", repo, err)
			}
			doc := `{"Version":"2012-10-17","Statement":[]}` + repo
			if _, err := db.PutPolicy(ctx, "acme", repo, doc, ""); err != nil {
				t.Fatal(err)
			}
			if p, err := db.GetPolicy(ctx, "acme", repo); err != nil || p.Document != doc {
				t.Errorf("%q after PutPolicy: %+v %v", repo, p, err)
			}
			if _, err := db.DeletePolicy(ctx, "acme", repo, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetPolicy(ctx, "acme", repo); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("%q after DeletePolicy: %v", repo, err)
			}
		}
	})

	t.Run("PrincipalPolicies after PutUserPolicy and DeleteUserPolicy", func(t *testing.T) {
		if docs, err := db.PrincipalPolicies(ctx, reader.ID); err != nil || len(docs) != 0 {
			t.Fatalf("warm: %v %v", docs, err)
		}
		if err := db.PutUserPolicy(ctx, "reader", "p", `{"v":1}`); err != nil {
			t.Fatal(err)
		}
		if docs, _ := db.PrincipalPolicies(ctx, reader.ID); strings.Join(docs, ",") != `{"v":1}` {
			t.Errorf("after put: %v", docs)
		}
		if err := db.PutUserPolicy(ctx, "reader", "p", `{"v":2}`); err != nil {
			t.Fatal(err)
		}
		if docs, _ := db.PrincipalPolicies(ctx, reader.ID); strings.Join(docs, ",") != `{"v":2}` {
			t.Errorf("after replace: %v", docs)
		}
		if err := db.DeleteUserPolicy(ctx, "reader", "p"); err != nil {
			t.Fatal(err)
		}
		if docs, _ := db.PrincipalPolicies(ctx, reader.ID); len(docs) != 0 {
			t.Errorf("after delete: %v", docs)
		}
	})

	t.Run("GetAsset after UpdateStatus, cached answers are copies", func(t *testing.T) {
		a, v, err := db.GetAsset(ctx, "acme", "hub", libRef, "1.0.0", "lib-1.0.0.tgz")
		if err != nil || v.Status != domain.StatusPublished || a.Hashes.SHA256 == "" {
			t.Fatalf("warm: %+v %+v %v", a, v, err)
		}
		g := db.Generation()
		if a2, _, _ := db.GetAsset(ctx, "acme", "hub", libRef, "1.0.0", "lib-1.0.0.tgz"); a2 != a {
			t.Fatalf("second read %+v, first %+v", a2, a)
		}
		if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "hub", Ref: libRef, Versions: []string{"1.0.0"}}, domain.StatusArchived); err != nil {
			t.Fatal(err)
		}
		if db.Generation() == g {
			t.Fatal("UpdateStatus did not bump the generation")
		}
		if _, v, err := db.GetAsset(ctx, "acme", "hub", libRef, "1.0.0", "lib-1.0.0.tgz"); err != nil || v.Status != domain.StatusArchived {
			t.Errorf("after UpdateStatus: %+v %v", v.Status, err)
		}
		if _, _, err := db.GetAsset(ctx, "acme", "hub", libRef, "1.0.0", "other.tgz"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("missing asset: %v", err)
		}
		if _, err := db.UpdateStatus(ctx, domain.BatchInput{Domain: "acme", Repository: "hub", Ref: libRef, Versions: []string{"1.0.0"}}, domain.StatusPublished); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("single-statement writes bump the generation", func(t *testing.T) {
		g := db.Generation()
		if err := db.DropTags(ctx, "arn:none"); err != nil {
			t.Fatal(err)
		}
		if db.Generation() == g {
			t.Error("DropTags did not bump the generation")
		}
		g = db.Generation()
		if _, err := db.CreateDomain(ctx, "other", ""); err != nil {
			t.Fatal(err)
		}
		if db.Generation() == g {
			t.Error("CreateDomain did not bump the generation")
		}
	})
}

// Callers may modify what they get; the cache's copy must not change.
func TestReadCacheAnswersAreCopies(t *testing.T) {
	ctx := context.Background()
	db, _ := cacheDB(t)
	r, _ := db.GetRepository(ctx, "acme", "app")
	r.Upstreams[0] = "changed"
	g, _ := db.Graph(ctx, "acme")
	g.Upstreams["app"][0] = "changed"
	g.External["x"] = "y"
	if r, _ := db.GetRepository(ctx, "acme", "app"); r.Upstreams[0] != "hub" {
		t.Errorf("GetRepository answer shared: %v", r.Upstreams)
	}
	if g, _ := db.Graph(ctx, "acme"); g.Upstreams["app"][0] != "hub" || len(g.External) != 0 {
		t.Errorf("Graph answer shared: %v %v", g.Upstreams, g.External)
	}
	_, err1 := db.GetPolicy(ctx, "acme", "app")
	_, err2 := db.GetPolicy(ctx, "acme", "app")
	var e1, e2 *domain.Error
	if !errors.As(err1, &e1) || !errors.As(err2, &e2) || e1 == e2 {
		t.Errorf("not-found errors shared: %v %v", err1, err2)
	}
}

// Readers racing writers never see an answer older than the last write
// that returned before the read began: each writer publishes versions of
// its own package and, after each, reads the stamp and upstream list
// while other goroutines read and write concurrently.
func TestReadCacheConcurrentReadsAndWrites(t *testing.T) {
	ctx := context.Background()
	db, _ := cacheDB(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ { // plain readers, for the race detector
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				db.GetRepository(ctx, "acme", "app")
				db.Graph(ctx, "acme")
				db.PackageStamp(ctx, "acme", "hub", libRef)
				db.GetPolicy(ctx, "acme", "hub")
			}
		}()
	}
	var writers sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			ref := domain.PackageRef{Format: domain.FormatNPM, Name: fmt.Sprintf("w%d", w)}
			repo := fmt.Sprintf("r%d", w)
			if _, err := db.CreateRepository(ctx, "acme", repo, "", "1", nil); err != nil {
				errs <- err
				return
			}
			prev := ""
			for i := 0; i < 15; i++ {
				v := fmt.Sprintf("1.0.%d", i)
				in := domain.PublishInput{Domain: "acme", Repository: "hub", Ref: ref, Version: v,
					Assets: []domain.Asset{asset("a.tgz", v)}, DistTags: map[string]string{"latest": v}}
				if _, err := db.PublishVersion(ctx, in); err != nil {
					errs <- err
					return
				}
				s, err := db.PackageStamp(ctx, "acme", "hub", ref)
				if err != nil || s == prev {
					errs <- fmt.Errorf("%s after publishing %s: stamp %q (before %q) %v", ref.Name, v, s, prev, err)
					return
				}
				prev = s
				ups := []string{"hub"}
				if i%2 == 1 {
					ups = nil
				}
				if _, err := db.UpdateRepository(ctx, "acme", repo, nil, &ups); err != nil {
					errs <- err
					return
				}
				r, err := db.GetRepository(ctx, "acme", repo)
				g, gerr := db.Graph(ctx, "acme")
				if err != nil || gerr != nil || len(r.Upstreams) != len(ups) || len(g.Upstreams[repo]) != len(ups) {
					errs <- fmt.Errorf("%s after setting upstreams %v: got %v and graph %v (%v, %v)", repo, ups, r.Upstreams, g.Upstreams[repo], err, gerr)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkCachedReads compares each cached read with the query it saves
// (the uncached method, called directly).
func BenchmarkCachedReads(b *testing.B) {
	ctx := context.Background()
	db, reader := cacheDB(b)
	if err := db.PutUserPolicy(ctx, "reader", "p", `{"Version":"2012-10-17","Statement":[]}`); err != nil {
		b.Fatal(err)
	}
	reads := []struct {
		name             string
		cached, uncached func() error
	}{
		{"GetRepository", func() error { _, err := db.GetRepository(ctx, "acme", "app"); return err },
			func() error {
				id, err := repoID(ctx, db.db, "acme", "app")
				if err == nil {
					_, err = getRepository(ctx, db.db, id)
				}
				return err
			}},
		{"Graph", func() error { _, err := db.Graph(ctx, "acme"); return err },
			func() error { _, err := graph(ctx, db.db, "acme"); return err }},
		{"PackageStamp", func() error { _, err := db.PackageStamp(ctx, "acme", "hub", libRef); return err },
			func() error { _, err := db.packageStamp(ctx, "acme", "hub", libRef); return err }},
		{"OriginControls", func() error { _, _, err := db.OriginControls(ctx, "acme", "hub", libRef); return err },
			func() error { _, _, err := db.originControls(ctx, "acme", "hub", libRef); return err }},
		{"GetPolicy(none)", func() error { _, err := db.GetPolicy(ctx, "acme", "hub"); return ignoreNotFound(err) },
			func() error {
				id, err := repoID(ctx, db.db, "acme", "hub")
				if err == nil {
					var doc, rev sql.NullString
					err = db.db.QueryRowContext(ctx, `SELECT policy, policy_revision FROM repositories WHERE id = ?`, id).Scan(&doc, &rev)
				}
				return err
			}},
		{"PrincipalPolicies", func() error { _, err := db.PrincipalPolicies(ctx, reader.ID); return err },
			func() error {
				_, err := identityRows(ctx, db.db, scanString, `SELECT document FROM user_policies WHERE principal_id = ? ORDER BY name`, reader.ID)
				return err
			}},
	}
	for _, r := range reads {
		for _, mode := range []string{"cached", "uncached"} {
			f := r.cached
			if mode == "uncached" {
				f = r.uncached
			}
			b.Run(r.name+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	return err
}
