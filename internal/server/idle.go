package server

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// activity counts the requests in flight and remembers when the last one
// ended, for ReleaseMemoryWhenIdle.
type activity struct {
	inflight atomic.Int64
	last     atomic.Int64 // unix nanoseconds of the last request's end
	released atomic.Int64 // the value of last when memory was last released
}

func (a *activity) begin() { a.inflight.Add(1) }

func (a *activity) end() {
	a.last.Store(time.Now().UnixNano())
	a.inflight.Add(-1)
}

// dueForRelease reports whether no request is in flight and none has ended
// for quiet, and whether requests were served since the last release.
func (a *activity) dueForRelease(now time.Time, quiet time.Duration) bool {
	last := a.last.Load()
	return a.inflight.Load() == 0 && last != a.released.Load() && now.Sub(time.Unix(0, last)) >= quiet
}

// ReleaseMemoryWhenIdle returns the heap's free memory to the operating
// system once the server has had no request in flight for quiet after
// serving some: a burst (an npm ci, the first render of a big document)
// grows the heap, and the runtime's own scavenger gives it back only
// slowly, so an idle server would otherwise keep the burst's peak
// resident. It costs two garbage collections per burst. Before
// collecting it calls each of release, which drops what a component keeps
// only to serve a burst faster (idle database connections with their page
// caches, idle upstream connections). It returns when ctx ends.
func (s *Server) ReleaseMemoryWhenIdle(ctx context.Context, quiet time.Duration, release ...func()) {
	t := time.NewTicker(quiet / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.activity.dueForRelease(now, quiet) {
				s.activity.released.Store(s.activity.last.Load())
				for _, f := range release {
					f()
				}
				// two collections: the first moves what sync.Pools hold
				// (copy buffers, net/http's and nats' buffers) to their
				// victim caches, the second frees it
				runtime.GC()
				debug.FreeOSMemory()
				trimCHeap()
			}
		}
	}
}
