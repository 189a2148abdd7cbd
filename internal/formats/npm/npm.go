package npm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/server"
)

// Actions the format asks Authorize about.
const (
	// ActionRead is asked with a nil ref: reading is repository-wide.
	ActionRead = "codeartifact:ReadFromRepository"
	// ActionPublish covers publishing, dist-tag changes and deprecation.
	ActionPublish = "codeartifact:PublishPackageVersion"
	// ActionDeleteVersions covers unpublishing versions.
	ActionDeleteVersions = "codeartifact:DeletePackageVersions"
	// ActionDeletePackage covers unpublishing a whole package.
	ActionDeletePackage = "codeartifact:DeletePackage"
)

// Reader is what serving packuments, tarballs and searches needs of the
// metadata store.
type Reader interface {
	// PackageStamp returns a value that changes whenever anything a
	// packument shows changes; ErrNotFound for an unknown package.
	PackageStamp(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error)
	// View returns a package with every version (any status), its assets
	// and tags, read in one snapshot.
	View(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.PackageView, error)
	// Readme returns the readme of a version.
	Readme(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) (string, domain.PackageVersion, error)
	// GetVersion returns a version in any status.
	GetVersion(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) (domain.PackageVersion, error)
	// GetAsset returns an asset of a version in any status, with the
	// version.
	GetAsset(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error)
	// LatestVersions returns the current version of every package of a
	// format in a repository (for search).
	LatestVersions(ctx context.Context, dom, repo string, f domain.Format) ([]domain.VersionRecord, error)
}

// Writer changes packages; each call is one transaction that advances
// the package's stamp.
type Writer interface {
	// PublishVersion creates a version with its assets (blobs already
	// committed), metadata, dependencies and tags; ErrConflict if the
	// version exists.
	PublishVersion(ctx context.Context, in domain.PublishInput) (domain.PackageVersion, error)
	// UpdateMetadata replaces a version's manifest.
	UpdateMetadata(ctx context.Context, dom, repo string, ref domain.PackageRef, version string, meta json.RawMessage) (domain.PackageVersion, error)
	// SetDistTag points a tag at an existing version.
	SetDistTag(ctx context.Context, dom, repo string, ref domain.PackageRef, tag, version string) error
	// DeleteDistTag removes a tag; ErrNotFound if it is not set.
	DeleteDistTag(ctx context.Context, dom, repo string, ref domain.PackageRef, tag string) error
	// DeleteVersions deletes versions, all or none.
	DeleteVersions(ctx context.Context, in domain.BatchInput) (domain.BatchResult, error)
	// DeletePackage deletes a package with all its versions.
	DeletePackage(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.Package, error)
}

// Store is the metadata store as the npm protocol uses it.
type Store interface {
	Reader
	Writer
}

// Blobs is the blob store as the npm protocol uses it.
type Blobs interface {
	Put(ctx context.Context, r io.Reader, want string) (blob.Put, error)
	Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error)
}

// DefaultMaxPublishBytes is the publish body limit when MaxPublishBytes is
// not set.
const DefaultMaxPublishBytes = 256 << 20

// DefaultCacheEntries is the number of rendered documents kept when
// CacheEntries is not set.
const DefaultCacheEntries = 512

// assetName is the name of a version's tarball asset in the control plane
// (CodeArtifact names it package.tgz whatever the version).
const assetName = "package.tgz"

// Format is the npm protocol. Set the exported fields before Register;
// they must not change afterwards.
type Format struct {
	Store Store
	Blobs Blobs
	// BaseURL is the public base URL of the server, without a trailing
	// slash; tarball URLs are built from it, never from the Host header.
	BaseURL string
	// MaxPublishBytes bounds the body of a publish (the tarball travels
	// base64-encoded inside it); 0 means DefaultMaxPublishBytes.
	MaxPublishBytes int64
	// CacheEntries bounds the rendered-document cache; 0 means
	// DefaultCacheEntries.
	CacheEntries int
	// Authorize returns nil if the caller of c may perform action on the
	// repository named by the :domain and :repo parameters (ref nil) or on
	// one of its packages. A denied anonymous caller must get an error
	// wrapping domain.ErrUnauthenticated (npm then shows a login hint); an
	// unknown repository ErrNotFound.
	Authorize func(c echo.Context, action string, ref *domain.PackageRef) error
	// Chain, if set, makes packuments and tarballs resolve through each
	// repository's upstreams and external connection (see proxy.go); nil
	// serves every repository on its own.
	Chain Chain
	// Upstreams maps an external connection name ("public:npmjs") to the
	// client of its registry; a connection without a client contributes
	// nothing.
	Upstreams map[string]Upstream
	// PreferCached reports whether a repository serves cached upstream
	// metadata without revalidation (offline and CI use); nil means never.
	PreferCached func(dom, repo string) bool

	once    sync.Once
	cache   *docCache
	renders atomic.Int64 // documents rendered, for tests and benchmarks
}

var _ formats.Format = (*Format)(nil)

// Name returns "npm".
func (f *Format) Name() string { return "npm" }

// Flavour returns server.NPM.
func (f *Format) Flavour() server.Flavour { return server.NPM }

// Register adds the npm routes: one catch-all, because npm names (scoped
// ones percent-encoded or not) must be matched on the raw path.
func (f *Format) Register(g *echo.Group) {
	f.init()
	g.Any("/*", f.serve)
}

func (f *Format) init() {
	f.once.Do(func() {
		n := f.CacheEntries
		if n <= 0 {
			n = DefaultCacheEntries
		}
		f.cache = newDocCache(n)
	})
}

func (f *Format) maxPublish() int64 {
	if f.MaxPublishBytes > 0 {
		return f.MaxPublishBytes
	}
	return DefaultMaxPublishBytes
}

// repo is the repository a request addresses.
type repo struct{ domain, name string }

// serve routes a request by its raw path. See doc.go for the table.
func (f *Format) serve(c echo.Context) error {
	err := f.dispatch(c)
	if domain.KindOf(err) == domain.ErrUnauthenticated {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="registry"`)
	}
	return clientError(err)
}

func (f *Format) dispatch(c echo.Context) error {
	rp := repo{c.Param("domain"), c.Param("repo")}
	if domain.ValidateDomainName(rp.domain) != nil || domain.ValidateRepositoryName(rp.name) != nil {
		return domain.Errorf(domain.ErrNotFound, "not found: no such repository")
	}
	prefix := "/npm/" + rp.domain + "/" + rp.name + "/"
	rest, ok := strings.CutPrefix(c.Request().URL.EscapedPath(), prefix)
	if !ok {
		return domain.Errorf(domain.ErrNotFound, "not found: the repository endpoint is %s", prefix)
	}
	rt, err := parsePath(rest)
	if err != nil {
		return err
	}
	m := c.Request().Method
	server.SetOperation(c, operation(m, rt.ep))
	switch rt.ep {
	case epPing:
		if m == http.MethodGet || m == http.MethodHead {
			return f.ping(c)
		}
	case epWhoami:
		if m == http.MethodGet {
			return f.whoami(c)
		}
	case epSearch:
		if m == http.MethodGet {
			return f.search(c, rp)
		}
	case epLogin:
		return domain.Invalid("npm login and adduser are not supported by this registry: run aws codeartifact login --tool npm")
	case epPackument:
		switch m {
		case http.MethodGet, http.MethodHead:
			return f.getPackument(c, rp, rt.name)
		case http.MethodPut:
			return f.put(c, rp, rt)
		}
	case epRev:
		switch m {
		case http.MethodPut:
			return f.put(c, rp, rt)
		case http.MethodDelete:
			return f.deletePackage(c, rp, rt)
		}
	case epTarball:
		if m == http.MethodGet || m == http.MethodHead {
			return f.getTarball(c, rp, rt)
		}
	case epTarballRev:
		if m == http.MethodDelete {
			return f.deleteTarball(c, rp, rt)
		}
	case epDistTags:
		if m == http.MethodGet {
			return f.getDistTags(c, rp, rt.name)
		}
	case epDistTag:
		switch m {
		case http.MethodPut:
			return f.putDistTag(c, rp, rt)
		case http.MethodDelete:
			return f.deleteDistTag(c, rp, rt)
		}
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method "+m+" is not allowed here")
}

var endpointNames = map[endpoint]string{epPing: "Ping", epWhoami: "Whoami", epSearch: "Search", epLogin: "Login",
	epPackument: "Packument", epRev: "PackumentRev", epTarball: "Tarball", epTarballRev: "TarballRev",
	epDistTags: "DistTags", epDistTag: "DistTag"}

// operation names a request for the access log.
func operation(method string, ep endpoint) string { return "npm." + method + endpointNames[ep] }

// clientError returns the kinded *domain.Error inside err when there is
// one, so the client reads its message without the layers' prefixes;
// other errors are returned as they are.
func clientError(err error) error {
	var de *domain.Error
	if err != nil && errors.As(err, &de) {
		return de
	}
	return err
}

func (f *Format) ping(c echo.Context) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{})
}

func (f *Format) whoami(c echo.Context) error {
	p, ok := server.CallerOf(c)
	if !ok {
		return domain.Errorf(domain.ErrUnauthenticated, "authentication required: send an authorization token from aws codeartifact get-authorization-token")
	}
	return c.JSON(http.StatusOK, map[string]string{"username": p.Name})
}

// caller returns the name of the authenticated caller, "" if anonymous.
func caller(c echo.Context) string {
	p, _ := server.CallerOf(c)
	return p.Name
}
