package pypi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// TestPurgeUpstream: a repository that prefers cached metadata keeps
// serving the project page first fetched after upstream changed; once
// the project's cached upstream page is purged, through a Format that
// shares the upstream clients but not the rendered-page cache (as the
// admin API wires it), the next read asks upstream and shows the new
// version.
func TestPurgeUpstream(t *testing.T) {
	h, up := newProxyHarness(t, time.Nanosecond, [][]string{{"app", "store"}, {"store"}}, "store")
	h.f.PreferCached = func(dom, repo string) bool { return dom == testDom && repo == "app" }
	up.add(t, "purge_me-1.0-py3-none-any.whl", dist{name: "purge_me", version: "1.0", kind: Wheel}.bytes())
	versions := func() string {
		t.Helper()
		r := h.getIn("app", "simple/purge-me/", "Accept", ctJSON)
		var p projectJSON
		if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil {
			t.Fatal(r)
		}
		return strings.Join(p.Versions, " ")
	}
	if got := versions(); got != "1.0" {
		t.Fatalf("first read: %q", got)
	}
	if n := up.pageRequests("purge-me"); n != 1 {
		t.Fatalf("first read: %d upstream page requests, want 1", n)
	}
	up.add(t, "purge_me-2.0-py3-none-any.whl", dist{name: "purge_me", version: "2.0", kind: Wheel}.bytes())
	if got := versions(); got != "1.0" {
		t.Fatalf("prefer cached, before the purge: %q, want the cached 1.0", got)
	}
	if n := up.pageRequests("purge-me"); n != 1 {
		t.Fatalf("prefer cached: %d upstream page requests, want 1", n)
	}

	admin := &Format{Upstreams: h.f.Upstreams}
	// Any spelling PEP 503 normalises to the project names it.
	purged, err := admin.PurgeUpstream(context.Background(), "", "Purge_Me")
	if err != nil || strings.Join(purged, ",") != "public:pypi" {
		t.Fatalf("PurgeUpstream: %v %v", purged, err)
	}
	if got := versions(); got != "1.0 2.0" {
		t.Errorf("after the purge: %q, want 1.0 2.0", got)
	}
	if n := up.pageRequests("purge-me"); n != 2 {
		t.Errorf("after the purge: %d upstream page requests, want 2", n)
	}
	// The serving Format's own purge drops its rendered pages too.
	if _, err := h.f.PurgeUpstream(context.Background(), "", "purge.me"); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != "1.0 2.0" {
		t.Errorf("after the second purge: %q", got)
	}
	if n := up.pageRequests("purge-me"); n != 3 {
		t.Errorf("after the second purge: %d upstream page requests, want 3", n)
	}
	// Another project's cached page is not purged.
	if _, err := h.f.PurgeUpstream(context.Background(), "", "other-project"); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != "1.0 2.0" || up.pageRequests("purge-me") != 3 {
		t.Errorf("after purging another project: %q, %d page requests", got, up.pageRequests("purge-me"))
	}

	for _, c := range []struct{ namespace, name string }{
		{"", ""}, {"", ".bad"}, {"", "bad-"}, {"", "a/b"}, {"", "../x"}, {"", strings.Repeat("a", 256)}, {"scope", "purge-me"},
	} {
		if _, err := h.f.PurgeUpstream(context.Background(), c.namespace, c.name); domain.KindOf(err) != domain.ErrInvalid {
			t.Errorf("PurgeUpstream(%q, %q): %v, want ErrInvalid", c.namespace, c.name, err)
		}
	}
}

// A Format without upstream clients purges nothing, without error.
func TestPurgeUpstreamNoConnections(t *testing.T) {
	purged, err := (&Format{}).PurgeUpstream(context.Background(), "", "pip")
	if err != nil || len(purged) != 0 {
		t.Fatalf("%v %v", purged, err)
	}
}

// FuzzPurgeName: any namespace and name from the purge API is refused
// with ErrInvalid or accepted as a valid project name; never a panic.
func FuzzPurgeName(f *testing.F) {
	f.Add("", "Purge_Me")
	f.Add("", ".bad")
	f.Add("x", "pip")
	f.Add("", "a/../b")
	f.Fuzz(func(t *testing.T, namespace, name string) {
		_, err := (&Format{}).PurgeUpstream(context.Background(), namespace, name)
		if err != nil {
			if domain.KindOf(err) != domain.ErrInvalid {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if namespace != "" || !ValidName(name) || strings.ContainsAny(pageCacheKey(Normalize(name))[len("pypi/simple/"):], "/.") {
			t.Fatalf("accepted %q %q", namespace, name)
		}
	})
}
