package main

import (
	"context"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/events"
	"github.com/artifactd/registry/internal/events/outbox"
	"github.com/artifactd/registry/internal/pipeline/codepipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/server"
)

// startPipelines opens the pipeline engine on <data dir>/pipelines.db,
// resumes the executions a previous process left in flight, and serves
// the CodePipeline API (X-Amz-Target CodePipeline_20150709.*) on srv.
// Close the engine after the HTTP server has shut down and before the
// stores close.
//
// Pipeline, stage and action state changes are written to the engine's
// outbox in the transaction of the change and relayed to JetStream on
// <prefix>.codepipeline.<pipeline> (dots in the name become '_'), with
// the event's dedup id as Nats-Msg-Id; so are the build service's events
// (<prefix>.codebuild.<project>) when builder is the build service's
// (wire_codebuild.go). Both relays stop with ctx.
//
// CodeBuild actions run through builder and Commands actions' secrets
// resolve through secrets (both from the build service,
// wire_codebuild.go). CodeArtifact Source and Deploy actions use the
// registry through registryPackages, and package events reach the engine
// through a durable JetStream consumer (wire_packages.go).
func (a *app) startPipelines(ctx context.Context, srv *server.Server, nc *events.Conn, builder engine.Builder, secrets engine.SecretResolver) (*pipelineService, error) {
	prefix := a.cfg.EventsPrefix
	root, _, err := a.db.EnsureRoot(ctx)
	if err != nil {
		return nil, err
	}
	tokens := buildCredentials{db: a.db, principal: root.PrincipalID}
	packages := registryPackages{db: a.db, blobs: a.blobs,
		npm: &npmPublisher{Handler: srv.Echo, Token: tokens.token, TempDir: a.cfg.Path("pipeline-work")}}
	e, err := engine.Open(ctx, engine.Options{
		DBPath: a.cfg.Path("pipelines.db"), WorkDir: a.cfg.Path("pipeline-work"), Blobs: a.blobs, Log: a.log.With("component", "pipeline"),
		Region: a.cfg.Region, Account: a.account,
		Builder: builder, Secrets: secrets,
		Packages: packages, Publisher: packages,
		Providers: []engine.Provider{a.codeDeployAction()}, // CodeDeploy Deploy actions (codedeploy_action.go)
	})
	if err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return nil, err
	}
	authz := &access.Authorizer{
		Account:          a.account,
		IdentityPolicies: a.db.PrincipalPolicies,
		ResourcePolicy:   func(context.Context, string, string) (string, error) { return "", nil }, // pipelines have none
	}
	api := &codepipeline.API{
		Engine: e, Region: a.cfg.Region, Account: a.account,
		Authorize: func(c echo.Context, action, resource string) error {
			p, ok := server.CallerOf(c)
			return authz.Check(c.Request().Context(), p, ok, action, resource, access.Scope{})
		},
		Caller: func(c echo.Context) string {
			p, _ := server.CallerOf(c)
			return p.ARN(a.account)
		},
	}
	api.Register(srv)
	js, err := jetstream.New(nc.NC)
	if err != nil {
		e.Close()
		return nil, err
	}
	rctx, stop := context.WithCancel(ctx)
	p := &pipelineService{Engine: e, stop: stop}
	relay := func(component string, q events.Queue) {
		f := &events.Forwarder{Queue: q, JS: js, Prefix: prefix, Log: a.log.With("component", component)}
		p.relays.Add(1)
		go func() {
			defer p.relays.Done()
			f.Run(rctx)
		}()
	}
	relay("pipeline-events", e.Outbox())
	if b, ok := builder.(interface{ Outbox() *outbox.Table }); ok {
		relay("build-events", b.Outbox())
	}
	cc, err := deliverPackageEvents(ctx, js, prefix, e, a.log)
	if err != nil {
		p.Close()
		return nil, err
	}
	go func() { <-ctx.Done(); cc.Stop() }()
	return p, nil
}

// pipelineService is the CodePipeline engine and the relays of its
// outbox and the build service's.
type pipelineService struct {
	*engine.Engine
	stop   context.CancelFunc
	relays sync.WaitGroup
}

// Close stops the relays and waits for them, so none is reading an
// outbox when its database closes (the engine's here, the build
// service's after), then closes the engine.
func (p *pipelineService) Close() error {
	p.stop()
	p.relays.Wait()
	return p.Engine.Close()
}
