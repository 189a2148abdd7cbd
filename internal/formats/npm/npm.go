// Package npm serves the npm registry protocol for a repository at
// /npm/<domain>/<repo>/ so that unmodified npm clients install from and
// publish to it.
//
// Routes so far:
//
//	GET /-/ping   {} when the caller may read the repository (npm ping)
package npm

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/server"
)

// Format is the npm protocol.
type Format struct {
	// CanRead returns nil if the request's caller may read the repository
	// named by the :domain and :repo path parameters.
	CanRead func(c echo.Context) error
}

var _ formats.Format = (*Format)(nil)

// Name returns "npm".
func (f *Format) Name() string { return "npm" }

// Flavour returns server.NPM.
func (f *Format) Flavour() server.Flavour { return server.NPM }

// Register adds the npm routes.
func (f *Format) Register(g *echo.Group) {
	g.GET("/-/ping", f.ping)
}

func (f *Format) ping(c echo.Context) error {
	if err := f.CanRead(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{})
}
