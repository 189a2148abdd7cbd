package codeartifact

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

type batchBody struct {
	Versions         []string          `json:"versions"`
	VersionRevisions map[string]string `json:"versionRevisions"`
	ExpectedStatus   domain.Status     `json:"expectedStatus"`
	TargetStatus     domain.Status     `json:"targetStatus"`
	AllowOverwrite   bool              `json:"allowOverwrite"`
	IncludeUpstream  bool              `json:"includeFromUpstream"`
}

func (b *batchBody) validate(needVersions bool) error {
	if needVersions && len(b.Versions) == 0 {
		return domain.Invalid("versions must list at least one version")
	}
	if len(b.Versions) > 100 || len(b.VersionRevisions) > 100 {
		return domain.Invalid("at most 100 versions may be given")
	}
	for _, v := range b.Versions {
		if err := domain.ValidateVersion(v); err != nil {
			return err
		}
	}
	for v, rev := range b.VersionRevisions {
		if err := domain.ValidateVersion(v); err != nil {
			return err
		}
		if err := domain.ValidateRevision(rev); err != nil {
			return err
		}
	}
	if b.ExpectedStatus != "" && !domain.ValidStatus(b.ExpectedStatus) {
		return domain.Invalid("expectedStatus %s is not a package version status", b.ExpectedStatus)
	}
	return nil
}

func batchResult(res domain.BatchResult) map[string]any {
	ok := map[string]any{}
	for v, r := range res.OK {
		ok[v] = map[string]string{"revision": r.Revision, "status": string(r.Status)}
	}
	failed := map[string]any{}
	for v, f := range res.Failed {
		failed[v] = map[string]string{"errorCode": f.Code, "errorMessage": f.Message}
	}
	return map[string]any{"successfulVersions": ok, "failedVersions": failed}
}

// batchOp parses and authorizes a batch version operation.
func (a *API) batchOp(c echo.Context, needVersions bool) (domain.BatchInput, batchBody, error) {
	d, r, ref, err := a.pkgOp(c)
	if err != nil {
		return domain.BatchInput{}, batchBody{}, err
	}
	var b batchBody
	if err := body(c, &b); err != nil {
		return domain.BatchInput{}, b, err
	}
	if err := b.validate(needVersions); err != nil {
		return domain.BatchInput{}, b, err
	}
	return domain.BatchInput{Domain: d, Repository: r, Ref: ref, Versions: b.Versions, Revisions: b.VersionRevisions, ExpectedStatus: b.ExpectedStatus}, b, nil
}

func (a *API) updatePackageVersionsStatus(c echo.Context) error {
	in, b, err := a.batchOp(c, true)
	if err != nil {
		return err
	}
	if b.TargetStatus == "" {
		return domain.Invalid("missing required parameter targetStatus")
	}
	res, err := a.DB.UpdateStatus(ctx(c), in, b.TargetStatus)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, batchResult(res))
}

func (a *API) deletePackageVersions(c echo.Context) error {
	in, _, err := a.batchOp(c, true)
	if err != nil {
		return err
	}
	res, err := a.DB.DeleteVersions(ctx(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, batchResult(res))
}

func (a *API) disposePackageVersions(c echo.Context) error {
	in, _, err := a.batchOp(c, true)
	if err != nil {
		return err
	}
	res, err := a.DB.DisposeVersions(ctx(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, batchResult(res))
}

func (a *API) copyPackageVersions(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	src, err := query(c, "source-repository")
	if err != nil {
		return err
	}
	dst, err := query(c, "destination-repository")
	if err != nil {
		return err
	}
	for _, r := range []string{src, dst} {
		if err := domain.ValidateRepositoryName(r); err != nil {
			return err
		}
	}
	if src == dst {
		// With allowOverwrite the store would delete each version to
		// replace it with itself.
		return domain.Invalid("sourceRepository and destinationRepository must differ")
	}
	ref, err := pkgRef(c)
	if err != nil {
		return err
	}
	var b batchBody
	if err := body(c, &b); err != nil {
		return err
	}
	if err := b.validate(false); err != nil {
		return err
	}
	if (len(b.Versions) == 0) == (len(b.VersionRevisions) == 0) {
		return domain.Invalid("exactly one of versions and versionRevisions must be given")
	}
	if err := a.authorize(c, "codeartifact:ReadFromRepository", a.ARNs.Repository(d, src), access.Scope{Domain: d, Repository: src}); err != nil {
		return err
	}
	if err := a.authorize(c, "", a.ARNs.Package(d, dst, ref), access.Scope{Domain: d, Repository: dst}); err != nil {
		return err
	}
	res, err := a.DB.CopyVersions(ctx(c), domain.CopyInput{Domain: d, Source: src, Dest: dst, Ref: ref, Versions: b.Versions,
		Revisions: b.VersionRevisions, AllowOverwrite: b.AllowOverwrite, IncludeFromUpstream: b.IncludeUpstream})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, batchResult(res))
}

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// limitReader fails with ErrTooLarge once more than n bytes were read, so
// an oversize body is refused without being buffered.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, domain.Errorf(domain.ErrTooLarge, "asset exceeds the maximum size")
	}
	return n, err
}

func (a *API) publishPackageVersion(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	if ref.Format != domain.FormatGeneric {
		return domain.Invalid("only generic packages can be published with PublishPackageVersion")
	}
	name, err := query(c, "asset")
	if err != nil {
		return err
	}
	if err := domain.ValidateAssetName(name); err != nil {
		return err
	}
	want := c.Request().Header.Get("X-Amz-Content-Sha256")
	if !sha256RE.MatchString(want) {
		return domain.Invalid("assetSHA256 (x-amz-content-sha256) must be a hex SHA-256")
	}
	want = strings.ToLower(want)
	unfinished := false
	if s := c.QueryParam("unfinished"); s != "" {
		if unfinished, err = strconv.ParseBool(s); err != nil {
			return domain.Invalid("unfinished must be true or false")
		}
	}
	if _, err := a.DB.GetRepository(ctx(c), d, r); err != nil {
		return err // before any byte is stored
	}
	put, err := a.Blobs.Put(ctx(c), &limitReader{r: c.Request().Body, n: a.MaxAssetBytes}, want)
	if errors.Is(err, blob.ErrDigestMismatch) {
		return domain.Invalid("the SHA256 hash of the asset content does not match the assetSHA256 value")
	}
	if err != nil {
		return err
	}
	asset := domain.Asset{Name: name, Size: put.Size, Hashes: put.Hashes}
	v, err := a.DB.AddAsset(ctx(c), domain.AddAssetInput{Domain: d, Repository: r, Ref: ref, Version: ver, Asset: asset, Unfinished: unfinished})
	if err != nil {
		return err // the blob stays until gc finds it unreferenced
	}
	return c.JSON(http.StatusOK, map[string]any{"format": ref.Format, "namespace": opt(ref.Namespace), "package": ref.Name,
		"version": v.Version, "versionRevision": v.Revision, "status": v.Status, "asset": assetSummary(asset)})
}

func (a *API) getPackageVersionAsset(c echo.Context) error {
	d, r, ref, ver, err := a.versionOp(c)
	if err != nil {
		return err
	}
	name, err := query(c, "asset")
	if err != nil {
		return err
	}
	as, v, err := a.DB.GetAsset(ctx(c), d, r, ref, ver, name)
	if err != nil {
		return err
	}
	if rev := c.QueryParam("revision"); rev != "" && rev != v.Revision {
		return domain.Conflict("package-version", ver, "revision %s does not match the current revision %s", rev, v.Revision)
	}
	if !v.Status.Downloadable() {
		return domain.Conflict("package-version", ver, "assets of a %s package version cannot be downloaded", v.Status)
	}
	f, _, err := a.Blobs.Open(ctx(c), as.Hashes.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("X-AssetName", as.Name)
	h.Set("X-PackageVersion", v.Version)
	h.Set("X-PackageVersionRevision", v.Revision)
	h.Set("Content-Length", strconv.FormatInt(as.Size, 10))
	return c.Stream(http.StatusOK, "application/octet-stream", f)
}
