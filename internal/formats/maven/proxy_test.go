package maven

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/sqlite"
	"github.com/artifactd/registry/internal/upstream"
)

// debianRepo is Debian's Maven repository tree (Maven 2 layout, no
// checksum files, symlinked jars, "debian" versions).
const debianRepo = "/usr/share/maven-repo"

// origin is an upstream Maven repository over real HTTP: http.FileServer
// over a directory. down makes it answer 503; hits counts requests by
// path.
type origin struct {
	ts   *httptest.Server
	dir  string
	down atomic.Bool
	hits atomic.Int64
}

func newOrigin(t testing.TB, dir string) *origin {
	o := &origin{dir: dir}
	fs := http.FileServer(http.Dir(dir))
	o.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if o.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(o.ts.Close)
	return o
}

// write adds a file to the origin's tree; withSHA1 also writes its .sha1
// (of sha1Of when set, else of body).
func (o *origin) write(t testing.TB, path string, body []byte, sha1Of []byte) {
	t.Helper()
	p := filepath.Join(o.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if sha1Of != nil {
		if err := os.WriteFile(p+".sha1", []byte(sha1Hex(sha1Of)+"  "+filepath.Base(p)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// widget is the artifact of the static tree, whose maven-metadata.xml
// lists versions in an order Maven must fix.
var widget = artifact{"com.example", "widget"}

// staticOrigin writes a small Maven repository with real .sha1 files:
// widget 1.0 (pom and jar), a metadata document listing widget's
// versions, and the fault cases: bad 1.0 whose .sha1 does not match its
// jar, a large one (streamed) likewise, and a checksum file that is not
// one.
func staticOrigin(t testing.TB) *origin {
	o := newOrigin(t, t.TempDir())
	pom := widget.pom("1.0", "<name>Widget</name><description>A widget</description>")
	o.write(t, "com/example/widget/1.0/widget-1.0.pom", pom, pom)
	jar := []byte("PK\x03\x04 widget 1.0 bytes")
	o.write(t, "com/example/widget/1.0/widget-1.0.jar", jar, jar)
	md := `<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>com.example</groupId>
  <artifactId>widget</artifactId>
  <versioning>
    <latest>1.10</latest>
    <release>1.10</release>
    <versions>
      <version>1.10</version>
      <version>1.0</version>
      <version>2.0-beta-1</version>
      <version>1.9</version>
      <version>2.0</version>
    </versions>
    <lastUpdated>20250101120000</lastUpdated>
  </versioning>
</metadata>
`
	o.write(t, "com/example/widget/maven-metadata.xml", []byte(md), nil)
	o.write(t, "com/example/bad/1.0/bad-1.0.jar", []byte("tampered bytes"), []byte("the real bytes"))
	big := bytes.Repeat([]byte("0123456789abcdef"), 2*verifyFirst/16)
	o.write(t, "com/example/bigbad/1.0/bigbad-1.0.jar", big, append([]byte("x"), big...))
	o.write(t, "com/example/garbled/1.0/garbled-1.0.jar", []byte("fine"), nil)
	if err := os.WriteFile(filepath.Join(o.dir, "com/example/garbled/1.0/garbled-1.0.jar.sha1"), []byte("<html>not a checksum</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// newProxyHarness is the harness with resolution through upstreams on:
// public:maven-central served by Debian's tree, the custom connection
// "acme-mirror" by the static tree, the repositories named in repos
// created with their upstreams (in order), and ext naming the repositories
// holding a connection.
func newProxyHarness(t testing.TB, repos [][]string, ext map[string]string, opts ...func(*Format, *upstream.Config)) (*harness, *origin, *origin) {
	t.Helper()
	if _, err := os.Stat(debianRepo); err != nil {
		t.Skipf("Debian's Maven repository %s is not installed (libmaven-*-java packages)", debianRepo)
	}
	debian := newOrigin(t, debianRepo)
	static := staticOrigin(t)
	h := newHarness(t, func(f *Format) {
		f.Chain = f.Store.(*sqlite.DB)
		f.Upstreams = map[string]formats.Upstream{}
		for name, o := range map[string]*origin{"public:maven-central": debian, "acme-mirror": static} {
			dc, err := upstream.NewDiskCache(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cfg := upstream.Config{Name: name, BaseURL: o.ts.URL + "/", Blobs: f.Blobs.(blob.Store), SpoolDir: t.TempDir(),
				Persist: dc, DiskBodies: true, // as the server: bodies read back from disk
				MaxRetries: -1, StaleAfter: time.Second, MetadataTTL: time.Hour, BreakerCooldown: time.Hour}
			for _, opt := range opts {
				opt(f, &cfg)
			}
			cl, err := upstream.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cl.Close() })
			f.Upstreams[name] = cl
		}
	})
	ctx := context.Background()
	for i := len(repos) - 1; i >= 0; i-- {
		if _, err := h.db.CreateRepository(ctx, dom, repos[i][0], "", "123456789012", repos[i][1:]); err != nil {
			t.Fatal(err)
		}
	}
	for r, conn := range ext {
		if _, err := h.db.SetExternalConnection(ctx, dom, r, conn, false); err != nil {
			t.Fatal(err)
		}
	}
	return h, debian, static
}

// getIn reads a path below repository r's endpoint.
func (h *harness) getIn(r, path string) response {
	h.t.Helper()
	return h.do(http.MethodGet, "/maven/"+dom+"/"+r+"/"+path, h.reader, nil)
}

// deployTo deploys a release into repository r as mvn deploy does.
func (h *harness) deployTo(r string, a artifact, version string) []byte {
	h.t.Helper()
	pom := a.pom(version, "")
	base := "/maven/" + dom + "/" + r + "/" + a.dir()
	for _, x := range []struct {
		path string
		body []byte
	}{{base + version + "/" + a.id + "-" + version + ".pom", pom}, {base + MetadataFile, a.metadata(version)}} {
		if res := h.do(http.MethodPut, x.path, h.deployer, x.body); res.status != http.StatusCreated && res.status != http.StatusOK {
			h.t.Fatalf("PUT %s: %s", x.path, res)
		}
	}
	return pom
}

// originIn returns a version's origin in repository r, "" when r does
// not hold it.
func (h *harness) originIn(r string, a artifact, version string) domain.OriginType {
	h.t.Helper()
	v, err := h.db.GetVersion(context.Background(), dom, r, a.ref(), version)
	if domain.KindOf(err) == domain.ErrNotFound {
		return ""
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Origin.Type
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func md5Hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// codeArtifactChain is the documented example: my_repo's upstreams are A
// and B; A's are C and D; D's is E, which holds the external connection.
// Search order my_repo, A, C, D, E, E's connection, B.
var codeArtifactChain = [][]string{{"my_repo", "repo-a", "repo-b"}, {"repo-a", "repo-c", "repo-d"}, {"repo-d", "repo-e"}, {"repo-c"}, {"repo-e"}, {"repo-b"}}

var junit = artifact{"junit", "junit"}

func TestProxyResolutionAndRetention(t *testing.T) {
	h, _, _ := newProxyHarness(t, codeArtifactChain, map[string]string{"repo-e": "public:maven-central"})
	all := []string{"my_repo", "repo-a", "repo-b", "repo-c", "repo-d", "repo-e"}
	inner := artifact{"com.acme", "inner"}
	pomC := h.deployTo("repo-c", inner, "1.0.0")
	h.deployTo("repo-b", inner, "1.0.0") // shadowed by C's
	wantPOM, err := os.ReadFile(filepath.Join(debianRepo, "junit/junit/4.13.2/junit-4.13.2.pom"))
	if err != nil {
		t.Fatal(err)
	}
	wantJar, err := os.ReadFile(filepath.Join(debianRepo, "junit/junit/4.13.2/junit-4.13.2.jar")) // a symlink upstream
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		a        artifact
		version  string
		file     string
		body     []byte
		retained map[string]domain.OriginType
	}{
		{"first hop in DFS order wins", inner, "1.0.0", "inner-1.0.0.pom", pomC,
			map[string]domain.OriginType{"my_repo": domain.OriginInternal, "repo-c": domain.OriginInternal, "repo-b": domain.OriginInternal}},
		{"external connection: asked and holder", junit, "4.13.2", "junit-4.13.2.pom", wantPOM,
			map[string]domain.OriginType{"my_repo": domain.OriginExternal, "repo-e": domain.OriginExternal}},
		{"second file of an ingested version", junit, "4.13.2", "junit-4.13.2.jar", wantJar,
			map[string]domain.OriginType{"my_repo": domain.OriginExternal, "repo-e": domain.OriginExternal}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.getIn("my_repo", tc.a.dir()+tc.version+"/"+tc.file)
			if r.status != http.StatusOK || !bytes.Equal(r.body, tc.body) {
				t.Fatalf("GET %s: %d, %d bytes, want %d", tc.file, r.status, len(r.body), len(tc.body))
			}
			for _, repo := range all {
				if got := h.originIn(repo, tc.a, tc.version); got != tc.retained[repo] {
					t.Errorf("%s in %s: origin %q, want %q", tc.file, repo, got, tc.retained[repo])
				}
			}
			for algo, sum := range map[string]string{"sha1": sha1Hex(tc.body), "md5": md5Hex(tc.body), "sha256": sha256Hex(tc.body)} {
				if r := h.getIn("my_repo", tc.a.dir()+tc.version+"/"+tc.file+"."+algo); r.status != http.StatusOK || string(r.body) != sum {
					t.Errorf("%s.%s: %s, want %s", tc.file, algo, r, sum)
				}
			}
		})
	}
	// The ingested version carries both files and what its POM says.
	a, _, err := h.db.GetAsset(context.Background(), dom, "repo-e", junit.ref(), "4.13.2", "junit-4.13.2.jar")
	if err != nil || a.Hashes.SHA1 != sha1Hex(wantJar) {
		t.Errorf("repo-e's jar asset: %+v %v", a, err)
	}
	v, err := h.db.GetVersion(context.Background(), dom, "my_repo", junit.ref(), "4.13.2")
	if err != nil || v.Origin.ExternalConnection != "public:maven-central" || v.DisplayName != "JUnit" {
		t.Errorf("my_repo's junit 4.13.2: %+v %v", v, err)
	}

	// Intermediates answer only for themselves: through A, the jar goes
	// to A (and E, which has it), never to D.
	if r := h.getIn("repo-a", junit.dir()+"4.13.2/junit-4.13.2.jar"); r.status != http.StatusOK || !bytes.Equal(r.body, wantJar) {
		t.Fatalf("through A: %d", r.status)
	}
	if h.originIn("repo-d", junit, "4.13.2") != "" || h.originIn("repo-a", junit, "4.13.2") != domain.OriginExternal {
		t.Error("retention through A must record in A only")
	}

	// Debian's "debian" versions and a file the tree does not have.
	if r := h.getIn("my_repo", "junit/junit/4.x/junit-4.x.pom"); r.status != http.StatusOK {
		t.Errorf("junit 4.x pom: %s", r)
	}
	if r := h.getIn("my_repo", "junit/junit/4.13.2/junit-4.13.2-sources.jar"); r.status != http.StatusNotFound {
		t.Errorf("a file upstream lacks: %d, want 404", r.status)
	}
	if r := h.getIn("my_repo", "com/acme/nothing/1.0/nothing-1.0.pom"); r.status != http.StatusNotFound {
		t.Errorf("unknown artifact: %d, want 404", r.status)
	}
}

// TestProxyLargeFileStreams fetches a jar larger than verifyFirst: it is
// streamed while committed, then recorded.
func TestProxyLargeFileStreams(t *testing.T) {
	h, _, _ := newProxyHarness(t, [][]string{{"app", "maven-store"}, {"maven-store"}}, map[string]string{"maven-store": "public:maven-central"})
	path := "xerces/xercesImpl/2.12.0/xercesImpl-2.12.0.jar"
	want, err := os.ReadFile(filepath.Join(debianRepo, path))
	if err != nil {
		t.Skip(err)
	}
	if len(want) <= verifyFirst {
		t.Fatalf("%s is %d bytes: not larger than %d", path, len(want), verifyFirst)
	}
	r := h.getIn("app", path)
	if r.status != http.StatusOK || !bytes.Equal(r.body, want) {
		t.Fatalf("GET: %d, %d bytes of %d", r.status, len(r.body), len(want))
	}
	x := artifact{"xerces", "xercesImpl"}
	deadline := time.Now().Add(10 * time.Second)
	for h.originIn("maven-store", x, "2.12.0") != domain.OriginExternal || h.originIn("app", x, "2.12.0") != domain.OriginExternal {
		if time.Now().After(deadline) {
			t.Fatal("the streamed jar was not recorded in app and maven-store")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := h.getIn("app", path+".sha1"); string(r.body) != sha1Hex(want) {
		t.Errorf("sha1: %s", r)
	}
}

func TestProxyMergedMetadata(t *testing.T) {
	h, _, static := newProxyHarness(t, [][]string{{"app", "shared2", "maven-store"}, {"shared2"}, {"maven-store"}}, map[string]string{"maven-store": "acme-mirror"})
	// widget 1.5 deployed internally; its package then allows upstream
	// too, so both contribute.
	h.deployTo("shared2", widget, "1.5")
	if _, err := h.db.SetOrigin(context.Background(), dom, "shared2", widget.ref(), domain.Allow, domain.Allow); err != nil {
		t.Fatal(err)
	}
	r := h.getIn("app", widget.dir()+MetadataFile)
	if r.status != http.StatusOK {
		t.Fatalf("metadata: %s", r)
	}
	m, err := ParseMetadata(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.Versions, " "), "1.0 1.5 1.9 1.10 2.0-beta-1 2.0"; got != want {
		t.Errorf("versions %q, want %q", got, want)
	}
	if m.Latest != "2.0" || m.Release != "2.0" || m.LastUpdated == "" {
		t.Errorf("latest %q release %q lastUpdated %q", m.Latest, m.Release, m.LastUpdated)
	}
	for algo, sum := range map[string]string{"sha1": sha1Hex(r.body), "md5": md5Hex(r.body)} {
		if c := h.getIn("app", widget.dir()+MetadataFile+"."+algo); string(c.body) != sum {
			t.Errorf("metadata .%s %s, want %s", algo, c.body, sum)
		}
	}
	// Served again from the rendered cache, without asking upstream
	// (TTL an hour).
	renders, hits := h.f.renders.Load(), static.hits.Load()
	if again := h.getIn("app", widget.dir()+MetadataFile); !bytes.Equal(again.body, r.body) {
		t.Error("second read differs")
	}
	if h.f.renders.Load() != renders || static.hits.Load() != hits {
		t.Errorf("second read: %d renders, %d upstream requests", h.f.renders.Load()-renders, static.hits.Load()-hits)
	}
	// A version fetched through app appears, and stays listed once.
	if g := h.getIn("app", widget.dir()+"1.0/widget-1.0.pom"); g.status != http.StatusOK {
		t.Fatalf("widget 1.0 pom: %s", g)
	}
	m2, _ := ParseMetadata(h.getIn("app", widget.dir()+MetadataFile).body)
	if strings.Join(m2.Versions, " ") != "1.0 1.5 1.9 1.10 2.0-beta-1 2.0" {
		t.Errorf("after ingestion: %v", m2.Versions)
	}

	// With the default for an internally deployed package (upstream
	// BLOCK), the external connection's versions stay hidden.
	if _, err := h.db.SetOrigin(context.Background(), dom, "shared2", widget.ref(), domain.Allow, domain.Block); err != nil {
		t.Fatal(err)
	}
	m3, _ := ParseMetadata(h.getIn("app", widget.dir()+MetadataFile).body)
	if strings.Join(m3.Versions, " ") != "1.0 1.5" { // 1.0 was retained in app before
		t.Errorf("blocked upstream: versions %v, want app's and shared2's only", m3.Versions)
	}
	if g := h.getIn("app", widget.dir()+"1.9/widget-1.9.pom"); g.status != http.StatusNotFound {
		t.Errorf("a file of the blocked upstream: %d, want 404", g.status)
	}
	// The repository holding the connection sees upstream as it is.
	m4, _ := ParseMetadata(h.getIn("maven-store", widget.dir()+MetadataFile).body)
	if len(m4.Versions) != 5 {
		t.Errorf("maven-store: %v", m4.Versions)
	}
}

func TestProxyWrongBytes(t *testing.T) {
	h, _, _ := newProxyHarness(t, [][]string{{"app", "maven-store"}, {"maven-store"}}, map[string]string{"maven-store": "acme-mirror"})
	bad := artifact{"com.example", "bad"}
	for _, p := range []string{"1.0/bad-1.0.jar", "1.0/bad-1.0.jar.sha1"} {
		r := h.getIn("app", bad.dir()+p)
		if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "sha1") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q (%s), want a plain-text 502 naming the sha1", p, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	for _, repo := range []string{"app", "maven-store"} {
		if o := h.originIn(repo, bad, "1.0"); o != "" {
			t.Errorf("bad 1.0 recorded in %s", repo)
		}
	}
	if _, _, err := h.blobs.Open(context.Background(), sha256Hex([]byte("tampered bytes"))); err == nil {
		t.Error("the wrong bytes were stored")
	}

	// A large body is streamed: the mismatch breaks the transfer.
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/maven/"+dom+"/app/com/example/bigbad/1.0/bigbad-1.0.jar", nil)
	req.Header.Set("Authorization", basic(h.reader))
	res, err := h.ts.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("a streamed body with the wrong sha1 was delivered complete")
	}
	if o := h.originIn("app", artifact{"com.example", "bigbad"}, "1.0"); o != "" {
		t.Error("bigbad 1.0 recorded")
	}

	// A checksum file that is not one: 502, nothing recorded.
	if r := h.getIn("app", "com/example/garbled/1.0/garbled-1.0.jar"); r.status != http.StatusBadGateway {
		t.Errorf("garbled checksum: %s", r)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	h, debian, _ := newProxyHarness(t, [][]string{{"app", "shared2", "maven-store"}, {"shared2"}, {"maven-store"}}, map[string]string{"maven-store": "public:maven-central"})
	inner := artifact{"com.acme", "inner"}
	h.deployTo("shared2", inner, "2.0")
	paths := []string{junit.dir() + "4.13.2/junit-4.13.2.pom", junit.dir() + "4.13.2/junit-4.13.2.jar", inner.dir() + "2.0/inner-2.0.pom", inner.dir() + MetadataFile}
	got := map[string][]byte{}
	for _, p := range paths {
		r := h.getIn("app", p)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %s", p, r)
		}
		got[p] = r.body
	}
	debian.down.Store(true)
	for _, p := range append(paths, junit.dir()+"4.13.2/junit-4.13.2.jar.sha1") {
		r := h.getIn("app", p)
		if r.status != http.StatusOK || got[p] != nil && !bytes.Equal(r.body, got[p]) {
			t.Errorf("%s with upstream down: %s", p, r)
		}
	}
	// What was never fetched is a plain-text 502, not a 404 Maven would
	// remember as missing.
	if r := h.getIn("app", "org/hamcrest/hamcrest/2.2/hamcrest-2.2.pom"); r.status != http.StatusBadGateway {
		t.Errorf("unretained file with upstream down: %s", r)
	}
	// Retained versions survive removal of the upstream links.
	empty := []string{}
	if _, err := h.db.UpdateRepository(context.Background(), dom, "app", nil, &empty); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths[:3] {
		if r := h.getIn("app", p); r.status != http.StatusOK {
			t.Errorf("%s after unlinking: %s", p, r)
		}
	}
}

func TestProxyDeployConflict(t *testing.T) {
	h, _, _ := newProxyHarness(t, [][]string{{"app", "maven-store"}, {"maven-store"}, {"solo"}},
		map[string]string{"maven-store": "acme-mirror", "solo": "public:maven-central"})
	// widget arrives through app first: publish BLOCK, upstream ALLOW.
	if r := h.getIn("app", widget.dir()+"1.0/widget-1.0.pom"); r.status != http.StatusOK {
		t.Fatalf("widget 1.0: %s", r)
	}
	if _, err := h.db.SetOrigin(context.Background(), dom, "app", widget.ref(), domain.Allow, domain.Allow); err != nil {
		t.Fatal(err)
	}
	put := func(r, version string) response {
		return h.do(http.MethodPut, "/maven/"+dom+"/"+r+"/"+widget.dir()+version+"/widget-"+version+".pom", h.deployer, widget.pom(version, ""))
	}
	if r := put("app", "1.9"); r.status != http.StatusConflict || !strings.Contains(string(r.body), "acme-mirror") {
		t.Errorf("deploy of a version upstream lists, origin ALLOW/ALLOW: %s, want 409 naming the connection", r)
	}
	if o := h.originIn("app", widget, "1.9"); o != "" {
		t.Error("the refused version was recorded")
	}
	if r := put("app", "3.0"); r.status != http.StatusCreated {
		t.Errorf("deploy of a version upstream lacks: %s", r)
	}
	// Debian's tree publishes no metadata: its POMs say what it has.
	h.do(http.MethodGet, "/maven/"+dom+"/solo/"+junit.dir()+"4.13.2/junit-4.13.2.pom", h.reader, nil)
	if _, err := h.db.SetOrigin(context.Background(), dom, "solo", junit.ref(), domain.Allow, domain.Allow); err != nil {
		t.Fatal(err)
	}
	if r := h.do(http.MethodPut, "/maven/"+dom+"/solo/"+junit.dir()+"4.12/junit-4.12.pom", h.deployer, junit.pom("4.12", "")); r.status != http.StatusCreated {
		t.Errorf("4.12 is not in Debian's tree: %s", r)
	}
	if r := h.do(http.MethodPut, "/maven/"+dom+"/solo/"+junit.dir()+"4.x/junit-4.x.pom", h.deployer, junit.pom("4.x", "")); r.status != http.StatusConflict {
		t.Errorf("4.x is in Debian's tree: %s, want 409", r)
	}
	// Deployed first (the default: upstream BLOCK), a package deploys
	// whatever upstream has.
	hc := artifact{"org.hamcrest", "hamcrest"}
	if r := h.do(http.MethodPut, "/maven/"+dom+"/solo/"+hc.dir()+"2.2/hamcrest-2.2.pom", h.deployer, hc.pom("2.2", "")); r.status != http.StatusCreated {
		t.Errorf("first deploy of a package upstream has: %s", r)
	}
}

// TestProxyPreferCached: past the metadata TTL, a repository that prefers
// cached metadata serves upstream's maven-metadata.xml as first fetched;
// one that does not revalidates and sees upstream's new version.
func TestProxyPreferCached(t *testing.T) {
	var offset atomic.Int64 // the upstream clients' clock, ahead of time.Now
	h, _, static := newProxyHarness(t, [][]string{{"app", "maven-store"}, {"maven-store"}}, map[string]string{"maven-store": "acme-mirror"},
		func(f *Format, cfg *upstream.Config) {
			f.PreferCached = func(dom, repo string) bool { return repo == "app" }
			cfg.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		})
	versions := func(repo string) string {
		t.Helper()
		m, err := ParseMetadata(h.getIn(repo, widget.dir()+MetadataFile).body)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(m.Versions, " ")
	}
	const before, after = "1.0 1.9 1.10 2.0-beta-1 2.0", "1.0 1.9 1.10 2.0-beta-1 2.0 3.0"
	if got := versions("app"); got != before {
		t.Fatalf("first read: %q", got)
	}
	md, err := os.ReadFile(filepath.Join(static.dir, "com/example/widget/maven-metadata.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md = bytes.Replace(md, []byte("<version>2.0</version>"), []byte("<version>2.0</version><version>3.0</version>"), 1)
	future := time.Now().Add(time.Minute) // a new modification time, so revalidation sees a change
	static.write(t, "com/example/widget/maven-metadata.xml", md, nil)
	os.Chtimes(filepath.Join(static.dir, "com/example/widget/maven-metadata.xml"), future, future)
	offset.Store(int64(2 * time.Hour)) // past MetadataTTL
	if got := versions("app"); got != before {
		t.Errorf("app prefers cached metadata: %q, want %q", got, before)
	}
	if got := versions("maven-store"); got != after {
		t.Errorf("maven-store revalidates: %q, want %q", got, after)
	}
}

// BenchmarkProxyWarm reads through app, with everything cached: merged
// metadata (internal hop + external connection) and a retained jar from
// Debian's tree. It reports upstream requests made during the loop (0).
func BenchmarkProxyWarm(b *testing.B) {
	for _, bc := range []struct{ name, conn, path string }{
		{"metadata", "acme-mirror", "com/example/widget/" + MetadataFile},
		{"jar", "public:maven-central", "junit/junit/4.13.2/junit-4.13.2.jar"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, debian, static := newProxyHarness(b, [][]string{{"app", "shared2", "maven-store"}, {"shared2"}, {"maven-store"}}, map[string]string{"maven-store": bc.conn})
			if r := h.getIn("app", bc.path); r.status != http.StatusOK {
				b.Fatalf("%s: %s", bc.path, r)
			}
			hits := debian.hits.Load() + static.hits.Load()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := h.getIn("app", bc.path); r.status != http.StatusOK {
					b.Fatalf("%s: %d", bc.path, r.status)
				}
			}
			b.ReportMetric(float64(debian.hits.Load()+static.hits.Load()-hits), "upstream-requests")
		})
	}
}
