package maven

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/access"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// harness is the Maven format behind the real HTTP server (server.New, as
// cmd/registry wires it) over a real SQLite database and filesystem blob
// store in a temporary directory, with domain "acme", repository
// "shared", and tokens for principals of differing rights.
type harness struct {
	t     testing.TB
	db    *sqlite.DB
	blobs *blobfs.Store
	f     *Format
	ts    *httptest.Server
	// Tokens: root may do anything; reader may only read; publisher may
	// publish files but not metadata; deployer may do both.
	root, reader, publisher, deployer string
}

const (
	dom  = "acme"
	repo = "shared"
)

// opts adjust the Format before its routes are registered.
func newHarness(t testing.TB, opts ...func(*Format)) *harness {
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
	if _, err := db.CreateDomain(ctx, dom, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRepository(ctx, dom, repo, "", "123456789012", nil); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db, blobs: blobs}
	key, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.root = h.token(key.PrincipalID, "root")
	h.reader = h.user("reader", ActionRead)
	h.publisher = h.user("publisher", ActionRead, ActionPublish)
	h.deployer = h.user("deployer", ActionRead, ActionPublish, ActionPutMetadata)

	authz := &access.Authorizer{
		Account:          "123456789012",
		IdentityPolicies: db.PrincipalPolicies,
		ResourcePolicy:   access.StoredPolicies(db.GetPolicy),
	}
	arns := access.ARNs{Region: "us-east-1", Account: "123456789012"}
	// The same rules as cmd/registry's wiring.
	repoExists := func(ctx context.Context, d, r string) error { _, err := db.GetRepository(ctx, d, r); return err }
	authorize := authz.FormatAuthorizer(arns, repoExists)
	srv := server.New(server.Options{
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: &server.Authenticator{LookupKey: db.LookupAccessKey, LookupToken: db.LookupToken},
	})
	h.f = &Format{Store: db, Blobs: blobs, MaxFileBytes: 1 << 20, Authorize: authorize}
	for _, o := range opts {
		o(h.f)
	}
	h.f.Register(srv.Format(h.f.Name(), h.f.Flavour()))
	h.ts = httptest.NewServer(srv.Echo)
	t.Cleanup(h.ts.Close)
	return h
}

// token stores a new authorization token for a principal.
func (h *harness) token(principal int64, name string) string {
	tok := "tok-" + name
	sum := sha256.Sum256([]byte(tok))
	if err := h.db.StoreToken(context.Background(), hex.EncodeToString(sum[:]), principal, dom, time.Now().Add(time.Hour)); err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// user creates an IAM user allowed actions on everything, with a token.
func (h *harness) user(name string, actions ...string) string {
	ctx := context.Background()
	p, err := h.db.CreateUser(ctx, name, "/")
	if err != nil {
		h.t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
	if err := h.db.PutUserPolicy(ctx, name, "p", string(doc)); err != nil {
		h.t.Fatal(err)
	}
	return h.token(p.ID, name)
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// basic returns the Authorization header mvn sends: Basic aws:<token>.
func basic(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("aws:"+token))
}

// do sends a request with the path sent exactly as given (no cleaning or
// re-encoding) below the repository endpoint, or from the root when it
// starts with "/". headers are name, value pairs.
func (h *harness) do(method, path, token string, body []byte, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.ts.URL, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.URL.Opaque = "/maven/" + dom + "/" + repo + "/" + path
	if strings.HasPrefix(path, "/") {
		req.URL.Opaque = path
	}
	if token != "" {
		req.Header.Set("Authorization", basic(token))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (h *harness) get(path string, headers ...string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, h.reader, nil, headers...)
}

func (h *harness) put(path string, body []byte) response {
	h.t.Helper()
	return h.do(http.MethodPut, path, h.deployer, body)
}

// mustPut uploads a file and fails the test unless it is accepted.
func (h *harness) mustPut(path string, body []byte) {
	h.t.Helper()
	if r := h.put(path, body); r.status != http.StatusCreated && r.status != http.StatusOK {
		h.t.Fatalf("PUT %s: %s", path, r)
	}
}

// artifact is one groupId:artifactId in the tests.
type artifact struct{ group, id string }

var lib = artifact{"com.acme", "acme-lib"}

func (a artifact) dir() string { return strings.ReplaceAll(a.group, ".", "/") + "/" + a.id + "/" }

func (a artifact) ref() domain.PackageRef {
	return domain.PackageRef{Format: domain.FormatMaven, Namespace: a.group, Name: a.id}
}

// pom returns a POM for a at version with extra elements inside <project>.
func (a artifact) pom(version, extra string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>` + a.group + `</groupId>
  <artifactId>` + a.id + `</artifactId>
  <version>` + version + `</version>
` + extra + `
</project>
`)
}

// metadata returns an artifact-level maven-metadata.xml listing versions,
// as the Maven deploy plugin writes it.
func (a artifact) metadata(versions ...string) []byte {
	var vs strings.Builder
	for _, v := range versions {
		vs.WriteString("      <version>" + v + "</version>\n")
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>` + a.group + `</groupId>
  <artifactId>` + a.id + `</artifactId>
  <versioning>
    <latest>` + versions[len(versions)-1] + `</latest>
    <versions>
` + vs.String() + `    </versions>
    <lastUpdated>20261121101530</lastUpdated>
  </versioning>
</metadata>
`)
}

func sha1Hex(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }

// deploy uploads a release as mvn deploy does: each file and its sha1 and
// md5-less checksum, then the artifact-level metadata listing it.
func (h *harness) deploy(a artifact, version string, files map[string][]byte) {
	h.t.Helper()
	for name, body := range files {
		h.mustPut(a.dir()+version+"/"+name, body)
		h.mustPut(a.dir()+version+"/"+name+".sha1", []byte(sha1Hex(body)))
	}
	h.mustPut(a.dir()+MetadataFile, a.metadata(version))
}

// version returns a version from the store.
func (h *harness) version(a artifact, version string) domain.PackageVersion {
	h.t.Helper()
	v, err := h.db.GetVersion(context.Background(), dom, repo, a.ref(), version)
	if err != nil {
		h.t.Fatalf("version %s: %v", version, err)
	}
	return v
}
