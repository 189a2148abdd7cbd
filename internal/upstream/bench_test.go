package upstream

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// BenchmarkMetadataWarmHit: a cached, fresh document; no upstream traffic
// and no allocation on the way.
func BenchmarkMetadataWarmHit(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.MetadataTTL = time.Hour; c.Metrics = Nop{} })
	e.origin.set(docPath, payload(1, 64<<10))
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "packument/lodash", "lodash", MetaOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := e.c.Metadata(ctx, "packument/lodash", "lodash", MetaOptions{})
			if err != nil || len(d.Body) == 0 {
				b.Fatal(err)
			}
		}
	})
	if got := e.faults.requests.Load(); got != 1 {
		b.Fatalf("upstream saw %d requests, want 1", got)
	}
}

// BenchmarkFetchFanIn: readers callers ask for one uncached 1 MiB artifact
// at once; each iteration is a new artifact (one upstream request, one
// blob committed with fsync, every reader streaming the whole body).
func BenchmarkFetchFanIn(b *testing.B) {
	for _, readers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			e := newEnv(b, func(c *Config) { c.Metrics = Nop{} })
			body := payload(2, 1<<20)
			_, _, sri := declared(body)
			want := mustSRI(b, sri)
			e.origin.set(tarPath, body)
			ctx := context.Background()
			b.SetBytes(int64(len(body) * readers))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := fmt.Sprint("k", i)
				i++
				var wg sync.WaitGroup
				for range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						d, err := e.c.Fetch(ctx, key, "pkg/-/pkg-1.0.0.tgz", want)
						if err != nil {
							b.Error(err)
							return
						}
						defer d.Close()
						if n, err := io.Copy(io.Discard, d); err != nil || n != int64(len(body)) {
							b.Errorf("read %d bytes, %v", n, err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(e.faults.requests.Load())/float64(i), "upstream-req/op")
		})
	}
}
