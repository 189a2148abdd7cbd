package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/maven"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// registry is the Maven format over real stores behind the real server,
// with domain acme, repository shared, and a token that may do anything.
func registry(t *testing.T) (*sqlite.DB, string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, "acme", "shared", "", "123456789012", nil); err != nil {
		t.Fatal(err)
	}
	key, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	token := "seed-token"
	sum := sha256.Sum256([]byte(token))
	if err := db.StoreToken(ctx, hex.EncodeToString(sum[:]), key.PrincipalID, "acme", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: &server.Authenticator{LookupKey: db.LookupAccessKey, LookupToken: db.LookupToken}})
	f := &maven.Format{Store: db, Blobs: blobs, Authorize: func(c echo.Context, _ string, _ *domain.PackageRef) error {
		if _, ok := server.CallerOf(c); !ok {
			return domain.Errorf(domain.ErrUnauthenticated, "authentication required")
		}
		_, err := db.GetRepository(c.Request().Context(), c.Param("domain"), c.Param("repo"))
		return err
	}}
	f.Register(srv.Format(f.Name(), f.Flavour()))
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return db, ts.URL + "/maven/acme/shared/", token
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const pom = `<project><groupId>com.acme</groupId><artifactId>lib</artifactId><version>%s</version></project>`

// TestSeedLocalRepository seeds a directory laid out like ~/.m2/repository:
// releases, a symbolic link, a non-unique snapshot, and the local
// repository's bookkeeping, which is skipped.
func TestSeedLocalRepository(t *testing.T) {
	db, endpoint, token := registry(t)
	root := t.TempDir()
	write(t, root, map[string]string{
		"com/acme/lib/1.0/lib-1.0.jar":                   "jar 1.0",
		"com/acme/lib/1.0/lib-1.0.pom":                   strings.Replace(pom, "%s", "1.0", 1),
		"com/acme/lib/1.0/lib-1.0.jar.sha1":              "whatever",
		"com/acme/lib/1.0/_remote.repositories":          "central",
		"com/acme/lib/maven-metadata-central.xml":        "<metadata/>",
		"com/acme/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.jar": "snapshot jar",
		"com/acme/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.pom": strings.Replace(pom, "%s", "2.0-SNAPSHOT", 1),
		"README.txt": "not an artifact",
	})
	if err := os.MkdirAll(filepath.Join(root, "com/acme/lib/1.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../1.0/lib-1.0.jar", filepath.Join(root, "com/acme/lib/1.1/lib-1.1.jar")); err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2026, 11, 21, 10, 15, 30, 0, time.UTC)
	for _, f := range []string{"lib-2.0-SNAPSHOT.jar", "lib-2.0-SNAPSHOT.pom"} {
		os.Chtimes(filepath.Join(root, "com/acme/lib/2.0-SNAPSHOT", f), mod, mod)
	}

	ctx := context.Background()
	for run := 0; run < 2; run++ { // seeding again changes nothing
		rep, err := Run(ctx, root, Options{Endpoint: endpoint, Token: token})
		if err != nil {
			t.Fatalf("run %d: %v %+v", run, err, rep.Failed)
		}
		if rep.Files != 5 || rep.Artifacts != 1 || rep.Versions != 3 || rep.Published != 1 || len(rep.Skipped) != 4 {
			t.Fatalf("run %d: %+v", run, rep)
		}
	}
	ref := domain.PackageRef{Format: domain.FormatMaven, Namespace: "com.acme", Name: "lib"}
	versions, _, err := db.ListVersions(ctx, "acme", "shared", ref, domain.VersionFilter{}, domain.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range versions {
		got = append(got, v.Version+"="+string(v.Status))
	}
	if strings.Join(got, " ") != "1.0=Published 1.1=Published 2.0-20261121.101530-1=Published" {
		t.Errorf("versions: %v", got)
	}

	// The snapshot resolves as any deployed snapshot does.
	req, _ := http.NewRequest(http.MethodGet, endpoint+"com/acme/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.jar", nil)
	req.SetBasicAuth("aws", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "snapshot jar" {
		t.Errorf("snapshot jar: %d %q", res.StatusCode, body)
	}

	// A file whose bytes changed since is refused, and reported.
	write(t, root, map[string]string{"com/acme/lib/1.0/lib-1.0.jar": "changed"})
	rep, err := Run(ctx, root, Options{Endpoint: endpoint, Token: token, Concurrency: 1})
	if err == nil || len(rep.Failed) != 2 || !strings.Contains(rep.Failed[0].Reason, "409") || rep.Published != 0 { // 1.0 and its link 1.1
		t.Errorf("changed file: %v %+v", err, rep)
	}
	if _, err := Run(ctx, root, Options{Endpoint: endpoint, Token: "wrong"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad token: %v", err)
	}
}
