package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// BenchmarkTokenCheck measures what every package-format request pays to
// be authenticated: the server's middleware chain and the token
// middleware resolving a Bearer or Basic token through the real SQLite
// token store, uncached and through CacheTokens, against an anonymous
// request through the same chain, and the store lookup alone.
func BenchmarkTokenCheck(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, _, err := db.EnsureRoot(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateDomain(ctx, "acme", ""); err != nil {
		b.Fatal(err)
	}
	u, err := db.CreateUser(ctx, "alice", "")
	if err != nil {
		b.Fatal(err)
	}
	const tok = "bench-token-value-of-a-realistic-length-0123456789abcdef0123456789abcdef"
	sum := sha256.Sum256([]byte(tok))
	hash := hex.EncodeToString(sum[:])
	if err := db.StoreToken(ctx, hash, u.ID, "acme", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	newServer := func(lookup func(context.Context, string, time.Time) (domain.Principal, string, error)) *server.Server {
		srv := server.New(server.Options{
			Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Auth: &server.Authenticator{LookupKey: db.LookupAccessKey, LookupToken: lookup},
		})
		srv.Format("npm", server.NPM).GET("/whoami", func(c echo.Context) error {
			if _, ok := server.CallerOf(c); !ok {
				return c.NoContent(http.StatusNoContent)
			}
			return c.NoContent(http.StatusOK)
		})
		return srv
	}
	uncached := newServer(db.LookupToken)
	cached := newServer(server.CacheTokens(db.LookupTokenExpiry, server.TokenCacheTTL))
	for _, bc := range []struct {
		name, auth string
		srv        *server.Server
		want       int
	}{
		{"anonymous", "", uncached, http.StatusNoContent},
		{"bearer", "Bearer " + tok, uncached, http.StatusOK},
		{"basic", basic("aws", tok), uncached, http.StatusOK},
		{"bearer-cached", "Bearer " + tok, cached, http.StatusOK},
		{"basic-cached", basic("aws", tok), cached, http.StatusOK},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/npm/acme/main/whoami", nil)
				if bc.auth != "" {
					req.Header.Set("Authorization", bc.auth)
				}
				w := httptest.NewRecorder()
				bc.srv.Echo.ServeHTTP(w, req)
				if w.Code != bc.want {
					b.Fatalf("status %d, want %d: %s", w.Code, bc.want, w.Body)
				}
			}
		})
	}
	b.Run("lookup-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, dom, err := db.LookupToken(ctx, hash, time.Now()); err != nil || dom != "acme" {
				b.Fatal(dom, err)
			}
		}
	})
}
