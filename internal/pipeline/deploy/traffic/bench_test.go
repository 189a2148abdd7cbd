package traffic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkProxy measures a GET of a 1 KiB body straight from a backend and
// through the proxy (90/10 split over two backends), over keep-alive
// loopback connections. The difference between the two is the proxy's
// cost per request; allocations count the client, the proxy and the
// backend alike.
func BenchmarkProxy(b *testing.B) {
	body := make([]byte, 1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	blue, green := httptest.NewServer(handler), httptest.NewServer(handler)
	defer blue.Close()
	defer green.Close()
	p := NewProxy(Options{})
	if err := p.SetTargets(Blue, []string{blue.URL}); err != nil {
		b.Fatal(err)
	}
	if err := p.SetTargets(Green, []string{green.URL}); err != nil {
		b.Fatal(err)
	}
	p.SetWeight(10)
	addr, err := p.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())

	for _, bc := range []struct{ name, url string }{
		{"direct", blue.URL},
		{"proxied", "http://" + addr.String()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(bc.url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}

// BenchmarkPickAndRecord is the proxy's own bookkeeping per request:
// choosing a set and backend, and recording the outcome.
func BenchmarkPickAndRecord(b *testing.B) {
	p := NewProxy(Options{})
	p.SetTargets(Blue, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"})
	p.SetTargets(Green, []string{"http://127.0.0.1:3"})
	p.SetWeight(10)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			set, _, _ := p.pick()
			p.metrics.Record(set, 200, time.Millisecond, now)
		}
	})
}

// BenchmarkSnapshot is one alarm evaluation's read of a full window.
func BenchmarkSnapshot(b *testing.B) {
	m := NewMetrics(MetricsOptions{})
	now := time.Now()
	for i := range 300 {
		m.Record(Green, 200, time.Duration(i)*time.Millisecond, now.Add(-time.Duration(i)*time.Second))
	}
	b.ReportAllocs()
	for b.Loop() {
		m.SnapshotAt(now, 5*time.Minute)
	}
}
