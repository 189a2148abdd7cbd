package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/blake2b"

	"github.com/artifactd/registry/internal/access"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// harness is the PyPI format behind the real HTTP server (server.New, as
// cmd/registry wires it) over a real SQLite database and filesystem blob
// store in a temporary directory, with domain "acme", repositories
// "shared" and "other", and tokens for principals of differing rights.
type harness struct {
	t     testing.TB
	db    *sqlite.DB
	blobs *blobfs.Store
	f     *Format
	e     *echo.Echo // the server's handler, for benchmarks without a network
	ts    *httptest.Server
	// Tokens: root may do anything; reader may only read; publisher may
	// read and publish.
	root, reader, publisher string
}

const (
	testDom  = "acme"
	testRepo = "shared"
)

func newHarness(t testing.TB) *harness {
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
	if _, err := db.CreateDomain(ctx, testDom, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{testRepo, "other"} {
		if _, err := db.CreateRepository(ctx, testDom, r, "", "123456789012", nil); err != nil {
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
	h.e = srv.Echo
	h.ts = httptest.NewServer(srv.Echo)
	t.Cleanup(h.ts.Close)
	h.f = &Format{Store: db, Blobs: blobs, MaxFileBytes: 8 << 20, Authorize: authorize,
		Now: func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC) }}
	h.f.Register(srv.Format(h.f.Name(), h.f.Flavour()))
	return h
}

// token stores a new authorization token for a principal.
func (h *harness) token(principal int64, name string) string {
	tok := "tok-" + name
	sum := sha256.Sum256([]byte(tok))
	if err := h.db.StoreToken(context.Background(), hex.EncodeToString(sum[:]), principal, testDom, time.Now().Add(time.Hour)); err != nil {
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

// do sends a request with the path sent exactly as given, below the
// repository endpoint unless it starts with '/'. The token goes in HTTP
// Basic as pip and twine send it. headers are name, value pairs.
func (h *harness) do(method, path, token string, body io.Reader, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.URL.Opaque = "/pypi/" + testDom + "/" + testRepo + "/" + path
	if strings.HasPrefix(path, "/") {
		req.URL.Opaque = path
	}
	if token != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+token)))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity") // no transparent gzip
	}
	client := *h.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
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

// dist describes a distribution file to build.
type dist struct {
	name, version string // as in the metadata
	kind          Kind
	metaName      string   // Name in the metadata when not name
	filename      string   // default: the conventional name
	extra         string   // more metadata lines
	requires      []string // Requires-Dist
	payload       string   // makes files with the same name differ
}

func (d dist) fileName() string {
	if d.filename != "" {
		return d.filename
	}
	esc := strings.NewReplacer("-", "_", ".", "_").Replace(d.name)
	if d.kind == Wheel {
		return esc + "-" + d.version + "-py3-none-any.whl"
	}
	return esc + "-" + d.version + ".tar.gz"
}

func (d dist) metadata() string {
	var b strings.Builder
	name := d.name
	if d.metaName != "" {
		name = d.metaName
	}
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s summary\nHome-page: https://example.com/%s\nLicense: MIT\nRequires-Python: >=3.8\n", name, d.version, d.name, d.name)
	for _, r := range d.requires {
		b.WriteString("Requires-Dist: " + r + "\n")
	}
	b.WriteString(d.extra)
	b.WriteString("\n# " + d.name + "\n")
	return b.String()
}

// bytes builds the file: a wheel with a .dist-info directory, or an sdist
// with PKG-INFO in its top directory.
func (d dist) bytes() []byte {
	esc := strings.NewReplacer("-", "_", ".", "_").Replace(d.name)
	var buf bytes.Buffer
	if d.kind == Wheel {
		zw := zip.NewWriter(&buf)
		nv, _ := NormalizeVersion(d.version)
		info := esc + "-" + nv + ".dist-info/"
		for _, f := range [][2]string{
			{esc + "/__init__.py", "VERSION = " + fmt.Sprintf("%q", d.version) + "\n# " + d.payload + "\n"},
			{info + "METADATA", d.metadata()},
			{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
			{info + "RECORD", ""},
		} {
			w, _ := zw.Create(f[0])
			w.Write([]byte(f[1]))
		}
		zw.Close()
		return buf.Bytes()
	}
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	nv, _ := NormalizeVersion(d.version)
	top := esc + "-" + nv + "/"
	for _, f := range [][2]string{{top + "PKG-INFO", d.metadata()}, {top + "setup.py", "# " + d.payload + "\n"}} {
		tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// form returns the fields twine sends for a file, in twine's order.
func (d dist) form(content []byte) [][2]string {
	filetype := "sdist"
	if d.kind == Wheel {
		filetype = "bdist_wheel"
	}
	s := sha256.Sum256(content)
	m := md5.Sum(content)
	b := blake2b.Sum256(content)
	f := [][2]string{{"name", d.name}, {"version", d.version}, {"filetype", filetype}, {"pyversion", "py3"},
		{"metadata_version", "2.1"}, {"summary", d.name + " summary"}, {"sha256_digest", hex.EncodeToString(s[:])},
		{"requires_python", ">=3.8"}}
	for _, r := range d.requires {
		f = append(f, [2]string{"requires_dist", r})
	}
	return append(f, [2]string{"md5_digest", hex.EncodeToString(m[:])}, [2]string{"blake2_256_digest", hex.EncodeToString(b[:])},
		[2]string{":action", "file_upload"}, [2]string{"protocol_version", "1"})
}

// multipartBody encodes fields, then the file as the "content" part (a nil
// content leaves it out), then the after fields.
func multipartBody(fields [][2]string, filename string, content []byte, after ...[2]string) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if content != nil {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="content"; filename="` + filename + `"`}
		h["Content-Type"] = []string{"application/octet-stream"}
		w, _ := mw.CreatePart(h)
		w.Write(content)
	}
	for _, f := range after {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// uploadAs uploads d as twine would.
func (h *harness) uploadAs(token string, d dist) response {
	h.t.Helper()
	content := d.bytes()
	return h.uploadRaw(token, d.form(content), d.fileName(), content)
}

func (h *harness) uploadRaw(token string, fields [][2]string, filename string, content []byte) response {
	h.t.Helper()
	body, ct := multipartBody(fields, filename, content)
	return h.do(http.MethodPost, "", token, body, "Content-Type", ct)
}

// upload uploads d as root and fails the test unless it succeeds.
func (h *harness) upload(d dist) {
	h.t.Helper()
	if r := h.uploadAs(h.root, d); r.status != http.StatusOK {
		h.t.Fatalf("upload %s: %s", d.fileName(), r)
	}
}

// projectJSON is the PEP 691 project page.
type projectJSON struct {
	Meta     map[string]string `json:"meta"`
	Name     string            `json:"name"`
	Versions []string          `json:"versions"`
	Files    []struct {
		Filename         string            `json:"filename"`
		URL              string            `json:"url"`
		Hashes           map[string]string `json:"hashes"`
		RequiresPython   string            `json:"requires-python"`
		Size             int64             `json:"size"`
		UploadTime       string            `json:"upload-time"`
		Yanked           any               `json:"yanked"`
		CoreMetadata     any               `json:"core-metadata"`
		DistInfoMetadata any               `json:"dist-info-metadata"`
	} `json:"files"`
}

func (h *harness) projectJSON(name string) projectJSON {
	h.t.Helper()
	r := h.get("simple/"+name+"/", h.reader, "Accept", ctJSON)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != ctJSON {
		h.t.Fatalf("JSON page of %s: %s (%s)", name, r, r.header.Get("Content-Type"))
	}
	var p projectJSON
	if err := json.Unmarshal(r.body, &p); err != nil {
		h.t.Fatalf("JSON page: %v\n%s", err, r.body)
	}
	return p
}
