package pypi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// ActionPublish is asked with the project's ref before an upload's
	// file is read.
	ActionPublish = "codeartifact:PublishPackageVersion"
)

// Reader is what serving the index and files needs of the metadata store.
type Reader interface {
	// PackageStamp returns a value that changes whenever anything a
	// project page shows changes; ErrNotFound for an unknown package.
	PackageStamp(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error)
	View(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.PackageView, error)
	GetAsset(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error)
	// DownloadablePackageNames lists the packages of a format that have
	// a Published or Unlisted version.
	DownloadablePackageNames(ctx context.Context, dom, repo string, f domain.Format) ([]string, error)
}

// Writer records uploads; each call is one transaction.
type Writer interface {
	// PublishVersion creates a version with its first files; an existing
	// version is ErrConflict.
	PublishVersion(ctx context.Context, in domain.PublishInput) (domain.PackageVersion, error)
	// AttachAssets adds files to an existing version; identical files are
	// no-ops, a known name with other bytes is ErrConflict.
	AttachAssets(ctx context.Context, in domain.AttachInput) (domain.PackageVersion, error)
}

// Store is the metadata store as the PyPI protocol uses it.
type Store interface {
	Reader
	Writer
}

// Blobs is the blob store as the PyPI protocol uses it.
type Blobs interface {
	Put(ctx context.Context, r io.Reader, want string) (blob.Put, error)
	Open(ctx context.Context, digest string) (blob.ReadSeekCloser, blob.Info, error)
}

// DefaultMaxFileBytes is the distribution file size limit when
// MaxFileBytes is not set (CodeArtifact's asset size limit).
const DefaultMaxFileBytes = 5 << 30

// DefaultCacheEntries is the number of rendered project pages kept when
// CacheEntries is not set.
const DefaultCacheEntries = 512

// Format is the PyPI protocol. Set the exported fields before Register;
// they must not change afterwards.
type Format struct {
	Store Store
	Blobs Blobs
	// MaxFileBytes bounds an uploaded distribution file; 0 means
	// DefaultMaxFileBytes. The upload body may exceed it by the form
	// fields' allowance.
	MaxFileBytes int64
	// CacheEntries bounds the rendered-page cache; 0 means
	// DefaultCacheEntries.
	CacheEntries int
	// Authorize returns nil if the caller of c may perform action on the
	// repository named by the :domain and :repo parameters (ref nil) or on
	// one of its packages. A denied anonymous caller must get an error
	// wrapping domain.ErrUnauthenticated (answered 401 with
	// WWW-Authenticate: Basic, so pip and twine send credentials); an
	// unknown repository ErrNotFound.
	Authorize func(c echo.Context, action string, ref *domain.PackageRef) error
	// Now is the clock for upload times; nil means time.Now.
	Now func() time.Time
	// Chain, if set, makes reads resolve through the repository's
	// upstreams and external connection (proxy.go).
	Chain formats.Chain
	// Upstreams maps an external connection name ("public:pypi") to its
	// client; a connection without one contributes nothing.
	Upstreams map[string]formats.Upstream
	// PreferCached reports whether a repository serves cached upstream
	// metadata without revalidation (offline and CI use); nil means never.
	PreferCached func(dom, repo string) bool

	once    sync.Once
	cache   *pageCache
	renders atomic.Int64 // project pages rendered, for tests and benchmarks
}

var _ formats.Format = (*Format)(nil)

// Name returns "pypi".
func (f *Format) Name() string { return "pypi" }

// Flavour returns server.Text: pip and twine show a plain-text body.
func (f *Format) Flavour() server.Flavour { return server.Text }

// Register adds the PyPI routes: the repository root (uploads) and one
// catch-all below it, routed on the raw path by dispatch.
func (f *Format) Register(g *echo.Group) {
	f.init()
	g.Any("", f.serve)
	g.Any("/*", f.serve)
}

func (f *Format) init() {
	f.once.Do(func() {
		n := f.CacheEntries
		if n <= 0 {
			n = DefaultCacheEntries
		}
		f.cache = newPageCache(n)
	})
}

func (f *Format) maxFile() int64 {
	if f.MaxFileBytes > 0 {
		return f.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

func (f *Format) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// repo is the repository a request addresses.
type repo struct{ domain, name string }

// prefix returns the path of the repository endpoint, without a trailing
// slash.
func (rp repo) prefix() string { return "/pypi/" + rp.domain + "/" + rp.name }

// serve handles every request of the format.
func (f *Format) serve(c echo.Context) error { return clientError(f.dispatch(c)) }

// dispatch routes a request by its raw path; see doc.go for the table.
func (f *Format) dispatch(c echo.Context) error {
	rp := repo{c.Param("domain"), c.Param("repo")}
	if domain.ValidateDomainName(rp.domain) != nil || domain.ValidateRepositoryName(rp.name) != nil {
		return domain.Errorf(domain.ErrNotFound, "not found: no such repository")
	}
	rest, ok := strings.CutPrefix(c.Request().URL.EscapedPath(), rp.prefix())
	if !ok {
		return domain.Errorf(domain.ErrNotFound, "not found: the repository endpoint is %s/", rp.prefix())
	}
	rt, err := parsePath(rest)
	if err != nil {
		return err
	}
	m := c.Request().Method
	read := m == http.MethodGet || m == http.MethodHead
	server.SetOperation(c, "pypi."+rt.op())
	switch {
	case rt.ep == epRoot && m == http.MethodPost:
		return f.upload(c, rp)
	case rt.ep == epRoot && read:
		return domain.Errorf(domain.ErrNotFound, "not found: the package index is %s/simple/; uploads are POSTed here", rp.prefix())
	case rt.redirect != "" && read:
		return c.Redirect(http.StatusMovedPermanently, rp.prefix()+rt.redirect)
	case rt.ep == epIndex && read:
		return f.getIndex(c, rp)
	case rt.ep == epProject && read:
		return f.getProject(c, rp, rt.project)
	case rt.ep == epFile && read:
		return f.getFile(c, rp, rt)
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method "+m+" is not allowed here")
}

// endpoint is what a request path names below /pypi/{domain}/{repo}.
type endpoint int

const (
	epRoot    endpoint = iota + 1 // "" or "/": uploads
	epIndex                       // /simple/
	epProject                     // /simple/{project}/
	epFile                        // /simple/{project}/{version}/{file}
)

// route is a parsed request path.
type route struct {
	ep             endpoint
	project        string // normalised
	version, file  string
	redirect       string // when set: the canonical path (below the prefix) to send a GET to
	metadataOfFile bool   // file ends in .metadata
}

func (rt route) op() string {
	switch rt.ep {
	case epRoot:
		return "Upload"
	case epIndex:
		return "Index"
	case epProject:
		return "Project"
	case epFile:
		if rt.metadataOfFile {
			return "Metadata"
		}
		return "File"
	}
	return "Unknown"
}

// parsePath parses the escaped path below the repository endpoint. Each
// segment is decoded on its own, so an encoded '/' cannot add a segment;
// "." and ".." segments (raw or encoded) and empty ones are refused.
// Paths that name a resource in a non-canonical way (no trailing slash on
// a page, a project name that is not normalised) come back with the
// canonical path to redirect to.
func parsePath(rest string) (route, error) {
	if rest == "" || rest == "/" {
		return route{ep: epRoot}, nil
	}
	trailing := strings.HasSuffix(rest, "/")
	raw := strings.Split(strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		d, err := url.PathUnescape(s)
		if err != nil || d == "" || d == "." || d == ".." || strings.ContainsAny(d, "/\\") {
			return route{}, domain.Invalid("path %q has an empty, relative or malformed segment", rest)
		}
		segs[i] = d
	}
	notFound := domain.Errorf(domain.ErrNotFound, "not found: this repository serves /simple/, /simple/{project}/ and the files those pages link to")
	if segs[0] != "simple" {
		return route{}, notFound
	}
	switch len(segs) {
	case 1:
		if !trailing {
			return route{ep: epIndex, redirect: "/simple/"}, nil
		}
		return route{ep: epIndex}, nil
	case 2:
		p := segs[1]
		if !ValidName(p) {
			return route{}, domain.NotFound("package", p)
		}
		rt := route{ep: epProject, project: Normalize(p)}
		if !trailing || p != rt.project {
			rt.redirect = "/simple/" + rt.project + "/"
		}
		return rt, nil
	case 4:
		p, v, file := segs[1], segs[2], segs[3]
		if trailing || !ValidName(p) {
			return route{}, notFound
		}
		rt := route{ep: epFile, project: Normalize(p), version: v, file: file, metadataOfFile: strings.HasSuffix(file, metadataSuffix)}
		if p != rt.project {
			rt.redirect = "/simple/" + rt.project + "/" + url.PathEscape(v) + "/" + url.PathEscape(file)
		}
		return rt, nil
	}
	return route{}, notFound
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

// caller returns the name of the authenticated caller, "" if anonymous.
func caller(c echo.Context) string {
	p, _ := server.CallerOf(c)
	return p.Name
}
