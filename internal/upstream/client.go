package upstream

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Client fetches from one upstream registry: metadata through a TTL cache
// with revalidation, artifacts through coalesced fills into the blob store.
// It is safe for concurrent use. Close stops its background work.
//
// Lock order: Client.mu before fill.mu; memCache.mu and breaker.mu are
// leaves, never held while taking another lock.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	br      *breaker
	metrics Metrics
	meta    scopedCache
	recent  *lru.Cache[string, blob.Put]  // key -> committed fill
	missing *lru.Cache[string, time.Time] // artifact key -> when upstream last answered 404/410
	purges  atomic.Uint64                 // bumped by Purge; a refresh begun earlier does not store

	closing context.Context // done when Close is called; detached work derives its end from it
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	fills   map[string]*fill        // artifact key -> fill in progress
	flights map[string]*metaFlight  // metadata key -> refresh in progress
	loads   map[string]*persistLoad // metadata key -> persisted copy being read
}

// New returns a Client for the upstream cfg describes. Every problem with
// cfg is reported at once, in an error wrapping domain.ErrInvalid.
//
// Credentials in BaseURL's userinfo (https://user:secret@host/path/) are
// taken out of the URL and sent as HTTP Basic auth, unless
// Config.Authorization is set; either way they go only to BaseURL's origin.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	cfg, err := takeUserinfo(cfg)
	if err != nil {
		return nil, err
	}
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		if base.RawPath != "" {
			base.RawPath += "/"
		}
	}
	recent, err := lru.New[string, blob.Put](max(cfg.RecentFills, 1))
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", cfg.Name, err)
	}
	missing, err := lru.New[string, time.Time](max(cfg.RecentFills, 1))
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", cfg.Name, err)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
	closing, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg:     cfg,
		base:    base,
		http:    &http.Client{Transport: &authTransport{base: tr, origin: base, authorization: cfg.Authorization}},
		metrics: cfg.Metrics,
		meta:    scopedCache{m: newMemCache(cfg.MemoryBytes)},
		recent:  recent,
		missing: missing,
		closing: closing,
		stop:    stop,
		fills:   make(map[string]*fill),
		flights: make(map[string]*metaFlight),
		loads:   make(map[string]*persistLoad),
	}
	if cfg.Memory != nil {
		c.meta = scopedCache{m: cfg.Memory.m, prefix: cfg.Name + "\x00"}
	}
	c.br = &breaker{
		threshold: max(cfg.BreakerFailures, 1),
		cooldown:  cfg.BreakerCooldown,
		now:       cfg.Now,
		changed:   func(from, to BreakerState) { c.metrics.BreakerChanged(cfg.Name, from, to) },
	}
	return c, nil
}

// Name returns Config.Name.
func (c *Client) Name() string { return c.cfg.Name }

// BreakerState returns the state of the upstream's circuit breaker.
func (c *Client) BreakerState() BreakerState { return c.br.State() }

// Close cancels every fill and refresh in progress, waits for them to end
// and closes idle connections. Calls after Close fail; Downloads already
// returned fail unless their fill had completed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	c.http.CloseIdleConnections()
	return nil
}

// CloseIdleConnections closes the connections to the upstream that no
// request is using (each holds two goroutines and their buffers); the
// next request dials again. For a server that has gone idle.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// errClosed is returned by calls made after Close.
var errClosed = fmt.Errorf("client closed: %w", ErrUpstreamUnavailable)

// spawn runs fn on a goroutine Close waits for. The caller holds c.mu; it
// returns false after Close.
func (c *Client) spawn(fn func()) bool {
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// detach returns a context for work shared by several callers: it keeps
// ctx's values (request ids for logs) but not its cancellation, ends after
// timeout or at Close, and must be released with the returned func.
func (c *Client) detach(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	stop := context.AfterFunc(c.closing, cancel)
	return ctx, func() { stop(); cancel() }
}

// resolve turns a URL given by a format into an absolute http(s) URL,
// resolving a relative reference against the base URL.
func (c *Client) resolve(raw string) (*url.URL, error) {
	u, err := c.base.Parse(raw)
	if err != nil {
		// url.Parse's error quotes raw, which may carry credentials.
		return nil, domain.Invalid("upstream %s: bad URL: %v", c.cfg.Name, unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, domain.Invalid("upstream %s: URL %q is not http(s)", c.cfg.Name, u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// takeUserinfo moves credentials out of cfg.BaseURL into
// cfg.Authorization (HTTP Basic), so the URL the client resolves against,
// logs and persists never holds them. A BaseURL that does not parse is
// reported without its text, which may hold a secret.
func takeUserinfo(cfg Config) (Config, error) {
	if cfg.BaseURL == "" {
		return cfg, nil
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return cfg, domain.Invalid("upstream %s: base URL: %v", cfg.Name, unwrapURLError(err))
	}
	if u.User == nil {
		return cfg, nil
	}
	if cfg.Authorization == "" {
		pass, _ := u.User.Password()
		cfg.Authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	u.User = nil
	cfg.BaseURL = u.String()
	return cfg, nil
}

// sameOrigin reports whether u may receive the upstream's credentials:
// same scheme, host and port (an omitted port is the scheme's default).
func sameOrigin(u, base *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) &&
		strings.EqualFold(u.Hostname(), base.Hostname()) &&
		effectivePort(u) == effectivePort(base)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// wrap names the upstream and the URL (without credentials) in err.
func (c *Client) wrap(op string, u *url.URL, err error) error {
	return fmt.Errorf("upstream %s: %s %s: %w", c.cfg.Name, op, u.Redacted(), err)
}
