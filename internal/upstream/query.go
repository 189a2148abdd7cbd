package upstream

import (
	"context"
	"net/http"
)

// Query returns the body of a GET of rawURL (absolute, or relative to the
// base URL), for answers that are not worth caching, such as a search. It
// goes through the circuit breaker and the retries like every request, is
// bounded by MetadataTimeout and MaxMetadataBytes, and ends with ctx.
//
// Errors: a 404/410 wraps domain.ErrNotFound; other failures wrap
// ErrUpstreamUnavailable; ctx's error when ctx ends first.
func (c *Client) Query(ctx context.Context, rawURL, accept string) ([]byte, error) {
	u, err := c.resolve(rawURL)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, c.wrap("GET", u, errClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.MetadataTimeout)
	defer cancel()
	var body []byte
	err = c.exchange(ctx, request{kind: KindMetadata, url: u, accept: accept}, func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusOK:
			b, err := readBody(resp.Body, resp.ContentLength, c.cfg.MaxMetadataBytes)
			body = b
			return err
		case http.StatusNotFound, http.StatusGone:
			return notFoundError(resp.StatusCode)
		}
		return statusError(resp.StatusCode)
	})
	if err != nil {
		return nil, c.wrap("GET", u, err)
	}
	return body, nil
}
