package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// signalling is the registry stand-in that reports when a source action
// asks for a version's assets: the moment an event-started execution is
// really running.
type signalling struct {
	*registry
	fetched chan string
}

func (s *signalling) Assets(ctx context.Context, v PackageVersion) ([]Asset, error) {
	s.fetched <- v.Version
	return s.registry.Assets(ctx, v)
}

// BenchmarkEventToStart measures the latency from a package event reaching
// HandlePackageEvent to the pipeline's source action running, and reports
// its p50 and p99.
func BenchmarkEventToStart(b *testing.B) {
	reg := &registry{}
	sig := &signalling{registry: reg, fetched: make(chan string, 1)}
	h := newHarness(b, func(o *Options) { o.Packages = sig })
	reg.blobs = h.blobs
	d := decl("bench", stage("Source", caSource(map[string]string{"PackageName": "lib"})), stage("Use", manual("Hold")))
	d.ExecutionMode = pipeline.ModeParallel
	if _, err := h.e.CreatePipeline(context.Background(), d, nil); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf("1.0.%d", i)
		b.StopTimer()
		reg.add(b, PackageVersion{Domain: "acme", Repository: "main", Format: "npm", Namespace: "acme", Name: "lib", Version: v}, map[string]string{"a": v})
		b.StartTimer()
		t0 := time.Now()
		if _, err := h.e.HandlePackageEvent(context.Background(), published("lib", "acme", v, "d-"+v)); err != nil {
			b.Fatal(err)
		}
		if got := <-sig.fetched; got != v {
			b.Fatalf("fetched %s, want %s", got, v)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// instant is a provider that succeeds at once: the engine's own cost.
type instant struct{}

func (instant) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: pipeline.ActionTypeID{Category: pipeline.CategoryInvoke, Owner: "Custom", Provider: "Instant", Version: "1"}, MaxInputs: 1}
}

func (instant) Run(context.Context, *Job) (Result, error) { return Result{}, nil }

// BenchmarkConcurrentExecutions starts b.N executions of a PARALLEL
// pipeline at once and reports how many complete per second.
func BenchmarkConcurrentExecutions(b *testing.B) {
	h := newHarness(b, func(o *Options) { o.Providers = []Provider{instant{}} })
	step := pipeline.Action{Name: "Step", ActionTypeID: instant{}.Type().ID, InputArtifacts: []pipeline.InputArtifact{{Name: "Src"}}}
	d := decl("many", stage("Source", localSource(b.TempDir(), "Src")), stage("A", step), stage("B", step))
	d.ExecutionMode = pipeline.ModeParallel
	if _, err := h.e.CreatePipeline(context.Background(), d, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	ids := make([]string, b.N)
	for i := range ids {
		id, err := h.e.StartExecution(context.Background(), StartInput{Name: "many"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	for _, id := range ids {
		for {
			x, err := h.e.GetExecution(context.Background(), "many", id)
			if err != nil {
				b.Fatal(err)
			}
			if x.Status == pipeline.StatusSucceeded {
				break
			}
			if pipeline.Terminal(x.Status) {
				b.Fatalf("execution %s: %s %s", id, x.Status, x.Summary)
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "executions/s")
}
