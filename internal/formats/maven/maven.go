package maven

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
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
	// ActionPublish covers uploading files and checksums.
	ActionPublish = "codeartifact:PublishPackageVersion"
	// ActionPutMetadata is asked, besides ActionPublish, for uploading
	// maven-metadata.xml.
	ActionPutMetadata = "codeartifact:PutPackageMetadata"
)

// Reader is what serving files and metadata needs of the metadata store.
type Reader interface {
	// PackageStamp returns a value that changes whenever anything of the
	// package changes; ErrNotFound for an unknown package.
	PackageStamp(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error)
	// View returns a package with every version and its assets.
	View(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.PackageView, error)
	GetAsset(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error)
}

// Writer changes packages; each call is one transaction.
type Writer interface {
	// PutMavenFile attaches a file to a version, creating it Unfinished.
	PutMavenFile(ctx context.Context, in domain.MavenFileInput) (domain.MavenFileResult, error)
	// TransitionVersions applies the status changes plan decides, seeing
	// and changing the package in one transaction.
	TransitionVersions(ctx context.Context, dom, repo string, ref domain.PackageRef, plan domain.StatusPlan) ([]domain.PackageVersion, error)
}

// Store is the metadata store as the Maven protocol uses it.
type Store interface {
	Reader
	Writer
}

// Blobs is the blob store as the Maven protocol uses it.
type Blobs interface {
	Put(ctx context.Context, r io.Reader, want string) (blob.Put, error)
	Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error)
}

// DefaultMaxFileBytes is the file size limit when MaxFileBytes is not set.
const DefaultMaxFileBytes = 5 << 30

// DefaultCacheEntries is the number of rendered metadata documents kept
// when CacheEntries is not set.
const DefaultCacheEntries = 1024

// uploadEntries is the number of recently uploaded metadata documents
// whose digests are remembered, so that the checksums a client uploads
// after them can be verified.
const uploadEntries = 4096

// Format is the Maven protocol. Set the exported fields before Register;
// they must not change afterwards.
type Format struct {
	Store Store
	Blobs Blobs
	// MaxFileBytes bounds an uploaded file; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// CacheEntries bounds the rendered-metadata cache; 0 means
	// DefaultCacheEntries.
	CacheEntries int
	// Authorize returns nil if the caller of c may perform action on the
	// repository named by the :domain and :repo parameters (ref nil) or on
	// one of its packages. A denied anonymous caller must get an error
	// wrapping domain.ErrUnauthenticated (the server then asks for Basic
	// credentials); an unknown repository ErrNotFound.
	Authorize func(c echo.Context, action string, ref *domain.PackageRef) error
	// Chain, if set, makes reads resolve through the repository's
	// upstreams and external connection (proxy.go).
	Chain formats.Chain
	// Upstreams maps an external connection name ("public:maven-central") to its
	// client; a connection without one contributes nothing.
	Upstreams map[string]formats.Upstream
	// PreferCached reports whether a repository serves cached upstream
	// metadata without revalidation (offline and CI use); nil means never.
	PreferCached func(dom, repo string) bool

	once    sync.Once
	cache   *docCache
	uploads *lru.Cache[uploadKey, domain.Hashes]
	renders atomic.Int64 // documents rendered, for tests and benchmarks
}

var _ formats.Format = (*Format)(nil)

// Name returns "maven".
func (f *Format) Name() string { return "maven" }

// Flavour returns server.Text: Maven shows plain-text error bodies.
func (f *Format) Flavour() server.Flavour { return server.Text }

// Register adds the Maven routes: one catch-all, because coordinates are
// parsed from the raw path.
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
		f.uploads, _ = lru.New[uploadKey, domain.Hashes](uploadEntries)
	})
}

func (f *Format) maxFile() int64 {
	if f.MaxFileBytes > 0 {
		return f.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// repository is the repository a request addresses.
type repository struct{ domain, name string }

// serve routes a request by method and raw path; see doc.go.
func (f *Format) serve(c echo.Context) error {
	return clientError(f.dispatch(c))
}

func (f *Format) dispatch(c echo.Context) error {
	rp := repository{c.Param("domain"), c.Param("repo")}
	if domain.ValidateDomainName(rp.domain) != nil || domain.ValidateRepositoryName(rp.name) != nil {
		return domain.Errorf(domain.ErrNotFound, "not found: no such repository")
	}
	prefix := "/maven/" + rp.domain + "/" + rp.name + "/"
	rest, ok := strings.CutPrefix(c.Request().URL.EscapedPath(), prefix)
	if !ok {
		return domain.Errorf(domain.ErrNotFound, "not found: the repository endpoint is %s", prefix)
	}
	m := c.Request().Method
	switch m {
	case http.MethodGet, http.MethodHead:
		return f.get(c, rp, rest)
	case http.MethodPut:
		return f.put(c, rp, rest)
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method "+m+" is not allowed here: a Maven repository takes GET, HEAD and PUT")
}

// operation names a request for the access log.
func operation(method string, p Path) string {
	what := "File"
	switch p.Kind {
	case KindMetadata:
		what = "Metadata"
	case KindSnapshotMetadata:
		what = "SnapshotMetadata"
	}
	if p.Checksum != "" {
		what += "Checksum"
	}
	return "maven." + method + what
}

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

// hashOf returns the digest named by a checksum suffix.
func hashOf(h domain.Hashes, algo string) string {
	switch algo {
	case "md5":
		return h.MD5
	case "sha1":
		return h.SHA1
	case "sha256":
		return h.SHA256
	case "sha512":
		return h.SHA512
	}
	return ""
}
