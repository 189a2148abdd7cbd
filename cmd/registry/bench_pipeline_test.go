package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/nats-io/nats.go"
)

// The event-to-pipeline-start benchmarks measure, through the whole
// server, the time from a package publish to its pipeline's "Pipeline
// Execution State Change" STARTED event reaching a separate NATS client
// over TCP:
//
//	publish (HTTP, commit with its outbox row)
//	  -> package-event relay -> JetStream
//	  -> the pipelines' durable consumer -> engine transaction (execution
//	     started, its outbox row) -> pipeline-event relay -> JetStream
//	  -> the NATS client of the benchmark
//
// Latency is measured from the moment the publish request is sent (the
// stricter choice: it includes the publish itself) to the STARTED event's
// arrival. The pipeline runs PARALLEL and every execution then waits at a
// manual approval, so executions accumulate in flight as the benchmark
// goes on: the last publishes show how the node copes with that many.
//
// Run both with the 200 publishes:
//
//	go test -run '^$' -bench 'BenchmarkPublishToExecutionStart|BenchmarkPublishesWithEvents' -benchtime=200x ./cmd/registry
//
// -bench-server-pprof host:port makes the server serve net/http/pprof there
// (for profiling the server while a benchmark runs).
var benchServerPprof = flag.String("bench-server-pprof", "", "serve the benchmarked registry's pprof on this host:port")

// BenchmarkPublishToExecutionStart publishes b.N versions one after
// another as a client would, each waiting for its HTTP acknowledgement
// and then for its execution's STARTED event before the next, and reports
// p50-ms, p99-ms and max-ms of publish-sent -> STARTED-received,
// publish-p50-ms (the publish's own round trip), the two halves of the
// rest as relay-p99-ms (ack -> package event on NATS) and engine-p99-ms
// (package event on NATS -> STARTED on NATS), and in-flight-executions
// (executions waiting at their approval at the end, all concurrently in
// flight).
func BenchmarkPublishToExecutionStart(b *testing.B) {
	pb := newPipelineBench(b)
	lat := make([]time.Duration, 0, b.N)
	acks := make([]time.Duration, 0, b.N)
	var relay, engine []time.Duration // ack -> package event on NATS, -> STARTED
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf("1.0.%d", i)
		t0 := time.Now()
		if err := pb.publish(v); err != nil {
			b.Fatal(err)
		}
		acks = append(acks, time.Since(t0))
		at, err := pb.starts.wait(v, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, at.Sub(t0))
		if rel, err := pb.relayed.wait(v, time.Second); err == nil {
			relay = append(relay, rel.Sub(t0)-acks[i])
			engine = append(engine, at.Sub(rel))
		}
	}
	b.StopTimer()
	pb.waitHolds(b, b.N)
	reportLatency(b, "", lat)
	if len(relay) > 0 {
		slices.Sort(relay)
		slices.Sort(engine)
		b.ReportMetric(ms(percentile(relay, 0.99)), "relay-p99-ms")
		b.ReportMetric(ms(percentile(engine, 0.99)), "engine-p99-ms")
	}
	slices.Sort(acks)
	b.ReportMetric(ms(percentile(acks, 0.50)), "publish-p50-ms")
	b.ReportMetric(float64(b.N), "in-flight-executions")
}

// benchPublishers is how many clients publish at once in
// BenchmarkPublishesWithEvents.
const benchPublishers = 8

// BenchmarkPublishesWithEvents publishes b.N versions from
// benchPublishers concurrent clients (each one publish after another),
// with package events relayed and a pipeline started by each, and reports
// publishes/s (b.N over the time until the last publish was
// acknowledged), started/s (b.N over the time until the last execution's
// STARTED event arrived), the publish-sent -> STARTED latency under that
// load as load-p50-ms, load-p99-ms and load-max-ms, and how much of it is
// the publish itself (load-publish-p99-ms) and the publish plus the
// package event's relay (load-relayed-p99-ms).
func BenchmarkPublishesWithEvents(b *testing.B) {
	pb := newPipelineBench(b)
	sent := make([]time.Time, b.N)
	acks := make([]time.Duration, b.N)
	var next atomic.Int64
	errs := make(chan error, benchPublishers)
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for range benchPublishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				sent[i] = time.Now()
				if err := pb.publish(fmt.Sprintf("1.0.%d", i)); err != nil {
					errs <- err
					return
				}
				acks[i] = time.Since(sent[i])
			}
		}()
	}
	wg.Wait()
	acked := time.Since(t0)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	lat := make([]time.Duration, b.N)
	var relay []time.Duration // publish sent -> package event on NATS
	for i := range b.N {
		at, err := pb.starts.wait(fmt.Sprintf("1.0.%d", i), 60*time.Second)
		if err != nil {
			b.Fatalf("%v (%d of %d executions started)", err, pb.starts.count(), b.N)
		}
		lat[i] = at.Sub(sent[i])
		if rel, err := pb.relayed.wait(fmt.Sprintf("1.0.%d", i), time.Second); err == nil {
			relay = append(relay, rel.Sub(sent[i]))
		}
	}
	last := pb.starts.last()
	b.StopTimer()
	pb.waitHolds(b, b.N)
	b.ReportMetric(float64(b.N)/acked.Seconds(), "publishes/s")
	b.ReportMetric(float64(b.N)/last.Sub(t0).Seconds(), "started/s")
	reportLatency(b, "load-", lat)
	slices.Sort(acks)
	b.ReportMetric(ms(percentile(acks, 0.99)), "load-publish-p99-ms")
	if len(relay) > 0 {
		slices.Sort(relay)
		b.ReportMetric(ms(percentile(relay, 0.99)), "load-relayed-p99-ms")
	}
}

// pipelineBench is a registry with one pipeline whose CodeArtifact source
// watches the generic package crash/stream in acme/shared, and a NATS
// client over TCP recording the pipeline's events.
type pipelineBench struct {
	endpoint string
	creds    aws.Credentials
	http     *http.Client
	starts   *startLog    // the executions' STARTED events
	relayed  *startLog    // the package events, as JetStream stored them
	holds    atomic.Int64 // executions that reached their approval
}

func newPipelineBench(b *testing.B) *pipelineBench {
	requireAWS(b)
	addr := testutil.FreeAddr(b)
	args := []string{"--nats-listen", addr}
	if *benchServerPprof != "" {
		args = append(args, "--debug-listen", *benchServerPprof)
	}
	in := startRegistry(b, b.TempDir(), args...)
	env := in.awsEnv(b)
	c := newClient(b, in)
	c.do(http.MethodPost, "/v1/domain", url.Values{"domain": {"acme"}}, nil)
	c.do(http.MethodPost, "/v1/repository", url.Values{"domain": {"acme"}, "repository": {"shared"}}, nil)
	spec := `{"name": "bench", "roleArn": "arn:aws:iam::123456789012:role/pipelines", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [
	  {"name": "Source", "actions": [{"name": "Pkg", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeArtifact", "version": "1"},
	    "configuration": {"DomainName": "acme", "RepositoryName": "shared", "PackageFormat": "generic", "PackageNamespace": "crash", "PackageName": "stream"},
	    "outputArtifacts": [{"name": "Src"}]}]},
	  {"name": "Hold", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}`
	specFile := filepath.Join(b.TempDir(), "pipeline.json")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		b.Fatal(err)
	}
	ok(b, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)

	pb := &pipelineBench{endpoint: in.endpoint, starts: newStartLog(), relayed: newStartLog(),
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchPublishers}, Timeout: time.Minute}}
	pb.creds = c.creds
	b.Cleanup(pb.http.CloseIdleConnections)

	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	sub, err := nc.Subscribe("registry.codepipeline.bench", func(m *nats.Msg) {
		at := time.Now()
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				State   string
				Stage   string
				Trigger struct {
					Detail string `json:"trigger-detail"`
				} `json:"execution-trigger"`
			} `json:"detail"`
		}
		if json.Unmarshal(m.Data, &ev) != nil || ev.Detail.State != "STARTED" {
			return
		}
		switch {
		case ev.DetailType == "CodePipeline Pipeline Execution State Change":
			_, v, _ := strings.Cut(ev.Detail.Trigger.Detail, "@")
			pb.starts.add(v, at)
		case ev.DetailType == "CodePipeline Action Execution State Change" && ev.Detail.Stage == "Hold":
			pb.holds.Add(1)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1) // never drop an event because the benchmark fell behind
	pkgSub, err := nc.Subscribe("registry.codeartifact.>", func(m *nats.Msg) {
		at := time.Now()
		var ev struct {
			Detail struct {
				Version string `json:"packageVersion"`
			} `json:"detail"`
		}
		if json.Unmarshal(m.Data, &ev) == nil {
			pb.relayed.add(ev.Detail.Version, at)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	pkgSub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	return pb
}

// publish publishes version v of crash/stream with one small asset and
// returns once the registry acknowledged it.
func (pb *pipelineBench) publish(v string) error {
	q := pkgQuery(v)
	q.Set("asset", "data.bin")
	body := []byte("payload " + v)
	req, err := http.NewRequest(http.MethodPost, pb.endpoint+"/v1/package/version/publish?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", h)
	if err := v4.NewSigner().SignHTTP(context.Background(), pb.creds, req, h, "codeartifact", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := pb.http.Do(req)
	if err != nil {
		return fmt.Errorf("publish %s: %w", v, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish %s: %d %s", v, resp.StatusCode, msg)
	}
	return nil
}

// waitHolds waits until n executions reached their approval: every
// execution really ran its source action and is in flight.
func (pb *pipelineBench) waitHolds(b *testing.B, n int) {
	for deadline := time.Now().Add(60 * time.Second); pb.holds.Load() < int64(n); {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d executions reached their approval", pb.holds.Load(), n)
		}
		select {
		case <-pb.starts.changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startLog records when each version's STARTED event first arrived.
type startLog struct {
	mu      sync.Mutex
	at      map[string]time.Time
	latest  time.Time
	changed chan struct{} // signalled (coalesced) after every arrival
}

func newStartLog() *startLog {
	return &startLog{at: map[string]time.Time{}, changed: make(chan struct{}, 1)}
}

func (l *startLog) add(v string, at time.Time) {
	l.mu.Lock()
	if _, dup := l.at[v]; !dup {
		l.at[v] = at
		l.latest = at
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// wait returns when version v's execution started, or an error after
// timeout.
func (l *startLog) wait(v string, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		at, ok := l.at[v]
		l.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-l.changed:
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("no execution started for %s within %s", v, timeout)
		}
	}
}

func (l *startLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}

// last returns when the latest first arrival happened.
func (l *startLog) last() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest
}

// reportLatency reports p50, p99 and max of lat (in milliseconds) under
// metric names starting with prefix.
func reportLatency(b *testing.B, prefix string, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 0.50)), prefix+"p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), prefix+"p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), prefix+"max-ms")
}

// percentile returns the nearest-rank p-quantile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
