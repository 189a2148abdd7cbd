package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// BenchmarkPublishToExecutionStart measures, through the whole server,
// the time from a package publish (the HTTP request sent) to its
// pipeline's "Pipeline Execution State Change" STARTED event reaching a
// separate NATS client over TCP: the outbox relay, JetStream, the
// pipelines' durable consumer, the engine's transaction and the pipeline
// event's own outbox relay. The pipeline runs PARALLEL and every
// execution stays in flight at a manual approval, so the last iterations
// also show how the node copes with that many executions at once. Run
// with -benchtime=200x for the 200 publishes; reports p50-ms,
// p99-ms and in-flight-executions (executions waiting at their approval
// at the end, all concurrently in flight).
func BenchmarkPublishToExecutionStart(b *testing.B) {
	requireAWS(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := startRegistry(b, b.TempDir(), "--nats-listen", addr)
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
	os.WriteFile(specFile, []byte(spec), 0o644)
	ok(b, env, "codepipeline", "create-pipeline", "--pipeline", "file://"+specFile)

	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	type started struct {
		version string
		at      time.Time
	}
	starts := make(chan started, 1024)
	approvals := make(chan struct{}, 1<<16)
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
			starts <- started{v, at}
		case ev.DetailType == "CodePipeline Action Execution State Change" && ev.Detail.Stage == "Hold":
			approvals <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf("1.0.%d", i)
		q := pkgQuery(v)
		q.Set("asset", "data.bin")
		t0 := time.Now()
		if code, body, err := c.do(http.MethodPost, "/v1/package/version/publish", q, []byte("payload "+v)); err != nil || code != http.StatusOK {
			b.Fatalf("publish %s: %d %s %v", v, code, body, err)
		}
		for got := false; !got; {
			select {
			case s := <-starts:
				if s.version == v {
					lat = append(lat, s.at.Sub(t0))
					got = true
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("no execution started for %s", v)
			}
		}
	}
	b.StopTimer()
	deadline := time.After(60 * time.Second)
	for waiting := 0; waiting < b.N; {
		select {
		case <-approvals:
			waiting++
		case <-deadline:
			b.Fatalf("only %d of %d executions reached their approval", waiting, b.N)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N), "in-flight-executions")
}
