package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/artifactd/registry/internal/domain"
)

// readCache remembers the answers of the metadata reads every request
// makes (repository, upstream graph, package stamp, origin controls,
// resource and identity policies), so that a warm request parses and runs
// no SQL for them.
//
// Validity is one generation counter for the whole database: every write
// path of DB (rawTx, hence tx, and the few single-statement writes, see
// exec) increments it after it commits, and an entry is served only while
// the counter still has the value it had before the read that produced
// the entry began. A read that overlaps a commit therefore stores its
// answer under the old generation, which is never served again: no
// answer older than the last commit a caller has seen returned is ever
// served. Any write invalidates everything; writes are rare next to
// reads on a registry, and a bounded LRU keeps memory fixed.
//
// Only this process's writes are seen. Nothing else writes the database
// while the server runs: the maintenance commands (gc, fsck) of another
// process only delete unreferenced blob rows (DropBlobRow), which none of
// the cached answers reads; and DB.SQL's handle must not be written
// through.
type readCache struct {
	gen atomic.Uint64
	lru *lru.Cache[string, cacheEntry]
}

// cacheEntry is one answer: a value, or a not-found error (copied on each
// hit, so that no two callers share one *domain.Error).
type cacheEntry struct {
	gen uint64
	val any
	err *domain.Error
}

// readCacheEntries bounds the cache; an entry is a few hundred bytes.
const readCacheEntries = 8192

func newReadCache() *readCache {
	c, err := lru.New[string, cacheEntry](readCacheEntries)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &readCache{lru: c}
}

// changed records that a write may have committed: every cached answer
// is stale from now on.
func (d *DB) changed() { d.cache.gen.Add(1) }

// Generation returns the counter every committed write of this DB
// increments; tests and benchmarks use it to see whether a code path
// wrote.
func (d *DB) Generation() uint64 { return d.cache.gen.Load() }

// exec runs a single-statement write outside a transaction.
func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := d.lockWriter(ctx); err != nil {
		return nil, err
	}
	defer d.unlockWriter()
	defer d.changed()
	return d.db.ExecContext(ctx, q, args...)
}

// cacheKey joins a kind and its arguments unambiguously (names never
// contain NUL).
func cacheKey(parts ...string) string { return strings.Join(parts, "\x00") }

// cachedRead returns the cached answer for key if it is of the current
// generation, else runs read and caches what it returns: a value, or a
// not-found *domain.Error returned as is (other errors are not cached).
// clone, when non-nil, copies the parts of a value a caller could modify,
// so that callers never share the cached copy.
func cachedRead[T any](d *DB, key string, clone func(T) T, read func() (T, error)) (T, error) {
	gen := d.cache.gen.Load() // before the read: see readCache
	if e, ok := d.cache.lru.Get(key); ok && e.gen == gen {
		if e.err != nil {
			var zero T
			err := *e.err
			return zero, &err
		}
		v := e.val.(T)
		if clone != nil {
			v = clone(v)
		}
		return v, nil
	}
	v, err := read()
	var de *domain.Error
	switch {
	case d.cache.gen.Load() != gen:
		// A write committed meanwhile: the answer would never be served.
	case err == nil:
		stored := v
		if clone != nil {
			stored = clone(v)
		}
		d.cache.lru.Add(key, cacheEntry{gen: gen, val: stored})
	case errors.As(err, &de) && de == err && de.Kind == domain.ErrNotFound:
		c := *de
		d.cache.lru.Add(key, cacheEntry{gen: gen, err: &c})
	}
	return v, err
}

func cloneRepository(r domain.Repository) domain.Repository {
	r.Upstreams = slices.Clone(r.Upstreams)
	return r
}

func cloneGraph(g domain.Graph) domain.Graph {
	up := make(map[string][]string, len(g.Upstreams))
	for k, v := range g.Upstreams {
		up[k] = slices.Clone(v)
	}
	return domain.Graph{Upstreams: up, External: maps.Clone(g.External)}
}

func cloneStrings(s []string) []string { return slices.Clone(s) }

// refKey is the cache key of a package's answer of kind.
func refKey(kind, dom, repo string, ref domain.PackageRef) string {
	return cacheKey(kind, dom, repo, string(ref.Format), ref.Namespace, ref.Name)
}

// readRepoID is repoID for reads outside a transaction, cached.
func (d *DB) readRepoID(ctx context.Context, dom, repo string) (int64, error) {
	return cachedRead(d, cacheKey("repoID", dom, repo), nil, func() (int64, error) {
		return repoID(ctx, d.db, dom, repo)
	})
}

// readDomainID is domainID for reads outside a transaction, cached.
func (d *DB) readDomainID(ctx context.Context, dom string) (int64, error) {
	return cachedRead(d, cacheKey("domainID", dom), nil, func() (int64, error) {
		return domainID(ctx, d.db, dom)
	})
}

func principalKey(id int64) string { return cacheKey("principalPolicies", strconv.FormatInt(id, 10)) }
