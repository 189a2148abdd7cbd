// Package formats defines how a package format (npm, PyPI, Maven) plugs
// into the registry: one small interface, implemented in a subpackage and
// registered explicitly in cmd/registry.
//
// Formats import internal/domain and internal/server; they never import
// each other or a storage backend.
package formats

import (
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/server"
)

// Format is one package format's native protocol.
type Format interface {
	// Name is the first path segment of the format's endpoint
	// (/<name>/<domain>/<repo>/).
	Name() string
	// Flavour is the error dialect its clients understand.
	Flavour() server.Flavour
	// Register adds the format's routes to g, the group mounted at
	// /<name>/:domain/:repo with token authentication applied.
	Register(g *echo.Group)
}
