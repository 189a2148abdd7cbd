package upstream

import "time"

// Kind says which of the two caches a metric is about.
type Kind uint8

const (
	// KindMetadata is a mutable document (packument, simple index,
	// maven-metadata.xml) cached with a TTL.
	KindMetadata Kind = iota
	// KindArtifact is an immutable file (tarball, wheel, jar).
	KindArtifact
)

// String returns the kind as a metric label value.
func (k Kind) String() string {
	if k == KindArtifact {
		return "artifact"
	}
	return "metadata"
}

// Outcome says how a lookup was answered.
type Outcome uint8

const (
	// Hit: served from the cache without contacting upstream.
	Hit Outcome = iota
	// NegativeHit: answered not-found from the negative cache.
	NegativeHit
	// Miss: no usable copy, this lookup started an upstream request.
	Miss
	// Coalesced: joined an upstream request another caller had started.
	Coalesced
	// Stale: served an expired copy because upstream failed or was slow.
	Stale
)

// String returns the outcome as a metric label value.
func (o Outcome) String() string {
	switch o {
	case Hit:
		return "hit"
	case NegativeHit:
		return "negative_hit"
	case Miss:
		return "miss"
	case Coalesced:
		return "coalesced"
	case Stale:
		return "stale"
	}
	return "unknown"
}

// Metrics receives counters from a Client; cmd/registry adapts it to
// Prometheus. Methods are called synchronously on hot paths, so they must be
// cheap, must not block and must be safe for concurrent use. Embed Nop to
// implement only some of them. upstream is Config.Name.
type Metrics interface {
	// Lookup counts one Metadata or Fetch call by how it was answered.
	Lookup(upstream string, kind Kind, o Outcome)
	// Revalidated counts one upstream answer to a revalidation of an expired
	// metadata copy: 304 (unchanged), 200 (changed), 404 or 410 (gone).
	Revalidated(upstream string, status int)
	// BreakerChanged reports a circuit breaker transition.
	BreakerChanged(upstream string, from, to BreakerState)
	// Request reports one upstream HTTP exchange: its status (0 when no
	// response arrived) and how long it took, body included.
	Request(upstream string, kind Kind, status int, d time.Duration)
	// BackgroundError reports a failure no caller will see: a fill or
	// revalidation every waiter had given up on, or a failed write to the
	// persistent metadata cache. Wiring logs it.
	BackgroundError(upstream string, err error)
}

// Nop is a Metrics that records nothing.
type Nop struct{}

// Lookup implements Metrics.
func (Nop) Lookup(string, Kind, Outcome) {}

// Revalidated implements Metrics.
func (Nop) Revalidated(string, int) {}

// BreakerChanged implements Metrics.
func (Nop) BreakerChanged(string, BreakerState, BreakerState) {}

// Request implements Metrics.
func (Nop) Request(string, Kind, int, time.Duration) {}

// BackgroundError implements Metrics.
func (Nop) BackgroundError(string, error) {}

var _ Metrics = Nop{}
