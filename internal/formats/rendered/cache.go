package rendered

import (
	"container/list"
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// renderTimeout bounds a rendering that several requests may be waiting
// for; it runs detached from the cancellation of the request that started
// it.
const renderTimeout = time.Minute

// DefaultBytes is the byte budget of every Cache together until Configure
// sets another. Documents above a sixteenth of it (512 KiB) are kept on
// disk (see Writer) and cost the budget almost nothing, and a Doc holds
// only its gzip bytes (a fifth to a tenth of a packument), so 8 MiB keeps
// the full and abbreviated packuments of a thousand ordinary packages.
const DefaultBytes = 8 << 20

// bigRender is the document size from which rendering is followed by
// returning the heap's free memory to the operating system: parsing and
// merging a document of tens of megabytes takes a few times its size for
// a second, and the runtime would otherwise give it back only slowly.
const bigRender = 4 << 20

var releasing atomic.Bool

// releaseMemory runs debug.FreeOSMemory in the background, once at a time.
func releaseMemory() {
	if !releasing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer releasing.Store(false)
		debug.FreeOSMemory()
	}()
}

// defaultSize is what a value that does not report its size (no Size
// method) counts against the budget.
const defaultSize = 4 << 10

// slotOverhead approximates the map, list and struct cost of one entry.
const slotOverhead = 256

// Sizer is implemented by values that know what they hold in memory; Doc
// does. Values without it count as 4 KiB.
type Sizer interface{ Size() int64 }

// budget is the byte bound that Caches share: one least-recently-used
// order across all of them, so a burst in one format evicts the coldest
// entries of any format rather than growing the total.
type budget struct {
	mu   sync.Mutex
	max  int64
	used int64
	ll   *list.List // front is the most recently used; values are *slot
}

// slot is one cached value, in the budget's list and in its cache's own.
type slot struct {
	size     int64
	gel, cel *list.Element
	value    any
	drop     func() // removes the slot from its cache's map and list; under budget.mu
}

var shared = newBudget(DefaultBytes)

func newBudget(max int64) *budget { return &budget{max: max, ll: list.New()} }

// setMax changes the bound and evicts down to it.
func (b *budget) setMax(max int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max = max
	b.shrinkLocked()
}

func (b *budget) shrinkLocked() {
	for b.used > b.max && b.ll.Len() > 0 {
		b.removeLocked(b.ll.Back().Value.(*slot))
	}
}

func (b *budget) removeLocked(s *slot) {
	b.ll.Remove(s.gel)
	b.used -= s.size
	s.drop()
}

// Configure sets the byte budget of every Cache together (maxBytes <= 0
// keeps the current one) and the directory where NewDoc keeps documents
// larger than a sixteenth of it, gzip-compressed in unlinked files (dir
// "" keeps such documents in memory, and no Cache holds one above a
// quarter of the budget). Call it before serving; it may be called again.
func Configure(maxBytes int64, dir string) {
	if maxBytes > 0 {
		shared.setMax(maxBytes)
	}
	spillMu.Lock()
	spillDir = dir
	spillMu.Unlock()
}

// largeThreshold is the size above which NewDoc keeps a document on
// disk: a sixteenth of the budget, so that big documents, which sendfile
// serves from the page cache as cheaply as from memory, leave the budget
// to the many small ones.
func largeThreshold() int64 {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return shared.max / 16
}

// Cache keeps rendered values, least recently used out first, and renders
// each missing key once however many requests ask for it at the same
// time. It holds at most its number of entries, and all Caches together
// hold at most the byte budget (DefaultBytes, or what Configure set);
// a value larger than a quarter of the budget is not kept. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	b       *budget
	entries int
	items   map[K]*slot // guarded by b.mu
	ll      *list.List  // this cache's slots, front most recent; guarded by b.mu

	mu       sync.Mutex // guards inflight
	inflight map[K]*flight[V]
}

type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// NewCache returns a cache of at most entries values, sharing the byte
// budget of every Cache. entries must be positive; NewCache panics
// otherwise.
func NewCache[K comparable, V any](entries int) *Cache[K, V] {
	return newCache[K, V](entries, shared)
}

func newCache[K comparable, V any](entries int, b *budget) *Cache[K, V] {
	if entries <= 0 {
		panic("rendered: NewCache needs a positive number of entries")
	}
	return &Cache[K, V]{b: b, entries: entries, items: map[K]*slot{}, ll: list.New(), inflight: map[K]*flight[V]{}}
}

func sizeOf(v any) int64 {
	if s, ok := v.(Sizer); ok {
		return s.Size() + slotOverhead
	}
	return defaultSize + slotOverhead
}

func (c *Cache[K, V]) lookup(k K) (V, bool) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	s, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.b.ll.MoveToFront(s.gel)
	c.ll.MoveToFront(s.cel)
	return s.value.(V), true
}

func (c *Cache[K, V]) add(k K, v V) {
	size := sizeOf(v)
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if size > c.b.max/4 {
		return // would crowd out everything else; NewDoc keeps such documents on disk
	}
	if old, ok := c.items[k]; ok {
		c.b.removeLocked(old)
	}
	s := &slot{size: size, value: v}
	s.gel = c.b.ll.PushFront(s)
	s.cel = c.ll.PushFront(s)
	s.drop = func() {
		c.ll.Remove(s.cel)
		if c.items[k] == s {
			delete(c.items, k)
		}
	}
	c.items[k] = s
	c.b.used += size
	for c.ll.Len() > c.entries {
		c.b.removeLocked(c.ll.Back().Value.(*slot))
	}
	c.b.shrinkLocked()
}

// Len returns the number of values cached.
func (c *Cache[K, V]) Len() int {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return len(c.items)
}

// Get returns the value for k, calling render when it is not cached. At
// most one render runs at a time per key; other callers for that key wait
// for its result or for their own ctx to end. render gets a context that
// carries ctx's values but not its cancellation, bounded by a minute, so a
// caller that gives up does not fail the others. Errors are returned to
// every waiting caller and are not cached.
func (c *Cache[K, V]) Get(ctx context.Context, k K, render func(context.Context) (V, error)) (V, error) {
	if v, ok := c.lookup(k); ok {
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
	// A render may have finished between the lookup above and here: it
	// stores its value before leaving inflight, so look again.
	if v, ok := c.lookup(k); ok {
		c.mu.Unlock()
		return v, nil
	}
	fl := &flight[V]{done: make(chan struct{})}
	c.inflight[k] = fl
	c.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
	fl.v, fl.err = render(rctx)
	cancel()
	if fl.err == nil {
		c.add(k, fl.v)
		if d, ok := any(fl.v).(*Doc); ok && d.size >= bigRender {
			releaseMemory()
		}
	}
	c.mu.Lock()
	delete(c.inflight, k)
	c.mu.Unlock()
	close(fl.done)
	return fl.v, fl.err
}

// Purge drops every cached value. Renders under way are not affected and
// store their results when they finish.
func (c *Cache[K, V]) Purge() {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	for c.ll.Len() > 0 {
		c.b.removeLocked(c.ll.Back().Value.(*slot))
	}
}
