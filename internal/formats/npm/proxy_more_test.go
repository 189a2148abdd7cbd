package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/upstream"
)

// testClock is a settable clock for the upstream client's TTLs.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// versionsOf returns the versions of a packument body.
func versionsOf(t *testing.T, r response) map[string]json.RawMessage {
	t.Helper()
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &doc) != nil {
		t.Fatalf("packument: %d %s", r.status, r.body)
	}
	return doc.Versions
}

// TestProxyPreferCached: a repository preferring cached metadata reads the
// upstream copy without revalidation once it is cached, however old; a
// repository without the setting revalidates it once per TTL,
// conditionally. PurgeUpstream makes the next read ask upstream again.
func TestProxyPreferCached(t *testing.T) {
	const ttl = time.Minute
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h, up := newProxyHarnessWith(t, func(c *upstream.Config, f *Format) {
		c.MetadataTTL, c.Now = ttl, clock.Now
		f.PreferCached = func(d, r string) bool { return d == dom && r == "ci" }
	}, [][]string{{"ci", "npm-store"}, {"app", "npm-store"}, {"npm-store"}}, "npm-store")
	up.add(pkg{name: "left-pad", version: "1.0.0"}, nil)

	versionsOf(t, h.getIn("ci", "left-pad"))
	if got := up.packument.Load(); got != 1 {
		t.Fatalf("first read: %d upstream requests, want 1", got)
	}
	clock.advance(2 * ttl)
	versionsOf(t, h.getIn("ci", "left-pad"))
	if got := up.packument.Load(); got != 1 {
		t.Fatalf("prefer-cached read after the TTL: %d upstream requests, want still 1", got)
	}
	// Without the setting: one conditional revalidation after the TTL,
	// none within it.
	versionsOf(t, h.getIn("app", "left-pad"))
	versionsOf(t, h.getIn("app", "left-pad"))
	if got, nm := up.packument.Load(), up.notModified.Load(); got != 2 || nm != 1 {
		t.Fatalf("app after the TTL: %d upstream requests (%d answered 304), want 2 (1)", got, nm)
	}

	// A new version upstream: ci keeps the cached copy until purged.
	up.add(pkg{name: "left-pad", version: "1.1.0"}, nil)
	clock.advance(2 * ttl)
	if v := versionsOf(t, h.getIn("ci", "left-pad")); len(v) != 1 {
		t.Fatalf("ci before the purge sees %d versions, want the cached 1", len(v))
	}
	purged, err := h.f.PurgeUpstream(context.Background(), "", "left-pad")
	if err != nil || len(purged) != 1 || purged[0] != "public:npmjs" {
		t.Fatalf("PurgeUpstream: %v %v", purged, err)
	}
	before := up.packument.Load()
	if v := versionsOf(t, h.getIn("ci", "left-pad")); len(v) != 2 {
		t.Fatalf("ci after the purge sees %d versions, want 2", len(v))
	}
	if got := up.packument.Load(); got != before+1 {
		t.Fatalf("read after the purge: %d upstream requests, want %d", got, before+1)
	}
	if _, err := h.f.PurgeUpstream(context.Background(), "", ".bad"); domain.KindOf(err) != domain.ErrInvalid {
		t.Fatalf("PurgeUpstream of a bad name: %v", err)
	}
}

// TestProxyPublishCollision: with origin controls ALLOW/ALLOW, publishing
// a version the external connection has is 409 naming the version; a
// version upstream lacks publishes. A package published internally first
// (upstream BLOCK) publishes whatever upstream holds.
func TestProxyPublishCollision(t *testing.T) {
	h, up := newProxyHarness(t, [][]string{{"app", "npm-store"}, {"npm-store"}}, "npm-store")
	up.add(pkg{name: "left-pad", version: "1.0.0"}, nil)
	up.add(pkg{name: "left-pad", version: "1.1.0"}, nil)
	if r := h.getIn("app", "left-pad/-/left-pad-1.0.0.tgz"); r.status != http.StatusOK {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	ref := domain.PackageRef{Format: domain.FormatNPM, Name: "left-pad"}
	if _, err := h.db.SetOrigin(ctx, dom, "app", ref, domain.Allow, domain.Allow); err != nil {
		t.Fatal(err)
	}
	publish := func(p pkg) response {
		body, _ := json.Marshal(p.document(p.tarball()))
		return h.do(http.MethodPut, "/npm/"+dom+"/app/"+escaped(p.name), h.root, bytes.NewReader(body), "Content-Type", "application/json")
	}
	r := publish(pkg{name: "left-pad", version: "1.1.0"})
	if r.status != http.StatusConflict || !strings.Contains(r.errorMessage(), "1.1.0") || !strings.Contains(r.errorMessage(), "public:npmjs") {
		t.Fatalf("publish of a version upstream has: %d %s", r.status, r.body)
	}
	if h.versionIn("app", "left-pad", "1.1.0") != "" {
		t.Fatal("the refused version was recorded")
	}
	if r := publish(pkg{name: "left-pad", version: "2.0.0"}); r.status != http.StatusOK {
		t.Fatalf("publish of a version upstream lacks: %d %s", r.status, r.body)
	}

	// Defaults: published here first, upstream BLOCK.
	if r := publish(pkg{name: "mine", version: "1.0.0"}); r.status != http.StatusOK {
		t.Fatalf("publish mine: %d %s", r.status, r.body)
	}
	up.add(pkg{name: "mine", version: "1.0.1"}, nil)
	if r := publish(pkg{name: "mine", version: "1.0.1"}); r.status != http.StatusOK {
		t.Fatalf("publish of an internal package's next version: %d %s", r.status, r.body)
	}
}

// TestProxySearchMerged: a search through upstreams lists the internal
// hops' matches, then the external connection's results without names
// the internal ones have or that are published internally; with upstream
// failing, the internal ones alone.
func TestProxySearchMerged(t *testing.T) {
	h, up := newProxyHarness(t, [][]string{{"app", "shared2", "npm-store"}, {"shared2"}, {"npm-store"}}, "npm-store")
	h.publishTo("shared2", pkg{name: "pad-internal", version: "1.0.0", manifest: map[string]any{"description": "internal padding"}})
	h.publishTo("app", pkg{name: "zpad-app", version: "1.0.0"})
	h.publishTo("shared2", pkg{name: "is-number", version: "7.0.0"})
	obj := func(name string) map[string]any {
		return map[string]any{"package": map[string]any{"name": name, "version": "9.9.9", "description": "public " + name}, "searchScore": 1}
	}
	body, _ := json.Marshal(map[string]any{"objects": []any{obj("left-pad"), obj("pad-internal"), obj("is-number"), obj("right-pad")}, "total": 4})
	up.mu.Lock()
	up.search = body
	up.mu.Unlock()

	type result struct {
		Objects []struct {
			Package struct{ Name, Description string }
		}
		Total int
	}
	search := func(query string) (names []string, res result) {
		t.Helper()
		r := h.getIn("app", "-/v1/search?"+query)
		if r.status != http.StatusOK || json.Unmarshal(r.body, &res) != nil {
			t.Fatalf("search %s: %d %s", query, r.status, r.body)
		}
		for _, o := range res.Objects {
			names = append(names, o.Package.Name)
		}
		return names, res
	}
	names, res := search("text=pad&size=10")
	if got := strings.Join(names, ","); got != "pad-internal,zpad-app,left-pad,right-pad" {
		t.Fatalf("merged search: %s", got)
	}
	if res.Objects[0].Package.Description != "internal padding" || res.Objects[2].Package.Description != "public left-pad" {
		t.Errorf("descriptions: %+v", res.Objects)
	}
	if res.Total != 2+4 {
		t.Errorf("total %d, want 6", res.Total)
	}
	up.mu.Lock()
	asked := up.searches[len(up.searches)-1]
	up.mu.Unlock()
	if q, _ := url.ParseQuery(asked); q.Get("text") != "pad" || q.Get("size") != "8" || q.Get("from") != "0" {
		t.Errorf("upstream asked %q, want the text with the rest of the page", asked)
	}
	// A page past the internal matches asks upstream from the right place.
	names, _ = search("text=pad&size=1&from=3")
	up.mu.Lock()
	asked = up.searches[len(up.searches)-1]
	up.mu.Unlock()
	if q, _ := url.ParseQuery(asked); q.Get("from") != "1" || q.Get("size") != "1" || len(names) != 1 {
		t.Errorf("second page: %v, upstream asked %q", names, asked)
	}

	up.down.Store(true)
	if names, _ := search("text=pad"); strings.Join(names, ",") != "pad-internal,zpad-app" {
		t.Fatalf("search with upstream down: %v", names)
	}
}

// FuzzParseUpstreamSearch: any upstream search body parses or is refused
// with ErrInvalid, never panics; every result has a valid name and valid
// JSON.
func FuzzParseUpstreamSearch(f *testing.F) {
	f.Add([]byte(`{"objects":[{"package":{"name":"left-pad"}},{"package":{"name":"@s/x"}},{"package":{"name":".bad"}}],"total":3}`))
	f.Add([]byte(`{"objects":null,"total":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, total, err := parseUpstreamSearch(body)
		if err != nil {
			if domain.KindOf(err) != domain.ErrInvalid {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if total < 0 {
			t.Fatalf("total %d", total)
		}
		for _, r := range res {
			if _, err := ParseName(r.name.String(), false); err != nil || !json.Valid(r.raw) {
				t.Fatalf("result %q %s", r.name, r.raw)
			}
		}
	})
}

// TestProxyInternalUpstreamByGroup: a package group whose
// INTERNAL_UPSTREAM restriction does not allow a repository hides its
// upstream repositories' versions of the group's packages from it
// (packument and tarball), keeps what it holds itself, and leaves the
// upstream repository serving them; ALLOW_SPECIFIC_REPOSITORIES naming it
// lets them through again.
func TestProxyInternalUpstreamByGroup(t *testing.T) {
	h, _ := newProxyHarness(t, [][]string{{"app", "store", "npm-store"}, {"store"}, {"npm-store"}}, "npm-store")
	h.publishTo("store", pkg{name: "@acme/ui", version: "1.0.0"})
	h.publishTo("store", pkg{name: "other", version: "1.0.0"})
	h.publishTo("app", pkg{name: "@acme/ui", version: "0.9.0"})
	ctx := context.Background()
	pat, err := domain.ParseGroupPattern("/npm/acme/*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.CreatePackageGroup(ctx, domain.PackageGroup{Domain: dom, Pattern: pat}); err != nil {
		t.Fatal(err)
	}
	set := func(u domain.GroupUpdate) {
		t.Helper()
		if _, _, _, err := h.db.UpdatePackageGroupOrigin(ctx, dom, pat.String(), u); err != nil {
			t.Fatal(err)
		}
	}
	set(domain.GroupUpdate{Modes: map[domain.GroupRestrictionType]domain.GroupMode{domain.RestrictInternalUpstream: domain.ModeBlock}})

	versions := func(repo, name string) string {
		t.Helper()
		r := h.getIn(repo, escaped(name))
		if r.status != http.StatusOK {
			return fmt.Sprint(r.status)
		}
		var doc struct{ Versions map[string]json.RawMessage }
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		return strings.Join(slices.Sorted(maps.Keys(doc.Versions)), ",")
	}
	if got := versions("app", "@acme/ui"); got != "0.9.0" {
		t.Errorf("app's @acme/ui with INTERNAL_UPSTREAM blocked: %s, want its own 0.9.0 only", got)
	}
	if r := h.getIn("app", "@acme/ui/-/ui-1.0.0.tgz"); r.status != http.StatusNotFound {
		t.Errorf("tarball held only upstream: %d", r.status)
	}
	if h.versionIn("app", "@acme/ui", "1.0.0") != "" {
		t.Error("the blocked version was retained in app")
	}
	if got := versions("store", "@acme/ui"); got != "1.0.0" {
		t.Errorf("store's own @acme/ui: %s", got)
	}
	if got := versions("app", "other"); got != "1.0.0" {
		t.Errorf("a package outside the group: %s", got)
	}

	set(domain.GroupUpdate{Modes: map[domain.GroupRestrictionType]domain.GroupMode{domain.RestrictInternalUpstream: domain.ModeAllowSpecific},
		Add: map[domain.GroupRestrictionType][]string{domain.RestrictInternalUpstream: {"app"}}})
	if got := versions("app", "@acme/ui"); got != "0.9.0,1.0.0" {
		t.Errorf("app allowed: %s", got)
	}
	if r := h.getIn("app", "@acme/ui/-/ui-1.0.0.tgz"); r.status != http.StatusOK {
		t.Errorf("tarball once app is allowed: %d %s", r.status, r.body)
	}
}
