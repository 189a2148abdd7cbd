package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// harness is the npm format behind the real HTTP server (server.New, as
// cmd/registry wires it) over a real SQLite database and filesystem blob
// store in a temporary directory, with domain "acme", repositories
// "shared" and "other", and tokens for principals of differing rights.
type harness struct {
	t     testing.TB
	db    *sqlite.DB
	blobs *blobfs.Store
	f     *Format
	srv   *server.Server
	ts    *httptest.Server
	// Tokens: root may do anything; reader may only read; publisher may
	// read and publish but not delete.
	root, reader, publisher string
}

const (
	dom    = "acme"
	shared = "shared"
)

// newHarness builds the harness; opts adjust the format before it is
// registered.
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
	for _, r := range []string{shared, "other"} {
		if _, err := db.CreateRepository(ctx, dom, r, "", "123456789012", nil); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, db: db, blobs: blobs}
	key, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.root = h.token(key.PrincipalID, "root")
	h.reader = h.user("reader", "codeartifact:ReadFromRepository")
	h.publisher = h.user("publisher", "codeartifact:ReadFromRepository", "codeartifact:PublishPackageVersion")

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
	h.srv = srv
	h.ts = httptest.NewUnstartedServer(srv.Echo)
	h.ts.Start()
	t.Cleanup(h.ts.Close)
	// Chain is on, as cmd/registry wires it: a repository without upstreams
	// must behave exactly as one served on its own.
	h.f = &Format{Store: db, Blobs: blobs, BaseURL: h.ts.URL, MaxPublishBytes: 1 << 20, Authorize: authorize, Chain: db}
	for _, o := range opts {
		o(h.f)
	}
	h.f.Register(srv.Format(h.f.Name(), h.f.Flavour()))
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

// url returns the URL of a path below the repository endpoint.
func (h *harness) url(path string) string {
	return h.ts.URL + "/npm/" + dom + "/" + shared + "/" + path
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// errorMessage returns the npm error body's message.
func (r response) errorMessage() string {
	var m struct{ Error string }
	json.Unmarshal(r.body, &m)
	return m.Error
}

// do sends a request with the path sent exactly as given (no cleaning or
// re-encoding). headers are name, value pairs.
func (h *harness) do(method, path, token string, body io.Reader, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.URL.Opaque = "/npm/" + dom + "/" + shared + "/" + path
	if strings.HasPrefix(path, "/") {
		req.URL.Opaque = path
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity") // no transparent gzip
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

func (h *harness) get(path, token string, headers ...string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, token, nil, headers...)
}

// pkg describes a package version to build a tarball and a publish
// document for, as npm v11 does (libnpmpublish/lib/publish.js).
type pkg struct {
	name, version string
	manifest      map[string]any // extra package.json fields
	files         map[string]string
	tag           string
}

// tarball builds the gzip+tar npm pack would.
func (p pkg) tarball() []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	pj := map[string]any{"name": p.name, "version": p.version}
	for k, v := range p.manifest {
		pj[k] = v
	}
	pjb, _ := json.Marshal(pj)
	files := map[string]string{"package.json": string(pjb), "index.js": "module.exports = '" + p.version + "'\n"}
	for k, v := range p.files {
		files[k] = v
	}
	for _, name := range []string{"package.json", "index.js", "README.md"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// document returns the publish body for p with the given tarball bytes.
func (p pkg) document(tgz []byte) map[string]any {
	s512 := sha512.Sum512(tgz)
	s1 := sha1.Sum(tgz)
	m := map[string]any{"name": p.name, "version": p.version, "_id": p.name + "@" + p.version,
		"_nodeVersion": "20.0.0", "_npmVersion": "11.0.0",
		"dist": map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:]),
			"tarball": "http://elsewhere.invalid/" + p.name + "/-/" + p.name + "-" + p.version + ".tgz"}}
	for k, v := range p.manifest {
		m[k] = v
	}
	tag := p.tag
	if tag == "" {
		tag = "latest"
	}
	return map[string]any{
		"_id": p.name, "name": p.name, "description": p.manifest["description"],
		"dist-tags": map[string]any{tag: p.version},
		"versions":  map[string]any{p.version: m},
		"access":    "public",
		"_attachments": map[string]any{p.name + "-" + p.version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	}
}

// escaped returns the path form npm uses for a name.
func escaped(name string) string { return strings.Replace(name, "/", "%2f", 1) }

// publish publishes p as root and fails the test unless it succeeds.
func (h *harness) publish(p pkg) {
	h.t.Helper()
	if r := h.publishAs(h.root, p); r.status != http.StatusOK {
		h.t.Fatalf("publish %s@%s: %d %s", p.name, p.version, r.status, r.body)
	}
}

func (h *harness) publishAs(token string, p pkg) response {
	h.t.Helper()
	body, _ := json.Marshal(p.document(p.tarball()))
	return h.do(http.MethodPut, escaped(p.name), token, bytes.NewReader(body), "Content-Type", "application/json")
}

// putJSON sends v as a JSON body.
func (h *harness) putJSON(path, token string, v any) response {
	h.t.Helper()
	body, _ := json.Marshal(v)
	return h.do(http.MethodPut, path, token, bytes.NewReader(body), "Content-Type", "application/json")
}
