package rendered

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// renderTimeout bounds a rendering that several requests may be waiting
// for; it runs detached from the cancellation of the request that started
// it.
const renderTimeout = time.Minute

// Cache keeps rendered values, least recently used out first, and renders
// each missing key once however many requests ask for it at the same
// time. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	lru *lru.Cache[K, V]

	mu       sync.Mutex // guards inflight
	inflight map[K]*flight[V]
}

type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// NewCache returns a cache of at most entries values. entries must be
// positive; NewCache panics otherwise.
func NewCache[K comparable, V any](entries int) *Cache[K, V] {
	c, err := lru.New[K, V](entries)
	if err != nil {
		panic(err) // only for entries <= 0, which the caller rules out
	}
	return &Cache[K, V]{lru: c, inflight: map[K]*flight[V]{}}
}

// Get returns the value for k, calling render when it is not cached. At
// most one render runs at a time per key; other callers for that key wait
// for its result or for their own ctx to end. render gets a context that
// carries ctx's values but not its cancellation, bounded by a minute, so a
// caller that gives up does not fail the others. Errors are returned to
// every waiting caller and are not cached.
func (c *Cache[K, V]) Get(ctx context.Context, k K, render func(context.Context) (V, error)) (V, error) {
	if v, ok := c.lru.Get(k); ok {
		return v, nil
	}
	c.mu.Lock()
	if fl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-fl.done:
			return fl.v, fl.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	fl := &flight[V]{done: make(chan struct{})}
	c.inflight[k] = fl
	c.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
	fl.v, fl.err = render(rctx)
	cancel()
	if fl.err == nil {
		c.lru.Add(k, fl.v)
	}
	c.mu.Lock()
	delete(c.inflight, k)
	c.mu.Unlock()
	close(fl.done)
	return fl.v, fl.err
}

// Purge drops every cached value. Renders under way are not affected and
// store their results when they finish.
func (c *Cache[K, V]) Purge() { c.lru.Purge() }
