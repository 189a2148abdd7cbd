// Package codeartifact serves the CodeArtifact control plane over its real
// wire protocol (rest-json, botocore model codeartifact 2018-09-22), so the
// stock aws CLI and SDKs drive the registry with --endpoint-url.
//
// Routes (all under /v1, SigV4-signed with signing name "codeartifact"):
//
//	POST   /v1/domain                           CreateDomain
//	GET    /v1/domain                           DescribeDomain
//	DELETE /v1/domain                           DeleteDomain
//	POST   /v1/domains                          ListDomains
//	PUT    /v1/domain/permissions/policy        PutDomainPermissionsPolicy
//	GET    /v1/domain/permissions/policy        GetDomainPermissionsPolicy
//	DELETE /v1/domain/permissions/policy        DeleteDomainPermissionsPolicy
//	POST   /v1/domain/repositories              ListRepositoriesInDomain
//	POST   /v1/authorization-token              GetAuthorizationToken
//	POST   /v1/repository                       CreateRepository
//	GET    /v1/repository                       DescribeRepository
//	PUT    /v1/repository                       UpdateRepository
//	DELETE /v1/repository                       DeleteRepository
//	POST   /v1/repositories                     ListRepositories
//	POST   /v1/repository/external-connection   AssociateExternalConnection
//	DELETE /v1/repository/external-connection   DisassociateExternalConnection
//	GET    /v1/repository/endpoint              GetRepositoryEndpoint
//	PUT    /v1/repository/permissions/policy    PutRepositoryPermissionsPolicy
//	GET    /v1/repository/permissions/policy    GetRepositoryPermissionsPolicy
//	DELETE /v1/repository/permissions/policies  DeleteRepositoryPermissionsPolicy
//	POST   /v1/packages                         ListPackages
//	GET    /v1/package                          DescribePackage
//	DELETE /v1/package                          DeletePackage
//	POST   /v1/package                          PutPackageOriginConfiguration
//	POST   /v1/package/versions                 ListPackageVersions
//	GET    /v1/package/version                  DescribePackageVersion
//	POST   /v1/package/version/assets           ListPackageVersionAssets
//	GET    /v1/package/version/asset            GetPackageVersionAsset
//	GET    /v1/package/version/readme           GetPackageVersionReadme
//	POST   /v1/package/version/dependencies     ListPackageVersionDependencies
//	POST   /v1/package/version/publish          PublishPackageVersion
//	POST   /v1/package/versions/update_status   UpdatePackageVersionsStatus
//	POST   /v1/package/versions/delete          DeletePackageVersions
//	POST   /v1/package/versions/dispose         DisposePackageVersions
//	POST   /v1/package/versions/copy            CopyPackageVersions
//	POST   /v1/tag                              TagResource
//	POST   /v1/untag                            UntagResource
//	POST   /v1/tags                             ListTagsForResource
//	POST   /v1/package-group                    CreatePackageGroup
//	GET    /v1/package-group                    DescribePackageGroup
//	PUT    /v1/package-group                    UpdatePackageGroup
//	DELETE /v1/package-group                    DeletePackageGroup
//	PUT    /v1/package-group-origin-configuration  UpdatePackageGroupOriginConfiguration
//	POST   /v1/package-groups                   ListPackageGroups
//	POST   /v1/package-groups/sub-groups        ListSubPackageGroups
//	GET    /v1/get-associated-package-group     GetAssociatedPackageGroup
//	GET    /v1/list-associated-packages         ListAssociatedPackages
//	GET    /v1/package-group-allowed-repositories  ListAllowedRepositoriesForGroup
//
// Identifiers travel in the query string (kebab-case), documents in JSON
// bodies; errors are rendered by internal/server.
package codeartifact

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
	"github.com/artifactd/registry/internal/sqlite"
)

// API is the CodeArtifact control plane.
type API struct {
	DB    *sqlite.DB
	Blobs blob.Store
	Authz *access.Authorizer
	ARNs  access.ARNs
	// BaseURL is the public base URL repository endpoints are built from.
	BaseURL string
	// MaxAssetBytes bounds PublishPackageVersion bodies.
	MaxAssetBytes int64
	Log           *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Connections are the custom external connections the configuration
	// names, with the format each serves (the public ones are built in).
	Connections map[string]domain.Format
}

type route struct {
	method, path, op string
	h                func(*API, echo.Context) error
}

var routes = []route{
	{http.MethodPost, "/domain", "CreateDomain", (*API).createDomain},
	{http.MethodGet, "/domain", "DescribeDomain", (*API).describeDomain},
	{http.MethodDelete, "/domain", "DeleteDomain", (*API).deleteDomain},
	{http.MethodPost, "/domains", "ListDomains", (*API).listDomains},
	{http.MethodPut, "/domain/permissions/policy", "PutDomainPermissionsPolicy", (*API).putDomainPolicy},
	{http.MethodGet, "/domain/permissions/policy", "GetDomainPermissionsPolicy", (*API).getDomainPolicy},
	{http.MethodDelete, "/domain/permissions/policy", "DeleteDomainPermissionsPolicy", (*API).deleteDomainPolicy},
	{http.MethodPost, "/domain/repositories", "ListRepositoriesInDomain", (*API).listRepositoriesInDomain},
	{http.MethodPost, "/authorization-token", "GetAuthorizationToken", (*API).getAuthorizationToken},
	{http.MethodPost, "/repository", "CreateRepository", (*API).createRepository},
	{http.MethodGet, "/repository", "DescribeRepository", (*API).describeRepository},
	{http.MethodPut, "/repository", "UpdateRepository", (*API).updateRepository},
	{http.MethodDelete, "/repository", "DeleteRepository", (*API).deleteRepository},
	{http.MethodPost, "/repositories", "ListRepositories", (*API).listRepositories},
	{http.MethodPost, "/repository/external-connection", "AssociateExternalConnection", (*API).associateExternalConnection},
	{http.MethodDelete, "/repository/external-connection", "DisassociateExternalConnection", (*API).disassociateExternalConnection},
	{http.MethodGet, "/repository/endpoint", "GetRepositoryEndpoint", (*API).getRepositoryEndpoint},
	{http.MethodPut, "/repository/permissions/policy", "PutRepositoryPermissionsPolicy", (*API).putRepositoryPolicy},
	{http.MethodGet, "/repository/permissions/policy", "GetRepositoryPermissionsPolicy", (*API).getRepositoryPolicy},
	{http.MethodDelete, "/repository/permissions/policies", "DeleteRepositoryPermissionsPolicy", (*API).deleteRepositoryPolicy},
	{http.MethodPost, "/packages", "ListPackages", (*API).listPackages},
	{http.MethodGet, "/package", "DescribePackage", (*API).describePackage},
	{http.MethodDelete, "/package", "DeletePackage", (*API).deletePackage},
	{http.MethodPost, "/package", "PutPackageOriginConfiguration", (*API).putPackageOriginConfiguration},
	{http.MethodPost, "/package/versions", "ListPackageVersions", (*API).listPackageVersions},
	{http.MethodGet, "/package/version", "DescribePackageVersion", (*API).describePackageVersion},
	{http.MethodPost, "/package/version/assets", "ListPackageVersionAssets", (*API).listPackageVersionAssets},
	{http.MethodGet, "/package/version/asset", "GetPackageVersionAsset", (*API).getPackageVersionAsset},
	{http.MethodGet, "/package/version/readme", "GetPackageVersionReadme", (*API).getPackageVersionReadme},
	{http.MethodPost, "/package/version/dependencies", "ListPackageVersionDependencies", (*API).listPackageVersionDependencies},
	{http.MethodPost, "/package/version/publish", "PublishPackageVersion", (*API).publishPackageVersion},
	{http.MethodPost, "/package/versions/update_status", "UpdatePackageVersionsStatus", (*API).updatePackageVersionsStatus},
	{http.MethodPost, "/package/versions/delete", "DeletePackageVersions", (*API).deletePackageVersions},
	{http.MethodPost, "/package/versions/dispose", "DisposePackageVersions", (*API).disposePackageVersions},
	{http.MethodPost, "/package/versions/copy", "CopyPackageVersions", (*API).copyPackageVersions},
	{http.MethodPost, "/tag", "TagResource", (*API).tagResource},
	{http.MethodPost, "/untag", "UntagResource", (*API).untagResource},
	{http.MethodPost, "/tags", "ListTagsForResource", (*API).listTagsForResource},
	{http.MethodPost, "/package-group", "CreatePackageGroup", (*API).createPackageGroup},
	{http.MethodGet, "/package-group", "DescribePackageGroup", (*API).describePackageGroup},
	{http.MethodPut, "/package-group", "UpdatePackageGroup", (*API).updatePackageGroup},
	{http.MethodDelete, "/package-group", "DeletePackageGroup", (*API).deletePackageGroup},
	{http.MethodPut, "/package-group-origin-configuration", "UpdatePackageGroupOriginConfiguration", (*API).updatePackageGroupOriginConfiguration},
	{http.MethodPost, "/package-groups", "ListPackageGroups", (*API).listPackageGroups},
	{http.MethodPost, "/package-groups/sub-groups", "ListSubPackageGroups", (*API).listSubPackageGroups},
	{http.MethodGet, "/get-associated-package-group", "GetAssociatedPackageGroup", (*API).getAssociatedPackageGroup},
	{http.MethodGet, "/list-associated-packages", "ListAssociatedPackages", (*API).listAssociatedPackages},
	{http.MethodGet, "/package-group-allowed-repositories", "ListAllowedRepositoriesForGroup", (*API).listAllowedRepositoriesForGroup},
}

// Register adds every operation to g (the server's /v1 group).
func (a *API) Register(g *echo.Group) {
	for _, r := range routes {
		r := r
		g.Add(r.method, r.path, func(c echo.Context) error {
			server.SetOperation(c, r.op)
			c.Set(opKey, r.op)
			return wireError(r.h(a, c))
		})
	}
}

const opKey = "codeartifact.op"

// resourceTypes is botocore's ResourceType enum, the only values the
// resourceType of an error may take on the wire.
var resourceTypes = map[string]bool{"domain": true, "repository": true, "package": true, "package-version": true, "asset": true}

// wireError drops the resource named by an error when the model cannot
// express its type (a policy, an external connection, a foreign ARN); the
// message still says what was wrong.
func wireError(err error) error {
	var e *domain.Error
	if errors.As(err, &e) && e.ResourceType != "" && !resourceTypes[e.ResourceType] {
		return &domain.Error{Kind: e.Kind, Msg: err.Error()}
	}
	return err
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// authorize checks codeartifact:<operation> (or action when given) on
// resource for the caller.
func (a *API) authorize(c echo.Context, action, resource string, s access.Scope) error {
	if action == "" {
		op, _ := c.Get(opKey).(string)
		action = "codeartifact:" + op
	}
	p, ok := server.CallerOf(c)
	return a.Authz.Check(c.Request().Context(), p, ok, action, resource, s)
}

// query returns a required query parameter or a ValidationException.
func query(c echo.Context, name string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", domain.Invalid("missing required parameter %s", name)
	}
	return v, nil
}

// checkOwner rejects a domain-owner that is not this installation's account.
func (a *API) checkOwner(c echo.Context, dom string) error {
	if o := c.QueryParam("domain-owner"); o != "" && o != a.ARNs.Account {
		return domain.NotFound("domain", dom)
	}
	return nil
}

// domainParam reads and validates ?domain= (and ?domain-owner=).
func (a *API) domainParam(c echo.Context) (string, error) {
	d, err := query(c, "domain")
	if err != nil {
		return "", err
	}
	if err := domain.ValidateDomainName(d); err != nil {
		return "", err
	}
	return d, a.checkOwner(c, d)
}

// repoParams reads ?domain= and the repository parameter named name.
func (a *API) repoParams(c echo.Context, name string) (string, string, error) {
	d, err := a.domainParam(c)
	if err != nil {
		return "", "", err
	}
	r, err := query(c, name)
	if err != nil {
		return "", "", err
	}
	return d, r, domain.ValidateRepositoryName(r)
}

// maxBody bounds the JSON request bodies of the control plane.
const maxBody = 1 << 20

// body decodes an optional JSON request body into v. The body is read to
// its end (one byte past maxBody at most): only at EOF does the SigV4
// layer check it against its signed x-amz-content-sha256, so a truncated
// read would let a tampered body through.
func body(c echo.Context, v any) error {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil {
		return domain.Invalid("reading request body: %v", err)
	}
	if len(b) > maxBody {
		return domain.Errorf(domain.ErrTooLarge, "request body exceeds %d bytes", maxBody)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return domain.Invalid("request body is not valid JSON: %v", err)
	}
	return nil
}

// maxResults reads ?max-results= (1-1000).
func maxResults(c echo.Context, name string) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, domain.Invalid("%s must be between 1 and 1000", name)
	}
	return n, nil
}

func page(c echo.Context) (domain.Page, error) {
	n, err := maxResults(c, "max-results")
	return domain.Page{After: c.QueryParam("next-token"), Limit: n}, err
}

// ts renders a timestamp as rest-json does: epoch seconds.
func ts(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func ctx(c echo.Context) context.Context { return c.Request().Context() }

func opt(s string) any {
	if s == "" {
		return nil
	}
	return s
}
