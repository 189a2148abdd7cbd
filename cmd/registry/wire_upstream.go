package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/artifactd/registry/config"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/upstream"
)

// upstreams are the external connections' clients by format and
// connection name, closed on shutdown.
type upstreams struct {
	byFormat map[domain.Format]map[string]formats.Upstream
	// custom are the configured custom connections' formats, for
	// AssociateExternalConnection.
	custom  map[string]domain.Format
	clients []*upstream.Client
}

// of returns the clients serving one format (never nil).
func (u *upstreams) of(f domain.Format) map[string]formats.Upstream {
	if u == nil || u.byFormat[f] == nil {
		return map[string]formats.Upstream{}
	}
	return u.byFormat[f]
}

// customConnections returns the custom connections' formats (nil-safe).
func (u *upstreams) customConnections() map[string]domain.Format {
	if u == nil {
		return nil
	}
	return u.custom
}

// Close stops every client's fills and refreshes and waits for them.
func (u *upstreams) Close() error {
	var errs []error
	for _, c := range u.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// ReleaseIdle closes every client's idle connections.
func (u *upstreams) ReleaseIdle() {
	for _, c := range u.clients {
		c.CloseIdleConnections()
	}
}

// startUpstreams builds the clients of the external connections:
// public:npmjs (npm_upstream, else the registry npm's own configuration
// names), public:pypi (pypi_upstream, else pip's configured index, else
// PyPI), public:maven-central (maven_upstream, else Maven Central) and
// every custom connection of the configuration. Metadata persists under
// the data directory (upstream/), artifacts go to the registry's blob
// store. A connection whose URL cannot be found is left out (logged): it
// then contributes nothing, and repositories still serve what they hold.
func (a *app) startUpstreams(ctx context.Context) (*upstreams, error) {
	u := &upstreams{byFormat: map[domain.Format]map[string]formats.Upstream{}, custom: map[string]domain.Format{}}
	cache, err := upstream.NewDiskCache(a.cfg.Path("upstream"))
	if err != nil {
		return nil, err
	}
	spool := a.cfg.Path("spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, err
	}
	mem := upstream.NewMemoryCache(0) // one budget for every connection's validators
	add := func(name string, f domain.Format, base string) error {
		cl, err := upstream.New(upstream.Config{Name: strings.ReplaceAll(name, ":", "-"), BaseURL: strings.TrimRight(base, "/") + "/",
			Blobs: a.blobs, SpoolDir: spool, Persist: cache, Memory: mem,
			DiskBodies: true}) // the formats render from bodies on demand and keep what they render
		if err != nil {
			return err
		}
		u.clients = append(u.clients, cl)
		if u.byFormat[f] == nil {
			u.byFormat[f] = map[string]formats.Upstream{}
		}
		u.byFormat[f][name] = cl
		a.log.Info("external connection", "name", name, "format", f, "url", redactURL(base))
		return nil
	}
	npmReg := a.cfg.NPMUpstream
	if npmReg == "" {
		npmReg, err = config.DefaultNPMUpstream(ctx, os.Environ())
		if err != nil {
			a.log.Warn("no npm upstream: set npm_upstream (--npm-upstream, REGISTRY_NPM_UPSTREAM) to enable public:npmjs", "err", err)
		}
	}
	pypiIndex := a.cfg.PyPIUpstream
	if pypiIndex == "" {
		pypiIndex = config.DefaultPyPIUpstream(ctx, os.Environ())
	}
	mavenRepo := a.cfg.MavenUpstream
	if mavenRepo == "" {
		mavenRepo = config.MavenCentral
	}
	for _, c := range []struct {
		name string
		f    domain.Format
		url  string
	}{{"public:npmjs", domain.FormatNPM, npmReg}, {"public:pypi", domain.FormatPyPI, pypiIndex}, {"public:maven-central", domain.FormatMaven, mavenRepo}} {
		if c.url == "" {
			continue
		}
		if err := add(c.name, c.f, c.url); err != nil {
			u.Close()
			return nil, err
		}
	}
	for _, c := range a.cfg.ExternalConnections {
		f := domain.Format(c.Format)
		if err := add(c.Name, f, c.URL); err != nil {
			u.Close()
			return nil, err
		}
		u.custom[c.Name] = f
	}
	return u, nil
}

// redactURL hides the password of a URL's userinfo for logs; a URL that
// does not parse is not shown at all, as it may hold a secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// preferCached returns whether a repository is one of the configuration's
// prefer_cached repositories.
func (a *app) preferCached() func(dom, repo string) bool {
	set := map[string]bool{}
	for _, r := range a.cfg.PreferCached {
		set[r] = true
	}
	return func(dom, repo string) bool { return set[dom+"/"+repo] }
}
