package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/sqlite"
)

var (
	keyIDRE  = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretRE = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	userIDRE = regexp.MustCompile(`^AIDA[A-Z0-9]{17}$`)
)

func openIdentityDB(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registry.db")
	d, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
}

func TestEnsureRoot(t *testing.T) {
	ctx := context.Background()
	d, path := openIdentityDB(t)
	key, created, err := d.EnsureRoot(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureRoot = %v, %v; want created", created, err)
	}
	if !keyIDRE.MatchString(key.ID) || !secretRE.MatchString(key.Secret) || key.Status != "Active" {
		t.Fatalf("root key %q (secret %d chars, status %s) is not AWS-shaped", key.ID, len(key.Secret), key.Status)
	}
	again, created, err := d.EnsureRoot(ctx)
	if err != nil || created || again != key {
		t.Fatalf("second EnsureRoot = %+v, %v, %v; want the first key, not created", again.ID, created, err)
	}
	d.Close()

	d2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	reopened, created, err := d2.EnsureRoot(ctx)
	if err != nil || created || reopened.ID != key.ID || reopened.Secret != key.Secret {
		t.Fatalf("after reopen EnsureRoot = %s, %v, %v; want %s", reopened.ID, created, err, key.ID)
	}
	p, k, err := d2.LookupAccessKey(ctx, key.ID)
	if err != nil || !p.Root || p.Name != "root" || !userIDRE.MatchString(p.UserID) || k.Secret != key.Secret || k.PrincipalID != p.ID {
		t.Fatalf("LookupAccessKey(root) = %+v, %+v, %v", p, k.ID, err)
	}
	if users, err := d2.ListUsers(ctx); err != nil || len(users) != 0 {
		t.Fatalf("ListUsers = %v, %v; root must not be listed", users, err)
	}
	_, err = d2.GetUser(ctx, "root")
	wantKind(t, err, domain.ErrNotFound)
	_, err = d2.CreateUser(ctx, "Root", "/")
	wantKind(t, err, domain.ErrInvalid)
	_, err = d2.CreateAccessKey(ctx, "root")
	wantKind(t, err, domain.ErrNotFound)
	wantKind(t, d2.DeleteAccessKey(ctx, "root", key.ID), domain.ErrNotFound)
}

func TestEnsureRootConcurrent(t *testing.T) {
	d, _ := openIdentityDB(t)
	const n = 8
	keys := make([]domain.AccessKey, n)
	createdCount := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, created, err := d.EnsureRoot(context.Background())
			if err != nil {
				t.Error(err)
			}
			keys[i], createdCount[i] = k, created
		})
	}
	wg.Wait()
	creations := 0
	for i := range n {
		if keys[i].ID != keys[0].ID {
			t.Fatalf("goroutine %d got key %s, goroutine 0 got %s", i, keys[i].ID, keys[0].ID)
		}
		if createdCount[i] {
			creations++
		}
	}
	if creations != 1 {
		t.Fatalf("%d callers created the root key, want 1", creations)
	}
}

func TestCreateUserValidation(t *testing.T) {
	ctx := context.Background()
	d, _ := openIdentityDB(t)
	for _, tc := range []struct {
		name, user, path string
		kind             error
	}{
		{"plain", "alice", "", nil},
		{"all allowed punctuation", "a_b+c=d,e.f@g-h", "/", nil},
		{"with path", "bob", "/team/ci/", nil},
		{"64 chars", strings.Repeat("a", 64), "/", nil},
		{"duplicate", "alice", "/", domain.ErrAlreadyExists},
		{"duplicate other case", "ALICE", "/", domain.ErrAlreadyExists},
		{"empty", "", "/", domain.ErrInvalid},
		{"space", "al ice", "/", domain.ErrInvalid},
		{"slash", "a/b", "/", domain.ErrInvalid},
		{"unicode", "ålice", "/", domain.ErrInvalid},
		{"65 chars", strings.Repeat("b", 65), "/", domain.ErrInvalid},
		{"path without trailing slash", "carol", "/team", domain.ErrInvalid},
		{"512 char path", "dave", "/" + strings.Repeat("p", 510) + "/", nil},
		{"513 char path", "erin", "/" + strings.Repeat("p", 511) + "/", domain.ErrInvalid},
		{"path with inner slashes", "fred", "/a/b/c/", nil},
		{"path with space", "carol", "/a b/", domain.ErrInvalid},
		{"reserved root", "root", "/", domain.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := d.CreateUser(ctx, tc.user, tc.path)
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantPath := tc.path
			if wantPath == "" {
				wantPath = "/"
			}
			if p.Name != tc.user || p.Path != wantPath || p.Root || !userIDRE.MatchString(p.UserID) || p.CreatedAt.IsZero() {
				t.Fatalf("CreateUser = %+v", p)
			}
			got, err := d.GetUser(ctx, tc.user)
			if err != nil || got != p {
				t.Fatalf("GetUser = %+v, %v; want %+v", got, err, p)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	d, _ := openIdentityDB(t)
	if _, _, err := d.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"zed", "amy", "Bob"} {
		if _, err := d.CreateUser(ctx, n, "/"); err != nil {
			t.Fatal(err)
		}
	}
	users, err := d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"Bob", "amy", "zed"}) {
		t.Fatalf("ListUsers names = %v", names)
	}
	if u, err := d.GetUser(ctx, "bob"); err != nil || u.Name != "Bob" {
		t.Fatalf("GetUser(bob) = %+v, %v; want the user Bob", u, err)
	}
	_, err = d.GetUser(ctx, "nobody")
	wantKind(t, err, domain.ErrNotFound)
	wantKind(t, d.DeleteUser(ctx, "nobody"), domain.ErrNotFound)
	if err := d.DeleteUser(ctx, "BOB"); err != nil {
		t.Fatal(err)
	}
	_, err = d.GetUser(ctx, "Bob")
	wantKind(t, err, domain.ErrNotFound)
}

func TestAccessKeys(t *testing.T) {
	ctx := context.Background()
	d, _ := openIdentityDB(t)
	alice, err := d.CreateUser(ctx, "alice", "/ci/")
	if err != nil {
		t.Fatal(err)
	}
	k1, err := d.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !keyIDRE.MatchString(k1.ID) || !secretRE.MatchString(k1.Secret) || k1.PrincipalID != alice.ID || k1.Status != "Active" {
		t.Fatalf("CreateAccessKey = %+v", k1.ID)
	}
	k2, err := d.CreateAccessKey(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID == k2.ID || k1.Secret == k2.Secret {
		t.Fatal("two keys share an id or a secret")
	}
	_, err = d.CreateAccessKey(ctx, "alice")
	wantKind(t, err, domain.ErrQuotaExceeded)
	_, err = d.CreateAccessKey(ctx, "nobody")
	wantKind(t, err, domain.ErrNotFound)

	keys, err := d.ListAccessKeys(ctx, "alice")
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListAccessKeys = %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if k.Secret != "" {
			t.Fatal("ListAccessKeys returned a secret")
		}
		if k.ID != k1.ID && k.ID != k2.ID || k.PrincipalID != alice.ID || k.CreatedAt.IsZero() {
			t.Fatalf("listed key %+v", k)
		}
	}
	_, err = d.ListAccessKeys(ctx, "nobody")
	wantKind(t, err, domain.ErrNotFound)

	p, k, err := d.LookupAccessKey(ctx, k1.ID)
	if err != nil || p.Name != "alice" || p.Path != "/ci/" || p.ID != alice.ID || k.Secret != k1.Secret {
		t.Fatalf("LookupAccessKey = %+v, %s, %v", p, k.ID, err)
	}
	_, _, err = d.LookupAccessKey(ctx, "AKIAAAAAAAAAAAAAAAAA")
	wantKind(t, err, domain.ErrNotFound)
	if _, err := d.SQL().ExecContext(ctx, `UPDATE access_keys SET status = 'Inactive' WHERE id = ?`, k2.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.LookupAccessKey(ctx, k2.ID)
	wantKind(t, err, domain.ErrNotFound)

	wantKind(t, d.DeleteUser(ctx, "alice"), domain.ErrConflict)
	bob, err := d.CreateUser(ctx, "bob", "/")
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, d.DeleteAccessKey(ctx, bob.Name, k1.ID), domain.ErrNotFound) // alice's key
	for _, id := range []string{k1.ID, k2.ID} {
		if err := d.DeleteAccessKey(ctx, "alice", id); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, d.DeleteAccessKey(ctx, "alice", k1.ID), domain.ErrNotFound)
	_, _, err = d.LookupAccessKey(ctx, k1.ID)
	wantKind(t, err, domain.ErrNotFound)
	if err := d.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}

func TestUserPolicies(t *testing.T) {
	ctx := context.Background()
	d, _ := openIdentityDB(t)
	alice, err := d.CreateUser(ctx, "alice", "/")
	if err != nil {
		t.Fatal(err)
	}
	const doc1, doc2 = `{"Version":"2012-10-17","Statement":[]}`, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	if err := d.PutUserPolicy(ctx, "alice", "read", doc1); err != nil {
		t.Fatal(err)
	}
	if err := d.PutUserPolicy(ctx, "Alice", "admin", doc1); err != nil {
		t.Fatal(err)
	}
	if err := d.PutUserPolicy(ctx, "alice", "admin", doc2); err != nil { // replaces
		t.Fatal(err)
	}
	wantKind(t, d.PutUserPolicy(ctx, "alice", "bad name", doc1), domain.ErrInvalid)
	wantKind(t, d.PutUserPolicy(ctx, "alice", strings.Repeat("n", 129), doc1), domain.ErrInvalid)
	if _, err := d.CreateUser(ctx, "bob", "/"); err != nil {
		t.Fatal(err)
	}
	if err := d.PutUserPolicy(ctx, "bob", strings.Repeat("n", 128), doc1); err != nil {
		t.Fatal(err)
	}
	wantKind(t, d.PutUserPolicy(ctx, "nobody", "read", doc1), domain.ErrNotFound)

	if got, err := d.GetUserPolicy(ctx, "alice", "admin"); err != nil || got != doc2 {
		t.Fatalf("GetUserPolicy = %q, %v", got, err)
	}
	_, err = d.GetUserPolicy(ctx, "alice", "missing")
	wantKind(t, err, domain.ErrNotFound)
	_, err = d.GetUserPolicy(ctx, "nobody", "admin")
	wantKind(t, err, domain.ErrNotFound)
	if names, err := d.ListUserPolicies(ctx, "alice"); err != nil || !slices.Equal(names, []string{"admin", "read"}) {
		t.Fatalf("ListUserPolicies = %v, %v", names, err)
	}
	_, err = d.ListUserPolicies(ctx, "nobody")
	wantKind(t, err, domain.ErrNotFound)
	if docs, err := d.PrincipalPolicies(ctx, alice.ID); err != nil || !slices.Equal(docs, []string{doc2, doc1}) {
		t.Fatalf("PrincipalPolicies = %v, %v", docs, err)
	}
	if docs, err := d.PrincipalPolicies(ctx, 999); err != nil || len(docs) != 0 {
		t.Fatalf("PrincipalPolicies(unknown) = %v, %v", docs, err)
	}

	wantKind(t, d.DeleteUser(ctx, "alice"), domain.ErrConflict)
	wantKind(t, d.DeleteUserPolicy(ctx, "alice", "missing"), domain.ErrNotFound)
	for _, n := range []string{"admin", "read"} {
		if err := d.DeleteUserPolicy(ctx, "alice", n); err != nil {
			t.Fatal(err)
		}
	}
	if names, err := d.ListUserPolicies(ctx, "alice"); err != nil || len(names) != 0 {
		t.Fatalf("ListUserPolicies after delete = %v, %v", names, err)
	}
	if err := d.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}
