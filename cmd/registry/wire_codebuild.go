package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/events/outbox"
	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/pipeline/codebuild"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/secrets"
	"github.com/artifactd/registry/internal/server"
)

// codeBuild is the embedded CodeBuild and the secret store its builds
// read. The pipeline engine reaches them through PipelineBuilder and
// SecretResolver.
type codeBuild struct {
	Builds  *build.Service
	Secrets *secrets.Store
}

// wireCodeBuild opens the secret store (secrets.db, secrets.key) and the
// build service (builds.db, builds/) in the data directory and registers
// on srv, in this order: the SSM and Secrets Manager subsets and CodeBuild
// (POST / by X-Amz-Target, SigV4), then the build log and artifact
// downloads (GET /builds/..., the format endpoints' tokens). Log streams
// end when ctx does, so a graceful shutdown does not wait for running
// builds. Close stops the builds, then the secret store.
func (a *app) wireCodeBuild(ctx context.Context, srv *server.Server, base string) (*codeBuild, error) {
	sec, err := secrets.Open(ctx, secrets.Options{Path: a.cfg.Path("secrets.db"), KeyFile: a.cfg.Path("secrets.key"),
		Region: a.cfg.Region, Account: a.account})
	if err != nil {
		return nil, err
	}
	root, _, err := a.db.EnsureRoot(ctx)
	if err != nil {
		sec.Close()
		return nil, err
	}
	creds := buildCredentials{db: a.db, base: base, principal: root.PrincipalID}
	builds, err := build.Open(ctx, build.Config{DataDir: a.cfg.DataDir, Blobs: a.blobs, Secrets: sec,
		Region: a.cfg.Region, Account: a.account, BaseURL: base, Log: a.log,
		ExtraEnv:    map[string]string{"AWS_ENDPOINT_URL": base},
		Credentials: creds.forBuild})
	if err != nil {
		sec.Close()
		return nil, err
	}

	// Identity policies only: these services have no resource policies.
	authz := &access.Authorizer{Account: a.account, IdentityPolicies: a.db.PrincipalPolicies,
		ResourcePolicy: func(context.Context, string, string) (string, error) { return "", nil }}
	authorize := func(c echo.Context, action, resource string) error {
		p, ok := server.CallerOf(c)
		return authz.Check(c.Request().Context(), p, ok, action, resource, access.Scope{})
	}
	srv.HandleTarget(secrets.SSMTargetPrefix, "ssm", (&secrets.SSM{Store: sec, Authorize: authorize}).Handle)
	srv.HandleTarget(secrets.SecretsManagerTargetPrefix, "secretsmanager", (&secrets.SecretsManager{Store: sec, Authorize: authorize}).Handle)
	api := &codebuild.API{Builds: builds, Authorize: authorize, Closing: ctx.Done(), Log: a.log}
	srv.HandleTarget(codebuild.TargetPrefix, codebuild.SigningName, api.Handle)
	authn := &server.Authenticator{LookupKey: a.db.LookupAccessKey, LookupToken: a.tokenLookup()}
	api.RegisterDownloads(srv.Echo, server.SetFlavour(server.Text), authn.Token)
	return &codeBuild{Builds: builds, Secrets: sec}, nil
}

// Close stops running builds (they end FAILED, reason in their phase
// contexts) and closes the stores.
func (cb *codeBuild) Close() error {
	return errors.Join(cb.Builds.Close(), cb.Secrets.Close())
}

var _ build.Secrets = (*secrets.Store)(nil)

// SecretResolver returns the pipeline engine's resolver of
// SECRETS_MANAGER references, backed by the secret store; pass it as
// engine.Options.Secrets.
func (cb *codeBuild) SecretResolver() engine.SecretResolver {
	return func(ctx context.Context, ref string) (string, error) {
		return build.ResolveSecret(ctx, cb.Secrets, ref)
	}
}

// PipelineBuilder returns the pipeline engine's Builder port (CodeBuild
// Build and Test actions) backed by the build service; pass it as
// engine.Options.Builder.
func (cb *codeBuild) PipelineBuilder() engine.Builder { return pipelineBuilder{cb.Builds} }

// pipelineBuilder adapts build.Service to engine.Builder: the sources
// become input artifacts (the first is CODEBUILD_SRC_DIR), the outputs
// are named artifacts, and the result carries the artifact zips by output
// name, the exported variables, the log URL and the reason of a failure.
type pipelineBuilder struct{ svc *build.Service }

// Outbox is the build service's event outbox, which startPipelines relays
// to NATS.
func (p pipelineBuilder) Outbox() *outbox.Table { return p.svc.Outbox() }

var _ engine.Builder = pipelineBuilder{}

func (p pipelineBuilder) StartBuild(ctx context.Context, project string, in engine.BuildInput) (string, error) {
	req := build.StartRequest{Project: project, Initiator: in.Initiator, SourceVersion: in.SourceVersion, OutputArtifacts: in.Outputs}
	for _, r := range in.Repositories {
		req.Repositories = append(req.Repositories, build.Repository{Domain: r.Domain, Repository: r.Repository, Format: r.Format})
	}
	for _, s := range in.Sources {
		req.InputArtifacts = append(req.InputArtifacts, build.InputArtifact{Name: s.Name, Digest: s.SHA256})
	}
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		req.EnvironmentVariables = append(req.EnvironmentVariables, build.EnvVar{Name: k, Value: in.Env[k], Type: build.EnvPlaintext})
	}
	b, err := p.svc.StartBuild(ctx, req)
	return b.ID, err
}

// WaitBuild waits for the build and for the automatic retries of an
// on-failure RETRY it started, and returns the outcome of the last.
func (p pipelineBuilder) WaitBuild(ctx context.Context, id string) (engine.BuildResult, error) {
	b, err := p.svc.Wait(ctx, id)
	for err == nil && b.AutoRetry != nil && b.AutoRetry.NextID != "" {
		b, err = p.svc.Wait(ctx, b.AutoRetry.NextID)
	}
	if errors.Is(err, build.ErrNotFound) {
		return engine.BuildResult{}, fmt.Errorf("%w: %s", engine.ErrUnknownBuild, id)
	}
	if err != nil {
		return engine.BuildResult{}, err
	}
	res := engine.BuildResult{Status: string(b.Status), LogURL: p.svc.LogURL(b.ID), ExportedVariables: map[string]string{}}
	for _, v := range b.ExportedVariables {
		res.ExportedVariables[v.Name] = v.Value
	}
	for _, a := range b.AllArtifacts() {
		res.Outputs = append(res.Outputs, engine.Artifact{Name: a.Identifier, SHA256: a.Digest, Size: a.Size})
	}
	for _, ph := range b.Phases {
		if ph.Status != build.StatusSucceeded && ph.Status != "" && res.Message == "" {
			res.Message = string(ph.Type) + " " + string(ph.Status)
			if len(ph.Contexts) > 0 {
				res.Message += ": " + ph.Contexts[0].StatusCode + ": " + ph.Contexts[0].Message
			}
		}
	}
	return res, nil
}

func (p pipelineBuilder) StopBuild(ctx context.Context, id string) error {
	_, err := p.svc.StopBuild(ctx, id)
	return err
}
