package upstream

import (
	"container/list"
	"sync"
)

// entry is what the metadata cache holds for a key: a document, or the
// memory of a definitive 404/410 (negative, with doc.Status and
// doc.FetchedAt set).
type entry struct {
	doc      Doc
	negative bool
}

// memCache is a least-recently-used map bounded by the bytes it holds, not
// by its number of entries: a body counts for its length. A body larger
// than Config.MemoryEntryBytes is not stored when a Persister holds it
// (Doc.onDisk): such an entry costs its validators only. gen counts
// purges, so a refresh that began before a purge does not store its result
// after it.
type memCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	gen   uint64
	ll    *list.List // front is the most recently used; values are *memItem
	items map[string]*list.Element
}

type memItem struct {
	key  string
	e    entry
	size int64
}

// itemOverhead approximates the map, list and struct cost of an entry.
const itemOverhead = 256

func newMemCache(max int64) *memCache {
	return &memCache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

func sizeOf(key string, e entry) int64 {
	d := &e.doc
	return int64(len(key)+len(d.Body)+len(d.ContentType)+len(d.ETag)+len(d.LastModified)) + itemOverhead
}

// get returns the entry for key and marks it recently used.
func (m *memCache) get(key string) (entry, bool) {
	m.mu.Lock()
	el, ok := m.items[key]
	if !ok {
		m.mu.Unlock()
		return entry{}, false
	}
	m.ll.MoveToFront(el)
	e := el.Value.(*memItem).e
	m.mu.Unlock()
	return e, true
}

// generation returns the purge count, to pass to put later.
func (m *memCache) generation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

// put stores e under key unless a purge happened since gen was read, or
// (with ifAbsent) key already has an entry. It reports whether it stored.
// An entry larger than the whole budget is not kept.
func (m *memCache) put(key string, e entry, gen uint64, ifAbsent bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen {
		return false
	}
	el, exists := m.items[key]
	if exists && ifAbsent {
		return false
	}
	if exists {
		m.removeLocked(el)
	}
	size := sizeOf(key, e)
	if size > m.max {
		return false
	}
	m.items[key] = m.ll.PushFront(&memItem{key: key, e: e, size: size})
	m.used += size
	for m.used > m.max {
		m.removeLocked(m.ll.Back())
	}
	return true
}

// dropOnDisk forgets key's entry if its body was left to the Persister,
// without invalidating puts in progress (the Persister lost the body; a
// refresh may store a new one).
func (m *memCache) dropOnDisk(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok && el.Value.(*memItem).e.doc.onDisk {
		m.removeLocked(el)
	}
}

// bytes returns the bytes the cache accounts for.
func (m *memCache) bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// purge forgets key and invalidates puts prepared before it.
func (m *memCache) purge(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	if el, ok := m.items[key]; ok {
		m.removeLocked(el)
	}
}

func (m *memCache) removeLocked(el *list.Element) {
	it := el.Value.(*memItem)
	m.ll.Remove(el)
	delete(m.items, it.key)
	m.used -= it.size
}

// MemoryCache is one memory budget for the metadata caches of several
// Clients (Config.Memory), so the server's bound does not grow with its
// number of external connections. Entries are keyed by Config.Name.
type MemoryCache struct{ m *memCache }

// NewMemoryCache returns a shared metadata memory cache of maxBytes
// (DefaultMemoryBytes when 0).
func NewMemoryCache(maxBytes int64) *MemoryCache {
	if maxBytes <= 0 {
		maxBytes = DefaultMemoryBytes
	}
	return &MemoryCache{m: newMemCache(maxBytes)}
}

// Bytes returns the bytes the cache holds, bodies and validators.
func (c *MemoryCache) Bytes() int64 { return c.m.bytes() }

// scopedCache is one Client's view of a memCache, perhaps shared: its
// keys are prefixed with the Client's name. A purge by any Client
// invalidates the puts in progress of all (they are simply not stored).
type scopedCache struct {
	m      *memCache
	prefix string
}

func (s scopedCache) get(key string) (entry, bool) { return s.m.get(s.prefix + key) }
func (s scopedCache) generation() uint64           { return s.m.generation() }
func (s scopedCache) put(key string, e entry, gen uint64, ifAbsent bool) bool {
	return s.m.put(s.prefix+key, e, gen, ifAbsent)
}
func (s scopedCache) purge(key string)      { s.m.purge(s.prefix + key) }
func (s scopedCache) dropOnDisk(key string) { s.m.dropOnDisk(s.prefix + key) }
func (s scopedCache) bytes() int64          { return s.m.bytes() }
