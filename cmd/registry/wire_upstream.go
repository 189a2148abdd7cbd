package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/artifactd/registry/config"
	"github.com/artifactd/registry/internal/formats/npm"
	"github.com/artifactd/registry/internal/upstream"
)

// npmConnection is the external connection name the npm upstream serves.
const npmConnection = "public:npmjs"

// upstreams are the external connections' clients, closed on shutdown.
type upstreams struct {
	npm     map[string]npm.Upstream
	clients []*upstream.Client
}

// Close stops every client's fills and refreshes and waits for them.
func (u *upstreams) Close() error {
	var errs []error
	for _, c := range u.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// startUpstreams builds the clients of the external connections: for
// public:npmjs the configured npm_upstream, else the registry npm's own
// configuration names. Metadata persists under the data directory
// (upstream/), artifacts go to the registry's blob store. A connection
// whose URL cannot be found is left out (logged): it then contributes
// nothing, and repositories still serve what they hold.
func (a *app) startUpstreams(ctx context.Context) (*upstreams, error) {
	u := &upstreams{npm: map[string]npm.Upstream{}}
	reg := a.cfg.NPMUpstream
	if reg == "" {
		var err error
		reg, err = config.DefaultNPMUpstream(ctx, os.Environ())
		if err != nil {
			a.log.Warn("no npm upstream: set npm_upstream (--npm-upstream, REGISTRY_NPM_UPSTREAM) to enable "+npmConnection, "err", err)
			return u, nil
		}
	}
	cache, err := upstream.NewDiskCache(a.cfg.Path("upstream"))
	if err != nil {
		return nil, err
	}
	spool := a.cfg.Path("spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, err
	}
	cl, err := upstream.New(upstream.Config{Name: "npmjs", BaseURL: strings.TrimRight(reg, "/") + "/", Blobs: a.blobs,
		SpoolDir: spool, Persist: cache})
	if err != nil {
		return nil, err
	}
	u.clients = append(u.clients, cl)
	u.npm[npmConnection] = cl
	a.log.Info("external connection", "name", npmConnection, "url", reg)
	return u, nil
}
