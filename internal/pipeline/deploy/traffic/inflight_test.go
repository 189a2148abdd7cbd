package traffic

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestProxyInFlight: a backend marked down keeps counting the request it
// is serving until that request finishes, and gets no new one.
func TestProxyInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "slow")
	}))
	t.Cleanup(slow.Close)
	other := named(t, "other")
	p := NewProxy(Options{})
	mustSet(t, p, Blue, slow.URL, other.URL)
	base := listen(t, p)

	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered // round-robin starts at the first backend: slow
	if n := p.InFlight(Blue, slow.URL); n != 1 {
		t.Fatalf("in flight to the slow backend: %d, want 1", n)
	}
	if err := p.MarkBackend(Blue, slow.URL, false); err != nil {
		t.Fatal(err)
	}
	if n := p.InFlight(Blue, slow.URL); n != 1 {
		t.Fatalf("marking down dropped the count of the request in flight: %d", n)
	}
	for range 4 {
		if r := get(t, base+"/"); r.body != "other" {
			t.Fatalf("a new request went to %q while slow was down", r.body)
		}
	}
	close(release)
	if st := <-done; st != http.StatusOK {
		t.Fatalf("the request in flight when the backend went down ended %d", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.InFlight(Blue, slow.URL) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("in flight after the request ended: %d", p.InFlight(Blue, slow.URL))
		}
		time.Sleep(time.Millisecond)
	}
	if n := p.InFlight(Blue, "http://unknown.invalid"); n != 0 {
		t.Errorf("in flight to an unknown backend: %d", n)
	}
}
