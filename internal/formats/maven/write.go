package maven

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

// maxChecksumBody bounds an uploaded checksum file (a sha512 is 128 hex
// digits; some tools append the file name).
const maxChecksumBody = 1 << 10

// uploadKey names an uploaded metadata document, whose digests are kept
// to verify the checksum files uploaded after it.
type uploadKey struct{ domain, repo, path string }

// put handles PUT: files, checksums and metadata.
func (f *Format) put(c echo.Context, rp repository, raw string) error {
	p, err := ParsePath(raw)
	if err != nil {
		return err
	}
	server.SetOperation(c, operation(c.Request().Method, p))
	ref := p.Ref()
	// Authorise before reading a byte of a body that may be large.
	if err := f.Authorize(c, ActionPublish, &ref); err != nil {
		return err
	}
	if p.Kind != KindFile && p.Checksum == "" {
		if err := f.Authorize(c, ActionPutMetadata, &ref); err != nil {
			return err
		}
	}
	if p.NonUnique {
		return domain.Invalid("%s is a non-unique (Maven 2) snapshot file; only timestamped snapshots (%s-%s-yyyyMMdd.HHmmss-N) are supported: deploy with Maven 3 or later",
			p.File, p.ArtifactID, strings.TrimSuffix(p.Dir, "-SNAPSHOT"))
	}
	switch {
	case p.Checksum != "":
		return f.putChecksum(c, rp, p, raw)
	case p.Kind == KindFile:
		return f.putFile(c, rp, p)
	}
	return f.putMetadata(c, rp, p, raw)
}

// readBody reads a whole request body of at most max bytes.
func readBody(r *http.Request, max int64, what string) ([]byte, error) {
	if r.ContentLength > max {
		return nil, domain.Errorf(domain.ErrTooLarge, "%s is larger than %d bytes", what, max)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, domain.Invalid("reading %s: %v", what, err)
	}
	if int64(len(b)) > max {
		return nil, domain.Errorf(domain.ErrTooLarge, "%s is larger than %d bytes", what, max)
	}
	return b, nil
}

// putFile stores a file of a version. A POM is parsed (and checked against
// the path) before anything is stored; its metadata and dependencies are
// recorded with the version.
func (f *Format) putFile(c echo.Context, rp repository, p Path) error {
	r := c.Request()
	ctx := r.Context()
	max := f.maxFile()
	if r.ContentLength > max {
		return tooLarge(max)
	}
	if f.Chain != nil {
		if err := f.checkUpstreamConflict(ctx, rp, p); err != nil {
			return err
		}
	}
	var body io.Reader = &limitedBody{r: r.Body, n: max}
	meta := versionMeta{}
	if p.Snapshot() {
		meta.BaseVersion = p.Dir
	}
	in := domain.MavenFileInput{Domain: rp.domain, Repository: rp.name, Ref: p.Ref(), Version: p.Version}
	if p.POM() {
		doc, err := readBody(r, MaxPOMBytes, "the POM")
		if err != nil {
			return err
		}
		pom, err := ParsePOM(doc)
		if err != nil {
			return err
		}
		if err := pom.checkCoordinates(p); err != nil {
			return err
		}
		meta.Packaging = pom.Packaging
		in.POM = true
		in.Meta = domain.VersionMeta{DisplayName: pom.Name, Summary: pom.Description, HomePage: pom.URL,
			SourceCodeRepository: pom.SCMURL, Licenses: pom.Licenses}
		in.Dependencies = pom.Dependencies
		body = bytes.NewReader(doc)
	}
	in.Meta.Metadata, _ = json.Marshal(meta)
	put, err := f.Blobs.Put(ctx, blob.ContextReader(ctx, body), "")
	if err != nil {
		return err
	}
	in.Asset = domain.Asset{Name: p.File, Size: put.Size, Hashes: put.Hashes}
	res, err := f.Store.PutMavenFile(ctx, in)
	if err != nil {
		return err // a blob committed for a refused file is left for gc
	}
	if !res.Created {
		return c.NoContent(http.StatusOK)
	}
	return c.NoContent(http.StatusCreated)
}

// putChecksum compares an uploaded checksum with the digest the server
// computed for its file (or, for metadata, for the document the client
// uploaded). Nothing is stored.
func (f *Format) putChecksum(c echo.Context, rp repository, p Path, raw string) error {
	ctx := c.Request().Context()
	b, err := readBody(c.Request(), maxChecksumBody, "a checksum file")
	if err != nil {
		return err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return domain.Invalid("the %s checksum of %s is empty", p.Checksum, p.File)
	}
	got := fields[0]
	var want string
	if p.Kind == KindFile {
		a, err := f.asset(ctx, rp, p)
		if err != nil {
			if domain.KindOf(err) == domain.ErrNotFound {
				return domain.NotFound("asset", p.File+": upload the file before its checksum")
			}
			return err
		}
		want = hashOf(a.Hashes, p.Checksum)
	} else {
		key := uploadKey{rp.domain, rp.name, strings.TrimSuffix(raw, "."+p.Checksum)}
		h, ok := f.uploads.Get(key)
		if !ok {
			// Not uploaded through this server recently: nothing to
			// compare with, but the package must exist.
			if _, err := f.Store.PackageStamp(ctx, rp.domain, rp.name, p.Ref()); err != nil {
				if domain.KindOf(err) == domain.ErrNotFound {
					return domain.NotFound("metadata", p.Coordinates()+" "+MetadataFile)
				}
				return err
			}
			return c.NoContent(http.StatusCreated)
		}
		want = hashOf(h, p.Checksum)
	}
	if got != want {
		return domain.Invalid("checksum mismatch for %s: uploaded %s %s, the server computed %s", p.File, p.Checksum, got, want)
	}
	return c.NoContent(http.StatusCreated)
}

// putMetadata reads an uploaded maven-metadata.xml: it must be
// well-formed and name the path's coordinates. Artifact-level metadata
// publishes the Unfinished versions it lists. The document itself is not
// kept; clients get metadata rendered from the registry's state.
func (f *Format) putMetadata(c echo.Context, rp repository, p Path, raw string) error {
	ctx := c.Request().Context()
	doc, err := readBody(c.Request(), MaxMetadataBytes, MetadataFile)
	if err != nil {
		return err
	}
	m, err := ParseMetadata(doc)
	if err != nil {
		return err
	}
	h := blob.NewHasher()
	h.Write(doc)
	remember := func() { f.uploads.Add(uploadKey{rp.domain, rp.name, raw}, h.Result().Hashes) }
	if p.Kind == KindMetadata && m.Plugins && m.ArtifactID == "" {
		// Group-level metadata (plugin prefixes) of a plugin deploy: not
		// served by this registry, accepted so the deploy completes.
		remember()
		return c.NoContent(http.StatusCreated)
	}
	switch {
	case m.GroupID != p.GroupID:
		return domain.Invalid("%s names groupId %q but was uploaded to %q", MetadataFile, m.GroupID, p.GroupID)
	case m.ArtifactID != p.ArtifactID:
		return domain.Invalid("%s names artifactId %q but was uploaded to %q", MetadataFile, m.ArtifactID, p.ArtifactID)
	case p.Kind == KindSnapshotMetadata && m.Version != p.Dir:
		return domain.Invalid("%s names version %q but was uploaded to %q", MetadataFile, m.Version, p.Dir)
	}
	for _, v := range m.Versions {
		if err := checkVersion(v); err != nil {
			return domain.Invalid("%s lists an invalid version: %v", MetadataFile, err)
		}
	}
	if p.Kind == KindMetadata {
		_, err := f.Store.TransitionVersions(ctx, rp.domain, rp.name, p.Ref(), publishPlan(m.Versions))
		if err != nil && domain.KindOf(err) != domain.ErrNotFound {
			return err
		}
	}
	remember()
	return c.NoContent(http.StatusCreated)
}

// limitedBody fails with ErrTooLarge once more than n bytes were read.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, tooLarge(0)
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, tooLarge(0)
	}
	return n, err
}

func tooLarge(max int64) error {
	if max > 0 {
		return domain.Errorf(domain.ErrTooLarge, "the file is larger than the limit of %d bytes", max)
	}
	return domain.Errorf(domain.ErrTooLarge, "the file is larger than the upload limit")
}
