package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/config"
	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/blob"
	blobfs "github.com/artifactd/registry/internal/blob/fs"
	blobs3 "github.com/artifactd/registry/internal/blob/s3"
	"github.com/artifactd/registry/internal/codeartifact"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/events"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/formats/maven"
	"github.com/artifactd/registry/internal/formats/npm"
	"github.com/artifactd/registry/internal/formats/pypi"
	"github.com/artifactd/registry/internal/formats/rendered"
	"github.com/artifactd/registry/internal/iam"
	"github.com/artifactd/registry/internal/policy"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// app is the wired registry: stores first, then services, then HTTP.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	db      *sqlite.DB
	blobs   blob.Store
	account string
	// ups are the external connections' clients (wire_upstream.go), set
	// before httpServer.
	ups *upstreams
	// tokens is the token lookup every authenticator shares: successful
	// lookups cached for at most 30 s (server.CacheTokens).
	tokensOnce sync.Once
	tokens     func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error)
}

// tokenLookup returns the shared, cached token lookup. A deleted user's
// token authenticates for at most the cache's TTL, with no policies left
// to allow anything.
func (a *app) tokenLookup() func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error) {
	a.tokensOnce.Do(func() { a.tokens = server.CacheTokens(a.db.LookupTokenExpiry, 0) })
	return a.tokens
}

func newLogger(c config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStores opens the data directory, the metadata database and the blob
// store, and fixes the account id.
func openStores(ctx context.Context, c config.Config, log *slog.Logger) (*app, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := sqlite.Open(ctx, c.Path("registry.db"))
	if err != nil {
		return nil, err
	}
	a := &app{cfg: c, log: log, db: db}
	acct := c.AccountID
	if acct == "" {
		acct, err = db.SetMetaIfAbsent(ctx, "account_id", randomAccount())
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	a.account = acct
	db.SetAccount(acct)
	switch c.Blob.Backend {
	case "s3":
		s := c.Blob.S3
		a.blobs, err = blobs3.New(ctx, blobs3.Config{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket, Prefix: s.Prefix,
			AccessKey: s.AccessKey, SecretKey: s.SecretKey, UseSSL: s.UseSSL, CreateBucket: true})
	default:
		a.blobs, err = blobfs.New(c.Path("blobs"))
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func randomAccount() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e11))
	return fmt.Sprintf("%012d", n.Int64()+1e11)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := loadConfig("serve", args, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	a, err := openStores(ctx, c, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if c.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.MemoryLimit)
	}
	// heap profiles are read only through --debug-listen: without it,
	// sampling would only grow the runtime's table of allocation stacks
	if c.DebugListen == "" && !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate") {
		runtime.MemProfileRate = 0
	}
	// rendered documents: one byte budget for every format; big ones go
	// gzipped to unlinked files under cache/ (emptied at start: nothing
	// there outlives the process that wrote it)
	spill := c.Path("cache", "rendered")
	os.RemoveAll(spill)
	if err := os.MkdirAll(spill, 0o700); err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	rendered.Configure(c.RenderedCacheBytes, spill)
	if c.DebugListen != "" {
		stop, err := serveDebug(c.DebugListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	root, created, err := a.db.EnsureRoot(ctx)
	if err != nil {
		return err
	}
	if err := writeRootCredentials(c, a.account, root); err != nil {
		return err
	}
	if created {
		log.Info("created root access key", "file", c.Path(rootCredentialsFile), "access_key_id", root.ID)
	}

	var nc *events.Conn
	if c.NATSURL != "" {
		nc, err = events.Connect(c.NATSURL, c.NATSCredentials)
	} else {
		nc, err = events.StartEmbedded(c.Path("nats"), c.NATSListen)
	}
	if err != nil {
		return err
	}
	defer nc.Close()
	if u := nc.ClientURL(); u != "" {
		log.Info("embedded NATS listening", "url", u)
	}
	relayDone, err := a.startRelay(ctx, nc)
	if err != nil {
		return err
	}
	defer func() { <-relayDone }()

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.PublicURL == "" {
		c.Listen = ln.Addr().String() // a :0 port becomes the real one
	}
	base := c.BaseURL()
	if err := os.WriteFile(c.Path(endpointFile), []byte(base+"\n"), 0o600); err != nil {
		return err
	}

	ups, err := a.startUpstreams(ctx) // external connections (wire_upstream.go)
	if err != nil {
		return err
	}
	defer ups.Close()
	a.ups = ups
	srv := a.httpServer(nc, base)
	cb, err := a.wireCodeBuild(ctx, srv, base) // CodeBuild, SSM, Secrets Manager (wire_codebuild.go)
	if err != nil {
		return err
	}
	defer cb.Close()
	pipelines, err := a.startPipelines(ctx, srv, nc, cb.PipelineBuilder(), cb.SecretResolver()) // CodePipeline (wire_codepipeline.go)
	if err != nil {
		return err
	}
	defer pipelines.Close()
	deployments, err := a.wireCodeDeploy(ctx, srv, nc) // CodeDeploy (wire_codedeploy.go)
	if err != nil {
		return err
	}
	defer deployments.Close()
	log.Info("registry listening", "endpoint", base, "listen", ln.Addr().String(), "data_dir", c.DataDir, "account", a.account,
		"credentials", "eval \"$(registry credentials --data-dir "+c.DataDir+" --env)\"")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go srv.ReleaseMemoryWhenIdle(ctx, 5*time.Second, a.db.ReleaseIdle, ups.ReleaseIdle)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-errc
}

// startRelay starts publishing outbox events to JetStream; the returned
// channel closes when the relay has stopped (after ctx is done).
func (a *app) startRelay(ctx context.Context, nc *events.Conn) (<-chan struct{}, error) {
	js, err := jetstream.New(nc.NC)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := events.EnsureStream(sctx, js, a.cfg.EventsPrefix); err != nil {
		return nil, err
	}
	r := &events.Relay{Outbox: a.db, JS: js, Prefix: a.cfg.EventsPrefix, Region: a.cfg.Region, Account: a.account, Log: a.log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return done, nil
}

// httpServer assembles the HTTP layer. Order of the request path:
// request id -> recover -> metrics/log -> authentication (per group) ->
// handler (authorization inside) -> error handler.
func (a *app) httpServer(nc *events.Conn, base string) *server.Server {
	authn := &server.Authenticator{LookupKey: a.db.LookupAccessKey, LookupToken: a.tokenLookup()}
	srv := server.New(server.Options{Log: a.log, Auth: authn, Ready: func(ctx context.Context) error {
		if err := a.db.SQL().PingContext(ctx); err != nil {
			return err
		}
		return nc.Ready()
	}})
	authz := &access.Authorizer{
		Account:          a.account,
		IdentityPolicies: a.db.PrincipalPolicies,
		ResourcePolicy:   access.StoredPolicies(a.db.GetPolicy),
	}
	ca := &codeartifact.API{DB: a.db, Blobs: a.blobs, Authz: authz, ARNs: access.ARNs{Region: a.cfg.Region, Account: a.account},
		BaseURL: base, MaxAssetBytes: a.cfg.MaxAssetBytes, Log: a.log, Connections: a.ups.customConnections()}
	ca.Register(srv.CodeArtifact())
	a.registerAdmin(srv, authz) // DELETE /admin/upstream-cache (admin.go)

	repoExists := func(ctx context.Context, d, r string) error { _, err := a.db.GetRepository(ctx, d, r); return err }
	authorizeFormat := authz.FormatAuthorizer(ca.ARNs, repoExists)
	preferCached := a.preferCached()
	for _, f := range []formats.Format{
		&npm.Format{Store: a.db, Blobs: a.blobs, BaseURL: base, MaxPublishBytes: a.cfg.NPMMaxPublishBytes, Authorize: authorizeFormat,
			Chain: a.db, Upstreams: a.ups.of(domain.FormatNPM), PreferCached: preferCached},
		&maven.Format{Store: a.db, Blobs: a.blobs, MaxFileBytes: a.cfg.MaxAssetBytes, Authorize: authorizeFormat,
			Chain: a.db, Upstreams: a.ups.of(domain.FormatMaven), PreferCached: preferCached},
		&pypi.Format{Store: a.db, Blobs: a.blobs, MaxFileBytes: a.cfg.MaxAssetBytes, Authorize: authorizeFormat,
			Chain: a.db, Upstreams: a.ups.of(domain.FormatPyPI), PreferCached: preferCached},
	} {
		f.Register(srv.Format(f.Name(), f.Flavour()))
	}

	iamAuthz := func(ctx context.Context, caller domain.Principal, action, resource string) error {
		return authz.Check(ctx, caller, true, action, resource, access.Scope{})
	}
	validate := func(doc string) error { _, err := policy.Parse(doc, policy.Identity); return err }
	ih := iam.New(a.db, iamAuthz, a.account, validate)
	ih.Logger = a.log
	srv.HandleQuery(func(c echo.Context) error {
		r := c.Request()
		if err := r.ParseForm(); err != nil {
			return domain.Invalid("malformed form body: %v", err)
		}
		p, _ := server.CallerOf(c)
		ih.Serve(c.Response(), r, server.ServiceOf(c), p, r.PostForm, server.RequestID(c))
		return nil
	})
	return srv
}

// serveDebug serves net/http/pprof on addr, a listener of its own (the
// public mux never has these routes; the package's registration on
// http.DefaultServeMux is inert, as nothing here serves that mux). It
// returns a function closing the listener.
func serveDebug(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	log.Warn("pprof debug endpoint listening, unauthenticated", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}
