package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/events"
	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
	"github.com/artifactd/registry/internal/sqlite"
)

// registryPackages adapts the registry's store to the pipeline engine's
// PackageSource and PackagePublisher (internal/pipeline may not import
// the registry; this adapter is the one place they meet).
type registryPackages struct {
	db    *sqlite.DB
	blobs blob.Store
	// npm publishes npm packages (deploy_npm.go); nil refuses them.
	npm *npmPublisher
}

var (
	_ engine.PackageSource    = registryPackages{}
	_ engine.PackagePublisher = registryPackages{}
)

// Latest returns the most recently published version the query selects.
func (r registryPackages) Latest(ctx context.Context, q engine.PackageQuery) (engine.PackageVersion, error) {
	f := pipeline.PackageFilter{Domain: q.Domain, Repository: q.Repository, Format: q.Format, Namespace: q.Namespace, Name: q.Name, Version: q.Version}
	var best engine.PackageVersion
	var bestAt time.Time
	page := domain.Page{Limit: 1000}
	for {
		pkgs, next, err := r.db.ListPackages(ctx, q.Domain, q.Repository, domain.PackageFilter{Format: domain.Format(q.Format)}, page)
		if err != nil {
			return best, err
		}
		for _, p := range pkgs {
			vpage := domain.Page{Limit: 1000}
			for {
				vs, vnext, err := r.db.ListVersions(ctx, q.Domain, q.Repository, p.PackageRef, domain.VersionFilter{Status: domain.StatusPublished}, vpage)
				if err != nil {
					return best, err
				}
				for _, v := range vs {
					if f.Matches(q.Domain, q.Repository, string(p.Format), p.Namespace, p.Name, v.Version) && !v.PublishedAt.Before(bestAt) {
						bestAt = v.PublishedAt
						best = engine.PackageVersion{Domain: q.Domain, Repository: q.Repository, Format: string(p.Format),
							Namespace: p.Namespace, Name: p.Name, Version: v.Version, Revision: v.Revision}
					}
				}
				if vnext == "" {
					break
				}
				vpage.After = vnext
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	if best.Version == "" {
		return best, fmt.Errorf("%w in %s/%s", engine.ErrNoPackageVersion, q.Domain, q.Repository)
	}
	return best, nil
}

// Assets returns a version's assets; their bytes are already in the blob
// store the engine shares.
func (r registryPackages) Assets(ctx context.Context, v engine.PackageVersion) ([]engine.Asset, error) {
	ref := domain.PackageRef{Format: domain.Format(v.Format), Namespace: v.Namespace, Name: v.Name}
	var out []engine.Asset
	page := domain.Page{Limit: 1000}
	for {
		as, _, next, err := r.db.ListAssets(ctx, v.Domain, v.Repository, ref, v.Version, page)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			out = append(out, engine.Asset{Name: a.Name, SHA256: a.Hashes.SHA256, Size: a.Size})
		}
		if next == "" {
			return out, nil
		}
		page.After = next
	}
}

// Publish publishes an artifact's files as a new package version: for
// format generic each file an asset, for npm the package the files hold
// (deploy_npm.go). Publishing identical content again returns the
// existing version.
func (r registryPackages) Publish(ctx context.Context, p engine.Publication) (engine.PackageVersion, error) {
	switch p.Format {
	case string(domain.FormatGeneric):
	case string(domain.FormatNPM):
		return r.publishNPM(ctx, p)
	default:
		return engine.PackageVersion{}, domain.Invalid("the CodeArtifact deploy action publishes generic and npm packages; %s is not supported", p.Format)
	}
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: p.Namespace, Name: p.Name}
	if err := domain.ValidatePackageRef(ref); err != nil {
		return engine.PackageVersion{}, err
	}
	if err := domain.ValidateVersion(p.Version); err != nil {
		return engine.PackageVersion{}, err
	}
	var assets []domain.Asset
	for _, f := range p.Files {
		info, err := r.blobs.Stat(ctx, f.SHA256)
		if err != nil {
			return engine.PackageVersion{}, err
		}
		h, err := hashBlobAll(ctx, r.blobs, f.SHA256)
		if err != nil {
			return engine.PackageVersion{}, err
		}
		assets = append(assets, domain.Asset{Name: f.Name, Size: info.Size, Hashes: h})
	}
	v, err := r.db.PublishVersion(ctx, domain.PublishInput{Domain: p.Domain, Repository: p.Repository, Ref: ref, Version: p.Version, Assets: assets})
	if errors.Is(err, domain.ErrConflict) {
		existing, _, _, lerr := r.db.ListAssets(ctx, p.Domain, p.Repository, ref, p.Version, domain.Page{Limit: 1000})
		if lerr == nil && sameAssets(existing, assets) {
			v, err = r.db.GetVersion(ctx, p.Domain, p.Repository, ref, p.Version)
		}
	}
	if err != nil {
		return engine.PackageVersion{}, err
	}
	return engine.PackageVersion{Domain: p.Domain, Repository: p.Repository, Format: p.Format, Namespace: p.Namespace,
		Name: p.Name, Version: v.Version, Revision: v.Revision}, nil
}

func sameAssets(a, b []domain.Asset) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]string{}
	for _, x := range a {
		m[x.Name] = x.Hashes.SHA256
	}
	for _, x := range b {
		if m[x.Name] != x.Hashes.SHA256 {
			return false
		}
	}
	return true
}

// hashBlobAll computes every digest of a committed blob.
func hashBlobAll(ctx context.Context, s blob.Store, digest string) (domain.Hashes, error) {
	f, _, err := s.Open(ctx, digest)
	if err != nil {
		return domain.Hashes{}, err
	}
	defer f.Close()
	h := blob.NewHasher()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return h.Result().Hashes, nil
}

// deliverPackageEvents feeds package events from JetStream (a durable
// consumer, so nothing is missed across restarts) into the pipeline
// engine, which starts each matching pipeline once per dedup id. The
// events that arrived while the engine was starting the previous ones go
// to it together (startPackageEvents), so a burst of publishes costs one
// engine transaction per pipeline and batch, not per event.
func deliverPackageEvents(ctx context.Context, js jetstream.JetStream, prefix string, e *engine.Engine, log *slog.Logger) (jetstream.ConsumeContext, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable: "pipelines", FilterSubject: prefix + ".codeartifact.>", AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy, MaxDeliver: 10, AckWait: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline event consumer: %w", err)
	}
	msgs := make(chan jetstream.Msg, packageEventBatch)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done(): // unacknowledged: delivered again after the restart
		}
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline event consumer: %w", err)
	}
	go startPackageEvents(ctx, msgs, e, log)
	return cc, nil
}

// packageEventBatch bounds how many package events go to the engine at
// once.
const packageEventBatch = 64

// startPackageEvents hands the package events of msgs to the engine until
// ctx is done: each batch is the first event waiting plus whatever else
// is already waiting.
func startPackageEvents(ctx context.Context, msgs <-chan jetstream.Msg, e *engine.Engine, log *slog.Logger) {
	for {
		var batch []jetstream.Msg
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			batch = append(batch, m)
		}
	more:
		for len(batch) < packageEventBatch {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break more
			}
		}
		startPackageEventBatch(ctx, batch, e, log)
	}
}

// startPackageEventBatch starts the pipelines of a batch of package
// events and acknowledges each event once its pipelines started.
func startPackageEventBatch(ctx context.Context, batch []jetstream.Msg, e *engine.Engine, log *slog.Logger) {
	evs := make([]pipeline.PackageEvent, 0, len(batch))
	msgs := make([]jetstream.Msg, 0, len(batch))
	for _, m := range batch {
		var env struct {
			Detail pipeline.PackageEvent `json:"detail"`
		}
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			log.Warn("undecodable package event", "subject", m.Subject(), "err", err)
			m.Term()
			continue
		}
		evs, msgs = append(evs, env.Detail), append(msgs, m)
	}
	if len(evs) == 0 {
		return
	}
	if _, err := e.HandlePackageEvents(ctx, evs); err == nil {
		for _, m := range msgs {
			m.Ack()
		}
		return
	}
	// One event may be what fails: start them one by one, so that the
	// others are not redelivered (and finally dropped) with it.
	for i, m := range msgs {
		if _, err := e.HandlePackageEvent(ctx, evs[i]); err != nil {
			log.Warn("starting pipelines for a package event", "event", evs[i].EventDeduplicationID, "err", err)
			m.Nak()
			continue
		}
		m.Ack()
	}
}
