package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// userAgent is sent with every upstream request.
const userAgent = "artifactd-registry (+https://github.com/artifactd/registry)"

// request is what varies between upstream GETs.
type request struct {
	kind            Kind
	url             *url.URL
	accept          string
	ifNoneMatch     string
	ifModifiedSince string
}

// authTransport adds the upstream's Authorization header to requests for
// its origin, and strips any Authorization from requests elsewhere. It sits
// under http.Client, so a redirect is judged by where it leads.
type authTransport struct {
	base          http.RoundTripper
	origin        *url.URL
	authorization string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	same := sameOrigin(req.URL, t.origin)
	want := ""
	if same {
		want = t.authorization
	}
	if want == "" && req.Header.Get("Authorization") == "" && req.URL.User == nil {
		return t.base.RoundTrip(req)
	}
	// http.Client turns URL userinfo into Basic auth before we see the
	// request; credentials a format handed us in a URL are not sent on.
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if want != "" {
		req.Header.Set("Authorization", want)
	}
	if req.URL.User != nil {
		u := *req.URL
		u.User = nil
		req.URL = &u
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (t *authTransport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// exchange sends GET r.url and hands the response to handle, retrying with
// backoff after connection errors and 429/502/503/504 (handle does not see
// those), and after a body error handle marks retryable. Any other status,
// 404 included, goes to handle once. Every attempt asks the breaker first;
// when it refuses, exchange returns an error wrapping ErrCircuitOpen.
//
// handle must wrap errors from reading the body in a *bodyError, so they
// count against the breaker; other errors are verdicts on the content and
// end the exchange.
func (c *Client) exchange(ctx context.Context, r request, handle func(*http.Response) error) error {
	var last error
	var retryAfter time.Duration
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(c.backoff(attempt, retryAfter))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return last
			}
		}
		if !c.br.allow() {
			if last != nil {
				return fmt.Errorf("%w (after: %v)", ErrCircuitOpen, last)
			}
			return ErrCircuitOpen
		}
		var retry bool
		retryAfter, retry, last = c.attempt(ctx, r, handle)
		if last == nil || !retry || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			return last
		}
	}
}

// attempt is one GET. It reports the breaker's verdict, and whether the
// error (if any) may be retried, and after how long the upstream asked.
func (c *Client) attempt(ctx context.Context, r request, handle func(*http.Response) error) (retryAfter time.Duration, retry bool, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, r.url.String(), nil)
	if err != nil {
		c.br.abandon()
		return 0, false, err
	}
	req.Header.Set("User-Agent", userAgent)
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if r.ifNoneMatch != "" {
		req.Header.Set("If-None-Match", r.ifNoneMatch)
	}
	if r.ifModifiedSince != "" {
		req.Header.Set("If-Modified-Since", r.ifModifiedSince)
	}

	// The transport's ResponseHeaderTimeout does not cover every protocol
	// path; this backstop bounds connect + handshake + first byte.
	headerTimer := time.AfterFunc(c.cfg.DialTimeout+c.cfg.TLSHandshakeTimeout+c.cfg.ResponseHeaderTimeout, func() {
		cancel(fmt.Errorf("no response headers in time: %w", ErrUpstreamTimeout))
	})
	start := time.Now()
	resp, err := c.http.Do(req)
	headerTimer.Stop()
	if err != nil {
		err = transportError(rctx, err)
		c.metrics.Request(c.cfg.Name, r.kind, 0, time.Since(start))
		if !errors.Is(err, ErrUpstreamUnavailable) {
			c.br.abandon() // our own cancellation: no verdict on the upstream
			return 0, false, err
		}
		c.br.failure()
		return 0, true, err
	}

	body := newIdleBody(rctx, resp.Body, cancel, c.cfg.IdleReadTimeout)
	resp.Body = body
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())
		drain(body)
		c.br.failure()
		c.metrics.Request(c.cfg.Name, r.kind, resp.StatusCode, time.Since(start))
		return retryAfter, true, statusError(resp.StatusCode)
	}
	if resp.StatusCode >= 500 {
		c.br.failure()
	} else {
		c.br.success()
	}

	err = handle(resp)
	if resp.StatusCode != http.StatusOK {
		drain(body)
	}
	body.Close()
	c.metrics.Request(c.cfg.Name, r.kind, resp.StatusCode, time.Since(start))

	var be *bodyError
	if errors.As(err, &be) {
		if !errors.Is(err, ErrUpstreamUnavailable) {
			return 0, false, err // cancelled while reading
		}
		c.br.failure()
		return 0, be.retry, err
	}
	return 0, false, err
}

// backoff is the wait before attempt n (n >= 1): full jitter over an
// exponentially growing ceiling, at least what the upstream asked for,
// never more than RetryMaxDelay.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	ceil := c.cfg.RetryMaxDelay
	if n < 30 {
		ceil = min(c.cfg.RetryBaseDelay<<(n-1), c.cfg.RetryMaxDelay)
	}
	var d time.Duration
	if ceil > 0 {
		d = rand.N(ceil + 1)
	}
	if retryAfter > d {
		d = min(retryAfter, c.cfg.RetryMaxDelay)
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3). Anything else is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// drain reads a little of a body we do not need so the connection can be
// reused; a larger body is left and the connection closed.
func drain(rc io.ReadCloser) {
	io.CopyN(io.Discard, rc, 64<<10)
	rc.Close()
}

// idleBody aborts a response body whose Read waits longer than timeout for
// bytes, by cancelling the request's context with errIdle. Only time spent
// inside Read counts, so a slow consumer is not mistaken for a stalled
// upstream. Read errors other than io.EOF are classified by transportError.
type idleBody struct {
	ctx     context.Context
	rc      io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

func newIdleBody(ctx context.Context, rc io.ReadCloser, cancel context.CancelCauseFunc, timeout time.Duration) *idleBody {
	t := time.AfterFunc(timeout, func() { cancel(errIdle) })
	t.Stop()
	return &idleBody{ctx: ctx, rc: rc, timer: t, timeout: timeout}
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF {
		err = transportError(b.ctx, err)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}
