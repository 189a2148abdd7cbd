package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the HTTP front of the registry.
type Server struct {
	Echo *echo.Echo
	log  *slog.Logger
	auth *Authenticator

	metrics  *metrics
	ready    func(context.Context) error
	targets  map[string]echo.HandlerFunc // X-Amz-Target prefix -> handler
	queryAPI echo.HandlerFunc            // IAM/STS query protocol
	http     *http.Server
	activity activity
}

// Options configures New.
type Options struct {
	Log *slog.Logger
	// Auth resolves callers; see Authenticator.
	Auth *Authenticator
	// Ready reports whether the server can serve (checked by /readyz).
	Ready func(context.Context) error
	// Registry receives the Prometheus collectors; nil means a new registry.
	Registry *prometheus.Registry
}

// New builds a server with the middleware chain, in this order (outermost
// first): request id, recover, metrics + access log. Routes are added by
// the API and format packages through the groups it exposes.
func New(o Options) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{Echo: e, log: o.Log, auth: o.Auth, metrics: newMetrics(reg), ready: o.Ready, targets: map[string]echo.HandlerFunc{}}
	e.HTTPErrorHandler = s.handleError
	e.Use(s.requestID, s.recover, s.observe)

	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		if s.ready != nil {
			if err := s.ready(c.Request().Context()); err != nil {
				return c.String(http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			}
		}
		return c.String(http.StatusOK, "ready\n")
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	e.POST("/", s.dispatchRoot, SetFlavour(JSON11))
	return s
}

// CodeArtifact returns the /v1 group: rest-json errors, SigV4 required
// with signing name "codeartifact".
func (s *Server) CodeArtifact() *echo.Group {
	return s.Echo.Group("/v1", SetFlavour(RestJSON), s.auth.SigV4("codeartifact"))
}

// Format returns the group of a package format under /<name>/:domain/:repo,
// with the given error flavour and token authentication (the caller is
// resolved if credentials are present; handlers authorise).
func (s *Server) Format(name string, f Flavour) *echo.Group {
	return s.Echo.Group("/"+name+"/:domain/:repo", SetFlavour(f), s.auth.Token)
}

// HandleTarget routes POST / requests whose X-Amz-Target starts with
// prefix (e.g. "CodePipeline_20150709.") to h, after SigV4 with service.
func (s *Server) HandleTarget(prefix, service string, h echo.HandlerFunc) {
	s.targets[prefix] = s.auth.SigV4(service)(h)
}

// HandleQuery routes POST / form requests with an Action (IAM, STS) to h,
// after SigV4 for the service the credential scope names.
func (s *Server) HandleQuery(h echo.HandlerFunc) {
	s.queryAPI = s.auth.SigV4("iam", "sts")(h)
}

func (s *Server) dispatchRoot(c echo.Context) error {
	r := c.Request()
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		for prefix, h := range s.targets {
			if strings.HasPrefix(t, prefix) {
				return h(c)
			}
		}
		return &APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "unknown operation " + t}
	}
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) && s.queryAPI != nil {
		c.Set(flavourKey, Query)
		return s.queryAPI(c)
	}
	return &APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "request names no operation (X-Amz-Target or Action)"}
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.http = &http.Server{Handler: s.Echo, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for in-flight ones.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}

const requestIDKey = "registry.request_id"

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// RequestID returns the id of the request c serves.
func RequestID(c echo.Context) string { return requestID(c) }

func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [16]byte
		rand.Read(b[:])
		h := hex.EncodeToString(b[:])
		id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		c.Set(requestIDKey, id)
		c.Response().Header().Set("x-amzn-RequestId", id)
		return next(c)
	}
}

func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic serving request", "request_id", requestID(c), "panic", r)
				err = errors.New("internal panic")
			}
		}()
		return next(c)
	}
}

func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		s.activity.begin()
		defer s.activity.end()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route, c.Request().Method).Observe(d.Seconds())
		attrs := []any{"request_id", requestID(c), "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", status, "bytes", c.Response().Size, "duration_ms", d.Milliseconds()}
		if p, ok := CallerOf(c); ok {
			attrs = append(attrs, "principal", p.Name)
		}
		if op, _ := c.Get(operationKey).(string); op != "" {
			attrs = append(attrs, "operation", op)
		}
		if err != nil && status >= 400 {
			// why it was refused, as the client was told (error messages
			// name resources, never credentials)
			attrs = append(attrs, "error", truncateMsg(err.Error(), 200))
		}
		s.log.Info("request", attrs...)
		return nil
	}
}

const operationKey = "registry.operation"

// SetOperation records the API operation name of a request for the access
// log.
func SetOperation(c echo.Context, op string) { c.Set(operationKey, op) }

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "registry_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "registry_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// truncateMsg cuts s to at most n bytes, on a UTF-8 boundary.
func truncateMsg(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
