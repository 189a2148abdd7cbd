// Package upstream fetches from remote registries (the public npm registry,
// PyPI, Maven Central, a company mirror) on behalf of the formats: metadata
// through a TTL cache with conditional revalidation, immutable artifacts
// through coalesced fills into the blob store. One Client serves one
// upstream; formats call it and never speak HTTP to an upstream themselves.
//
// Metadata (Client.Metadata): a document is keyed within the upstream by a
// string the format chooses.
//
//	Metadata(ctx, key, url)
//	  │
//	  ├─ memory (byte-bounded LRU) ─┬─ fresh (< MetadataTTL) or PreferCached ───▶ copy
//	  │   miss: Persister.Load ─────┤─ negative (404/410 < NegativeTTL) ────────▶ ErrNotFound
//	  │                             └─ expired, or none
//	  ▼
//	refresh, one per key, detached (WithoutCancel + MetadataTimeout)
//	  GET with If-None-Match / If-Modified-Since
//	  ├─ 200 ─▶ store (memory + Persister; a body over MemoryEntryBytes
//	  │         goes straight to a DiskCache), return new copy
//	  ├─ 304 ─▶ FetchedAt = now, return same copy
//	  ├─ 404/410 ─▶ negative entry, ErrNotFound
//	  └─ 5xx, timeout, breaker open ─▶ old copy with Stale set, or
//	                                   ErrUpstreamUnavailable if none
//	a caller holding an old copy waits at most StaleAfter, then gets it
//	Stale while the refresh goes on and updates the cache
//
// Client.Purge forgets a key's copy (memory and disk); Client.Query is an
// uncached GET (searches) through the same breaker and retries.
//
// Artifacts (Client.Fetch): exactly one upstream request per key at a time.
//
//	                         ┌────────────── spool file (unlinked) ──▶ Download 1 (ReadAt, own offset)
//	upstream body ─▶ idle ─▶ ├─ sha1/sha512 (declared)                  Download 2 (joined late: reads
//	                 timer   └─ io.Pipe ─▶ blob.Store.Put(sha256)                   the spool, then follows)
//	                                             │
//	            EOF and declared digests match ──┴─▶ close pipe ─▶ Put verifies sha256, commits
//	            mismatch, reset, stall        ─────▶ CloseWithError ─▶ nothing committed,
//	                                                 every Download's Read fails
//
// Readers never see the last byte before the commit, so a client is never
// handed a complete body that was not verified. The fill runs on
// context.WithoutCancel(first caller) + FetchTimeout: callers hanging up
// do not stop it. Completed fills are remembered (RecentFills) so a caller
// that just missed one reads the blob store instead of going upstream.
//
// Every request (Client.exchange):
//
//	breaker.allow ─▶ GET ─▶ connection error, 429, 502, 503, 504 ─▶ backoff (full jitter) and retry,
//	                  │                                              at most MaxRetries times
//	                  ├─▶ other 5xx: failure (no retry)
//	                  └─▶ anything else, 404 included: success for the breaker
//
// A metadata body that breaks off is fetched again from scratch; an
// artifact body is not (its bytes are already with readers): the fill
// fails, and the next Fetch starts a new one. Requests have separate dial,
// TLS-handshake, response-header and idle-read timeouts and no
// whole-request deadline (only the fill's FetchTimeout backstop), so large
// files stream as long as bytes keep coming. The breaker (see BreakerState) opens after
// BreakerFailures consecutive failures and fails calls fast with
// ErrCircuitOpen until a probe succeeds after BreakerCooldown.
//
// Errors wrap domain.ErrNotFound (definitive 404/410), ErrUpstreamUnavailable
// (ErrUpstreamTimeout and ErrCircuitOpen wrap it), ErrIntegrity, or
// domain.ErrInvalid for a bad argument. Metrics go to a Metrics interface
// so cmd/registry can wire Prometheus.
//
// Goroutines: every refresh and fill runs on a goroutine the Client tracks;
// Close cancels and waits for them. Lock order: Client.mu, then fill.mu;
// the metadata cache's and the breaker's locks are leaves.
//
// The package imports the standard library, internal/domain, internal/blob
// and hashicorp/golang-lru/v2.
package upstream
