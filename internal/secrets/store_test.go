package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T, dir string, clk *clock) *Store {
	t.Helper()
	o := Options{Path: filepath.Join(dir, "secrets.db"), KeyFile: filepath.Join(dir, "secrets.key"), Region: "us-east-1", Account: "123456789012"}
	if clk != nil {
		o.Now = clk.now
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func str(s string) *string { return &s }

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	ctx := context.Background()
	if _, err := s.PutParameter(ctx, PutParameterInput{Name: "/a", Type: TypeSecureString, Value: "v1-secret"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	key := filepath.Join(dir, "secrets.key")
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	// Reopening reads the same key.
	if v, err := openStore(t, dir, nil).ParameterValue(ctx, "/a"); err != nil || v != "v1-secret" {
		t.Errorf("after reopen: %q %v", v, err)
	}
	// A key readable by others is refused; a corrupt one too.
	os.Chmod(key, 0o644)
	if _, err := Open(ctx, Options{Path: filepath.Join(dir, "secrets.db"), KeyFile: key}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: %v", err)
	}
	os.Chmod(key, 0o600)
	os.WriteFile(key, []byte("not hex\n"), 0o600)
	if _, err := Open(ctx, Options{Path: filepath.Join(dir, "secrets.db"), KeyFile: key}); err == nil {
		t.Error("a corrupt key was accepted")
	}
	// Another key cannot open the values (an error, not garbage).
	os.Remove(key)
	s2 := openStore(t, dir, nil)
	if _, err := s2.ParameterValue(ctx, "/a"); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("value under a new key: %v", err)
	}
}

// TestEncryptedAtRest: no file of the store holds a plaintext value.
func TestEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	ctx := context.Background()
	plain := []string{"param-plaintext-0001", "secure-plaintext-0002", "secret-plaintext-0003", "binary-plaintext-0004", "newer-plaintext-0005"}
	s.PutParameter(ctx, PutParameterInput{Name: "p1", Type: TypeString, Value: plain[0]})
	s.PutParameter(ctx, PutParameterInput{Name: "/p/2", Type: TypeSecureString, Value: plain[1]})
	s.CreateSecret(ctx, CreateSecretInput{Name: "s1", String: str(plain[2])})
	s.CreateSecret(ctx, CreateSecretInput{Name: "s2", Binary: []byte(plain[3])})
	s.PutSecretValue(ctx, PutSecretValueInput{SecretID: "s1", String: str(plain[4])})
	files, _ := filepath.Glob(filepath.Join(dir, "secrets.*"))
	if len(files) < 3 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, p := range plain {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("%s holds %q", filepath.Base(f), p)
			}
		}
	}
}

// TestCiphertextBoundToRow: a sealed value copied to another row (or a
// type changed behind the API's back) does not open.
func TestCiphertextBoundToRow(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	ctx := context.Background()
	s.PutParameter(ctx, PutParameterInput{Name: "a", Type: TypeSecureString, Value: "value-a"})
	s.PutParameter(ctx, PutParameterInput{Name: "b", Type: TypeSecureString, Value: "value-b"})
	if _, err := s.db.Exec(`UPDATE parameters SET value = (SELECT value FROM parameters WHERE name = 'a') WHERE name = 'b'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ParameterValue(ctx, "b"); err == nil {
		t.Error("a ciphertext moved to another parameter opened")
	}
	s.db.Exec(`UPDATE parameters SET type = 'String' WHERE name = 'a'`)
	if _, err := s.ParameterValue(ctx, "a"); err == nil {
		t.Error("a SecureString relabelled String opened")
	}
}

func TestParameters(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	ctx := context.Background()
	if v, err := s.PutParameter(ctx, PutParameterInput{Name: "/app/db/url", Type: TypeString, Value: "u1", Description: "d"}); err != nil || v != 1 {
		t.Fatalf("put: %d %v", v, err)
	}
	if _, err := s.PutParameter(ctx, PutParameterInput{Name: "/app/db/url", Type: TypeString, Value: "u2"}); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("put without overwrite: %v", err)
	}
	if v, err := s.PutParameter(ctx, PutParameterInput{Name: "/app/db/url", Value: "u2", Overwrite: true}); err != nil || v != 2 {
		t.Errorf("overwrite: %d %v", v, err)
	}
	p, err := s.GetParameter(ctx, "/app/db/url")
	if err != nil || p.Value != "u2" || p.Version != 2 || p.Type != TypeString || p.Description != "d" || p.ARN != "arn:aws:ssm:us-east-1:123456789012:parameter/app/db/url" {
		t.Errorf("get: %+v %v", p, err)
	}
	if _, err := s.GetParameter(ctx, "/app/db/url:2"); err != nil {
		t.Errorf("current version selector: %v", err)
	}
	if _, err := s.GetParameter(ctx, "/app/db/url:1"); domain.KindOf(err) != domain.ErrNotFound {
		t.Errorf("old version selector: %v", err)
	}
	if _, err := s.PutParameter(ctx, PutParameterInput{Name: "new", Value: "x"}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("no type: %v", err)
	}
	for _, name := range []string{"awsx", "/ssm/x", "a b", "a/b", "/a//b", "/a/", strings.Repeat("/a", 16), ""} {
		if _, err := s.PutParameter(ctx, PutParameterInput{Name: name, Type: TypeString, Value: "x"}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := s.PutParameter(ctx, PutParameterInput{Name: "big", Type: TypeString, Value: strings.Repeat("x", 4097)}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("oversized standard value: %v", err)
	}
	if _, err := s.PutParameter(ctx, PutParameterInput{Name: "big", Type: TypeString, Tier: "Advanced", Value: strings.Repeat("x", 4097)}); err != nil {
		t.Errorf("advanced value: %v", err)
	}
	if err := s.DeleteParameter(ctx, "/app/db/url"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteParameter(ctx, "/app/db/url"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestSecretVersions(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	s := openStore(t, t.TempDir(), clk)
	ctx := context.Background()
	tok1 := strings.Repeat("1", 32)
	c, err := s.CreateSecret(ctx, CreateSecretInput{Name: "app/db", String: str(`{"password":"p1"}`), Token: tok1, Tags: []Tag{{Key: "team", Value: "core"}}})
	if err != nil || c.VersionID != tok1 || !strings.HasPrefix(c.ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-") || len(c.ARN) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-")+6 {
		t.Fatalf("create: %+v %v", c, err)
	}
	if _, err := s.CreateSecret(ctx, CreateSecretInput{Name: "app/db", String: str("x")}); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("create twice: %v", err)
	}
	clk.advance(time.Second)
	v2, err := s.PutSecretValue(ctx, PutSecretValueInput{SecretID: c.ARN, String: str(`{"password":"p2"}`)})
	if err != nil || !slices.Equal(v2.Stages, []string{StageCurrent}) {
		t.Fatalf("put: %+v %v", v2, err)
	}
	// Same token and value: nothing changes; same token, other value: refused.
	if again, err := s.PutSecretValue(ctx, PutSecretValueInput{SecretID: "app/db", Token: tok1, String: str(`{"password":"p1"}`)}); err != nil || !slices.Equal(again.Stages, []string{StagePrevious}) {
		t.Errorf("idempotent put: %+v %v", again, err)
	}
	if _, err := s.PutSecretValue(ctx, PutSecretValueInput{SecretID: "app/db", Token: tok1, String: str("other")}); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("token reuse: %v", err)
	}
	cur, _ := s.GetSecretValue(ctx, "app/db", "", "")
	prev, _ := s.GetSecretValue(ctx, "app/db", "", StagePrevious)
	byID, _ := s.GetSecretValue(ctx, strings.TrimSuffix(c.ARN, c.ARN[len(c.ARN)-7:]), tok1, "") // partial ARN
	if cur.String != `{"password":"p2"}` || prev.String != `{"password":"p1"}` || byID.String != `{"password":"p1"}` {
		t.Errorf("current %q previous %q by id %q", cur.String, prev.String, byID.String)
	}
	clk.advance(time.Second)
	s.PutSecretValue(ctx, PutSecretValueInput{SecretID: "app/db", String: str("third")})
	list, _ := s.ListSecrets(ctx, false)
	if len(list) != 1 || len(list[0].Versions) != 2 || !slices.Equal(list[0].Versions[v2.VersionID], []string{StagePrevious}) {
		t.Errorf("versions after a third value: %+v", list)
	}
	if v, err := s.SecretString(ctx, "app/db", "", ""); err != nil || v != "third" {
		t.Errorf("SecretString: %q %v", v, err)
	}
	if _, err := s.GetSecretValue(ctx, "app/db", tok1, ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("the unlabelled version is kept: %v", err)
	}

	// Scheduled deletion: unreadable, listed only on request, purged
	// after the window; force deletion is immediate.
	_, when, err := s.DeleteSecret(ctx, "app/db", 7, false)
	if err != nil || !when.Equal(clk.now().Add(7*24*time.Hour)) {
		t.Fatalf("delete: %v %v", when, err)
	}
	if _, err := s.GetSecretValue(ctx, "app/db", "", ""); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("reading a deleted secret: %v", err)
	}
	if _, err := s.CreateSecret(ctx, CreateSecretInput{Name: "app/db", String: str("x")}); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("recreating a scheduled secret: %v", err)
	}
	if l, _ := s.ListSecrets(ctx, false); len(l) != 0 {
		t.Errorf("listed: %+v", l)
	}
	if l, _ := s.ListSecrets(ctx, true); len(l) != 1 || l[0].Deleted.IsZero() {
		t.Errorf("listed with planned deletions: %+v", l)
	}
	clk.advance(8 * 24 * time.Hour)
	if _, err := s.GetSecretValue(ctx, "app/db", "", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("after the window: %v", err)
	}
	s.CreateSecret(ctx, CreateSecretInput{Name: "bin", Binary: []byte{0, 1, 2}})
	if _, err := s.SecretString(ctx, "bin", "", ""); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("SecretString of a binary secret: %v", err)
	}
	if _, _, err := s.DeleteSecret(ctx, "bin", 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecret(ctx, CreateSecretInput{Name: "bin", String: str("again")}); err != nil {
		t.Errorf("recreate after force delete: %v", err)
	}
	if _, _, err := s.DeleteSecret(ctx, "bin", 3, false); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("3-day window: %v", err)
	}
	empty, _ := s.CreateSecret(ctx, CreateSecretInput{Name: "empty"})
	if _, err := s.GetSecretValue(ctx, "empty", "", ""); !errors.Is(err, domain.ErrNotFound) || empty.VersionID != "" {
		t.Errorf("secret without a value: %v %+v", err, empty)
	}
}
