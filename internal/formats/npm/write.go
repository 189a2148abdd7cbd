package npm

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
)

// deletePackage handles DELETE /{name}/-rev/{rev}: npm unpublish of a
// whole package (all versions, or the only one).
func (f *Format) deletePackage(c echo.Context, rp repo, rt route) error {
	ref := rt.name.Ref()
	if err := f.Authorize(c, ActionDeletePackage, &ref); err != nil {
		return err
	}
	ctx := c.Request().Context()
	stamp, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, ref)
	if err != nil {
		return notFoundPackage(err, rt.name)
	}
	if rt.rev != docRev(stamp) {
		return domain.Conflict("package", rt.name.String(), "document update conflict: revision %s is not the current revision %s; fetch the package again", rt.rev, docRev(stamp))
	}
	if _, err := f.Store.DeletePackage(ctx, rp.domain, rp.name, ref); err != nil {
		return notFoundPackage(err, rt.name)
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "success": true, "id": rt.name.String()})
}

// deleteTarball handles DELETE /{name}/-/{file}/-rev/{rev}, which npm
// sends after the PUT that removed the version from the packument: the
// version is normally gone already, and the answer is 200 either way. A
// listed version still present is unpublished.
func (f *Format) deleteTarball(c echo.Context, rp repo, rt route) error {
	ref := rt.name.Ref()
	if err := f.Authorize(c, ActionDeleteVersions, &ref); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ok := map[string]any{"ok": true, "success": true, "id": rt.name.String()}
	version := rt.name.versionOfFile(rt.file)
	if version == "" {
		return c.JSON(http.StatusOK, ok)
	}
	v, err := f.Store.GetVersion(ctx, rp.domain, rp.name, ref, version)
	if domain.KindOf(err) == domain.ErrNotFound {
		return c.JSON(http.StatusOK, ok)
	}
	if err != nil {
		return err
	}
	if v.Status.Listed() {
		if err := f.deleteVersions(c, rp, rt.name, []string{version}); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, ok)
}

// maxTagBody bounds the body of a dist-tag PUT (a JSON string).
const maxTagBody = 4 << 10

// putDistTag handles PUT /-/package/{name}/dist-tags/{tag} with the
// version as a JSON string body (npm dist-tag add).
func (f *Format) putDistTag(c echo.Context, rp repo, rt route) error {
	ref := rt.name.Ref()
	if err := f.Authorize(c, ActionPublish, &ref); err != nil {
		return err
	}
	if err := checkTag(rt.tag); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxTagBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxTagBody {
		return domain.Invalid("the dist-tag body must be a JSON string naming a version")
	}
	version := strings.TrimSpace(string(body))
	if strings.HasPrefix(version, `"`) {
		if err := json.Unmarshal(body, &version); err != nil {
			return domain.Invalid("the dist-tag body must be a JSON string naming a version")
		}
	}
	if _, err := checkVersion(version); err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := f.Store.GetVersion(ctx, rp.domain, rp.name, ref, version)
	if err == nil && !v.Status.Listed() {
		err = domain.NotFound("package-version", rt.name.String()+"@"+version)
	}
	if err != nil {
		if domain.KindOf(err) == domain.ErrNotFound {
			return domain.NotFound("package-version", rt.name.String()+"@"+version)
		}
		return err
	}
	if err := f.Store.SetDistTag(ctx, rp.domain, rp.name, ref, rt.tag, version); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "id": rt.name.String(), rt.tag: version})
}

// deleteDistTag handles DELETE /-/package/{name}/dist-tags/{tag} (npm
// dist-tag rm). "latest" cannot be removed.
func (f *Format) deleteDistTag(c echo.Context, rp repo, rt route) error {
	ref := rt.name.Ref()
	if err := f.Authorize(c, ActionPublish, &ref); err != nil {
		return err
	}
	if rt.tag == "latest" {
		return domain.Invalid("the latest dist-tag cannot be removed; point it at another version instead")
	}
	err := f.Store.DeleteDistTag(c.Request().Context(), rp.domain, rp.name, ref, rt.tag)
	if domain.KindOf(err) == domain.ErrNotFound {
		return domain.NotFound("dist-tag", rt.tag+" of "+rt.name.String())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "id": rt.name.String()})
}
