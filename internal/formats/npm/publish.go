package npm

import (
	"io"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// storedTarball is an attachment committed to the blob store while the
// document was read.
type storedTarball struct {
	name string
	put  blob.Put
}

// put handles PUT /{name} and PUT /{name}/-rev/{rev}: a publish when the
// document carries attachments, otherwise changes to existing versions
// (deprecate, unpublish of single versions) and dist-tags.
func (f *Format) put(c echo.Context, rp repo, rt route) error {
	ref := rt.name.Ref()
	// Authorise before reading a byte of a body that may be large.
	if err := f.Authorize(c, ActionPublish, &ref); err != nil {
		if rt.ep != epRev {
			return err
		}
		if f.Authorize(c, ActionDeleteVersions, &ref) != nil {
			return err
		}
	}
	r := c.Request()
	max := f.maxPublish()
	if r.ContentLength > max {
		return tooLarge(max)
	}
	body := &limitedBody{r: r.Body, n: max, max: max}
	ctx := r.Context()
	var tarballs []storedTarball
	doc, err := parseDocument(body, func(name string, data io.Reader) error {
		if len(tarballs) > 0 {
			return domain.Invalid("a publish carries one tarball; attachment %q is a second", name)
		}
		p, err := f.Blobs.Put(ctx, data, "")
		if err != nil {
			return err
		}
		tarballs = append(tarballs, storedTarball{name: name, put: p})
		return nil
	})
	if err != nil {
		return err // a blob committed for a failed publish is left for gc
	}
	if doc.Name != "" && doc.Name != rt.name.String() {
		return domain.Invalid("the document names package %q but was sent to %q", doc.Name, rt.name.String())
	}
	if doc.ID != "" && doc.ID != rt.name.String() {
		return domain.Invalid("the document _id %q does not match package %q", doc.ID, rt.name.String())
	}
	if len(doc.Attachments) > 0 {
		return f.publish(c, rp, rt.name, doc, tarballs)
	}
	return f.update(c, rp, rt, doc)
}

// limitedBody fails with ErrTooLarge once more than max bytes were read;
// n is what is left.
type limitedBody struct {
	r      io.Reader
	n, max int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, tooLarge(l.max)
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, tooLarge(l.max)
	}
	return n, err
}

func tooLarge(max int64) error {
	return domain.Errorf(domain.ErrTooLarge, "the request body exceeds the publish limit of %d bytes (npm_max_publish_bytes)", max)
}

// publish creates the one version a document carries, with its tarball,
// metadata, dependencies and dist-tags, in one store transaction.
func (f *Format) publish(c echo.Context, rp repo, n Name, doc *document, tarballs []storedTarball) error {
	ctx := c.Request().Context()
	ref := n.Ref()
	if _, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, ref); domain.KindOf(err) == domain.ErrNotFound {
		if _, err := ParseName(n.String(), true); err != nil {
			return err // new packages follow the stricter rules
		}
	} else if err != nil {
		return err
	}
	if len(doc.Versions) != 1 {
		return domain.Invalid("a publish must contain exactly one version, this one has %d", len(doc.Versions))
	}
	version := doc.Versions[0].Version
	if _, err := checkVersion(version); err != nil {
		return err
	}
	m, err := parseManifest(doc.Versions[0].Raw)
	if err != nil {
		return err
	}
	if got := m.str("name"); got != n.String() {
		return domain.Invalid("versions[%q].name is %q, not %q", version, got, n.String())
	}
	if got := m.str("version"); got != version {
		return domain.Invalid("versions[%q].version is %q", version, got)
	}
	if len(tarballs) == 0 {
		return domain.Invalid("the document has no tarball attachment (%s)", n.String()+"-"+version+".tgz")
	}
	tb := tarballs[0]
	if tb.name != n.String()+"-"+version+".tgz" && tb.name != n.tarballFile(version) {
		return domain.Invalid("attachment %q is not the tarball of %s@%s", tb.name, n.String(), version)
	}
	if err := m.checkIntegrity(tb.put.Hashes); err != nil {
		return err
	}
	readme := doc.Readme
	if s := m.str("readme"); s != "" {
		readme = s
	}
	info, err := f.inspect(c, tb.put.Hashes.SHA256, readme == "")
	if err != nil {
		return err
	}
	if info.Name != n.String() {
		return domain.Invalid("the tarball's package.json names %q, not %q", info.Name, n.String())
	}
	if looseVersion(info.Version) != version {
		return domain.Invalid("the tarball's package.json has version %q, not %q", info.Version, version)
	}
	if readme == "" {
		readme = info.Readme
		if _, ok := m["readmeFilename"]; !ok && info.ReadmeFilename != "" {
			m["readmeFilename"] = jsonString(info.ReadmeFilename)
		}
	}
	tags, err := publishTags(doc.DistTags, version)
	if err != nil {
		return err
	}
	if err := f.checkUpstreamCollision(ctx, rp, n, version); err != nil {
		return err
	}
	in := domain.PublishInput{
		Domain: rp.domain, Repository: rp.name, Ref: ref, Version: version,
		Meta:         m.meta(readme),
		Assets:       []domain.Asset{{Name: assetName, Size: tb.put.Size, Hashes: tb.put.Hashes}},
		Dependencies: m.dependencies(),
		DistTags:     tags,
	}
	in.Meta.Metadata = m.stored(n, version, caller(c))
	if _, err := f.Store.PublishVersion(ctx, in); err != nil {
		if domain.KindOf(err) == domain.ErrConflict {
			return domain.Conflict("package-version", version, "cannot publish over the previously published versions: %s.", version)
		}
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "success": true, "id": n.String()})
}

// inspect reads the committed tarball's package.json (and README).
func (f *Format) inspect(c echo.Context, digest string, wantReadme bool) (tarballInfo, error) {
	rc, _, err := f.Blobs.Open(c.Request().Context(), digest)
	if err != nil {
		return tarballInfo{}, err
	}
	defer rc.Close()
	return inspectTarball(rc, wantReadme)
}

// publishTags returns the dist-tags a publish sets: those of the document,
// which may only name the version published, or "latest".
func publishTags(doc map[string]string, version string) (map[string]string, error) {
	if len(doc) == 0 {
		return map[string]string{"latest": version}, nil
	}
	for t, v := range doc {
		if err := checkTag(t); err != nil {
			return nil, err
		}
		if v != version {
			return nil, domain.Invalid("dist-tag %q names %q, but this publish is of %s", t, v, version)
		}
	}
	return doc, nil
}

// checkTag checks a dist-tag name: URL-safe, and not something npm would
// read as a version range.
func checkTag(t string) error {
	if t == "" || len(t) > 128 || !allURLSafe(t) || t[0] == '.' {
		return domain.Invalid("dist-tag %q must be 1-128 URL-safe characters", t)
	}
	if isRange(t) {
		return domain.Invalid("dist-tag %q must not be a valid SemVer range", t)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
