package traffic

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
)

func (p *Proxy) newBackend(u *url.URL) *backend {
	b := &backend{url: u}
	b.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			// SetXForwarded replaces X-Forwarded-For; keep the chain a
			// client or an outer proxy sent.
			if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
				host, _, err := net.SplitHostPort(pr.In.RemoteAddr)
				if err == nil {
					chain := append(append([]string(nil), prior...), host)
					pr.Out.Header.Set("X-Forwarded-For", joinComma(chain))
				}
			}
		},
		Transport:     p.tr,
		FlushInterval: -1, // stream: flush every write
		BufferPool:    copyBuffers,
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				p.log.Warn("traffic: backend failed", "backend", u.Redacted(), "err", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return b
}

// copyBuffers recycles the 32 KiB buffers ReverseProxy copies bodies
// through, which it would otherwise allocate per request.
var copyBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func joinComma(ss []string) string {
	n := 0
	for _, s := range ss {
		n += len(s) + 2
	}
	buf := make([]byte, 0, n)
	for i, s := range ss {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, s...)
	}
	return string(buf)
}
