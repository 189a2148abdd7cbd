package traffic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// HeaderTarget is the response header naming the set that served a request.
const HeaderTarget = "X-Deployment-Target"

// Proxy is a deployment group's load balancer: an HTTP reverse proxy in
// front of two target sets, each a list of backend URLs. Every request goes
// to one set by smooth weighted round-robin over the sets' weights (so over
// any 100 requests at a green weight of 10, exactly 10 go to green while
// the weights stand), then round-robin among that set's backends.
//
// Weights, targets and blocking change at once for new requests; requests
// in flight finish on the backend they started on. Bodies stream in both
// directions. The proxy sets X-Forwarded-For/-Host/-Proto and the
// X-Deployment-Target response header, and records every request in its
// Metrics.
//
// Routing: a set takes traffic only when it is allowed (see BlockTraffic)
// and has a target not marked down (see MarkBackend). If the weights give traffic to no such set (green at
// 100% but blocked, say), all traffic goes to whichever set can take it,
// blue first; only when neither can does the proxy answer 503.
//
// A Proxy is safe for concurrent use.
type Proxy struct {
	metrics *Metrics
	now     func() time.Time
	tr      http.RoundTripper
	log     *slog.Logger

	mu      sync.Mutex // guards the fields below; held only for picks and updates
	sets    [2]targetSet
	weight  int    // percent of traffic for green
	current [2]int // smooth weighted round-robin state
	srv     *http.Server
	ln      net.Listener
	done    chan struct{} // closed when the serving goroutine ends
}

type targetSet struct {
	backends []*backend
	next     int
	blocked  bool
}

type backend struct {
	url  *url.URL
	rp   *httputil.ReverseProxy
	down bool // guarded by Proxy.mu
	// inflight counts the requests picked for this backend and not yet
	// finished; pick adds under Proxy.mu, so once MarkBackend(down)
	// returns no request can start on it unseen.
	inflight atomic.Int64
}

// healthy reports whether the set has a backend not marked down.
func (ts *targetSet) healthy() bool {
	for _, b := range ts.backends {
		if !b.down {
			return true
		}
	}
	return false
}

// Options configures a Proxy; the zero value is usable.
type Options struct {
	// Now is the clock that places requests in metric windows; the system
	// clock by default. Latency is always measured on the monotonic clock.
	Now func() time.Time
	// Metrics shapes the metrics window (its Now is replaced by the one above).
	Metrics MetricsOptions
	// Transport carries requests to backends; a clone of
	// http.DefaultTransport by default.
	Transport http.RoundTripper
	// Logger receives backend failures; slog.Default() by default.
	Logger *slog.Logger
}

// NewProxy returns a Proxy with no targets; until SetTargets is called it
// answers 503. Serve it with Listen, or mount it as an http.Handler.
func NewProxy(o Options) *Proxy {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Metrics.Now = o.Now
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Proxy{metrics: NewMetrics(o.Metrics), now: o.Now, tr: o.Transport, log: o.Logger}
}

// Metrics returns the proxy's request metrics.
func (p *Proxy) Metrics() *Metrics { return p.metrics }

// SetTargets replaces set's backends with urls (absolute http or https
// URLs; a path prefix is joined to the request path). An empty list takes
// the set out of routing. In-flight requests are not disturbed.
func (p *Proxy) SetTargets(set Set, urls []string) error {
	if err := checkSet(set); err != nil {
		return err
	}
	bs := make([]*backend, 0, len(urls))
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return domain.Invalid("target %q of the %s set is not an absolute http(s) URL", raw, set)
		}
		bs = append(bs, p.newBackend(u))
	}
	p.mu.Lock()
	p.sets[set].backends = bs
	p.sets[set].next = 0
	p.current = [2]int{}
	p.mu.Unlock()
	return nil
}

// Targets returns set's backend URLs.
func (p *Proxy) Targets(set Set) []string {
	if checkSet(set) != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.sets[set].backends))
	for i, b := range p.sets[set].backends {
		out[i] = b.url.String()
	}
	return out
}

// MarkBackend marks the backend with this URL in set as up or down, for
// a supervisor that knows an instance's health. A down backend gets no new
// requests; a set whose backends are all down takes no traffic, as if
// blocked. Marks last until the set's targets are replaced.
func (p *Proxy) MarkBackend(set Set, rawURL string, up bool) error {
	if err := checkSet(set); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	found := false
	for _, b := range p.sets[set].backends {
		if b.url.String() == rawURL {
			if b.down == up {
				p.current = [2]int{}
			}
			b.down, found = !up, true
		}
	}
	if !found {
		return domain.NotFound("target", rawURL)
	}
	return nil
}

// InFlight returns how many requests are in flight to the backend with
// this URL in set (0 if there is none): a caller that marked it down polls
// it to let those requests finish before stopping the instance.
func (p *Proxy) InFlight(set Set, rawURL string) int {
	if checkSet(set) != nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, b := range p.sets[set].backends {
		if b.url.String() == rawURL {
			n += int(b.inflight.Load())
		}
	}
	return n
}

// SetWeight gives green percent (0..100) of the traffic and blue the rest.
func (p *Proxy) SetWeight(greenPercent int) error {
	if greenPercent < 0 || greenPercent > 100 {
		return domain.Invalid("traffic weight %d is outside 0..100", greenPercent)
	}
	p.mu.Lock()
	if p.weight != greenPercent {
		p.weight = greenPercent
		p.current = [2]int{}
	}
	p.mu.Unlock()
	return nil
}

// Weight returns the percent of traffic green is given.
func (p *Proxy) Weight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.weight
}

// BlockTraffic takes set out of routing (CodeDeploy's BlockTraffic event);
// requests already on it finish.
func (p *Proxy) BlockTraffic(set Set) error { return p.setBlocked(set, true) }

// AllowTraffic puts set back into routing (CodeDeploy's AllowTraffic event).
func (p *Proxy) AllowTraffic(set Set) error { return p.setBlocked(set, false) }

func (p *Proxy) setBlocked(set Set, blocked bool) error {
	if err := checkSet(set); err != nil {
		return err
	}
	p.mu.Lock()
	if p.sets[set].blocked != blocked {
		p.sets[set].blocked = blocked
		p.current = [2]int{}
	}
	p.mu.Unlock()
	return nil
}

// Blocked reports whether set is blocked.
func (p *Proxy) Blocked(set Set) bool {
	if checkSet(set) != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sets[set].blocked
}

// Rollback sends all traffic back to blue: green weight 0, blue allowed,
// green blocked. Green's targets stay, so its instances can be inspected.
func (p *Proxy) Rollback() {
	p.mu.Lock()
	p.weight = 0
	p.sets[Blue].blocked = false
	p.sets[Green].blocked = true
	p.current = [2]int{}
	p.mu.Unlock()
}

// Promote ends a successful blue/green deployment: green's targets become
// the blue set, green is emptied, the weight returns to 0 and both sets
// are allowed, ready for the next deployment.
func (p *Proxy) Promote() {
	p.mu.Lock()
	p.sets[Blue] = targetSet{backends: p.sets[Green].backends}
	p.sets[Green] = targetSet{}
	p.weight = 0
	p.current = [2]int{}
	p.mu.Unlock()
}

func checkSet(set Set) error {
	if set != Blue && set != Green {
		return domain.Invalid("target set must be blue or green, not %s", set)
	}
	return nil
}

// pick chooses the set and backend for one request; ok is false when no
// set can take traffic.
func (p *Proxy) pick() (Set, *backend, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var w [2]int
	var usable [2]bool
	for i := range p.sets {
		usable[i] = !p.sets[i].blocked && p.sets[i].healthy()
	}
	if usable[Blue] {
		w[Blue] = 100 - p.weight
	}
	if usable[Green] {
		w[Green] = p.weight
	}
	var set Set
	switch {
	case w[Blue]+w[Green] > 0:
		// Smooth weighted round-robin (nginx): each pick adds every weight
		// to its running total and takes the largest, which then gives back
		// the sum. Ties go to blue.
		p.current[Blue] += w[Blue]
		p.current[Green] += w[Green]
		set = Blue
		if p.current[Green] > p.current[Blue] {
			set = Green
		}
		p.current[set] -= w[Blue] + w[Green]
	case usable[Blue]:
		set = Blue
	case usable[Green]:
		set = Green
	default:
		return 0, nil, false
	}
	ts := &p.sets[set]
	n := len(ts.backends)
	for range n {
		b := ts.backends[ts.next%n]
		ts.next = (ts.next + 1) % n
		if !b.down {
			b.inflight.Add(1)
			return set, b, true
		}
	}
	return 0, nil, false // unreachable: usable means a healthy backend
}

var errNoTargets = errors.New("no target set can take traffic")

// ServeHTTP routes one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	set, b, ok := p.pick()
	if !ok {
		http.Error(w, errNoTargets.Error(), http.StatusServiceUnavailable)
		return
	}
	defer b.inflight.Add(-1)
	start := time.Now()
	rec := getRecorder(w)
	rec.Header().Set(HeaderTarget, set.String())
	defer func() {
		// ReverseProxy aborts with a panic (http.ErrAbortHandler) when a
		// body breaks off after the status went out; count that as a
		// failure unless the client was the one who left.
		if v := recover(); v != nil {
			status := http.StatusBadGateway
			if r.Context().Err() != nil {
				status = 0
			}
			p.metrics.Record(set, status, time.Since(start), p.now())
			panic(v)
		}
	}()
	b.rp.ServeHTTP(rec, r)
	status := rec.status
	if r.Context().Err() != nil && status >= 500 {
		status = 0 // the client left; not the backend's fault
	}
	p.metrics.Record(set, status, time.Since(start), p.now())
	putRecorder(rec)
}

// Listen serves the proxy on addr ("127.0.0.1:0" picks a free port) in a
// goroutine the Proxy owns, and returns the address it listens on. Close
// stops it.
func (p *Proxy) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("traffic: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	p.mu.Lock()
	if p.srv != nil {
		p.mu.Unlock()
		ln.Close()
		return nil, domain.Errorf(domain.ErrConflict, "traffic: proxy already listening on %s", p.ln.Addr())
	}
	p.srv, p.ln, p.done = srv, ln, make(chan struct{})
	done := p.done
	p.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("traffic: proxy stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Close stops the listener started by Listen, letting in-flight requests
// finish until ctx ends, then closes what remains. It is a no-op when the
// proxy is not listening.
func (p *Proxy) Close(ctx context.Context) error {
	p.mu.Lock()
	srv, done := p.srv, p.done
	p.srv, p.ln, p.done = nil, nil, nil
	p.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	if tr, ok := p.tr.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
	return err
}
