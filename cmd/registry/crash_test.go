package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// client signs CodeArtifact requests with the AWS SDK's SigV4 signer, for
// tests that need many requests quickly.
type client struct {
	endpoint string
	creds    aws.Credentials
}

func newClient(t testing.TB, in *instance) *client {
	c := &client{endpoint: in.endpoint}
	for _, kv := range in.awsEnv(t) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ACCESS_KEY_ID":
			c.creds.AccessKeyID = v
		case "AWS_SECRET_ACCESS_KEY":
			c.creds.SecretAccessKey = v
		}
	}
	return c
}

func (c *client) do(method, path string, q url.Values, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, c.endpoint+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", h)
	if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, h, "codeartifact", "us-east-1", time.Now()); err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func pkgQuery(version string) url.Values {
	return url.Values{"domain": {"acme"}, "repository": {"shared"}, "format": {"generic"}, "namespace": {"crash"},
		"package": {"stream"}, "version": {version}}
}

func crashPayload(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("payload %d;", i)), 8192) // ~100 KB
}

// TestKillDuringPublishes kills the server with SIGKILL in the middle of a
// stream of publishes; after a restart every acknowledged version is
// readable with the right sha256 and no partial version is visible.
func TestKillDuringPublishes(t *testing.T) {
	dir := t.TempDir()
	in := startRegistry(t, dir)
	c := newClient(t, in)
	if code, b, err := c.do(http.MethodPost, "/v1/domain", url.Values{"domain": {"acme"}}, nil); err != nil || code != 200 {
		t.Fatalf("create domain: %d %s %v", code, b, err)
	}
	if code, b, err := c.do(http.MethodPost, "/v1/repository", url.Values{"domain": {"acme"}, "repository": {"shared"}}, nil); err != nil || code != 200 {
		t.Fatalf("create repository: %d %s %v", code, b, err)
	}

	var mu sync.Mutex
	acked := map[string]string{} // version -> sha256
	const writers = 4
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += writers {
				body := crashPayload(i)
				sum := sha256.Sum256(body)
				q := pkgQuery(fmt.Sprintf("1.0.%d", i))
				q.Set("asset", "data.bin")
				code, _, err := c.do(http.MethodPost, "/v1/package/version/publish", q, body)
				if err != nil || code != http.StatusOK {
					return // the server died under us
				}
				mu.Lock()
				acked[q.Get("version")] = hex.EncodeToString(sum[:])
				mu.Unlock()
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes acknowledged before the deadline", n)
		}
		time.Sleep(5 * time.Millisecond) // polling the progress of other goroutines
	}
	in.kill()
	wg.Wait()

	in = startRegistry(t, dir)
	c = newClient(t, in)
	for version, want := range acked {
		q := pkgQuery(version)
		q.Set("asset", "data.bin")
		code, b, err := c.do(http.MethodGet, "/v1/package/version/asset", q, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("acknowledged version %s lost: %d %s %v", version, code, b, err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
			t.Fatalf("version %s: content does not hash to the acknowledged sha256", version)
		}
	}
	q := pkgQuery("")
	q.Del("version")
	q.Set("max-results", "1000")
	code, b, err := c.do(http.MethodPost, "/v1/package/versions", q, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("list versions: %d %s %v", code, b, err)
	}
	var list struct {
		Versions []struct{ Version, Status string }
	}
	json.Unmarshal(b, &list)
	if len(list.Versions) < len(acked) {
		t.Fatalf("%d versions listed, %d acknowledged", len(list.Versions), len(acked))
	}
	for _, v := range list.Versions {
		if v.Status != "Published" {
			t.Fatalf("version %s is %s after the crash", v.Version, v.Status)
		}
		q := pkgQuery(v.Version)
		q.Set("asset", "data.bin")
		code, body, err := c.do(http.MethodGet, "/v1/package/version/asset", q, nil)
		var i int
		fmt.Sscanf(v.Version, "1.0.%d", &i)
		if err != nil || code != http.StatusOK || !bytes.Equal(body, crashPayload(i)) {
			t.Fatalf("listed version %s is not whole: %d %v", v.Version, code, err)
		}
	}
	t.Logf("%d acknowledged, %d visible after SIGKILL and restart", len(acked), len(list.Versions))
	in.stop()
	if out, err := exec.Command(registryBin, "fsck", "--data-dir", dir, "--verify").CombinedOutput(); err != nil {
		t.Fatalf("fsck after crash: %v\n%s", err, out)
	}
}
