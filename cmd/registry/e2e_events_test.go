package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     struct {
		DomainName, RepositoryName, PackageFormat, PackageName, PackageVersion string
		PackageNamespace                                                       string
		PackageVersionState, OperationType                                     string
		SequenceNumber                                                         int
		EventDeduplicationID                                                   string `json:"eventDeduplicationId"`
		Changes                                                                struct{ AssetsAdded int }
	} `json:"detail"`
}

// TestEventsOnNATS: a publish through the control plane arrives, as
// CodeArtifact's EventBridge event, at a separate NATS client connected
// over TCP to the embedded server.
func TestEventsOnNATS(t *testing.T) {
	requireAWS(t)
	addr := testutil.FreeAddr(t)
	in := startRegistry(t, t.TempDir(), "--nats-listen", addr)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("registry.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()

	env := in.awsEnv(t)
	ok(t, env, "codeartifact", "create-domain", "--domain", "acme")
	ok(t, env, "codeartifact", "create-repository", "--domain", "acme", "--repository", "my.repo")
	path, sum := writeAsset(t, "a.tgz", []byte("event me"))
	ok(t, env, publishArgs("my.repo", "hello", "1.0.0", path, "a.tgz", sum)...)
	acct := ok(t, env, "sts", "get-caller-identity")["Account"].(string)

	select {
	case m := <-msgs:
		if m.Subject != "registry.codeartifact.acme.my%2Erepo.generic" {
			t.Errorf("subject %s", m.Subject)
		}
		var e envelope
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		d := e.Detail
		if e.Version != "0" || e.DetailType != "CodeArtifact Package Version State Change" || e.Source != "aws.codeartifact" ||
			e.Account != acct || e.Region != "us-east-1" ||
			e.Resources[0] != "arn:aws:codeartifact:us-east-1:"+acct+":package/acme/my.repo/generic/tools/hello" {
			t.Errorf("envelope %+v", e)
		}
		if d.DomainName != "acme" || d.RepositoryName != "my.repo" || d.PackageNamespace != "tools" || d.PackageName != "hello" ||
			d.PackageVersion != "1.0.0" || d.PackageVersionState != "Published" || d.OperationType != "Created" ||
			d.SequenceNumber != 1 || d.Changes.AssetsAdded != 1 || d.EventDeduplicationID == "" || m.Header.Get("Nats-Msg-Id") != d.EventDeduplicationID {
			t.Errorf("detail %+v (msg id %q)", d, m.Header.Get("Nats-Msg-Id"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
}

// TestEventsSurviveKill: SIGKILL during a stream of publishes; after a
// restart every acknowledged publish has its event in the stream (at
// least once; a repeat carries the same dedup id).
func TestEventsSurviveKill(t *testing.T) {
	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	in := startRegistry(t, dir, "--nats-listen", addr)
	c := newClient(t, in)
	c.do(http.MethodPost, "/v1/domain", url.Values{"domain": {"acme"}}, nil)
	c.do(http.MethodPost, "/v1/repository", url.Values{"domain": {"acme"}, "repository": {"shared"}}, nil)
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += 4 {
				body := []byte(fmt.Sprintf("event payload %d", i))
				q := pkgQuery(fmt.Sprintf("1.0.%d", i))
				q.Set("asset", "data.bin")
				if code, _, err := c.do(http.MethodPost, "/v1/package/version/publish", q, body); err != nil || code != http.StatusOK {
					return
				}
				mu.Lock()
				acked[q.Get("version")] = true
				mu.Unlock()
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes acknowledged", n)
		}
		time.Sleep(5 * time.Millisecond) // polling the writers' progress
	}
	in.kill()
	wg.Wait()

	startRegistry(t, dir, "--nats-listen", addr)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "REGISTRY", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"registry.>"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{} // version -> dedup id
	for {
		missing := 0
		for v := range acked {
			if seen[v] == "" {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("%d acknowledged versions have no event: %v", missing, err)
		}
		var e envelope
		json.Unmarshal(m.Data(), &e)
		if e.Detail.OperationType != "Created" {
			continue
		}
		if prev, dup := seen[e.Detail.PackageVersion]; dup && prev != e.Detail.EventDeduplicationID {
			t.Fatalf("version %s has two Created events with different dedup ids", e.Detail.PackageVersion)
		}
		seen[e.Detail.PackageVersion] = e.Detail.EventDeduplicationID
	}
	t.Logf("%d acknowledged publishes, all with events after SIGKILL and restart", len(acked))
}
