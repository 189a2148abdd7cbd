package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/artifactd/registry/internal/domain"
)

// Sentinel errors. Every error a Client returns wraps exactly one of
// domain.ErrNotFound (a definitive 404 or 410 from upstream), domain.ErrInvalid
// (a bad argument from the caller), ErrUpstreamUnavailable (and perhaps
// ErrUpstreamTimeout or ErrCircuitOpen, which wrap it), ErrIntegrity, or the
// caller's own context error.
var (
	// ErrUpstreamUnavailable says the upstream could not give a usable answer:
	// connection refused or reset, a 5xx or 429, an unexpected status, a
	// truncated body, an open circuit breaker. Formats answer 502.
	ErrUpstreamUnavailable = errors.New("upstream unavailable")

	// ErrUpstreamTimeout wraps ErrUpstreamUnavailable: the upstream was too
	// slow (connect, TLS handshake, response headers, a stalled body, or the
	// fill's own deadline). Formats answer 504.
	ErrUpstreamTimeout = fmt.Errorf("upstream timed out: %w", ErrUpstreamUnavailable)

	// ErrCircuitOpen wraps ErrUpstreamUnavailable: the upstream's circuit
	// breaker is open, so no request was sent.
	ErrCircuitOpen = fmt.Errorf("upstream circuit breaker open: %w", ErrUpstreamUnavailable)

	// ErrIntegrity says the upstream's bytes do not match the digest it
	// declared (npm integrity or shasum, PyPI #sha256=, Maven .sha1). Nothing
	// was committed. Formats answer 502 and abort any response in progress.
	ErrIntegrity = errors.New("upstream content does not match its declared digest")
)

// errIdle is the cause given to a request's context when its body stalls
// for longer than the idle-read timeout.
var errIdle = fmt.Errorf("no bytes from upstream within the idle-read timeout: %w", ErrUpstreamTimeout)

// bodyError marks a failure while reading a response body that says
// something about the upstream's health (a reset, a stall, a truncation), as
// opposed to a verdict on its content. retry says the exchange may be
// repeated from scratch (nothing has been handed on yet).
type bodyError struct {
	err   error
	retry bool
}

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// statusError is an upstream status that is neither success nor a
// definitive not-found.
func statusError(status int) error {
	return fmt.Errorf("status %d %s: %w", status, http.StatusText(status), ErrUpstreamUnavailable)
}

// notFoundError is a definitive 404 or 410 from upstream.
func notFoundError(status int) error {
	return &domain.Error{Kind: domain.ErrNotFound, Msg: fmt.Sprintf("upstream answered %d %s", status, http.StatusText(status))}
}

// transportError classifies an error from the HTTP round trip or a body
// read: the caller's own cancellation stays as is (so errors.Is(err,
// context.Canceled) holds), everything else becomes unavailable or timeout.
func transportError(ctx context.Context, err error) error {
	if errors.Is(err, ErrUpstreamUnavailable) {
		return err
	}
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, ErrUpstreamUnavailable) {
			return cause
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			return fmt.Errorf("%v: %w", err, ErrUpstreamTimeout)
		}
		return cause
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%v: %w", err, ErrUpstreamTimeout)
	}
	return fmt.Errorf("%v: %w", unwrapURLError(err), ErrUpstreamUnavailable)
}

// unwrapURLError drops net/url's "Get <url>:" prefix; the caller names the
// URL once, redacted.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
