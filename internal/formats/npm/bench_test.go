package npm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// manyVersions returns a view of a package with n Published versions, each
// with a manifest of realistic size (dependencies, scripts, engines).
func manyVersions(n int) domain.PackageView {
	ref := Name{Scope: "acme", Pkg: "big"}.Ref()
	pv := domain.PackageView{Package: domain.Package{PackageRef: ref}, Revision: 1, DistTags: map[string]string{}}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		m := pkg{name: "@acme/big", version: v, manifest: uiManifest}.document([]byte(v))["versions"].(map[string]any)[v].(map[string]any)
		meta := manifest{}
		for k, x := range m {
			meta[k], _ = json.Marshal(x)
		}
		sum := make([]byte, 64)
		rand.Read(sum)
		pv.Versions = append(pv.Versions, domain.VersionRecord{
			PackageVersion: domain.PackageVersion{PackageRef: ref, Version: v, Status: domain.StatusPublished, PublishedAt: t0.Add(time.Duration(i) * time.Hour)},
			UpdatedAt:      t0.Add(time.Duration(i) * time.Hour).UnixMilli(),
			Metadata:       meta.stored(Name{Scope: "acme", Pkg: "big"}, v, "root"),
			Assets: []domain.Asset{{Name: assetName, Size: 1000, Hashes: domain.Hashes{
				SHA1: fmt.Sprintf("%040x", i), SHA256: fmt.Sprintf("%064x", i), SHA512: fmt.Sprintf("%0128x", i)}}},
		})
		pv.DistTags["latest"] = v
	}
	return pv
}

// BenchmarkRenderPackument measures rendering a 3,000-version package
// from its view: what the first request after a change pays.
func BenchmarkRenderPackument(b *testing.B) {
	pv := manyVersions(3000)
	v, _ := visible(pv)
	prefix := "http://registry.example/npm/acme/shared/"
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			renderFull(&buf, v, "# readme", prefix, "1-abc")
			n = buf.Len()
		}
		b.ReportMetric(float64(n), "bytes/doc")
	})
	b.Run("abbreviated", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			renderAbbreviated(&buf, v, prefix)
			n = buf.Len()
		}
		b.ReportMetric(float64(n), "bytes/doc")
	})
	b.Run("full+gzip", func(b *testing.B) {
		b.ReportAllocs()
		var d *rendered.Doc
		readme := func(string) (string, error) { return "# readme", nil }
		for i := 0; i < b.N; i++ {
			d, _ = renderForm(formFull, v, prefix, "1-abc", readme)
		}
		b.ReportMetric(float64(len(d.Gzipped())), "gzbytes/doc")
	})
}

// bigHarness returns a harness whose repository holds @acme/big with
// 3,000 versions, stored through the real SQLite store, all pointing at
// one tarball blob.
func bigHarness(b *testing.B) *harness {
	h := newHarness(b)
	ctx := context.Background()
	tgz := pkg{name: "@acme/big", version: "0.0.0", manifest: uiManifest}.tarball()
	put, err := h.blobs.Put(ctx, bytes.NewReader(tgz), "")
	if err != nil {
		b.Fatal(err)
	}
	n := Name{Scope: "acme", Pkg: "big"}
	for i := 0; i < 3000; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		m := manifest{}
		for k, x := range (pkg{name: "@acme/big", version: v, manifest: uiManifest}).document(tgz)["versions"].(map[string]any)[v].(map[string]any) {
			m[k], _ = json.Marshal(x)
		}
		in := domain.PublishInput{Domain: dom, Repository: shared, Ref: n.Ref(), Version: v, Meta: m.meta("# big " + v),
			Assets: []domain.Asset{{Name: assetName, Size: put.Size, Hashes: put.Hashes}}, Dependencies: m.dependencies(),
			DistTags: map[string]string{"latest": v}}
		in.Meta.Metadata = m.stored(n, v, "root")
		if _, err := h.db.PublishVersion(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	return h
}

// BenchmarkServePackument measures a cached packument request through the
// whole HTTP stack (echo, middleware, authorization, store revision check)
// against a 3,000-version package; the first request renders, the rest
// must not.
func BenchmarkServePackument(b *testing.B) {
	h := bigHarness(b)
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"full", nil},
		{"abbreviated", []string{"Accept", ctAbbreviated}},
		{"abbreviated+gzip", []string{"Accept", ctAbbreviated, "Accept-Encoding", "gzip"}},
		{"304", []string{"Accept", ctAbbreviated, "If-None-Match", "*"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/npm/acme/shared/@acme%2fbig", nil)
			req.Header.Set("Authorization", "Bearer "+h.reader)
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.srv.Echo.ServeHTTP(rec, req) // render once, outside the timing
			if rec.Code != http.StatusOK && rec.Code != http.StatusNotModified {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			renders := h.f.renders.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec := &discardRecorder{header: http.Header{}}
				h.srv.Echo.ServeHTTP(rec, req)
				if rec.code != http.StatusOK && rec.code != http.StatusNotModified {
					b.Fatalf("status %d", rec.code)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(len(rec.Body.Bytes())), "bytes/resp")
			if n := h.f.renders.Load() - renders; n != 0 {
				b.Fatalf("rendered %d times while serving from the cache", n)
			}
		})
	}
}

// BenchmarkPackumentFirstRequest measures the first request after a
// change for a 3,000-version package: store view, render, gzip.
func BenchmarkPackumentFirstRequest(b *testing.B) {
	h := bigHarness(b)
	b.Run("3000-versions", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/npm/acme/shared/@acme%2fbig", nil)
		req.Header.Set("Authorization", "Bearer "+h.reader)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			h.f.cache = newDocCache(DefaultCacheEntries)
			rec := &discardRecorder{header: http.Header{}}
			h.srv.Echo.ServeHTTP(rec, req)
			if rec.code != http.StatusOK {
				b.Fatalf("status %d", rec.code)
			}
		}
	})
}

// discardRecorder is a ResponseWriter that keeps only the status.
type discardRecorder struct {
	header http.Header
	code   int
}

func (d *discardRecorder) Header() http.Header         { return d.header }
func (d *discardRecorder) WriteHeader(code int)        { d.code = code }
func (d *discardRecorder) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkTarball measures tarball downloads over a real connection
// (sendfile from the filesystem store).
func BenchmarkTarball(b *testing.B) {
	for _, size := range []int{64 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			h := newHarness(b, maxPublish(size))
			url := publishBlob(b, h, size)
			client := h.ts.Client()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				download(b, client, url, h.reader)
			}
		})
	}
}

// maxPublish raises the publish limit for tarballs of about size bytes.
func maxPublish(size int) func(*Format) {
	return func(f *Format) { f.MaxPublishBytes = int64(size)*2 + 1<<20 }
}

// publishBlob publishes a package whose tarball has about size bytes and
// returns the tarball's URL.
func publishBlob(tb testing.TB, h *harness, size int) string {
	noise := make([]byte, size)
	rand.Read(noise) // incompressible, so the tarball is as large
	p := pkg{name: "blob", version: "1.0.0", files: map[string]string{"README.md": string(noise)}}
	h.publish(p)
	return h.url("blob/-/blob-1.0.0.tgz")
}

func download(tb testing.TB, client *http.Client, url, token string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("status %d", res.StatusCode)
	}
}

// TestTarballDownloadAllocations shows that serving a tarball does not
// hold it in memory: the bytes allocated per download (server and client
// together) are a small fraction of the tarball and do not grow when many
// clients download it at once.
func TestTarballDownloadAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads 8 MiB tarballs")
	}
	const size = 8 << 20
	h := newHarness(t, maxPublish(size))
	url := publishBlob(t, h, size)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	perDownload := func(concurrent int) uint64 {
		download(t, client, url, h.reader) // warm up connections and caches
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for i := 0; i < concurrent; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				download(t, client, url, h.reader)
			}()
		}
		wg.Wait()
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / uint64(concurrent)
	}
	one, many := perDownload(1), perDownload(32)
	t.Logf("allocated per download of %d bytes: %d bytes alone, %d bytes with 32 concurrent", size, one, many)
	const bound = 256 << 10
	if one > bound || many > bound {
		t.Errorf("a download allocates %d (alone) / %d (32 concurrent) bytes, want under %d for an %d-byte tarball", one, many, bound, size)
	}
}

// BenchmarkParseUpstreamPackument measures reading a big upstream
// packument from a file (as the disk cache holds it): time, allocations,
// and what the records keep live per version while it is rendered.
func BenchmarkParseUpstreamPackument(b *testing.B) {
	const n = 9000
	vs, times := map[string]any{}, map[string]any{}
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("1.%d.%d", i/100, i%100)
		deps := map[string]string{}
		for j := 0; j < 30; j++ {
			deps[fmt.Sprintf("dep-%d", j)] = "^1.2.3"
		}
		vs[v] = map[string]any{"name": "x", "version": v, "description": strings.Repeat("word ", 400), "dependencies": deps,
			"dist": map[string]any{"tarball": "http://u/x/-/x-" + v + ".tgz", "shasum": fmt.Sprintf("%040x", i),
				"integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="}}
		times[v] = "2024-01-01T00:00:00.000Z"
	}
	body, _ := json.Marshal(map[string]any{"name": "x", "dist-tags": map[string]any{"latest": "1.0.0"}, "versions": vs, "time": times})
	p := filepath.Join(b.TempDir(), "doc")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		b.Fatal(err)
	}
	size := int64(len(body))
	body, vs, times = nil, nil, nil
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer() // the document's making is not the parse's
	var live uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC() // twice: json.Marshal's buffer pool survives one
		runtime.ReadMemStats(&before)
		b.StartTimer()
		up, err := parseUpstreamPackumentAt(f, size, Name{Pkg: "x"}, "c")
		b.StopTimer()
		if err != nil || len(up.versions) != n {
			b.Fatalf("%d versions, %v", len(up.versions), err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		live = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(up)
		b.StartTimer()
	}
	b.ReportMetric(float64(live)/n, "live-B/version")
}
