package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
	"github.com/artifactd/registry/internal/testutil"
)

// harness is a server with a real SQLite identity and token store, a
// control-plane route (POST /v1/domain), and a whoami route on the npm
// (NPM errors) and maven (Text errors) format groups that reports the
// caller the token middleware resolved.
type harness struct {
	db       *sqlite.DB
	ts       *httptest.Server
	root     aws.Credentials
	notReady atomic.Pointer[error]
	logs     *testutil.SyncBuffer // the server's log
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, root: aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}, logs: &testutil.SyncBuffer{}}
	srv := server.New(server.Options{
		Log:  slog.New(slog.NewTextHandler(h.logs, nil)),
		Auth: &server.Authenticator{LookupKey: db.LookupAccessKey, LookupToken: db.LookupToken},
		Ready: func(context.Context) error {
			if err := h.notReady.Load(); err != nil {
				return *err
			}
			return nil
		},
	})
	srv.CodeArtifact().POST("/domain", func(c echo.Context) error {
		p, _ := server.CallerOf(c)
		return c.JSON(http.StatusOK, map[string]any{"caller": p.Name, "service": server.ServiceOf(c)})
	})
	whoami := func(c echo.Context) error {
		p, ok := server.CallerOf(c)
		if !ok {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.String(http.StatusOK, p.Name+"@"+server.TokenDomain(c))
	}
	srv.Format("npm", server.NPM).GET("/whoami", whoami)
	srv.Format("maven", server.Text).GET("/whoami", whoami)
	h.ts = httptest.NewServer(srv.Echo)
	t.Cleanup(h.ts.Close)
	return h
}

func (h *harness) setReady(err error) {
	if err == nil {
		h.notReady.Store(nil)
		return
	}
	h.notReady.Store(&err)
}

var errNotReady = errors.New("database unreachable")

// token stores a token for principal id in dom, valid until expires, and
// returns its value.
func (h *harness) token(t *testing.T, value string, principalID int64, dom string, expires time.Time) string {
	t.Helper()
	sum := sha256.Sum256([]byte(value))
	if err := h.db.StoreToken(context.Background(), hex.EncodeToString(sum[:]), principalID, dom, expires); err != nil {
		t.Fatal(err)
	}
	return value
}

type response struct {
	status int
	header http.Header
	body   string
}

// get sends an unsigned request with the given Authorization header.
func (h *harness) get(t *testing.T, path, authorization string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.do(t, req)
}

// signedPost sends a SigV4-signed POST (service codeartifact) with body.
func (h *harness) signedPost(t *testing.T, path string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), h.root, req, hash, "codeartifact", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return h.do(t, req)
}

func (h *harness) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// createDomain creates a domain directly in the store.
func (h *harness) createDomain(t *testing.T, name string) {
	t.Helper()
	if _, err := h.db.CreateDomain(context.Background(), name, ""); err != nil {
		t.Fatal(err)
	}
}

// user creates an IAM user and returns it.
func (h *harness) user(t *testing.T, name string) domain.Principal {
	t.Helper()
	p, err := h.db.CreateUser(context.Background(), name, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
