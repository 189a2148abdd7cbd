package npm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/sqlite"
	"github.com/artifactd/registry/internal/upstream"
)

// BenchmarkHotPackumentThroughUpstream measures a warm packument GET
// through the whole HTTP stack for a repository "app" whose upstream
// "hub" holds the external connection public:npmjs (served by a
// fakeNPM): one package published into hub, one fetched from the
// external connection once, outside the timing. Every timed request
// authenticates a reader with an identity policy, authorizes against
// resource policies, resolves the upstream graph and checks the
// package's stamp; none may render, write to the database (which would
// empty its read cache) or reach the upstream.
func BenchmarkHotPackumentThroughUpstream(b *testing.B) {
	up := newFakeNPM(b)
	h := newHarness(b, func(f *Format) {
		cl, err := upstream.New(upstream.Config{Name: "npmjs", BaseURL: up.ts.URL + "/", Blobs: f.Blobs.(blob.Store),
			SpoolDir: b.TempDir(), MaxRetries: -1, StaleAfter: time.Hour, MetadataTTL: time.Hour, BreakerCooldown: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Close() })
		f.Chain = f.Store.(*sqlite.DB)
		f.Upstreams = map[string]Upstream{"public:npmjs": cl}
	})
	ctx := context.Background()
	if _, err := h.db.CreateRepository(ctx, dom, "hub", "", "123456789012", nil); err != nil {
		b.Fatal(err)
	}
	if _, err := h.db.CreateRepository(ctx, dom, "app", "", "123456789012", []string{"hub"}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.db.SetExternalConnection(ctx, dom, "hub", "public:npmjs", false); err != nil {
		b.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		h.publishTo("hub", pkg{name: "internal-lib", version: v})
	}
	up.add(pkg{name: "ext-lib", version: "3.1.0"}, nil)
	// Retain the external package (its tarball fetch copies it into
	// app and hub), so its packument is served from the store too.
	if r := h.getIn("app", "ext-lib/-/ext-lib-3.1.0.tgz"); r.status != http.StatusOK {
		b.Fatalf("GET ext-lib tarball: %d %s", r.status, r.body)
	}
	for _, name := range []string{"internal-lib", "ext-lib"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/npm/acme/app/"+name, nil)
			req.Header.Set("Authorization", "Bearer "+h.reader)
			req.Header.Set("Accept", ctAbbreviated)
			rec := httptest.NewRecorder()
			h.srv.Echo.ServeHTTP(rec, req) // warm: render once, outside the timing
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			renders, upstreamReqs, gen := h.f.renders.Load(), up.packument.Load()+up.tarballs.Load(), h.db.Generation()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec := &discardRecorder{header: http.Header{}}
				h.srv.Echo.ServeHTTP(rec, req)
				if rec.code != http.StatusOK {
					b.Fatalf("status %d", rec.code)
				}
			}
			b.StopTimer()
			if n := h.f.renders.Load() - renders; n != 0 {
				b.Errorf("rendered %d times while warm", n)
			}
			if h.db.Generation() != gen {
				b.Errorf("a warm request wrote to the database (its read cache was invalidated)")
			}
			if n := up.packument.Load() + up.tarballs.Load() - upstreamReqs; n != 0 {
				b.Errorf("%d upstream requests while warm", n)
			}
		})
	}
}
