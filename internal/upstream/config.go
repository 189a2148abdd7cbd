package upstream

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Config describes one upstream registry and how to talk to it. Zero
// durations and sizes take the defaults given on each field.
type Config struct {
	// Name identifies the upstream in errors and metrics ("npmjs",
	// "pypi", "maven-central", a custom connection's name). Required.
	Name string
	// BaseURL is the registry root; relative URLs given to Metadata and
	// Fetch resolve against it. Required, http or https.
	BaseURL string
	// Authorization, if set, is sent as the Authorization header, but only
	// to BaseURL's scheme and host (never to a file host the metadata points
	// at, never across a redirect to another host).
	Authorization string

	// Blobs receives fetched artifacts. Required.
	Blobs blob.Store
	// SpoolDir holds the temporary file each artifact fill tees through, so
	// waiting clients can read what has arrived so far. Default os.TempDir().
	// The files are unlinked as soon as they are created where the system
	// allows it, so a crash leaves nothing behind.
	SpoolDir string
	// Persist, if set, keeps metadata documents across restarts.
	Persist Persister
	// Metrics receives counters. Default Nop.
	Metrics Metrics
	// Now is the clock for TTLs and the breaker's cool-down. Default
	// time.Now; tests set it.
	Now func() time.Time

	// DialTimeout bounds establishing a TCP connection. Default 10s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake. Default 10s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers once the
	// request is sent. Default 30s.
	ResponseHeaderTimeout time.Duration
	// IdleReadTimeout aborts a response body when a read waits this long
	// for bytes. There is no whole-body deadline other than FetchTimeout,
	// so a large file streams as long as bytes keep coming. Default 30s.
	IdleReadTimeout time.Duration

	// MaxRetries is how many times a GET is repeated after a connection
	// error or a 429/502/503/504 (never after another status). Default 2;
	// negative means none.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the full-jitter exponential
	// backoff between attempts (a Retry-After up to RetryMaxDelay is
	// honoured). Defaults 200ms and 5s.
	RetryBaseDelay, RetryMaxDelay time.Duration

	// BreakerFailures consecutive failures open the circuit breaker.
	// Default 5.
	BreakerFailures int
	// BreakerCooldown is how long the breaker stays open before one probe
	// is let through. Default 30s.
	BreakerCooldown time.Duration

	// MetadataTTL is how long a metadata copy is served without asking
	// upstream. Default 5m.
	MetadataTTL time.Duration
	// NegativeTTL is how long a definitive 404/410 is remembered, for
	// metadata and for artifacts (the last RecentFills keys). Default 2m.
	NegativeTTL time.Duration
	// StaleAfter is how long a caller holding an expired copy waits for the
	// revalidation before it is served the stale copy instead (the
	// revalidation goes on and updates the cache). Default 3s.
	StaleAfter time.Duration
	// MetadataTimeout bounds one metadata refresh, retries included.
	// Default 2m.
	MetadataTimeout time.Duration
	// FetchTimeout bounds one artifact fill, a backstop behind
	// IdleReadTimeout. Default 30m.
	FetchTimeout time.Duration
	// MaxMetadataBytes rejects larger metadata documents. Default 256 MiB.
	MaxMetadataBytes int64
	// MemoryBytes bounds the in-memory metadata cache (bodies, validators
	// and keys); the least recently used entries go first. Default 2 MiB
	// (DefaultMemoryBytes): the Persister (a DiskCache in the server) keeps
	// every document anyway, so memory is only the hot layer for small,
	// much requested documents, and a larger bound mostly shows up as
	// idle resident memory. A document larger than the bound is not held
	// in memory at all.
	MemoryBytes int64
	// MemoryEntryBytes is the largest body the memory cache holds. With a
	// Persister, a larger document is kept in memory as its validators
	// only (ETag, Last-Modified, fetch time: a few hundred bytes) and its
	// body is read back from the Persister when a caller asks for it
	// (Doc.Bytes). A DiskCache receives such a body as it arrives, so it
	// is never held while it is fetched either. Without a Persister,
	// bodies are held up to MemoryBytes as before. Default 64 KiB
	// (DefaultMemoryEntryBytes).
	MemoryEntryBytes int64
	// DiskBodies, with a Persister, keeps no body in the memory cache at
	// all once the Persister holds it: entries are validators only and
	// Doc.Bytes / Doc.Open read the Persister's copy. For callers that
	// use Validator and cache what they render from a body (the formats'
	// rendered documents), a body in memory is a second copy that only a
	// re-render reads. MemoryEntryBytes still bounds what a fetch reads
	// into memory before it streams to the Persister.
	DiskBodies bool
	// Memory, if set, is a metadata memory budget shared with other
	// Clients (NewMemoryCache); MemoryBytes is then not used. Clients
	// sharing it must have different Names.
	Memory *MemoryCache
	// RecentFills is how many completed artifact fills are remembered so a
	// caller that missed the fill is served from the blob store rather than
	// upstream. Default 4096.
	RecentFills int
}

// DefaultMemoryBytes is Config.MemoryBytes when left zero.
const DefaultMemoryBytes = 2 << 20

// DefaultMemoryEntryBytes is Config.MemoryEntryBytes when left zero.
const DefaultMemoryEntryBytes = 64 << 10

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, 10*time.Second)
	def(&c.TLSHandshakeTimeout, 10*time.Second)
	def(&c.ResponseHeaderTimeout, 30*time.Second)
	def(&c.IdleReadTimeout, 30*time.Second)
	def(&c.RetryBaseDelay, 200*time.Millisecond)
	def(&c.RetryMaxDelay, 5*time.Second)
	def(&c.BreakerCooldown, 30*time.Second)
	def(&c.MetadataTTL, 5*time.Minute)
	def(&c.NegativeTTL, 2*time.Minute)
	def(&c.StaleAfter, 3*time.Second)
	def(&c.MetadataTimeout, 2*time.Minute)
	def(&c.FetchTimeout, 30*time.Minute)
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = 2
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.MaxMetadataBytes == 0 {
		c.MaxMetadataBytes = 256 << 20
	}
	if c.MemoryBytes == 0 {
		c.MemoryBytes = DefaultMemoryBytes
	}
	if c.MemoryEntryBytes == 0 {
		c.MemoryEntryBytes = DefaultMemoryEntryBytes
	}
	if c.RecentFills == 0 {
		c.RecentFills = 4096
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if c.Metrics == nil {
		c.Metrics = Nop{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate reports every problem at once, wrapping domain.ErrInvalid, and
// returns the parsed base URL.
func (c Config) validate() (*url.URL, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name == "" {
		bad("name is empty")
	}
	base, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		bad("base URL is empty")
	case err != nil:
		bad("base URL: %v", err)
	case base.Scheme != "http" && base.Scheme != "https" || base.Host == "":
		bad("base URL %q is not an absolute http(s) URL", base.Redacted())
	}
	if c.Blobs == nil {
		bad("no blob store")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"dial timeout", c.DialTimeout}, {"TLS handshake timeout", c.TLSHandshakeTimeout},
		{"response header timeout", c.ResponseHeaderTimeout}, {"idle read timeout", c.IdleReadTimeout},
		{"retry base delay", c.RetryBaseDelay}, {"retry max delay", c.RetryMaxDelay},
		{"breaker cool-down", c.BreakerCooldown}, {"metadata TTL", c.MetadataTTL},
		{"negative TTL", c.NegativeTTL}, {"stale-after deadline", c.StaleAfter},
		{"metadata timeout", c.MetadataTimeout}, {"fetch timeout", c.FetchTimeout},
	} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.BreakerFailures < 0 {
		bad("breaker failures %d is negative", c.BreakerFailures)
	}
	if c.MaxMetadataBytes < 0 || c.MemoryBytes < 0 || c.MemoryEntryBytes < 0 || c.RecentFills < 0 {
		bad("sizes must not be negative")
	}
	if fi, err := os.Stat(c.SpoolDir); err != nil || !fi.IsDir() {
		bad("spool directory %q is not a directory", c.SpoolDir)
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, &domain.Error{Kind: domain.ErrInvalid, Msg: "upstream " + c.Name + ": " + strings.Join(msgs, "; ")}
	}
	return base, nil
}
