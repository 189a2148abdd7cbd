package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/events"
	"github.com/artifactd/registry/internal/pipeline/codedeploy"
	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/pipeline/deploy/agentnats"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// wireCodeDeploy opens the embedded CodeDeploy (deployments.db,
// instances/, deploy-work/ in the data directory) and serves its API
// (X-Amz-Target CodeDeploy_20141006.*, SigV4 "codedeploy") on srv.
// Deployment state changes are published to NATS on
// <prefix>.codedeploy.<application> (dots in the name become '_') as
// EventBridge envelopes. Instances served by remote agents take their
// work over the same connection (internal/pipeline/deploy/agentnats). Close it after the HTTP server has shut down: it
// stops the deployments in flight, which end Failed with the reason.
func (a *app) wireCodeDeploy(ctx context.Context, srv *server.Server, nc *events.Conn) (*deploy.Service, error) {
	prefix := a.cfg.EventsPrefix
	publish := func(ev deploy.Event) {
		body, err := json.Marshal(map[string]any{
			"version": "0", "id": ev.DedupID, "detail-type": ev.DetailType, "source": "aws.codedeploy",
			"account": a.account, "time": time.Now().UTC().Format(time.RFC3339), "region": a.cfg.Region,
			"resources": []string{fmt.Sprintf("arn:aws:codedeploy:%s:%s:deploymentgroup:%s/%s", a.cfg.Region, a.account, ev.Application, ev.Group)},
			"detail": map[string]any{"application": ev.Application, "deploymentGroup": ev.Group, "deploymentId": ev.DeploymentID,
				"state": ev.State, "region": a.cfg.Region},
		})
		if err != nil {
			return
		}
		m := &nats.Msg{Subject: prefix + ".codedeploy." + strings.ReplaceAll(ev.Application, ".", "_"), Data: body, Header: nats.Header{}}
		m.Header.Set(nats.MsgIdHdr, ev.DedupID)
		if err := nc.NC.PublishMsg(m); err != nil {
			a.log.Warn("publishing a deployment event", "deployment_id", ev.DeploymentID, "err", err)
		}
	}
	// codedeploy_minute shortens the minutes of traffic routing configs
	// and blue/green wait times (tests, demos); alarms are then evaluated
	// ten times a scaled minute, at most once a second.
	var minute, alarmEvery time.Duration
	if d := a.cfg.CodeDeployMinute; d > 0 && d != time.Minute {
		minute, alarmEvery = d, min(time.Second, max(d/10, 50*time.Millisecond))
	}
	// Remote agents (`registry agent`, agent.go) register their instances
	// and take their work over this NATS connection (agentnats).
	agents := &agentnats.Dispatcher{NC: nc.NC, Prefix: prefix, Log: a.log.With("component", "codedeploy-agents")}
	svc, err := deploy.Open(ctx, deploy.Options{DataDir: a.cfg.DataDir, Region: a.cfg.Region, Account: a.account,
		Bundles: registryBundles{a.db, a.blobs}, Events: publish, Log: a.log.With("component", "codedeploy"),
		Minute: minute, AlarmInterval: alarmEvery, Remote: agents})
	if err != nil {
		return nil, err
	}
	agents.Register = svc.RegisterAgentInstance
	if err := agents.Start(); err != nil {
		svc.Close()
		return nil, err
	}
	// Identity policies only: CodeDeploy resources have no resource policies.
	authz := &access.Authorizer{Account: a.account, IdentityPolicies: a.db.PrincipalPolicies,
		ResourcePolicy: func(context.Context, string, string) (string, error) { return "", nil }}
	api := &codedeploy.API{Deploy: svc, Region: a.cfg.Region, Account: a.account,
		Authorize: func(c echo.Context, action, resource string) error {
			p, ok := server.CallerOf(c)
			return authz.Check(c.Request().Context(), p, ok, action, resource, access.Scope{})
		}}
	srv.HandleTarget(codedeploy.TargetPrefix, codedeploy.SigningName, api.Handle)
	return svc, nil
}

// registryBundles resolves S3-style revision locations: bucket
// "<domain>/<repository>" and key "<namespace>/<package>/<version>/<asset>"
// name a generic package asset; bucket "codepipeline-artifacts" and key
// "<sha256>" a pipeline artifact's zip.
type registryBundles struct {
	db    *sqlite.DB
	blobs blob.Store
}

var _ deploy.BundleSource = registryBundles{}

func (r registryBundles) Fetch(ctx context.Context, loc deploy.S3Location, w io.Writer) error {
	if loc.Bucket == pipelineArtifactBucket {
		if !artifactDigestRE.MatchString(loc.Key) {
			return fmt.Errorf("%w: a pipeline artifact's key is its sha256 digest, not %q", deploy.ErrInvalid, loc.Key)
		}
		rc, _, err := r.blobs.Open(ctx, loc.Key)
		if blob.IsNotFound(err) {
			return fmt.Errorf("%w: pipeline artifact %s", deploy.ErrNotFound, loc.Key)
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(w, rc)
		return err
	}
	dom, repo, ok := strings.Cut(loc.Bucket, "/")
	parts := strings.Split(loc.Key, "/")
	if !ok || dom == "" || repo == "" || len(parts) != 4 || slicesHasEmpty(parts) {
		return fmt.Errorf("%w: s3Location names a registry package asset: bucket \"<domain>/<repository>\", key \"<namespace>/<package>/<version>/<asset>\"; got %q and %q",
			deploy.ErrInvalid, loc.Bucket, loc.Key)
	}
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: parts[0], Name: parts[1]}
	page := domain.Page{Limit: 1000}
	for {
		assets, _, next, err := r.db.ListAssets(ctx, dom, repo, ref, parts[2], page)
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("%w: %v", deploy.ErrNotFound, err)
		}
		if err != nil {
			return err
		}
		for _, as := range assets {
			if as.Name != parts[3] {
				continue
			}
			rc, _, err := r.blobs.Open(ctx, as.Hashes.SHA256)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(w, rc)
			return err
		}
		if next == "" {
			return fmt.Errorf("%w: generic package %s/%s %s in %s/%s has no asset %s", deploy.ErrNotFound, parts[0], parts[1], parts[2], dom, repo, parts[3])
		}
		page.After = next
	}
}

var artifactDigestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func slicesHasEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}
