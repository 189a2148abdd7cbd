package traffic

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// named starts a backend that answers its own name.
func named(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

// listen serves p on a real loopback listener and returns its base URL.
func listen(t *testing.T, p *Proxy) string {
	t.Helper()
	addr, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return "http://" + addr.String()
}

type reply struct {
	status int
	target string
	body   string
}

func get(t *testing.T, url string) reply {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get(HeaderTarget), string(b)}
}

// tally sends n requests and counts the bodies.
func tally(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		r := get(t, url)
		if r.status != 200 {
			t.Fatalf("status %d from %s: %s", r.status, r.target, r.body)
		}
		if !strings.HasPrefix(r.body, r.target) {
			t.Fatalf("body %q served under %s=%s", r.body, HeaderTarget, r.target)
		}
		got[r.body]++
	}
	return got
}

func mustSet(t *testing.T, p *Proxy, set Set, urls ...string) {
	t.Helper()
	if err := p.SetTargets(set, urls); err != nil {
		t.Fatal(err)
	}
}

func mustWeight(t *testing.T, p *Proxy, w int) {
	t.Helper()
	if err := p.SetWeight(w); err != nil {
		t.Fatal(err)
	}
}

func TestProxyExactSplit(t *testing.T) {
	b1, b2, g1 := named(t, "blue-1"), named(t, "blue-2"), named(t, "green-1")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, b1.URL, b2.URL)
	mustSet(t, p, Green, g1.URL)
	url := listen(t, p)

	tests := []struct {
		weight, n            int
		blue1, blue2, green1 int
	}{
		{0, 20, 10, 10, 0},
		{10, 100, 45, 45, 10},
		{25, 100, 38, 37, 25},
		{33, 200, 67, 67, 66},
		{50, 10, 3, 2, 5},
		{100, 7, 0, 0, 7},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d%%", tt.weight), func(t *testing.T) {
			mustWeight(t, p, tt.weight)
			mustSet(t, p, Blue, b1.URL, b2.URL) // restart blue's round-robin
			got := tally(t, url, tt.n)
			if got["blue-1"] != tt.blue1 || got["blue-2"] != tt.blue2 || got["green-1"] != tt.green1 {
				t.Fatalf("split at %d%% over %d: %v", tt.weight, tt.n, got)
			}
		})
	}
	// Every window of 100 consecutive requests at 10% holds exactly 10 green.
	mustWeight(t, p, 10)
	var seq []bool
	for range 250 {
		seq = append(seq, get(t, url).target == "green")
	}
	for i := 0; i+100 <= len(seq); i += 50 {
		n := 0
		for _, g := range seq[i : i+100] {
			if g {
				n++
			}
		}
		if n != 10 {
			t.Fatalf("requests %d..%d: %d green, want 10", i, i+99, n)
		}
	}
}

func TestProxyWeightChangeMidStream(t *testing.T) {
	release := make(chan struct{})
	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "green-first;")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "green-second")
	}))
	t.Cleanup(green.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	blue := named(t, "blue")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, blue.URL)
	mustSet(t, p, Green, green.URL)
	mustWeight(t, p, 100)
	url := listen(t, p)

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get(HeaderTarget); got != "green" {
		t.Fatalf("in-flight request served by %q", got)
	}
	// The first chunk arrives while the backend is still mid-response:
	// the proxy streams instead of buffering.
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString(';')
	if err != nil || first != "green-first;" {
		t.Fatalf("first chunk %q, %v", first, err)
	}

	// Shift everything back to blue and block green while it is in flight.
	mustWeight(t, p, 0)
	if err := p.BlockTraffic(Green); err != nil {
		t.Fatal(err)
	}
	if got := tally(t, url, 10); got["blue"] != 10 {
		t.Fatalf("after the shift: %v", got)
	}

	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "green-second" {
		t.Fatalf("in-flight request finished with %q, %v", rest, err)
	}
	var s Snapshot
	waitFor(t, "the in-flight request to be recorded", func() bool {
		s = p.Metrics().Snapshot(time.Minute)
		return s.Green.Requests == 1 && s.Blue.Requests == 10
	})
	if s.Green.Errors != 0 || s.Blue.Errors != 0 {
		t.Fatalf("metrics %+v", s)
	}
}

func TestProxyBlockTraffic(t *testing.T) {
	p := NewProxy(Options{})
	url := listen(t, p)
	if r := get(t, url); r.status != http.StatusServiceUnavailable {
		t.Fatalf("no targets: %+v", r)
	}
	mustSet(t, p, Blue, named(t, "blue").URL)
	mustSet(t, p, Green, named(t, "green").URL)
	mustWeight(t, p, 50)

	if got := tally(t, url, 20); got["blue"] != 10 || got["green"] != 10 {
		t.Fatalf("50%%: %v", got)
	}
	p.BlockTraffic(Green)
	if !p.Blocked(Green) || p.Blocked(Blue) {
		t.Fatal("Blocked disagrees")
	}
	if got := tally(t, url, 20); got["blue"] != 20 {
		t.Fatalf("green blocked: %v", got)
	}
	p.AllowTraffic(Green)
	if got := tally(t, url, 20); got["blue"] != 10 || got["green"] != 10 {
		t.Fatalf("green allowed again: %v", got)
	}
	// Green at 100% but blocked: blue takes everything rather than failing.
	mustWeight(t, p, 100)
	p.BlockTraffic(Green)
	if got := tally(t, url, 5); got["blue"] != 5 {
		t.Fatalf("weight 100, green blocked: %v", got)
	}
	p.BlockTraffic(Blue)
	if r := get(t, url); r.status != http.StatusServiceUnavailable {
		t.Fatalf("both blocked: %+v", r)
	}
	p.AllowTraffic(Green)
	if got := tally(t, url, 5); got["green"] != 5 {
		t.Fatalf("only green allowed: %v", got)
	}

	if err := p.BlockTraffic(Any); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("BlockTraffic(Any) = %v", err)
	}
	if err := p.SetWeight(101); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("SetWeight(101) = %v", err)
	}
	for _, bad := range []string{"", "ftp://x", "/relative", "http://", "::"} {
		if err := p.SetTargets(Blue, []string{bad}); !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("SetTargets(%q) = %v", bad, err)
		}
	}
}

func TestProxyRollbackAndPromote(t *testing.T) {
	blue, green := named(t, "blue"), named(t, "green")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, blue.URL)
	mustSet(t, p, Green, green.URL)
	url := listen(t, p)

	mustWeight(t, p, 60)
	p.Rollback()
	if p.Weight() != 0 || !p.Blocked(Green) || p.Blocked(Blue) {
		t.Fatalf("after rollback: weight %d, green blocked %v", p.Weight(), p.Blocked(Green))
	}
	if got := tally(t, url, 10); got["blue"] != 10 {
		t.Fatalf("after rollback: %v", got)
	}

	p.AllowTraffic(Green)
	mustWeight(t, p, 100)
	p.BlockTraffic(Blue)
	p.Promote()
	if got := p.Targets(Blue); len(got) != 1 || got[0] != green.URL {
		t.Fatalf("blue targets after promote: %v", got)
	}
	if len(p.Targets(Green)) != 0 || p.Weight() != 0 || p.Blocked(Blue) {
		t.Fatal("promote left green targets, weight or blocking behind")
	}
	if r := get(t, url); r.body != "green" || r.target != "blue" {
		t.Fatalf("after promote: %+v", r)
	}
}

func TestProxyForwardingAndStreamingUpload(t *testing.T) {
	var sawXFF, sawHost atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawXFF.Store(r.Header.Get("X-Forwarded-For"))
		sawHost.Store(r.Header.Get("X-Forwarded-Host"))
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s %d", r.URL.Path, n)
	}))
	t.Cleanup(backend.Close)
	p := NewProxy(Options{})
	mustSet(t, p, Blue, backend.URL+"/base")
	url := listen(t, p)

	// A 32 MiB upload whose length is not known in advance (chunked).
	const size = 32 << 20
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, url+"/upload", pr)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != fmt.Sprintf("/base/upload %d", size) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
	if got := sawXFF.Load(); got != "203.0.113.7, 127.0.0.1" {
		t.Fatalf("X-Forwarded-For = %q", got)
	}
	if got := sawHost.Load(); got != strings.TrimPrefix(url, "http://") {
		t.Fatalf("X-Forwarded-Host = %q", got)
	}
	if r := get(t, url+"/x"); r.target != "blue" || r.body != "/base/x 0" {
		t.Fatalf("get: %+v", r)
	}
}

func TestProxyBackendDownIsAnError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	clk := newFakeClock()
	p := NewProxy(Options{Now: clk.Now})
	mustSet(t, p, Blue, named(t, "blue").URL)
	mustSet(t, p, Green, deadURL)
	mustWeight(t, p, 50)
	url := listen(t, p)
	var bad int
	for range 10 {
		if r := get(t, url); r.status == http.StatusBadGateway && r.target == "green" {
			bad++
		} else if r.status != 200 || r.target != "blue" {
			t.Fatalf("unexpected %+v", r)
		}
	}
	var s Snapshot
	waitFor(t, "all requests to be recorded", func() bool {
		s = p.Metrics().Snapshot(time.Minute)
		return s.All.Requests == 10
	})
	if bad != 5 || s.Green.Requests != 5 || s.Green.Errors != 5 || s.Blue.Errors != 0 || s.Blue.Requests != 5 {
		t.Fatalf("%d bad gateways; metrics %+v", bad, s)
	}
}

// TestProxyConcurrentChanges runs requests from many goroutines while the
// weights, targets and blocking change underneath; run it with -race.
func TestProxyConcurrentChanges(t *testing.T) {
	blue, green := named(t, "blue"), named(t, "green")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, blue.URL)
	mustSet(t, p, Green, green.URL)
	url := listen(t, p)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served, failed atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				served.Add(1)
			}
		})
	}
	for i := range 200 {
		p.SetWeight(i % 101)
		if i%7 == 0 {
			p.BlockTraffic(Green)
		} else {
			p.AllowTraffic(Green)
		}
		if i%13 == 0 {
			mustSet(t, p, Blue, blue.URL, blue.URL)
		}
		n := served.Load()
		waitFor(t, "requests to flow", func() bool { return served.Load() > n })
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), served.Load())
	}
	waitFor(t, "metrics to count every request", func() bool {
		return int64(p.Metrics().Snapshot(time.Minute).All.Requests) == served.Load()
	})
}

func TestProxyBodyBreaksOff(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "only part")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(broken.Close)
	p := NewProxy(Options{})
	mustSet(t, p, Green, broken.URL)
	mustWeight(t, p, 100)
	url := listen(t, p)

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, read error %v: want a 200 whose body breaks off", resp.StatusCode, err)
	}
	waitFor(t, "the broken response to count as an error", func() bool {
		s := p.Metrics().Snapshot(time.Minute).Green
		return s.Requests == 1 && s.Errors == 1
	})
}

func TestSetText(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Set
	}{{"blue", Blue}, {"original", Blue}, {"green", Green}, {"replacement", Green}, {"any", Any}, {"", Any}} {
		var s Set
		if err := s.UnmarshalText([]byte(tt.in)); err != nil || s != tt.want {
			t.Fatalf("%q: %v, %v", tt.in, s, err)
		}
	}
	var s Set
	if err := s.UnmarshalText([]byte("purple")); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("purple: %v", err)
	}
	if b, err := Green.MarshalText(); err != nil || string(b) != "green" {
		t.Fatalf("green: %s, %v", b, err)
	}
	if _, err := Set(9).MarshalText(); err == nil {
		t.Fatal("Set(9) marshalled")
	}
}

func TestProxyMarkBackend(t *testing.T) {
	b1, b2, g := named(t, "blue-1"), named(t, "blue-2"), named(t, "green")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, b1.URL, b2.URL)
	mustSet(t, p, Green, g.URL)
	mustWeight(t, p, 20)
	url := listen(t, p)

	if err := p.MarkBackend(Blue, b1.URL, false); err != nil {
		t.Fatal(err)
	}
	if got := tally(t, url, 10); got["blue-1"] != 0 || got["blue-2"] != 8 || got["green"] != 2 {
		t.Fatalf("blue-1 down: %v", got)
	}
	// All of green down: green's share goes to blue.
	p.MarkBackend(Green, g.URL, false)
	if got := tally(t, url, 10); got["blue-2"] != 10 {
		t.Fatalf("green down: %v", got)
	}
	p.MarkBackend(Green, g.URL, true)
	p.MarkBackend(Blue, b1.URL, true)
	if got := tally(t, url, 10); got["blue-1"] != 4 || got["blue-2"] != 4 || got["green"] != 2 {
		t.Fatalf("all up: %v", got)
	}
	if err := p.MarkBackend(Blue, "http://127.0.0.1:9", false); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown backend: %v", err)
	}
}
