package codeartifact

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
)

// pkgOp reads domain, repository, format, namespace and package, and
// authorizes the operation on the package ARN.
func (a *API) pkgOp(c echo.Context) (string, string, domain.PackageRef, error) {
	d, r, err := a.repoParams(c, "repository")
	if err != nil {
		return "", "", domain.PackageRef{}, err
	}
	ref, err := pkgRef(c)
	if err != nil {
		return "", "", ref, err
	}
	return d, r, ref, a.authorize(c, "", a.ARNs.Package(d, r, ref), access.Scope{Domain: d, Repository: r})
}

func pkgRef(c echo.Context) (domain.PackageRef, error) {
	f, err := query(c, "format")
	if err != nil {
		return domain.PackageRef{}, err
	}
	name, err := query(c, "package")
	if err != nil {
		return domain.PackageRef{}, err
	}
	ref := domain.PackageRef{Format: domain.Format(f), Namespace: c.QueryParam("namespace"), Name: name}
	return ref, domain.ValidatePackageRef(ref)
}

// versionOp is pkgOp plus ?version=.
func (a *API) versionOp(c echo.Context) (string, string, domain.PackageRef, string, error) {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return "", "", ref, "", err
	}
	v, err := query(c, "version")
	if err != nil {
		return "", "", ref, "", err
	}
	return d, r, ref, v, domain.ValidateVersion(v)
}

func origin(p domain.Package) map[string]any {
	return map[string]any{"restrictions": map[string]string{"publish": string(p.Publish), "upstream": string(p.Upstream)}}
}

func versionOrigin(v domain.PackageVersion) map[string]any {
	ep := map[string]string{}
	if v.Origin.Repository != "" {
		ep["repositoryName"] = v.Origin.Repository
	}
	if v.Origin.ExternalConnection != "" {
		ep["externalConnectionName"] = v.Origin.ExternalConnection
	}
	return map[string]any{"domainEntryPoint": ep, "originType": string(v.Origin.Type)}
}

func assetSummary(as domain.Asset) map[string]any {
	return map[string]any{"name": as.Name, "size": as.Size, "hashes": map[string]string{
		"MD5": as.Hashes.MD5, "SHA-1": as.Hashes.SHA1, "SHA-256": as.Hashes.SHA256, "SHA-512": as.Hashes.SHA512}}
}

func (a *API) listPackages(c echo.Context) error {
	d, r, err := a.repoOp(c)
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	f := domain.PackageFilter{Format: domain.Format(c.QueryParam("format")), Namespace: c.QueryParam("namespace"),
		Prefix: c.QueryParam("package-prefix"), Publish: domain.Restriction(c.QueryParam("publish")), Upstream: domain.Restriction(c.QueryParam("upstream"))}
	if f.Format != "" {
		if err := domain.ValidateFormat(f.Format); err != nil {
			return err
		}
	}
	for _, x := range []domain.Restriction{f.Publish, f.Upstream} {
		if x != "" && x != domain.Allow && x != domain.Block {
			return domain.Invalid("publish and upstream must be ALLOW or BLOCK")
		}
	}
	ps, next, err := a.DB.ListPackages(ctx(c), d, r, f, p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ps))
	for _, x := range ps {
		out = append(out, map[string]any{"format": x.Format, "namespace": opt(x.Namespace), "package": x.Name, "originConfiguration": origin(x)})
	}
	return c.JSON(http.StatusOK, map[string]any{"packages": out, "nextToken": opt(next)})
}

func (a *API) describePackage(c echo.Context) error {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return err
	}
	p, err := a.DB.GetPackage(ctx(c), d, r, ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"package": map[string]any{"format": p.Format, "namespace": opt(p.Namespace), "name": p.Name, "originConfiguration": origin(p)}})
}

func (a *API) deletePackage(c echo.Context) error {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return err
	}
	p, err := a.DB.DeletePackage(ctx(c), d, r, ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"deletedPackage": map[string]any{"format": p.Format, "namespace": opt(p.Namespace), "package": p.Name, "originConfiguration": origin(p)}})
}

func (a *API) listPackageVersions(c echo.Context) error {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	f := domain.VersionFilter{Status: domain.Status(c.QueryParam("status")), OriginType: domain.OriginType(c.QueryParam("originType"))}
	if f.Status != "" && !domain.ValidStatus(f.Status) {
		return domain.Invalid("status %s is not a package version status", f.Status)
	}
	switch f.OriginType {
	case "", domain.OriginInternal, domain.OriginExternal, domain.OriginUnknown:
	default:
		return domain.Invalid("originType must be INTERNAL, EXTERNAL or UNKNOWN")
	}
	switch c.QueryParam("sortBy") {
	case "":
	case "PUBLISHED_TIME":
		f.SortByPublished = true
	default:
		return domain.Invalid("sortBy must be PUBLISHED_TIME")
	}
	vs, next, err := a.DB.ListVersions(ctx(c), d, r, ref, f, p)
	if err != nil {
		return err
	}
	def, err := a.DB.LatestVersion(ctx(c), d, r, ref)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, map[string]any{"version": v.Version, "revision": v.Revision, "status": v.Status, "origin": versionOrigin(v)})
	}
	return c.JSON(http.StatusOK, map[string]any{"defaultDisplayVersion": opt(def), "format": ref.Format, "namespace": opt(ref.Namespace),
		"package": ref.Name, "versions": out, "nextToken": opt(next)})
}

func (a *API) describePackageVersion(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	v, err := a.DB.GetVersion(ctx(c), d, r, ref, ver)
	if err != nil {
		return err
	}
	lic := make([]map[string]string, 0, len(v.Licenses))
	for _, l := range v.Licenses {
		lic = append(lic, map[string]string{"name": l.Name, "url": l.URL})
	}
	return c.JSON(http.StatusOK, map[string]any{"packageVersion": map[string]any{
		"format": ref.Format, "namespace": opt(ref.Namespace), "packageName": ref.Name, "displayName": opt(v.DisplayName),
		"version": v.Version, "summary": opt(v.Summary), "homePage": opt(v.HomePage), "sourceCodeRepository": opt(v.SourceCodeRepository),
		"publishedTime": ts(v.PublishedAt), "licenses": lic, "revision": v.Revision, "status": v.Status, "origin": versionOrigin(v)}})
}

func (a *API) listPackageVersionAssets(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	as, v, next, err := a.DB.ListAssets(ctx(c), d, r, ref, ver, p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(as))
	for _, x := range as {
		out = append(out, assetSummary(x))
	}
	return c.JSON(http.StatusOK, map[string]any{"format": ref.Format, "namespace": opt(ref.Namespace), "package": ref.Name,
		"version": v.Version, "versionRevision": v.Revision, "assets": out, "nextToken": opt(next)})
}

func (a *API) getPackageVersionReadme(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	readme, v, err := a.DB.Readme(ctx(c), d, r, ref, ver)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"format": ref.Format, "namespace": opt(ref.Namespace), "package": ref.Name,
		"version": v.Version, "versionRevision": v.Revision, "readme": readme})
}

func (a *API) putPackageOriginConfiguration(c echo.Context) error {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return err
	}
	var in struct {
		Restrictions *struct {
			Publish  domain.Restriction `json:"publish"`
			Upstream domain.Restriction `json:"upstream"`
		} `json:"restrictions"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	if in.Restrictions == nil {
		return domain.Invalid("missing required parameter restrictions")
	}
	for _, x := range []domain.Restriction{in.Restrictions.Publish, in.Restrictions.Upstream} {
		if x != domain.Allow && x != domain.Block {
			return domain.Invalid("restrictions.publish and restrictions.upstream must both be ALLOW or BLOCK")
		}
	}
	p, err := a.DB.SetOrigin(ctx(c), d, r, ref, in.Restrictions.Publish, in.Restrictions.Upstream)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"originConfiguration": origin(p)})
}

func (a *API) listPackageVersionDependencies(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	if _, err := page(c); err != nil {
		return err
	}
	deps, v, err := a.DB.Dependencies(ctx(c), d, r, ref, ver)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(deps))
	for _, x := range deps {
		out = append(out, map[string]any{"namespace": opt(x.Namespace), "package": x.Name, "dependencyType": x.Type, "versionRequirement": x.VersionRequirement})
	}
	return c.JSON(http.StatusOK, map[string]any{"format": ref.Format, "namespace": opt(ref.Namespace), "package": ref.Name,
		"version": v.Version, "versionRevision": v.Revision, "dependencies": out})
}

func sorted(s []string) []string { sort.Strings(s); return s }
