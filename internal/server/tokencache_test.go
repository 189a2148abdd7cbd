package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// countingLookup wraps a TokenLookup and counts its calls.
type countingLookup struct {
	mu    sync.Mutex
	calls int
	next  server.TokenLookup
}

func (c *countingLookup) lookup(ctx context.Context, hash string, at time.Time) (domain.Principal, string, time.Time, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.next(ctx, hash, at)
}

func (c *countingLookup) n() int { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }

// tokenEnv is a server whose token middleware resolves tokens through
// CacheTokens over the real SQLite store, with a clock the test moves.
type tokenEnv struct {
	db     *sqlite.DB
	srv    *server.Server
	count  *countingLookup
	mu     sync.Mutex
	now    time.Time
	userID int64
}

func newTokenEnv(t *testing.T, ttl time.Duration) *tokenEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, _, err := db.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	e := &tokenEnv{db: db, now: time.Now(), userID: u.ID, count: &countingLookup{next: db.LookupTokenExpiry}}
	e.srv = server.New(server.Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: &server.Authenticator{
			LookupKey:   db.LookupAccessKey,
			LookupToken: server.CacheTokens(e.count.lookup, ttl),
			Now:         e.clock,
		},
	})
	e.srv.Format("npm", server.NPM).GET("/whoami", func(c echo.Context) error {
		p, ok := server.CallerOf(c)
		if !ok {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.String(http.StatusOK, p.Name+"@"+server.TokenDomain(c))
	})
	return e
}

func (e *tokenEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *tokenEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func (e *tokenEnv) store(t *testing.T, tok string, expires time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(tok))
	if err := e.db.StoreToken(context.Background(), hex.EncodeToString(sum[:]), e.userID, "acme", expires); err != nil {
		t.Fatal(err)
	}
}

// whoami returns the status and body of an npm request with tok.
func (e *tokenEnv) whoami(tok string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "/npm/acme/main/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	e.srv.Echo.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (e *tokenEnv) want(t *testing.T, tok string, status, lookups int) {
	t.Helper()
	code, body := e.whoami(tok)
	if code != status {
		t.Fatalf("status %d, want %d: %s", code, status, body)
	}
	if status == http.StatusOK && body != "alice@acme" {
		t.Fatalf("caller %q, want alice@acme", body)
	}
	if n := e.count.n(); n != lookups {
		t.Fatalf("%d store lookups, want %d", n, lookups)
	}
}

// TestCacheTokensReuses checks that a second check of a token does not
// consult the store, and that the cached answer is dropped after the TTL.
func TestCacheTokensReuses(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t, 30*time.Second)
	e.store(t, "tok-a", e.clock().Add(time.Hour))
	e.want(t, "tok-a", http.StatusOK, 1)
	e.want(t, "tok-a", http.StatusOK, 1)
	e.advance(29 * time.Second)
	e.want(t, "tok-a", http.StatusOK, 1)
	e.advance(time.Second) // at the TTL: asked again, and cached anew
	e.want(t, "tok-a", http.StatusOK, 2)
	e.want(t, "tok-a", http.StatusOK, 2)
}

// TestCacheTokensFailuresNotCached checks that an unknown token is looked
// up every time, so a token stored after a failed attempt works at once.
func TestCacheTokensFailuresNotCached(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t, 30*time.Second)
	e.want(t, "tok-late", http.StatusUnauthorized, 1)
	e.want(t, "tok-late", http.StatusUnauthorized, 2)
	e.store(t, "tok-late", e.clock().Add(time.Hour))
	e.want(t, "tok-late", http.StatusOK, 3)
}

// TestCacheTokensHonoursExpiry checks that a cached token is refused from
// its own expiry on, even within the TTL.
func TestCacheTokensHonoursExpiry(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t, 30*time.Second)
	e.store(t, "tok-short", e.clock().Add(10*time.Second))
	e.want(t, "tok-short", http.StatusOK, 1)
	e.advance(9 * time.Second)
	e.want(t, "tok-short", http.StatusOK, 1)
	e.advance(time.Second) // expired: the store is asked and refuses
	e.want(t, "tok-short", http.StatusUnauthorized, 2)
	e.want(t, "tok-short", http.StatusUnauthorized, 3)
}

// TestCacheTokensDeletedUser checks the documented bound: a deleted
// user's token keeps working from the cache for at most the TTL.
func TestCacheTokensDeletedUser(t *testing.T) {
	t.Parallel()
	e := newTokenEnv(t, 30*time.Second)
	e.store(t, "tok-gone", e.clock().Add(time.Hour))
	e.want(t, "tok-gone", http.StatusOK, 1)
	if err := e.db.DeleteUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second)
	e.want(t, "tok-gone", http.StatusUnauthorized, 2)
}

// TestCacheTokensLookupError checks that a store error is returned, not
// cached, and not turned into a grant.
func TestCacheTokensLookupError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	calls := 0
	lookup := server.CacheTokens(func(context.Context, string, time.Time) (domain.Principal, string, time.Time, error) {
		calls++
		return domain.Principal{}, "", time.Time{}, boom
	}, 0)
	for i := 1; i <= 2; i++ {
		if _, _, err := lookup(context.Background(), "h", time.Now()); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if calls != i {
			t.Fatalf("%d calls, want %d", calls, i)
		}
	}
}
