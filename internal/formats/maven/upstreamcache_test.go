package maven

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/upstream"
)

// TestPurgeUpstream: past the metadata TTL, a repository that prefers
// cached metadata keeps serving upstream's maven-metadata.xml as first
// fetched; once the artifact's cached upstream metadata is purged,
// through a Format that shares the upstream clients but not the rendered
// cache (as the admin API wires it), the next read asks upstream and
// lists the new version.
func TestPurgeUpstream(t *testing.T) {
	var offset atomic.Int64 // the upstream clients' clock, ahead of time.Now
	h, _, static := newProxyHarness(t, [][]string{{"app", "maven-store"}, {"maven-store"}}, map[string]string{"maven-store": "acme-mirror"},
		func(f *Format, cfg *upstream.Config) {
			f.PreferCached = func(dom, repo string) bool { return repo == "app" }
			cfg.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		})
	versions := func() string {
		t.Helper()
		m, err := ParseMetadata(h.getIn("app", widget.dir()+MetadataFile).body)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(m.Versions, " ")
	}
	const before, after = "1.0 1.9 1.10 2.0-beta-1 2.0", "1.0 1.9 1.10 2.0-beta-1 2.0 3.0"
	if got := versions(); got != before {
		t.Fatalf("first read: %q", got)
	}
	hits := static.hits.Load()
	if hits == 0 {
		t.Fatal("the first read did not ask upstream")
	}
	file := filepath.Join(static.dir, "com/example/widget", MetadataFile)
	md, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	md = bytes.Replace(md, []byte("<version>2.0</version>"), []byte("<version>2.0</version><version>3.0</version>"), 1)
	static.write(t, "com/example/widget/"+MetadataFile, md, nil)
	future := time.Now().Add(time.Minute) // a new modification time, so revalidation sees a change
	if err := os.Chtimes(file, future, future); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(2 * time.Hour)) // past MetadataTTL
	if got := versions(); got != before {
		t.Fatalf("prefer cached, before the purge: %q, want %q", got, before)
	}
	if n := static.hits.Load() - hits; n != 0 {
		t.Fatalf("prefer cached: %d upstream requests", n)
	}

	admin := &Format{Upstreams: h.f.Upstreams}
	purged, err := admin.PurgeUpstream(context.Background(), widget.group, widget.id)
	if err != nil || strings.Join(purged, ",") != "acme-mirror,public:maven-central" {
		t.Fatalf("PurgeUpstream: %v %v", purged, err)
	}
	if got := versions(); got != after {
		t.Errorf("after the purge: %q, want %q", got, after)
	}
	if n := static.hits.Load() - hits; n != 1 {
		t.Errorf("after the purge: %d upstream requests, want 1", n)
	}
	// Purging another artifact leaves this one's cached copy alone.
	hits = static.hits.Load()
	if _, err := h.f.PurgeUpstream(context.Background(), widget.group, "gadget"); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != after {
		t.Errorf("after purging another artifact: %q", got)
	}
	if n := static.hits.Load() - hits; n != 0 {
		t.Errorf("after purging another artifact: %d upstream requests", n)
	}

	for _, c := range []struct{ namespace, name string }{
		{"", "widget"}, {"com.example", ""}, {"com..example", "widget"}, {".com", "widget"}, {"com.example", ".."},
		{"com.example", "a/b"}, {"com/example", "widget"}, {"com.example", "wid get"}, {"com.ex%2Fample", "widget"},
		{"com.example", "widget\n"}, {strings.Repeat("a", 256), "widget"},
	} {
		if _, err := h.f.PurgeUpstream(context.Background(), c.namespace, c.name); domain.KindOf(err) != domain.ErrInvalid {
			t.Errorf("PurgeUpstream(%q, %q): %v, want ErrInvalid", c.namespace, c.name, err)
		}
	}
}

// A Format without upstream clients purges nothing, without error.
func TestPurgeUpstreamNoConnections(t *testing.T) {
	purged, err := (&Format{}).PurgeUpstream(context.Background(), "junit", "junit")
	if err != nil || len(purged) != 0 {
		t.Fatalf("%v %v", purged, err)
	}
}

// FuzzPurgeName: any groupId and artifactId from the purge API is
// refused with ErrInvalid or names exactly that artifact's metadata, at
// a cache key with no empty, "." or ".." segment; never a panic.
func FuzzPurgeName(f *testing.F) {
	f.Add("com.example", "widget")
	f.Add("com..example", "widget")
	f.Add("com.example", "..")
	f.Add("org.apache.maven.plugins", "maven-1.0-SNAPSHOT")
	f.Add("a%2Fb", "c/d")
	f.Fuzz(func(t *testing.T, group, artifact string) {
		p, err := metadataPath(group, artifact)
		if err != nil {
			if domain.KindOf(err) != domain.ErrInvalid {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if p.GroupID != group || p.ArtifactID != artifact || p.Kind != KindMetadata {
			t.Fatalf("%q:%q parsed as %+v", group, artifact, p)
		}
		key := cacheKey("maven", upstreamPath(p))
		for _, s := range strings.Split(key, "/") {
			if s == "" || s == "." || s == ".." {
				t.Fatalf("key %q", key)
			}
		}
	})
}
