package maven

import (
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// manyVersions returns n Published versions in publish order (not version
// order), as a long-lived artifact accumulates them.
func manyVersions(n int) []domain.VersionRecord {
	rnd := rand.New(rand.NewSource(1))
	out := make([]domain.VersionRecord, 0, n)
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/400, (i/20)%20, i%20)
		switch rnd.Intn(10) {
		case 0:
			v += "-rc" + fmt.Sprint(rnd.Intn(3)+1)
		case 1:
			v += "-beta-" + fmt.Sprint(rnd.Intn(3)+1)
		}
		out = append(out, record(v, domain.StatusPublished, "", t0.Add(time.Duration(i)*time.Minute)))
	}
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkRenderMetadata renders artifact-level metadata of an artifact
// with 2,000 versions from the store's records (what a cache miss costs).
func BenchmarkRenderMetadata(b *testing.B) {
	versions := manyVersions(2000)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		l, _ := listArtifact("com.acme", "lib", versions)
		size = len(newMetadataDoc(l.render(), l.Updated).body)
	}
	b.ReportMetric(float64(size), "bytes/doc")
}

// BenchmarkServeMetadata serves that document over HTTP from the cache
// (the hot path: one revision lookup, then bytes), with a conditional
// request answered 304 half the time.
func BenchmarkServeMetadata(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	ref := lib.ref()
	var listed []string
	for _, v := range manyVersions(2000) {
		in := domain.MavenFileInput{Domain: dom, Repository: repo, Ref: ref, Version: v.Version, Meta: domain.VersionMeta{Metadata: []byte(`{}`)},
			Asset: domain.Asset{Name: "lib-" + v.Version + ".pom", Size: 1, Hashes: domain.Hashes{SHA256: fmt.Sprintf("%064x", len(listed)), MD5: "m", SHA1: "s", SHA512: "s"}}}
		if _, err := h.db.PutMavenFile(ctx, in); err != nil {
			b.Fatal(err)
		}
		listed = append(listed, v.Version)
	}
	if _, err := h.db.TransitionVersions(ctx, dom, repo, ref, publishPlan(listed)); err != nil {
		b.Fatal(err)
	}
	first := h.get(lib.dir() + MetadataFile)
	if first.status != http.StatusOK {
		b.Fatalf("metadata: %s", first)
	}
	etag := first.header.Get("ETag")
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		var r response
		if i%2 == 0 {
			r = h.get(lib.dir() + MetadataFile)
		} else {
			r = h.get(lib.dir()+MetadataFile, "If-None-Match", etag)
		}
		if r.status != http.StatusOK && r.status != http.StatusNotModified {
			b.Fatalf("metadata: %s", r)
		}
		i++
	}
	if n := h.f.renders.Load(); n != 1 {
		b.Fatalf("rendered %d times", n)
	}
}

// BenchmarkPut measures PUT throughput of 64 KiB files, each into its own
// version, with parallel clients (as Maven 3.9's parallel PUT sends
// them): blob write with fsync, one SQLite transaction each.
func BenchmarkPut(b *testing.B) {
	h := newHarness(b)
	body := make([]byte, 64<<10)
	rand.New(rand.NewSource(2)).Read(body)
	var n atomic.Int64
	b.SetBytes(int64(len(body)))
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			v := fmt.Sprintf("1.0.%d", i)
			payload := append([]byte(fmt.Sprintf("%08d", i)), body[8:]...)
			if r := h.put(lib.dir()+v+"/acme-lib-"+v+".jar", payload); r.status != http.StatusCreated {
				b.Errorf("PUT: %s", r)
				return
			}
		}
	})
}
