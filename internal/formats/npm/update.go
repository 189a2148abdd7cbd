package npm

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
)

// versionChange is a change of a listed version's "deprecated" message.
type versionChange struct {
	version string
	meta    []byte
}

// update applies a document without attachments: versions it lacks are
// unpublished (DeletePackageVersions), changed "deprecated" messages are
// stored (PublishPackageVersion), and dist-tags follow the document
// (PublishPackageVersion) except for the changes an unpublish implies.
// Only a document that names the revision it was based on (in the path or
// its _rev) can unpublish, so one built from an older state cannot delete
// versions published since. Versions the client cannot see (Unlisted,
// Archived, ...) are never touched. Permissions are checked before
// anything changes.
func (f *Format) update(c echo.Context, rp repo, rt route, doc *document) error {
	ctx := c.Request().Context()
	n := rt.name
	ref := n.Ref()
	stamp, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, ref)
	if err != nil {
		return notFoundPackage(err, n)
	}
	based := rt.rev != "" || doc.Rev != ""
	for _, rev := range []string{rt.rev, doc.Rev} {
		if rev != "" && rev != docRev(stamp) {
			return domain.Conflict("package", n.String(), "document update conflict: revision %s is not the current revision %s; fetch the package again", rev, docRev(stamp))
		}
	}
	pv, err := f.Store.View(ctx, rp.domain, rp.name, ref)
	if err != nil {
		return notFoundPackage(err, n)
	}
	v, _ := visible(pv)
	inDoc := map[string]manifest{}
	for _, e := range doc.Versions {
		m, err := parseManifest(e.Raw)
		if err != nil {
			return err
		}
		inDoc[e.Version] = m
	}
	listed := map[string]bool{}
	var removed []string
	var changes []versionChange
	for i := range v.versions {
		r := v.record(i)
		listed[r.Version] = true
		m, ok := inDoc[r.Version]
		if !ok {
			if based {
				removed = append(removed, r.Version)
			}
			continue
		}
		if meta, changed := deprecation(r.Metadata, m); changed {
			changes = append(changes, versionChange{r.Version, meta})
		}
	}
	for ver := range inDoc {
		if !listed[ver] && !hiddenVersion(pv, ver) {
			return domain.Invalid("version %s is not published here; publish it with its tarball", ver)
		}
	}
	gone := map[string]bool{}
	for _, ver := range removed {
		gone[ver] = true
	}
	setTags, delTags, err := tagChanges(v.tags, doc.DistTags, gone, listed)
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		if err := f.Authorize(c, ActionDeleteVersions, &ref); err != nil {
			return err
		}
	}
	if len(changes) > 0 || len(setTags) > 0 || len(delTags) > 0 {
		if err := f.Authorize(c, ActionPublish, &ref); err != nil {
			return err
		}
	}
	if len(removed) > 0 {
		if err := f.deleteVersions(c, rp, n, removed); err != nil {
			return err
		}
	}
	for _, ch := range changes {
		if _, err := f.Store.UpdateMetadata(ctx, rp.domain, rp.name, ref, ch.version, ch.meta); err != nil {
			return err
		}
	}
	for _, t := range sortedKeys(setTags) {
		if err := f.Store.SetDistTag(ctx, rp.domain, rp.name, ref, t, setTags[t]); err != nil {
			return err
		}
	}
	for _, t := range delTags {
		if err := f.Store.DeleteDistTag(ctx, rp.domain, rp.name, ref, t); err != nil && domain.KindOf(err) != domain.ErrNotFound {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "success": true, "id": n.String()})
}

// hiddenVersion reports whether pv has version ver in a status clients do
// not see (a document may not mention it, but may carry it back).
func hiddenVersion(pv domain.PackageView, ver string) bool {
	for _, r := range pv.Versions {
		if r.Version == ver {
			return !r.Status.Listed()
		}
	}
	return false
}

// deprecation compares the "deprecated" message of a stored manifest with
// the one a document carries, and returns the stored manifest updated to
// the document's message (an empty message removes it, as npm's
// undeprecate means).
func deprecation(stored []byte, doc manifest) ([]byte, bool) {
	sm, err := parseManifest(stored)
	if err != nil {
		sm = manifest{}
	}
	was, now := sm.str("deprecated"), doc.str("deprecated")
	if was == now {
		return nil, false
	}
	if now == "" {
		delete(sm, "deprecated")
	} else {
		sm["deprecated"] = jsonString(now)
	}
	return sm.bytes(), true
}

// tagChanges returns the dist-tag changes a document asks for. Tags of
// unpublished versions go with them, and moving "latest" off an
// unpublished version is left to the fallback; "latest" is never deleted.
func tagChanges(cur, want map[string]string, gone, listed map[string]bool) (map[string]string, []string, error) {
	set := map[string]string{}
	var del []string
	if want == nil {
		return set, nil, nil
	}
	for t, ver := range want {
		if cur[t] == ver || gone[ver] || (t == "latest" && gone[cur[t]]) {
			continue
		}
		if err := checkTag(t); err != nil {
			return nil, nil, err
		}
		if !listed[ver] {
			return nil, nil, domain.Invalid("dist-tag %q names %q, which is not a published version", t, ver)
		}
		set[t] = ver
	}
	for t, ver := range cur {
		if _, ok := want[t]; !ok && t != "latest" && !gone[ver] {
			del = append(del, t)
		}
	}
	sort.Strings(del)
	return set, del, nil
}

// deleteVersions unpublishes versions in one store transaction.
func (f *Format) deleteVersions(c echo.Context, rp repo, n Name, versions []string) error {
	res, err := f.Store.DeleteVersions(c.Request().Context(), domain.BatchInput{Domain: rp.domain, Repository: rp.name, Ref: n.Ref(), Versions: versions})
	if err != nil {
		return err
	}
	for _, ver := range versions {
		if fl, ok := res.Failed[ver]; ok && fl.Code != domain.CodeSkipped {
			if fl.Code == domain.CodeNotFound {
				return domain.NotFound("package-version", n.String()+"@"+ver)
			}
			return domain.Conflict("package-version", ver, "cannot unpublish %s@%s: %s", n.String(), ver, fl.Message)
		}
	}
	return nil
}
