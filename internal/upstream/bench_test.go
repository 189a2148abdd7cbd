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

// BenchmarkValidatorBigDoc: the per-request cost of learning a cached,
// fresh 8 MiB document's validators (Validator, body left on disk)
// against the old path (Metadata, body in hand: from memory when it fit
// the budget, read back from disk otherwise).
func BenchmarkValidatorBigDoc(b *testing.B) {
	dc, err := NewDiskCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, func(c *Config) { c.MetadataTTL = time.Hour; c.Metrics = Nop{}; c.Persist = dc })
	e.origin.set(docPath, payload(3, 8<<20))
	ctx := context.Background()
	if _, err := e.c.Metadata(ctx, "packument/big", "lodash", MetaOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		call func() (Doc, error)
	}{
		{"Validator", func() (Doc, error) { return e.c.Validator(ctx, "packument/big", "lodash", MetaOptions{}) }},
		{"Metadata", func() (Doc, error) { return e.c.Metadata(ctx, "packument/big", "lodash", MetaOptions{}) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := bc.call()
				if err != nil || d.ETag == "" {
					b.Fatal(err)
				}
			}
		})
	}
}
