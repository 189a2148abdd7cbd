package npm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/sqlite"
	"github.com/artifactd/registry/internal/upstream"
)

// fakeNPM is an upstream npm registry over real HTTP serving real
// packuments and tarballs (built as npm pack builds them). down makes it
// answer 503 to everything; tarballs counts tarball requests.
type fakeNPM struct {
	ts        *httptest.Server
	mu        sync.Mutex
	docs      map[string]map[string]any // name -> packument
	files     map[string][]byte         // path -> tarball
	down      atomic.Bool
	tarballs  atomic.Int64
	packument atomic.Int64
	gate      chan struct{} // when set, tarball responses wait for it to close
	// notModified counts packument requests answered 304 to If-None-Match.
	notModified atomic.Int64
	// search is the body /-/v1/search answers (404 when nil); searches
	// records the query strings it was asked.
	search   []byte
	searches []string
}

func newFakeNPM(t testing.TB) *fakeNPM {
	u := &fakeNPM{docs: map[string]map[string]any{}, files: map[string][]byte{}}
	u.ts = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.ts.Close)
	return u
}

func (u *fakeNPM) serve(w http.ResponseWriter, r *http.Request) {
	if u.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	u.mu.Lock()
	body, isFile := u.files[p]
	doc, isDoc := u.docs[strings.Replace(p, "%2f", "/", 1)]
	gate := u.gate
	search := u.search
	if p == "-/v1/search" {
		u.searches = append(u.searches, r.URL.RawQuery)
	}
	u.mu.Unlock()
	switch {
	case p == "-/v1/search" && search != nil:
		w.Header().Set("Content-Type", "application/json")
		w.Write(search)
	case isFile:
		u.tarballs.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		if gate != nil {
			<-gate
		}
		w.Write(body[len(body)/2:])
	case isDoc:
		u.packument.Add(1)
		u.mu.Lock()
		body, _ := json.Marshal(doc)
		u.mu.Unlock()
		sum := sha1.Sum(body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			u.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	default:
		http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
	}
}

// add publishes p upstream with the given dist-tags merged in.
func (u *fakeNPM) add(p pkg, tags map[string]string) []byte {
	tgz := p.tarball()
	file := p.name + "/-/" + p.name[strings.LastIndex(p.name, "/")+1:] + "-" + p.version + ".tgz"
	s512 := sha512.Sum512(tgz)
	s1 := sha1.Sum(tgz)
	m := map[string]any{"name": p.name, "version": p.version, "_id": p.name + "@" + p.version,
		"dist": map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
			"shasum": hex.EncodeToString(s1[:]), "tarball": u.ts.URL + "/" + file}}
	for k, v := range p.manifest {
		m[k] = v
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[file] = tgz
	doc := u.docs[p.name]
	if doc == nil {
		doc = map[string]any{"name": p.name, "versions": map[string]any{}, "dist-tags": map[string]any{},
			"time": map[string]any{}}
		u.docs[p.name] = doc
	}
	doc["versions"].(map[string]any)[p.version] = m
	doc["time"].(map[string]any)[p.version] = time.Now().UTC().Format(time.RFC3339Nano)
	doc["dist-tags"].(map[string]any)["latest"] = p.version
	for t, v := range tags {
		doc["dist-tags"].(map[string]any)[t] = v
	}
	return tgz
}

// newProxyHarness is the harness with resolution through upstreams on,
// the external connection public:npmjs served by a fakeNPM, and the
// repositories named in repos created with their upstreams (in order)
// and, for those in external, the external connection.
func newProxyHarness(t *testing.T, repos [][]string, external ...string) (*harness, *fakeNPM) {
	t.Helper()
	return newProxyHarnessWith(t, nil, repos, external...)
}

// newProxyHarnessWith is newProxyHarness with adjust applied to the
// upstream client's configuration and the format before they are used.
func newProxyHarnessWith(t *testing.T, adjust func(*upstream.Config, *Format), repos [][]string, external ...string) (*harness, *fakeNPM) {
	t.Helper()
	up := newFakeNPM(t)
	h := newHarness(t, func(f *Format) {
		dc, err := upstream.NewDiskCache(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg := upstream.Config{Name: "npmjs", BaseURL: up.ts.URL + "/", Blobs: f.Blobs.(blob.Store), SpoolDir: t.TempDir(),
			Persist: dc, DiskBodies: true, // as the server: bodies read back from disk
			MaxRetries: -1, StaleAfter: time.Second, MetadataTTL: time.Hour, BreakerCooldown: time.Hour}
		if adjust != nil {
			adjust(&cfg, f)
		}
		cl, err := upstream.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		f.Chain = f.Store.(*sqlite.DB)
		f.Upstreams = map[string]Upstream{"public:npmjs": cl}
	})
	ctx := context.Background()
	// Create upstream-most first: a repository's upstreams must exist.
	for i := len(repos) - 1; i >= 0; i-- {
		name := repos[i][0]
		if _, err := h.db.CreateRepository(ctx, dom, name, "", "123456789012", repos[i][1:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range external {
		if _, err := h.db.SetExternalConnection(ctx, dom, r, "public:npmjs", false); err != nil {
			t.Fatal(err)
		}
	}
	return h, up
}

// publishTo publishes p into repository repo.
func (h *harness) publishTo(repo string, p pkg) {
	h.t.Helper()
	body, _ := json.Marshal(p.document(p.tarball()))
	r := h.do(http.MethodPut, "/npm/"+dom+"/"+repo+"/"+escaped(p.name), h.root, bytes.NewReader(body), "Content-Type", "application/json")
	if r.status != http.StatusOK {
		h.t.Fatalf("publish %s@%s to %s: %d %s", p.name, p.version, repo, r.status, r.body)
	}
}

func (h *harness) getIn(repo, path string) response {
	h.t.Helper()
	return h.do(http.MethodGet, "/npm/"+dom+"/"+repo+"/"+path, h.reader, nil)
}

// versionIn returns the version's origin in repo, or "" if repo does not
// hold it.
func (h *harness) versionIn(repo, name, version string) domain.OriginType {
	h.t.Helper()
	n, _ := ParseName(name, false)
	v, err := h.db.GetVersion(context.Background(), dom, repo, n.Ref(), version)
	if domain.KindOf(err) == domain.ErrNotFound {
		return ""
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Origin.Type
}

// codeArtifactChain is the documented example: my_repo's upstreams are A
// and B; A's are C and D; D's is E. Search order my_repo, A, C, D, E, B.
// E holds the external connection (one-letter names are
// not valid repository names, hence repo-a ... repo-e).
var codeArtifactChain = [][]string{{"my_repo", "repo-a", "repo-b"}, {"repo-a", "repo-c", "repo-d"}, {"repo-d", "repo-e"}, {"repo-c"}, {"repo-e"}, {"repo-b"}}

func TestProxyResolutionAndRetention(t *testing.T) {
	h, up := newProxyHarness(t, codeArtifactChain, "repo-e")
	all := []string{"my_repo", "repo-a", "repo-b", "repo-c", "repo-d", "repo-e"}
	// lib@1.0.0 is in C and B: C comes first. lib@2.0.0 only in B.
	h.publishTo("repo-c", pkg{name: "lib", version: "1.0.0"})
	h.publishTo("repo-b", pkg{name: "lib", version: "1.0.0", manifest: map[string]any{"description": "B's"}})
	h.publishTo("repo-b", pkg{name: "lib", version: "2.0.0"})
	h.publishTo("repo-e", pkg{name: "deep", version: "1.0.0"})
	up.add(pkg{name: "ext", version: "3.1.0"}, nil)

	cases := []struct {
		name, pkg, version string
		from               string // where the bytes come from
		retained           map[string]domain.OriginType
	}{
		{"first hop in DFS order wins", "lib", "1.0.0", "repo-c", map[string]domain.OriginType{"my_repo": domain.OriginInternal, "repo-c": domain.OriginInternal, "repo-b": domain.OriginInternal}},
		{"sibling after the depth-first branch", "lib", "2.0.0", "repo-b", map[string]domain.OriginType{"my_repo": domain.OriginInternal, "repo-b": domain.OriginInternal}},
		{"deepest upstream", "deep", "1.0.0", "repo-e", map[string]domain.OriginType{"my_repo": domain.OriginInternal, "repo-e": domain.OriginInternal}},
		{"external connection: asked and holder", "ext", "3.1.0", "public:npmjs", map[string]domain.OriginType{"my_repo": domain.OriginExternal, "repo-e": domain.OriginExternal}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.getIn("my_repo", tc.pkg+"/-/"+tc.pkg+"-"+tc.version+".tgz")
			if r.status != http.StatusOK {
				t.Fatalf("GET tarball: %d %s", r.status, r.body)
			}
			n, _ := ParseName(tc.pkg, false)
			v, err := h.db.GetVersion(context.Background(), dom, "my_repo", n.Ref(), tc.version)
			if err != nil || v.Origin.Repository+v.Origin.ExternalConnection != tc.from {
				t.Errorf("my_repo's copy: origin %+v (%v), want it from %s", v.Origin, err, tc.from)
			}
			for _, repo := range all {
				if got := h.versionIn(repo, tc.pkg, tc.version); got != tc.retained[repo] {
					t.Errorf("%s in %s: origin %q, want %q", tc.pkg+"@"+tc.version, repo, got, tc.retained[repo])
				}
			}
		})
	}
	// The version from C, not B's same-numbered one, was retained.
	r := h.getIn("my_repo", "lib")
	var doc struct {
		Versions map[string]struct {
			Description string
			Dist        struct{ Tarball string }
		}
	}
	json.Unmarshal(r.body, &doc)
	if d := doc.Versions["1.0.0"].Description; d != "" {
		t.Errorf("lib@1.0.0 description %q: B's version shadowed C's", d)
	}
	if tb := doc.Versions["2.0.0"].Dist.Tarball; !strings.Contains(tb, "/npm/acme/my_repo/lib/-/") {
		t.Errorf("tarball URL %q does not point at the asked repository", tb)
	}
	// Intermediates answer only for themselves.
	if r := h.getIn("repo-a", "ext/-/ext-3.1.0.tgz"); r.status != http.StatusOK {
		t.Fatalf("through A: %d", r.status)
	}
	if h.versionIn("repo-d", "ext", "3.1.0") != "" || h.versionIn("repo-a", "ext", "3.1.0") != domain.OriginExternal {
		t.Error("retention through A must record in A and E only")
	}
}

func TestProxyMergedPackument(t *testing.T) {
	h, up := newProxyHarness(t, [][]string{{"app", "shared2", "npm-store"}, {"shared2"}, {"npm-store"}}, "npm-store")
	// An internal package: the public versions of the same name stay hidden.
	h.publishTo("shared2", pkg{name: "is-number", version: "7.0.0"})
	up.add(pkg{name: "is-number", version: "7.0.1"}, nil)
	// A public package with tags; an app-published tag loses to upstream's.
	up.add(pkg{name: "left-pad", version: "1.0.0"}, nil)
	up.add(pkg{name: "left-pad", version: "1.1.0"}, map[string]string{"next": "1.1.0"})

	r := h.getIn("app", "is-number")
	if r.status != http.StatusOK {
		t.Fatalf("is-number: %d %s", r.status, r.body)
	}
	var doc struct {
		DistTags map[string]string `json:"dist-tags"`
		Versions map[string]struct {
			Dist struct{ Tarball, Integrity string }
		}
	}
	json.Unmarshal(r.body, &doc)
	if _, ok := doc.Versions["7.0.1"]; ok || len(doc.Versions) != 1 {
		t.Errorf("is-number versions %v: the public version must be hidden behind the internal package", doc.Versions)
	}
	if r := h.getIn("app", "is-number/-/is-number-7.0.1.tgz"); r.status != http.StatusNotFound {
		t.Errorf("public tarball of an internal package: %d, want 404", r.status)
	}

	r = h.getIn("app", "left-pad")
	doc.Versions = nil
	json.Unmarshal(r.body, &doc)
	if len(doc.Versions) != 2 || doc.DistTags["latest"] != "1.1.0" || doc.DistTags["next"] != "1.1.0" {
		t.Fatalf("left-pad: %d %s", r.status, r.body)
	}
	for v, m := range doc.Versions {
		if !strings.HasPrefix(m.Dist.Tarball, h.ts.URL+"/npm/acme/app/left-pad/-/") || !strings.HasPrefix(m.Dist.Integrity, "sha512-") {
			t.Errorf("left-pad@%s dist %+v", v, m.Dist)
		}
	}
	// Abbreviated form too.
	r = h.do(http.MethodGet, "/npm/acme/app/left-pad", h.reader, nil, "Accept", ctAbbreviated)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"1.0.0"`)) {
		t.Fatalf("abbreviated: %d %s", r.status, r.body)
	}
	// Scoped names reach upstream as npm escapes them.
	scoped := up.add(pkg{name: "@ext/scoped", version: "1.0.0"}, nil)
	if r := h.getIn("app", "@ext%2fscoped"); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`/npm/acme/app/@ext/scoped/-/scoped-1.0.0.tgz"`)) {
		t.Fatalf("scoped packument: %d %s", r.status, r.body)
	}
	if r := h.getIn("app", "@ext/scoped/-/scoped-1.0.0.tgz"); r.status != http.StatusOK || !bytes.Equal(r.body, scoped) {
		t.Fatalf("scoped tarball: %d", r.status)
	}
	if r := h.getIn("app", "no-such-package"); r.status != http.StatusNotFound {
		t.Errorf("unknown package: %d", r.status)
	}
}

func TestProxyConcurrentTarball(t *testing.T) {
	h, up := newProxyHarness(t, [][]string{{"app", "npm-store"}, {"npm-store"}}, "npm-store")
	tgz := up.add(pkg{name: "big", version: "1.0.0", files: map[string]string{"README.md": strings.Repeat("x", 1<<16)}}, nil)
	if r := h.getIn("app", "big"); r.status != http.StatusOK {
		t.Fatalf("packument: %d", r.status)
	}
	gate := make(chan struct{})
	up.mu.Lock()
	up.gate = gate
	up.mu.Unlock()
	const n = 100
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/npm/acme/app/big/-/big-1.0.0.tgz", nil)
			req.Header.Set("Authorization", "Bearer "+h.reader)
			res, err := h.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Errorf("request %d: %d %s", i, res.StatusCode, b.Bytes())
			}
			bodies[i] = b.Bytes()
		}()
	}
	// Let every request reach the fill before the body completes.
	deadline := time.Now().Add(10 * time.Second)
	for up.tarballs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if got := up.tarballs.Load(); got != 1 {
		t.Errorf("upstream tarball requests: %d, want 1", got)
	}
	for i, b := range bodies {
		if !bytes.Equal(b, tgz) {
			t.Fatalf("response %d: %d bytes differ from the upstream tarball (%d bytes)", i, len(b), len(tgz))
		}
	}
	for _, repo := range []string{"app", "npm-store"} {
		if got := h.versionIn(repo, "big", "1.0.0"); got != domain.OriginExternal {
			t.Errorf("big@1.0.0 in %s: %q", repo, got)
		}
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	h, up := newProxyHarness(t, [][]string{{"app", "shared2", "npm-store"}, {"shared2"}, {"npm-store"}}, "npm-store")
	h.publishTo("shared2", pkg{name: "internal-lib", version: "1.0.0"})
	tgz := up.add(pkg{name: "dep", version: "2.0.0"}, nil)
	for _, p := range []string{"dep", "dep/-/dep-2.0.0.tgz", "internal-lib", "internal-lib/-/internal-lib-1.0.0.tgz"} {
		if r := h.getIn("app", p); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	up.down.Store(true)
	if r := h.getIn("app", "dep/-/dep-2.0.0.tgz"); r.status != http.StatusOK || !bytes.Equal(r.body, tgz) {
		t.Fatalf("retained tarball with upstream down: %d", r.status)
	}
	if r := h.getIn("app", "dep"); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"2.0.0"`)) {
		t.Fatalf("packument with upstream down: %d %s", r.status, r.body)
	}
	// Retained versions survive removal of the upstream links.
	empty := []string{}
	if _, err := h.db.UpdateRepository(context.Background(), dom, "app", nil, &empty); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"dep", "dep/-/dep-2.0.0.tgz", "internal-lib", "internal-lib/-/internal-lib-1.0.0.tgz"} {
		if r := h.getIn("app", p); r.status != http.StatusOK {
			t.Errorf("%s after unlinking: %d %s", p, r.status, r.body)
		}
	}
}

// TestProxyDistTagsUpstreamWins follows the reference's example: R has
// latest -> 1.0.2, its upstream U latest -> 1.0.1; clients of R get 1.0.1.
// A tag only R sets is kept.
func TestProxyDistTagsUpstreamWins(t *testing.T) {
	h, _ := newProxyHarness(t, [][]string{{"repo-r", "repo-u"}, {"repo-u"}})
	h.publishTo("repo-u", pkg{name: "tagged", version: "1.0.0"})
	h.publishTo("repo-u", pkg{name: "tagged", version: "1.0.1"})
	h.publishTo("repo-r", pkg{name: "tagged", version: "1.0.2"})
	h.publishTo("repo-r", pkg{name: "tagged", version: "2.0.0-rc.1", tag: "next"})
	r := h.getIn("repo-r", "-/package/tagged/dist-tags")
	var tags map[string]string
	if err := json.Unmarshal(r.body, &tags); err != nil || tags["latest"] != "1.0.1" || tags["next"] != "2.0.0-rc.1" {
		t.Fatalf("dist-tags through repo-r: %d %s", r.status, r.body)
	}
	if r := h.getIn("repo-u", "-/package/tagged/dist-tags"); !bytes.Contains(r.body, []byte(`"latest":"1.0.1"`)) {
		t.Fatalf("dist-tags of repo-u: %s", r.body)
	}
}
