package codeartifact

// The harness: the control plane wired as cmd/registry wires it (real
// SQLite and filesystem blob store in a temporary directory, the root key,
// server.New, access.Authorizer, API), behind an httptest.Server, and a
// client that signs with the AWS SDK's SigV4 signer.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/blob"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
	"github.com/artifactd/registry/internal/testutil"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	// testBaseURL is the configured public URL; deliberately not the
	// listener's address, so endpoints cannot come from the Host header.
	testBaseURL = "https://registry.example.test:8443"
	// testMaxAsset is MaxAssetBytes of the harness.
	testMaxAsset = 64 << 10
)

type harness struct {
	db      *sqlite.DB
	blobs   *blobfs.Store
	api     *API
	srv     *server.Server
	ts      *httptest.Server
	root    aws.Credentials
	logs    *testutil.SyncBuffer
	arns    access.ARNs
	blobDir string
}

// newHarness starts a registry control plane owned by tb.
func newHarness(tb testing.TB) *harness {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	blobDir := filepath.Join(dir, "blobs")
	blobs, err := blobfs.New(blobDir)
	if err != nil {
		tb.Fatal(err)
	}
	rootKey, _, err := db.EnsureRoot(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// As cmd/registry's httpServer wires them.
	authn := &server.Authenticator{LookupKey: db.LookupAccessKey, LookupToken: db.LookupToken}
	srv := server.New(server.Options{Log: log, Auth: authn, Ready: func(ctx context.Context) error { return db.SQL().PingContext(ctx) }})
	authz := &access.Authorizer{
		Account:          testAccount,
		IdentityPolicies: db.PrincipalPolicies,
		ResourcePolicy:   access.StoredPolicies(db.GetPolicy),
	}
	arns := access.ARNs{Region: testRegion, Account: testAccount}
	api := &API{DB: db, Blobs: blobs, Authz: authz, ARNs: arns, BaseURL: testBaseURL, MaxAssetBytes: testMaxAsset, Log: log}
	api.Register(srv.CodeArtifact())

	ts := httptest.NewServer(srv.Echo)
	tb.Cleanup(ts.Close)
	return &harness{db: db, blobs: blobs, api: api, srv: srv, ts: ts, logs: logs, arns: arns, blobDir: blobDir,
		root: aws.Credentials{AccessKeyID: rootKey.ID, SecretAccessKey: rootKey.Secret}}
}

// user creates an IAM user with an access key and the given identity
// policies, and returns its credentials and ARN.
func (h *harness) user(tb testing.TB, name string, policies ...string) (aws.Credentials, string) {
	tb.Helper()
	ctx := context.Background()
	p, err := h.db.CreateUser(ctx, name, "")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := h.db.CreateAccessKey(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	for i, doc := range policies {
		if err := h.db.PutUserPolicy(ctx, name, "p"+strconv.Itoa(i), doc); err != nil {
			tb.Fatal(err)
		}
	}
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, p.ARN(testAccount)
}

// request is one HTTP request to the control plane and how to sign it.
type request struct {
	op           string // botocore operation, for checking the response; "" for none
	method, path string
	query        url.Values
	rawQuery     string // sent verbatim instead of query when set
	header       http.Header
	body         []byte

	creds       *aws.Credentials // nil: the root key
	unsigned    bool             // send no Authorization at all
	signedAt    time.Time        // zero: now
	service     string           // signing name; "" is codeartifact
	payloadHash string           // x-amz-content-sha256 and signed hash; "" is the body's sha256
	noHashHdr   bool             // send no x-amz-content-sha256 header
	tamper      []byte           // replaces the body after signing
	tamperQuery string           // replaces the query after signing
}

type response struct {
	op     string
	status int
	header http.Header
	body   []byte
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// send signs and sends r; a transport failure fails tb. A 5xx fails tb
// with the server log: the control plane never fails on its own.
func (h *harness) send(tb testing.TB, r request) *response {
	tb.Helper()
	u := h.ts.URL + r.path
	req, err := http.NewRequest(r.method, u, bytes.NewReader(r.body))
	if err != nil {
		tb.Fatal(err)
	}
	req.URL.RawQuery = r.query.Encode()
	if r.rawQuery != "" {
		req.URL.RawQuery = r.rawQuery
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	hash := r.payloadHash
	if hash == "" {
		hash = sha256Hex(r.body)
	}
	if !r.noHashHdr {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if !r.unsigned {
		creds := h.root
		if r.creds != nil {
			creds = *r.creds
		}
		at := r.signedAt
		if at.IsZero() {
			at = time.Now()
		}
		service := r.service
		if service == "" {
			service = "codeartifact"
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, testRegion, at); err != nil {
			tb.Fatal(err)
		}
	}
	if r.tamperQuery != "" {
		req.URL.RawQuery = r.tamperQuery
	}
	if r.tamper != nil {
		req.Body = io.NopCloser(bytes.NewReader(r.tamper))
		req.GetBody = nil
		req.ContentLength = int64(len(r.tamper))
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the response: %v", r.method, r.path, err)
	}
	if resp.StatusCode >= 500 {
		tb.Fatalf("%s %s?%s: %d %s\nserver log:\n%s", r.method, r.path, req.URL.RawQuery, resp.StatusCode, b, h.logs.String())
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		tb.Errorf("%s %s: no x-amzn-RequestId", r.method, r.path)
	}
	return &response{op: r.op, status: resp.StatusCode, header: resp.Header, body: b}
}

// params are the input members of an operation, by botocore member name.
type params map[string]any

// build serializes in as botocore's rest-json serializer does: each member
// in the location the model gives it (query string, header, JSON body or
// raw payload). Values are sent as given, so invalid ones can be tried.
func build(tb testing.TB, op string, in params) request {
	tb.Helper()
	m := model(tb)
	o := modelOp(tb, op)
	r := request{op: op, method: o.HTTP.Method, path: o.HTTP.RequestURI, query: url.Values{}, header: http.Header{}}
	shape := m.Shapes[o.Input.Shape]
	jsonBody := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		mem, ok := shape.Members[name]
		if !ok {
			tb.Fatalf("%s has no input member %s", op, name)
		}
		switch {
		case name == shape.Payload:
			b, ok := v.([]byte)
			if !ok {
				tb.Fatalf("%s: payload %s must be []byte", op, name)
			}
			r.body = b
		case mem.Location == "querystring":
			if list, ok := v.([]string); ok {
				r.query[mem.LocationName] = list
			} else {
				r.query.Set(mem.LocationName, fmt.Sprint(v))
			}
		case mem.Location == "header":
			r.header.Set(mem.LocationName, fmt.Sprint(v))
		case mem.Location == "":
			jsonBody[name] = v
		default:
			tb.Fatalf("%s: member %s has location %s", op, name, mem.Location)
		}
	}
	if h := r.header.Get("X-Amz-Content-Sha256"); h != "" {
		r.payloadHash = h // assetSHA256 travels as the signed payload hash
		r.header.Del("X-Amz-Content-Sha256")
	}
	if len(jsonBody) > 0 {
		b, err := json.Marshal(jsonBody)
		if err != nil {
			tb.Fatal(err)
		}
		r.body = b
	}
	return r
}

// call sends operation op with input in, signed by the root key.
func (h *harness) call(tb testing.TB, op string, in params) *response {
	tb.Helper()
	return h.send(tb, build(tb, op, in))
}

// callAs sends op signed with creds.
func (h *harness) callAs(tb testing.TB, creds aws.Credentials, op string, in params) *response {
	tb.Helper()
	r := build(tb, op, in)
	r.creds = &creds
	return h.send(tb, r)
}

// ok checks that r is a 200 whose body is the operation's output shape,
// and returns the decoded body (nil for a payload operation).
func (r *response) ok(tb testing.TB) map[string]any {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("%s: status %d, want 200: %s", r.op, r.status, r.body)
	}
	m := model(tb)
	out := m.Shapes[modelOp(tb, r.op).Output.Shape]
	for name, mem := range out.Members {
		if mem.Location == "header" && r.header.Get(mem.LocationName) == "" {
			tb.Errorf("%s: output header %s (%s) is missing", r.op, mem.LocationName, name)
		}
	}
	if out.Payload != "" {
		return nil
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s: Content-Type %q, want application/json", r.op, ct)
	}
	v, err := decodeJSON(r.body)
	if err != nil {
		tb.Fatalf("%s: response is not JSON: %v: %s", r.op, err, r.body)
	}
	for _, p := range problems(m.CheckOutput(r.op, v)) {
		tb.Errorf("%s: %s", r.op, p)
	}
	obj, _ := v.(map[string]any)
	return obj
}

// fail checks that r is an AWS rest-json error with the given status and
// code, and returns its decoded body. A modelled error must have the
// model's shape and status (413 is the one deliberate exception: an
// oversize body is refused before it is read), and must be one the
// operation declares.
func (r *response) fail(tb testing.TB, status int, code string) map[string]any {
	tb.Helper()
	if r.status != status || r.header.Get("x-amzn-ErrorType") != code {
		tb.Fatalf("%s: got %d %s, want %d %s: %s", r.op, r.status, r.header.Get("x-amzn-ErrorType"), status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s: error Content-Type %q, want application/json", r.op, ct)
	}
	v, err := decodeJSON(r.body)
	if err != nil {
		tb.Fatalf("%s: error body is not JSON: %v: %s", r.op, err, r.body)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("%s: error body is not an object: %s", r.op, r.body)
	}
	if msg, _ := obj["message"].(string); msg == "" {
		tb.Errorf("%s: error body has no message: %s", r.op, r.body)
	}
	m := model(tb)
	if s, ok := m.Shapes[code]; ok && s.Exception {
		for _, p := range problems(m.CheckError(r.op, code, v)) {
			tb.Errorf("%s: %s", r.op, p)
		}
		if s.Error.HTTPStatusCode != status && status != http.StatusRequestEntityTooLarge {
			tb.Errorf("%s: botocore gives %s status %d, not %d", r.op, code, s.Error.HTTPStatusCode, status)
		}
	} else if _, ok := obj["message"]; !ok || len(obj) != 1 {
		tb.Errorf("%s: %s body should be exactly {\"message\"}: %s", r.op, code, r.body)
	}
	return obj
}

// get walks a decoded JSON value by object keys and array indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// str is get for a string leaf ("" if absent or not a string).
func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }

// num is get for a numeric leaf.
func num(tb testing.TB, v any, path ...any) float64 {
	tb.Helper()
	n, ok := get(v, path...).(json.Number)
	if !ok {
		tb.Fatalf("%v: not a number: %v", path, get(v, path...))
	}
	f, _ := n.Float64()
	return f
}

// Fixture names used across tests.
const (
	fxDomain = "acme"
	fxRepo   = "main"
	fxNS     = "ns"
	fxPkg    = "pkg"
)

// pkgParams are the parameters naming the fixture package in repo.
func pkgParams(repo string) params {
	return params{"domain": fxDomain, "repository": repo, "format": "generic", "namespace": fxNS, "package": fxPkg}
}

// with returns a copy of p with extra members.
func (p params) with(kv ...any) params {
	out := params{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// without returns a copy of p without the named members.
func (p params) without(names ...string) params {
	out := p.with()
	for _, n := range names {
		delete(out, n)
	}
	return out
}

// publish publishes one asset of a generic package version in repo.
func (h *harness) publish(tb testing.TB, repo, pkg, version, asset string, content []byte, unfinished bool) map[string]any {
	tb.Helper()
	in := params{"domain": fxDomain, "repository": repo, "format": "generic", "namespace": fxNS, "package": pkg,
		"packageVersion": version, "assetName": asset, "assetContent": content}
	if unfinished {
		in["unfinished"] = true
	}
	return h.call(tb, "PublishPackageVersion", in).ok(tb)
}

// seed creates the fixture domain and the given repositories.
func (h *harness) seed(tb testing.TB, repos ...string) {
	tb.Helper()
	h.call(tb, "CreateDomain", params{"domain": fxDomain}).ok(tb)
	for _, r := range repos {
		h.call(tb, "CreateRepository", params{"domain": fxDomain, "repository": r}).ok(tb)
	}
}

// blobFiles lists the files under the blob store (committed and temporary).
func (h *harness) blobFiles(tb testing.TB) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(h.blobDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// storedBlobs lists the committed blobs' digests.
func (h *harness) storedBlobs(tb testing.TB) []string {
	tb.Helper()
	var out []string
	if err := h.blobs.Walk(context.Background(), func(i blob.Info) error { out = append(out, i.Digest); return nil }); err != nil {
		tb.Fatal(err)
	}
	return out
}

// jsonInt is n as a decoded JSON number.
func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }
