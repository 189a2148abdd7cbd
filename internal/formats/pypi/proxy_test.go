package pypi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/upstream"
)

// realWheels returns real wheel files found on this machine, by file
// name: Debian's python-wheels and the running python3's ensurepip
// bundle (pip and setuptools at several versions). The test is skipped
// when there are none.
func realWheels(t testing.TB) map[string][]byte {
	t.Helper()
	dirs := []string{"/usr/share/python-wheels"}
	if out, err := exec.Command("python3", "-c", "import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled'))").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	wheels := map[string][]byte{}
	for _, d := range dirs {
		paths, _ := filepath.Glob(filepath.Join(d, "*.whl"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err == nil && len(b) < 8<<20 {
				wheels[filepath.Base(p)] = b
			}
		}
	}
	if len(wheels) == 0 {
		t.Skip("no real wheel files on this machine")
	}
	return wheels
}

// staticIndex is a PEP 503 tree served over real HTTP, as a static web
// server serves a directory written by a mirroring tool:
//
//	/simple/{project}/          links ../../packages/{file}#sha256=…
//	                            with data-dist-info-metadata for wheels
//	/packages/{file}            the file
//	/packages/{file}.metadata   a wheel's METADATA (PEP 658)
//
// With asJSON it answers PEP 691 JSON to clients that accept it. down
// makes it answer 503; corrupt makes it send every file with its last
// byte changed.
type staticIndex struct {
	ts       *httptest.Server
	mu       sync.Mutex
	files    map[string][]byte // file name -> bytes (and .metadata sidecars)
	asJSON   bool
	down     atomic.Bool
	corrupt  atomic.Bool
	fetches  atomic.Int64 // requests under /packages/
	pageHits sync.Map     // project -> *atomic.Int64
}

func newStaticIndex(t testing.TB) *staticIndex {
	s := &staticIndex{files: map[string][]byte{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	return s
}

// add places a distribution file in the tree (and a wheel's METADATA).
func (s *staticIndex) add(t testing.TB, name string, b []byte) {
	t.Helper()
	fn, err := ParseFilename(name)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = b
	if fn.Kind == Wheel {
		raw, err := wheelMetadata(bytes.NewReader(b), int64(len(b)), fn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.files[name+metadataSuffix] = raw
	}
}

func (s *staticIndex) pageRequests(project string) int64 {
	v, _ := s.pageHits.LoadOrStore(project, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (s *staticIndex) serve(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if file, ok := strings.CutPrefix(r.URL.Path, "/packages/"); ok {
		s.fetches.Add(1)
		b, ok := s.files[file]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if s.corrupt.Load() {
			b = append(bytes.Clone(b[:len(b)-1]), b[len(b)-1]^0xff)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(b))
		return
	}
	project, ok := strings.CutPrefix(r.URL.Path, "/simple/")
	project, slash := strings.CutSuffix(project, "/")
	if !ok || !slash || strings.Contains(project, "/") {
		http.NotFound(w, r)
		return
	}
	v, _ := s.pageHits.LoadOrStore(project, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	var names []string
	for name := range s.files {
		if fn, err := ParseFilename(name); err == nil && Normalize(fn.Name) == project {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		http.NotFound(w, r)
		return
	}
	sort.Strings(names)
	if s.asJSON && strings.Contains(r.Header.Get("Accept"), "json") {
		var files []map[string]any
		for _, n := range names {
			f := map[string]any{"filename": n, "url": "../../packages/" + n, "hashes": map[string]string{"sha256": sha(s.files[n])},
				"requires-python": ">=3.7", "size": len(s.files[n]), "yanked": false, "upload-time": "2023-02-17T10:00:00.000000Z"}
			if m, ok := s.files[n+metadataSuffix]; ok {
				f["core-metadata"] = map[string]string{"sha256": sha(m)}
			}
			files = append(files, f)
		}
		w.Header().Set("Content-Type", ctJSON)
		json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.0"}, "name": project, "files": files})
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><body><h1>Links for %s</h1>\n", project)
	for _, n := range names {
		extra := ` data-requires-python="&gt;=3.7"`
		if m, ok := s.files[n+metadataSuffix]; ok {
			extra += ` data-dist-info-metadata="sha256=` + sha(m) + `"`
		}
		fmt.Fprintf(w, "<a href=\"../../packages/%s#sha256=%s\"%s>%s</a><br/>\n", n, sha(s.files[n]), extra, n)
	}
	fmt.Fprint(w, "</body></html>\n")
}

// newProxyHarness is the harness with resolution through upstreams on:
// the external connection public:pypi is a staticIndex, and the
// repositories in repos are created with their upstreams (name first,
// upstreams after, upstream-most last); those in external hold the
// connection. ttl is the upstream metadata TTL.
func newProxyHarness(t *testing.T, ttl time.Duration, repos [][]string, external ...string) (*harness, *staticIndex) {
	t.Helper()
	h := newHarness(t)
	up := newStaticIndex(t)
	dc, err := upstream.NewDiskCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := upstream.New(upstream.Config{Name: "pypi", BaseURL: up.ts.URL + "/simple/", Blobs: h.blobs, SpoolDir: t.TempDir(),
		Persist: dc, DiskBodies: true, // as the server: bodies read back from disk
		MaxRetries: -1, StaleAfter: time.Second, MetadataTTL: ttl, NegativeTTL: time.Nanosecond, BreakerCooldown: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	h.f.Chain = h.db
	h.f.Upstreams = map[string]formats.Upstream{"public:pypi": cl}
	ctx := context.Background()
	for i := len(repos) - 1; i >= 0; i-- {
		if _, err := h.db.CreateRepository(ctx, testDom, repos[i][0], "", "123456789012", repos[i][1:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range external {
		if _, err := h.db.SetExternalConnection(ctx, testDom, r, "public:pypi", false); err != nil {
			t.Fatal(err)
		}
	}
	return h, up
}

// addWheels puts every real wheel of a project into the index and
// returns them by file name.
func addWheels(t *testing.T, up *staticIndex, wheels map[string][]byte, project string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, b := range wheels {
		if fn, err := ParseFilename(name); err == nil && Normalize(fn.Name) == project {
			up.add(t, name, b)
			out[name] = b
		}
	}
	if len(out) == 0 {
		t.Skipf("no real %s wheel on this machine", project)
	}
	return out
}

func (h *harness) getIn(repo, path string, headers ...string) response {
	h.t.Helper()
	return h.get("/pypi/"+testDom+"/"+repo+"/"+path, h.reader, headers...)
}

// uploadTo uploads d to repository repo as root.
func (h *harness) uploadTo(repo string, d dist) response {
	h.t.Helper()
	content := d.bytes()
	body, ct := multipartBody(d.form(content), d.fileName(), content)
	return h.do(http.MethodPost, "/pypi/"+testDom+"/"+repo+"/", h.root, body, "Content-Type", ct)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) holds(repo, project, version, file string) bool {
	_, _, err := h.db.GetAsset(context.Background(), testDom, repo, ref(project), version, file)
	return err == nil
}

func wheelVersion(t *testing.T, name string) string {
	fn, err := ParseFilename(name)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NormalizeVersion(fn.Version)
	return v
}

func TestProxyMergedIndex(t *testing.T) {
	wheels := realWheels(t)
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("upstreamJSON=%v", asJSON), func(t *testing.T) {
			h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "mid", "store"}, {"mid"}, {"store"}}, "store")
			up.asJSON = asJSON
			pips := addWheels(t, up, wheels, "pip")
			// Internal versions of pip in mid, allowed to mix with the
			// public ones, at PEP 440 positions lexical order gets wrong.
			for _, v := range []string{"23.1", "23.2.1rc1", "9.0"} {
				if r := h.uploadTo("mid", dist{name: "pip", version: v, kind: Wheel}); r.status != http.StatusOK {
					t.Fatal(r)
				}
			}
			if _, err := h.db.SetOrigin(context.Background(), testDom, "mid", ref("pip"), domain.Allow, domain.Allow); err != nil {
				t.Fatal(err)
			}
			// An internal-only package: the connection is never asked.
			if r := h.uploadTo("mid", dist{name: "my-lib", version: "1.0", kind: Wheel}); r.status != http.StatusOK {
				t.Fatal(r)
			}

			r := h.getIn("app", "simple/pip/", "Accept", ctJSON)
			if r.status != http.StatusOK {
				t.Fatal(r)
			}
			var p projectJSON
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			want := []string{"9.0", "23.1", "23.2.1rc1"}
			for name := range pips {
				want = append(want, wheelVersion(t, name))
			}
			sort.Slice(want, func(i, j int) bool {
				a, _ := ParseVersion(want[i])
				b, _ := ParseVersion(want[j])
				return a.Compare(b) < 0
			})
			if strings.Join(p.Versions, " ") != strings.Join(want, " ") {
				t.Fatalf("versions %v, want %v", p.Versions, want)
			}
			got := map[string]string{}
			for _, f := range p.Files {
				got[f.Filename] = f.URL + "#" + f.Hashes["sha256"]
				if b, ok := pips[f.Filename]; ok {
					if f.CoreMetadata == false {
						t.Errorf("%s: upstream's core metadata not shown", f.Filename)
					}
					if f.RequiresPython != ">=3.7" {
						t.Errorf("%s: requires-python %q", f.Filename, f.RequiresPython)
					}
					if want := wheelVersion(t, f.Filename) + "/" + f.Filename + "#" + sha(b); got[f.Filename] != want {
						t.Errorf("%s: %s, want %s", f.Filename, got[f.Filename], want)
					}
				}
			}
			if len(got) != len(pips)+3 {
				t.Fatalf("files %v", got)
			}
			// The HTML page lists the same files with the sha256 fragment.
			links := htmlLinks(t, h.getIn("app", "simple/pip/").body)
			for name, b := range pips {
				if l := links[name]; l["href"] != wheelVersion(t, name)+"/"+name+"#sha256="+sha(b) || l["data-requires-python"] != ">=3.7" {
					t.Errorf("HTML link of %s: %v", name, l)
				}
			}

			if r := h.getIn("app", "simple/my-lib/", "Accept", ctJSON); r.status != http.StatusOK || !strings.Contains(string(r.body), "my_lib-1.0-py3-none-any.whl") {
				t.Fatal(r)
			}
			if n := up.pageRequests("my-lib"); n != 0 {
				t.Errorf("the external connection was asked for an internal package %d times", n)
			}
			if r := h.getIn("app", "simple/no-such-project/"); r.status != http.StatusNotFound {
				t.Errorf("unknown project: %s", r)
			}
		})
	}
}

func TestProxyRetention(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "mid"}, {"mid", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	var name string
	for n := range pips {
		name = n
	}
	version := wheelVersion(t, name)
	path := "simple/pip/" + version + "/" + name
	r := h.getIn("app", path)
	if r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
		t.Fatalf("download through app: %d, %d bytes", r.status, len(r.body))
	}
	waitFor(t, "the version retained in app and store", func() bool {
		return h.holds("app", "pip", version, name) && h.holds("store", "pip", version, name)
	})
	if h.holds("mid", "pip", version, name) {
		t.Error("the version was recorded in the intermediate repository")
	}
	pv, err := h.db.View(context.Background(), testDom, "app", ref("pip"))
	if err != nil || len(pv.Versions) != 1 {
		t.Fatal(pv, err)
	}
	v := pv.Versions[0]
	if v.Origin.Type != domain.OriginExternal || v.Origin.ExternalConnection != "public:pypi" || v.Summary == "" {
		t.Errorf("recorded version: origin %+v, summary %q", v.Origin, v.Summary)
	}
	// Served from the store now: no second upstream request, and the
	// wheel's core metadata is held too.
	before := up.fetches.Load()
	if r := h.getIn("app", path); r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
		t.Fatal(r.status)
	}
	meta := h.getIn("app", path+metadataSuffix)
	if meta.status != http.StatusOK || !bytes.Equal(meta.body, up.files[name+metadataSuffix]) {
		t.Fatalf("core metadata: %s", meta)
	}
	if n := up.fetches.Load() - before; n != 0 {
		t.Errorf("%d upstream file requests for a retained file", n)
	}
	// An internal hop holding the version: `other` -> app retains from app.
	if _, err := h.db.CreateRepository(context.Background(), testDom, "leaf", "", "123456789012", []string{"app"}); err != nil {
		t.Fatal(err)
	}
	if r := h.getIn("leaf", path); r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
		t.Fatal(r.status)
	}
	if !h.holds("leaf", "pip", version, name) {
		t.Error("not retained in the asking repository")
	}
}

func TestProxyCoreMetadataThroughUpstream(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	for name := range pips {
		r := h.getIn("store", "simple/pip/"+wheelVersion(t, name)+"/"+name+metadataSuffix)
		if r.status != http.StatusOK || !bytes.Equal(r.body, up.files[name+metadataSuffix]) {
			t.Fatalf("%s.metadata: %s", name, r)
		}
		if h.holds("store", "pip", wheelVersion(t, name), name) {
			t.Error("a core metadata fetch recorded the version")
		}
	}
}

func TestProxyWrongBytes(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	var name string
	for n := range pips {
		name = n
	}
	version := wheelVersion(t, name)
	path := "simple/pip/" + version + "/" + name
	up.corrupt.Store(true)
	r := h.getIn("app", path)
	if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "sha256") {
		t.Fatalf("wrong bytes upstream: %s", r.String()[:min(len(r.String()), 300)])
	}
	if h.holds("app", "pip", version, name) || h.holds("store", "pip", version, name) {
		t.Fatal("a file that failed its check was recorded")
	}
	if _, _, err := h.blobs.Open(context.Background(), sha(append(bytes.Clone(pips[name][:len(pips[name])-1]), pips[name][len(pips[name])-1]^0xff))); err == nil {
		t.Error("the wrong bytes were stored")
	}
	up.corrupt.Store(false)
	r = h.getIn("app", path)
	if r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
		t.Fatalf("right bytes: %d", r.status)
	}
	waitFor(t, "the version recorded", func() bool { return h.holds("app", "pip", version, name) })
}

func TestProxyUpstreamNotFound(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	for _, tc := range []struct{ name, path string }{
		{"unknown project", "simple/not-there/"},
		{"unknown project file", "simple/not-there/1.0/not_there-1.0-py3-none-any.whl"},
		{"unknown version", "simple/pip/0.0.1/pip-0.0.1-py3-none-any.whl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := h.getIn("app", tc.path); r.status != http.StatusNotFound {
				t.Errorf("%s", r)
			}
		})
	}
	// A file the page lists that upstream no longer has.
	for name := range pips {
		up.mu.Lock()
		delete(up.files, name)
		up.files["pip-0.1-py3-none-any.whl"] = nil
		up.mu.Unlock()
		if r := h.getIn("app", "simple/pip/"+wheelVersion(t, name)+"/"+name); r.status != http.StatusNotFound {
			t.Errorf("file gone upstream: %s", r)
		}
		break
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	wheels := realWheels(t)
	// A TTL of a nanosecond: every page read revalidates, so the
	// upstream being down is seen.
	h, up := newProxyHarness(t, time.Nanosecond, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	names := make([]string, 0, len(pips))
	for n := range pips {
		names = append(names, n)
	}
	sort.Strings(names)
	name := names[0]
	version := wheelVersion(t, name)
	path := "simple/pip/" + version + "/" + name
	if r := h.getIn("app", path); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	waitFor(t, "the version retained", func() bool { return h.holds("app", "pip", version, name) })
	up.down.Store(true)
	r := h.getIn("app", path)
	if r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
		t.Fatalf("retained file with the upstream down: %d", r.status)
	}
	page := h.getIn("app", "simple/pip/", "Accept", ctJSON)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), name) {
		t.Fatalf("page with the upstream down: %s", page)
	}
	if len(names) > 1 {
		// Listed from the stale upstream page but never fetched: 502.
		other := names[1]
		r := h.getIn("app", "simple/pip/"+wheelVersion(t, other)+"/"+other)
		if r.status != http.StatusBadGateway && r.status != http.StatusNotFound {
			t.Errorf("unretained file with the upstream down: %s", r)
		}
	}
}

func TestProxyPublishOverUpstream(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	var name string
	for n := range pips {
		name = n
	}
	version := wheelVersion(t, name)
	// Ingested first: publish BLOCK, upstream ALLOW. Allow both.
	if r := h.getIn("store", "simple/pip/"+version+"/"+name); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	waitFor(t, "ingested", func() bool { return h.holds("store", "pip", version, name) })
	if _, err := h.db.SetOrigin(context.Background(), testDom, "store", ref("pip"), domain.Allow, domain.Allow); err != nil {
		t.Fatal(err)
	}
	others := []string{}
	for n := range pips {
		if wheelVersion(t, n) != version {
			others = append(others, wheelVersion(t, n))
		}
	}
	for _, v := range append(others, version) {
		r := h.uploadTo("store", dist{name: "pip", version: v, kind: Wheel, payload: "internal"})
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), "external connection") {
			t.Errorf("publish %s over the upstream's: %s", v, r)
		}
	}
	if r := h.uploadTo("store", dist{name: "pip", version: "999.0", kind: Wheel}); r.status != http.StatusOK {
		t.Errorf("publish a version upstream lacks: %s", r)
	}
	// Published first (upstream BLOCK): upstream is not consulted.
	if r := h.uploadTo("store", dist{name: "setuptools", version: "66.1.1", kind: Wheel}); r.status != http.StatusOK {
		t.Errorf("internal package: %s", r)
	}
}

func TestParseUpstreamPage(t *testing.T) {
	h := strings.Repeat("ab", 32)
	m := strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name, ct, body string
		want           []upstreamFile
	}{
		{"html", "text/html", `<html><body>
<a href="../../packages/x/Foo_Bar-1.0-py3-none-any.whl#sha256=` + strings.ToUpper(h) + `" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=` + m + `">Foo_Bar-1.0-py3-none-any.whl</a>
<a href="/abs/foo-bar-2.0.tar.gz" data-yanked="broken">foo-bar-2.0.tar.gz</a>
<a href="https://files.example/foo_bar-1.0.tar.gz?x=1#md5=00">foo_bar-1.0.tar.gz</a>
<a href="other-1.0.tar.gz">other-1.0.tar.gz</a>
<a href="javascript:alert(1)">foo_bar-3.0.tar.gz</a>
<a>foo_bar-4.0.tar.gz</a>
</body></html>`, []upstreamFile{
			{name: "Foo_Bar-1.0-py3-none-any.whl", version: "1.0", ref: "foo-bar/../../packages/x/Foo_Bar-1.0-py3-none-any.whl", sha256: h,
				requiresPython: ">=3.8", hasMetadata: true, metadataSHA256: m},
			{name: "foo-bar-2.0.tar.gz", version: "2.0", ref: "/abs/foo-bar-2.0.tar.gz", yanked: true, yankedReason: "broken"},
			{name: "foo_bar-1.0.tar.gz", version: "1.0", ref: "https://files.example/foo_bar-1.0.tar.gz?x=1"},
		}},
		{"json", ctJSON, `{"meta":{"api-version":"1.1"},"name":"foo-bar","files":[
{"filename":"foo_bar-1.0-py3-none-any.whl","url":"https://files.example/foo_bar-1.0-py3-none-any.whl","hashes":{"sha256":"` + h + `"},
 "requires-python":">=3.8","yanked":"bad","size":12,"upload-time":"2024-01-01T00:00:00Z","core-metadata":{"sha256":"` + m + `"}},
{"filename":"foo_bar-2.0.tar.gz","url":"p/foo_bar-2.0.tar.gz","hashes":{},"yanked":false,"dist-info-metadata":true},
{"filename":"../evil-1.0.tar.gz","url":"x","hashes":{}}]}`, []upstreamFile{
			{name: "foo_bar-1.0-py3-none-any.whl", version: "1.0", ref: "https://files.example/foo_bar-1.0-py3-none-any.whl", sha256: h,
				requiresPython: ">=3.8", yanked: true, yankedReason: "bad", size: 12, uploadTime: "2024-01-01T00:00:00Z", hasMetadata: true, metadataSHA256: m},
			{name: "foo_bar-2.0.tar.gz", version: "2.0", ref: "foo-bar/p/foo_bar-2.0.tar.gz", hasMetadata: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUpstreamPage([]byte(tc.body), tc.ct, "foo-bar")
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].fn = Filename{}
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := parseUpstreamPage([]byte(`{"files": 3}`), ctJSON, "x"); domain.KindOf(err) != domain.ErrInvalid {
		t.Errorf("malformed JSON: %v", err)
	}
	if got := (upstreamFile{ref: "a/b.whl?x=1"}).metadataRef(); got != "a/b.whl.metadata?x=1" {
		t.Errorf("metadataRef: %s", got)
	}
}

// BenchmarkProxyPage serves the merged page of a project held by an
// internal upstream and listed by the external connection, warm (the
// rendering cached, the upstream page younger than its TTL): the cost
// is the chain's state reads, with no upstream traffic.
func BenchmarkProxyPage(b *testing.B) {
	wheels := realWheels(b)
	h := newHarness(b)
	up := newStaticIndex(b)
	cl, err := upstream.New(upstream.Config{Name: "pypi", BaseURL: up.ts.URL + "/simple/", Blobs: h.blobs, SpoolDir: b.TempDir(), MetadataTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	h.f.Chain = h.db
	h.f.Upstreams = map[string]formats.Upstream{"public:pypi": cl}
	ctx := context.Background()
	for _, r := range [][]string{{"store"}, {"app", "shared", "store"}} {
		if _, err := h.db.CreateRepository(ctx, testDom, r[0], "", "123456789012", r[1:]); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := h.db.SetExternalConnection(ctx, testDom, "store", "public:pypi", false); err != nil {
		b.Fatal(err)
	}
	for name, w := range wheels {
		up.add(b, name, w)
	}
	h.upload(dist{name: "pip", version: "1.0", kind: Wheel})
	if _, err := h.db.SetOrigin(ctx, testDom, testRepo, ref("pip"), domain.Allow, domain.Allow); err != nil {
		b.Fatal(err)
	}
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/pypi/"+testDom+"/app/simple/pip/", nil)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+h.reader)))
		r.Header.Set("Accept", ctJSON)
		return r
	}
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, req())
	if w.Code != http.StatusOK {
		b.Fatal(w.Code, w.Body.String())
	}
	pages := up.pageRequests("pip")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.e.ServeHTTP(w, req())
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
	b.StopTimer()
	if n := up.pageRequests("pip") - pages; n != 0 {
		b.Fatalf("%d upstream page requests while warm", n)
	}
}

func TestProxyConcurrentDownloads(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	var name string
	for n := range pips {
		name = n
	}
	path := "simple/pip/" + wheelVersion(t, name) + "/" + name
	h.getIn("app", "simple/pip/") // the page, fetched once
	const n = 20
	var wg sync.WaitGroup
	bodies := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = h.getIn("app", path)
		}()
	}
	wg.Wait()
	for i, r := range bodies {
		if r.status != http.StatusOK || !bytes.Equal(r.body, pips[name]) {
			t.Fatalf("response %d: %d, %d bytes", i, r.status, len(r.body))
		}
	}
	if got := up.fetches.Load(); got != 1 {
		t.Errorf("%d upstream file requests for %d concurrent downloads, want 1", got, n)
	}
}

func TestProxyPreferCached(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Nanosecond, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	prefer := atomic.Bool{}
	h.f.PreferCached = func(dom, repo string) bool { return dom == testDom && repo == "app" && prefer.Load() }
	versions := func() int {
		t.Helper()
		var p projectJSON
		r := h.getIn("app", "simple/pip/", "Accept", ctJSON)
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(r)
		}
		return len(p.Versions)
	}
	first := versions()
	if first != len(pips) {
		t.Fatalf("%d versions, want %d", first, len(pips))
	}
	up.add(t, "pip-99.0-py3-none-any.whl", dist{name: "pip", version: "99.0", kind: Wheel}.bytes())
	prefer.Store(true)
	before := up.pageRequests("pip")
	if got := versions(); got != first {
		t.Errorf("prefer cached: %d versions, want the cached %d", got, first)
	}
	if n := up.pageRequests("pip") - before; n != 0 {
		t.Errorf("prefer cached: %d upstream page requests", n)
	}
	prefer.Store(false)
	if got := versions(); got != first+1 {
		t.Errorf("revalidated: %d versions, want %d", got, first+1)
	}
}

func TestProxyFileWithoutDigest(t *testing.T) {
	p, ok := buildProject("foo", domain.PackageView{Versions: []domain.VersionRecord{
		*upstreamVersions([]upstreamFile{{name: "foo-1.0.tar.gz", version: "1.0", ref: "x"}}, "foo", "public:pypi")["1.0"]}})
	if !ok {
		t.Fatal("nothing listed")
	}
	if b := string(p.html()); strings.Contains(b, "#sha256") || !strings.Contains(b, `href="1.0/foo-1.0.tar.gz"`) {
		t.Errorf("HTML:\n%s", b)
	}
	if b := string(p.json()); !strings.Contains(b, `"hashes":{}`) {
		t.Errorf("JSON:\n%s", b)
	}
}

// A package group that blocks external upstreams hides the connection
// from pages and downloads alike.
func TestProxyPackageGroupBlocks(t *testing.T) {
	wheels := realWheels(t)
	h, up := newProxyHarness(t, time.Hour, [][]string{{"app", "store"}, {"store"}}, "store")
	pips := addWheels(t, up, wheels, "pip")
	ctx := context.Background()
	pat, err := domain.ParseGroupPattern("/pypi//pip$")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: testDom, Pattern: pat}); err != nil {
		t.Fatal(err)
	}
	block := domain.GroupUpdate{Modes: map[domain.GroupRestrictionType]domain.GroupMode{domain.RestrictExternalUpstream: domain.ModeBlock}}
	if _, _, _, err := h.db.UpdatePackageGroupOrigin(ctx, testDom, pat.String(), block); err != nil {
		t.Fatal(err)
	}
	if r := h.getIn("app", "simple/pip/"); r.status != http.StatusNotFound {
		t.Errorf("page of a blocked package: %s", r)
	}
	for name := range pips {
		if r := h.getIn("app", "simple/pip/"+wheelVersion(t, name)+"/"+name); r.status != http.StatusNotFound {
			t.Errorf("download of a blocked package: %d", r.status)
		}
	}
	if n := up.fetches.Load(); n != 0 {
		t.Errorf("%d upstream file requests for a blocked package", n)
	}
}
