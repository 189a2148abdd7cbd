package pypi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/rendered"
)

// Benchmarks for the targets: a project of 500 versions with ten
// files each (5,000 files), rendered once per revision and then served
// from the cache; and the upload path, whose allocations must not grow
// with the file (it streams).

const (
	benchVersions = 500
	benchFiles    = 10 // per version
)

// bigView is a package view of benchVersions versions of benchFiles files.
func bigView() domain.PackageView {
	pv := domain.PackageView{Package: domain.Package{PackageRef: ref("big-lib")}}
	plats := []string{"any", "win32", "win_amd64", "macosx_11_0_arm64", "manylinux_2_17_x86_64.manylinux2014_x86_64",
		"manylinux_2_17_aarch64.manylinux2014_aarch64", "musllinux_1_1_x86_64", "macosx_10_9_x86_64", "linux_armv7l"}
	for i := 0; i < benchVersions; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		rec := domain.VersionRecord{PackageVersion: domain.PackageVersion{PackageRef: pv.Package.PackageRef, Version: v, Status: domain.StatusPublished}}
		files := map[string]fileMeta{}
		add := func(name string) {
			sum := make([]byte, 32)
			rand.Read(sum)
			rec.Assets = append(rec.Assets, domain.Asset{Name: name, Size: 123456, Hashes: domain.Hashes{SHA256: hex.EncodeToString(sum)}})
			files[name] = fileMeta{RequiresPython: ">=3.8", UploadTime: "2024-05-06T07:08:09.123456Z"}
		}
		add("big_lib-" + v + ".tar.gz")
		for _, p := range plats[:benchFiles-1] {
			w := "big_lib-" + v + "-cp312-cp312-" + p + ".whl"
			add(w)
			add(w + metadataSuffix)
		}
		rec.Metadata, _ = json.Marshal(storedMeta{Files: files})
		pv.Versions = append(pv.Versions, rec)
	}
	return pv
}

// BenchmarkRenderProject renders both forms of the page from a view, as
// a cache miss does (the store read is measured separately below).
func BenchmarkRenderProject(b *testing.B) {
	pv := bigView()
	for _, form := range []string{"html", "json"} {
		b.Run(form, func(b *testing.B) {
			b.ReportAllocs()
			var size, gz int
			for b.Loop() {
				p, _ := buildProject("big-lib", pv)
				body := p.html()
				if form == "json" {
					body = p.json()
				}
				d := rendered.NewDoc(body)
				size, gz = len(d.Body()), len(d.Gzipped())
			}
			b.ReportMetric(float64(size), "bytes")
			b.ReportMetric(float64(gz), "gzbytes")
		})
	}
}

// seedBig stores the big project in the harness's database (the blobs
// are not needed to render the index).
func seedBig(b *testing.B, h *harness) {
	ctx := context.Background()
	for _, rec := range bigView().Versions {
		in := domain.PublishInput{Domain: testDom, Repository: testRepo, Ref: rec.PackageRef, Version: rec.Version,
			Meta: domain.VersionMeta{Metadata: rec.Metadata}, Assets: rec.Assets}
		if _, err := h.db.PublishVersion(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func (h *harness) serveLocal(b *testing.B, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, req)
	if w.Code != http.StatusOK && w.Code != http.StatusNotModified {
		b.Fatalf("%s: %d %s", req.URL, w.Code, w.Body)
	}
	return w
}

func (h *harness) pageRequest(accept, inm string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/pypi/acme/shared/simple/big-lib/", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+h.reader)))
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", "gzip")
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	return req
}

// BenchmarkServeProject serves the 5,000-file page over the real handler
// and SQLite store: "cached" from the rendered-page cache, "revalidated"
// as a 304, "miss" reading the store and rendering every time.
func BenchmarkServeProject(b *testing.B) {
	h := newHarness(b)
	seedBig(b, h)
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.serveLocal(b, h.pageRequest(ctJSON, ""))
		}
	})
	etag := h.serveLocal(b, h.pageRequest(ctJSON, "")).Header().Get("ETag")
	b.Run("revalidated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if w := h.serveLocal(b, h.pageRequest(ctJSON, etag)); w.Code != http.StatusNotModified {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.f.cache.Purge()
			h.serveLocal(b, h.pageRequest(ctJSON, ""))
		}
	})
}

// BenchmarkUpload uploads wheels of two sizes through the handler: the
// multipart form streamed into the filesystem blob store (with its fsync),
// the archive's metadata read back, one SQLite transaction. Throughput is
// in MB/s of file; allocations per upload should not depend on the size.
func BenchmarkUpload(b *testing.B) {
	for _, size := range []int{64 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			h := newHarness(b)
			h.f.MaxFileBytes = 64 << 20
			raw := make([]byte, size)
			rand.Read(raw)
			payload := base64.StdEncoding.EncodeToString(raw) // deflates to about the size of raw
			b.SetBytes(int64(len(dist{name: "up-lib", version: "1.0.0", kind: Wheel, payload: payload}.bytes())))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				b.StopTimer()
				d := dist{name: "up-lib", version: fmt.Sprintf("1.0.%d", i), kind: Wheel, payload: payload}
				i++
				content := d.bytes()
				body, ct := multipartBody(d.form(content), d.fileName(), content)
				var buf bytes.Buffer
				buf.ReadFrom(body)
				req := httptest.NewRequest(http.MethodPost, "/pypi/acme/shared/", &buf)
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+h.root)))
				b.StartTimer()
				h.serveLocal(b, req)
			}
		})
	}
}

// BenchmarkInspectWheel reads the metadata of a small wheel.
func BenchmarkInspectWheel(b *testing.B) {
	d := dist{name: "my-lib", version: "1.0", kind: Wheel}
	content := d.bytes()
	fn, _ := ParseFilename(d.fileName())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inspect(bytes.NewReader(content), int64(len(content)), fn); err != nil {
			b.Fatal(err)
		}
	}
}
