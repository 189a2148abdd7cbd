package maven

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/upstream"
)

// Resolution through upstreams and external connections
// (https://docs.aws.amazon.com/codeartifact/latest/ug/repo-upstream-behavior.html),
// on when Format.Chain is set:
//
//	GET {g}/{a}/maven-metadata.xml        GET {g}/{a}/{v}/{file}[.sha1|.md5|...]
//	  │                                     │ in the asked repository? ─▶ serve
//	  ▼                                     ▼
//	Graph.SearchOrder(repo): hops         first hop (SearchOrder) with the file
//	  internal hop: its listed versions     internal hop ─▶ RetainVersion(RetainIn) ─▶ serve the blob
//	  external hop: upstream's              external hop ─▶ upstream {file}.sha1 (metadata cache;
//	    maven-metadata.xml (metadata          none published: computed on arrival)
//	    cache, TTL, revalidation)                        ─▶ Client.Fetch verified against it
//	  │                                                  ─▶ IngestVersion(RetainIn) of the GAV
//	union, Maven order (version.go),                        with that file as an asset
//	latest/release recomputed
//
// A version is ingested one file at a time (IngestVersion adds the files
// a recorded version lacks); its checksums are served from the stored
// file's digests. A file up to verifyFirst bytes is verified and
// committed before its first byte is sent, so wrong bytes are a 502 with
// a text message; a larger one is streamed while it is committed and a
// mismatch breaks the transfer (the last byte is held back until the
// digest is checked). Wrong bytes are never stored or recorded.
//
// A package whose origin controls block upstream in any internal hop
// (every package deployed internally, or blocked in advance) or that a
// package group blocks hides the external connection
// (formats.UpstreamBlocked). With publish and upstream both ALLOW, a
// deploy of a release version the external connection has is a 409.
//
// Not proxied: snapshots through an external connection (upstream
// snapshot-level metadata is not read, and non-unique -SNAPSHOT file
// names resolve only against the asked repository); timestamped build
// files are, by their exact names. Snapshot-level metadata comes from the
// first internal hop that has the snapshot.

// ingestTimeout bounds recording an ingested file; it runs detached from
// the request.
const ingestTimeout = 2 * time.Minute

// verifyFirst is the size up to which a file fetched from upstream is
// verified and committed before the client gets its first byte.
const verifyFirst = 1 << 20

// upstreamPath returns where a path's file (or metadata) is below an
// upstream repository root: relative, each segment escaped, starting
// with "./" so that a first segment with a colon is not read as a scheme.
func upstreamPath(p Path) string {
	segs := strings.Split(p.GroupID, ".")
	segs = append(segs, p.ArtifactID)
	if p.Dir != "" {
		segs = append(segs, p.Dir)
	}
	segs = append(segs, p.File)
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "./" + strings.Join(segs, "/")
}

// cacheKey is the upstream client's key for a path from upstreamPath.
func cacheKey(kind, path string) string { return kind + "/" + strings.TrimPrefix(path, "./") }

// metaOptions returns how metadata of an external hop is read: cached
// copies without revalidation when the asked repository or the one
// holding the connection prefers them.
func (f *Format) metaOptions(rp repository, h domain.Hop) upstream.MetaOptions {
	prefer := f.PreferCached != nil && (f.PreferCached(rp.domain, rp.name) || f.PreferCached(rp.domain, h.Repository))
	return upstream.MetaOptions{PreferCached: prefer}
}

// upstreamDoc reads a small document of an external connection through
// the metadata cache. found is false when the connection has no client or
// upstream says the document does not exist; an unreachable upstream
// with no cached copy is an error wrapping upstream.ErrUpstreamUnavailable.
func (f *Format) upstreamDoc(ctx context.Context, rp repository, h domain.Hop, key, path string) (upstream.Doc, bool, error) {
	cl := f.Upstreams[h.ExternalConnection]
	if cl == nil {
		return upstream.Doc{}, false, nil
	}
	doc, err := cl.Validator(ctx, key, path, f.metaOptions(rp, h)) // body read when used (Doc.Bytes)
	switch {
	case err == nil:
		return doc, true, nil
	case domain.KindOf(err) == domain.ErrNotFound:
		return upstream.Doc{}, false, nil
	}
	return upstream.Doc{}, false, err
}

// mergedMetadata renders artifact-level maven-metadata.xml as the union
// of the versions visible along the search order of rp.
func (f *Format) mergedMetadata(ctx context.Context, rp repository, p Path) (*metadataDoc, error) {
	ref := p.Ref()
	notFound := func() error { return domain.NotFound("metadata", p.Coordinates()+" "+MetadataFile) }
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return nil, err
	}
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, ref)
	if err != nil {
		return nil, err
	}
	var internal []string
	var external []upstream.Doc
	var parts []string
	blocked, checked := false, false
	for _, h := range order {
		if h.ExternalConnection == "" {
			stamp, err := f.Store.PackageStamp(ctx, rp.domain, h.Repository, ref)
			if domain.KindOf(err) == domain.ErrNotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			internal = append(internal, h.Repository)
			parts = append(parts, h.Repository+"="+stamp)
			continue
		}
		if !checked {
			if blocked, err = formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, ref); err != nil {
				return nil, err
			}
			checked = true
		}
		if blocked {
			continue
		}
		path := upstreamPath(p)
		doc, found, err := f.upstreamDoc(ctx, rp, h, cacheKey("maven", path), path)
		if err != nil && !errors.Is(err, upstream.ErrUpstreamUnavailable) {
			return nil, err
		}
		if !found {
			continue // an unreachable upstream without a cached copy: what is held is served
		}
		external = append(external, doc)
		parts = append(parts, h.ExternalConnection+"="+doc.ETag+"@"+strconv.FormatInt(doc.FetchedAt.UnixNano(), 36))
	}
	if len(parts) == 0 {
		return nil, notFound()
	}
	k := docKey{domain: rp.domain, repo: rp.name, groupID: p.GroupID, artifactID: p.ArtifactID, stamp: "chain:" + strings.Join(parts, "|")}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*metadataDoc, error) {
		f.renders.Add(1)
		l := artifactListing{GroupID: p.GroupID, ArtifactID: p.ArtifactID}
		seen := map[string]bool{}
		add := func(v string) {
			if !seen[v] {
				seen[v] = true
				l.Versions = append(l.Versions, v)
			}
		}
		for _, r := range internal {
			pv, err := f.Store.View(ctx, rp.domain, r, ref)
			if domain.KindOf(err) == domain.ErrNotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			hl, ok := listArtifact(p.GroupID, p.ArtifactID, pv.Versions)
			if !ok {
				continue
			}
			for _, v := range hl.Versions {
				add(v)
			}
			if hl.Updated.After(l.Updated) {
				l.Updated = hl.Updated
			}
		}
		var group []byte
		for _, doc := range external {
			body, err := doc.Bytes(ctx)
			if err != nil {
				return nil, err
			}
			m, err := ParseMetadata(body)
			if err != nil {
				continue // an unreadable upstream document contributes nothing
			}
			if m.Plugins && m.ArtifactID == "" && len(m.Versions) == 0 {
				// Group-level metadata (plugin prefixes): the path reads as
				// {groupId}/{artifactId} too. Passed on as upstream wrote it.
				if group == nil {
					group = body
				}
				continue
			}
			if m.GroupID != p.GroupID || m.ArtifactID != p.ArtifactID {
				continue
			}
			for _, v := range m.Versions {
				if checkVersion(v) == nil {
					add(v)
				}
			}
			updated, err := time.Parse(lastUpdatedLayout, m.LastUpdated)
			if err != nil {
				updated = doc.FetchedAt.UTC().Truncate(time.Second)
			}
			if updated.After(l.Updated) {
				l.Updated = updated
			}
		}
		if len(l.Versions) == 0 {
			if group != nil {
				return newMetadataDoc(group, time.Time{}), nil
			}
			return nil, notFound()
		}
		l.order()
		return newMetadataDoc(l.render(), l.Updated), nil
	})
}

// chainSnapshotMetadata returns snapshot-level metadata from the first
// internal hop of the search order that has a Published build of the
// snapshot. External connections are not asked (see above).
func (f *Format) chainSnapshotMetadata(ctx context.Context, rp repository, p Path) (*metadataDoc, error) {
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return nil, err
	}
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, p.Ref())
	if err != nil {
		return nil, err
	}
	for _, h := range order {
		if h.ExternalConnection != "" {
			continue
		}
		d, err := f.localMetadata(ctx, repository{rp.domain, h.Repository}, p)
		if domain.KindOf(err) == domain.ErrNotFound {
			continue
		}
		return d, err
	}
	return nil, domain.NotFound("metadata", p.Coordinates()+":"+p.Dir+" "+MetadataFile)
}

// proxyFile serves a file, or its checksum, that the asked repository
// does not hold: from the first hop of its search order that has it,
// recording it where domain.RetainIn says. served is false when no hop
// has it.
func (f *Format) proxyFile(c echo.Context, rp repository, p Path) (served bool, err error) {
	if p.NonUnique {
		return false, nil
	}
	ctx := c.Request().Context()
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return false, err
	}
	ref := p.Ref()
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, ref)
	if err != nil {
		return false, err
	}
	blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, ref)
	if err != nil {
		return false, err
	}
	var unavailable error
	for _, h := range order {
		if h.ExternalConnection == "" {
			a, found, err := formats.RetainFromHop(ctx, f.Store.GetAsset, f.Chain, rp.domain, rp.name, h, ref, p.Version, p.File)
			if err != nil {
				return false, err
			}
			if !found {
				continue
			}
			return true, f.serveStored(c, p, a)
		}
		if blocked {
			continue
		}
		served, err := f.ingestFile(c, rp, p, h)
		if errors.Is(err, upstream.ErrUpstreamUnavailable) && !errors.Is(err, upstream.ErrIntegrity) {
			unavailable = err // another connection further on may have it
			continue
		}
		if served || err != nil {
			return served, err
		}
	}
	if unavailable != nil {
		return false, badGateway(p, unavailable)
	}
	return false, nil
}

// badGateway is the plain-text 502 for a file upstream could not give.
func badGateway(p Path, err error) error {
	return echo.NewHTTPError(http.StatusBadGateway, fmt.Sprintf("bad gateway: %s of %s could not be fetched from upstream: %v", p.File, p.Coordinates(), err))
}

// declaredSHA1 returns the SHA-1 upstream publishes for a file (its
// .sha1 sibling, through the metadata cache). A repository that publishes
// no checksums (Debian's /usr/share/maven-repo) declares nothing: the
// digests are then computed as the file arrives.
func (f *Format) declaredSHA1(ctx context.Context, rp repository, h domain.Hop, path string) (upstream.Integrity, error) {
	doc, found, err := f.upstreamDoc(ctx, rp, h, cacheKey("maven", path)+".sha1", path+".sha1")
	if err != nil || !found {
		return upstream.Integrity{}, err
	}
	body, err := doc.Bytes(ctx)
	if err != nil {
		return upstream.Integrity{}, err
	}
	sum, err := ParseChecksum(body, "sha1")
	if err != nil {
		return upstream.Integrity{}, echo.NewHTTPError(http.StatusBadGateway,
			fmt.Sprintf("bad gateway: upstream %s publishes an unreadable checksum for %s: %v", h.ExternalConnection, path, err))
	}
	return upstream.Integrity{SHA1: sum}, nil
}

// ingestFile fetches a file through an external connection, serves it
// and records its version in the repositories domain.RetainIn names.
// served is false when upstream does not have the file.
func (f *Format) ingestFile(c echo.Context, rp repository, p Path, h domain.Hop) (served bool, err error) {
	cl := f.Upstreams[h.ExternalConnection]
	if cl == nil {
		return false, nil
	}
	ctx := c.Request().Context()
	path := upstreamPath(p) // the file's, also for a checksum path
	want, err := f.declaredSHA1(ctx, rp, h, path)
	if err != nil {
		return false, err
	}
	d, err := cl.Fetch(ctx, cacheKey("maven", path), path, want)
	if domain.KindOf(err) == domain.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer d.Close()
	// Recording goes on whatever happens to this client.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	stream := c.Request().Method == http.MethodGet && p.Checksum == "" && (d.Size() < 0 || d.Size() > verifyFirst)
	if !stream {
		put, err := d.Wait(wctx)
		if err != nil {
			return false, badGateway(p, err)
		}
		a, err := f.recordIngested(wctx, rp, p, h, put)
		if err != nil {
			return false, err
		}
		return true, f.serveStored(c, p, a)
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, contentType(p.Extension))
	if d.Size() >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(d.Size(), 10))
	}
	c.Response().WriteHeader(http.StatusOK)
	_, copyErr := io.Copy(c.Response(), d)
	put, err := d.Wait(wctx)
	if err != nil {
		return true, errors.Join(copyErr, err)
	}
	_, err = f.recordIngested(wctx, rp, p, h, put)
	return true, errors.Join(copyErr, err)
}

// recordIngested records a file fetched through an external connection
// as an asset of its version, in the repositories domain.RetainIn names.
// A POM gives the version its metadata and dependencies.
func (f *Format) recordIngested(ctx context.Context, rp repository, p Path, h domain.Hop, put blob.Put) (domain.Asset, error) {
	a := domain.Asset{Name: p.File, Size: put.Size, Hashes: put.Hashes}
	meta := versionMeta{}
	if p.Snapshot() {
		meta.BaseVersion = p.Dir
	}
	in := domain.IngestInput{
		Domain:             rp.domain,
		Repositories:       domain.RetainIn(rp.name, h),
		Ref:                p.Ref(),
		Version:            p.Version,
		ExternalConnection: h.ExternalConnection,
		Assets:             []domain.Asset{a},
	}
	if p.Classifier == "" && p.Extension == "pom" && put.Size <= MaxPOMBytes {
		if pom, ok := f.readPOM(ctx, put.Hashes.SHA256); ok {
			meta.Packaging = pom.Packaging
			in.Meta = domain.VersionMeta{DisplayName: pom.Name, Summary: pom.Description, HomePage: pom.URL,
				SourceCodeRepository: pom.SCMURL, Licenses: pom.Licenses}
			in.Dependencies = pom.Dependencies
		}
	}
	in.Meta.Metadata, _ = json.Marshal(meta)
	return a, f.Chain.IngestVersion(ctx, in)
}

// readPOM parses a stored POM; ok is false when it cannot be read (the
// version is then recorded without what the POM says).
func (f *Format) readPOM(ctx context.Context, digest string) (POM, bool) {
	rc, _, err := f.Blobs.Open(ctx, digest)
	if err != nil {
		return POM{}, false
	}
	defer rc.Close()
	doc, err := io.ReadAll(io.LimitReader(rc, MaxPOMBytes+1))
	if err != nil || len(doc) > MaxPOMBytes {
		return POM{}, false
	}
	pom, err := ParsePOM(doc)
	return pom, err == nil
}

// ParseChecksum reads a checksum file as Maven repositories publish them:
// the hex digest alone, or followed by the file name ("<hex>  name"), or
// in the BSD form ("SHA1(name)= <hex>"). algo is "md5", "sha1", "sha256"
// or "sha512". The digest is returned in lowercase; anything else is an
// error wrapping domain.ErrInvalid.
func ParseChecksum(body []byte, algo string) (string, error) {
	n := map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}[algo]
	if n == 0 {
		return "", domain.Invalid("unknown checksum algorithm %q", algo)
	}
	if len(body) > maxChecksumBody {
		return "", domain.Invalid("a %s checksum file of %d bytes is too long", algo, len(body))
	}
	fields := strings.Fields(string(body))
	for _, cand := range []int{0, len(fields) - 1} {
		if cand < 0 || cand >= len(fields) {
			continue
		}
		s := fields[cand]
		if len(s) == n && isHexDigits(s) {
			return strings.ToLower(s), nil
		}
	}
	return "", domain.Invalid("not a %s checksum (%d hex digits)", algo, n)
}

func isHexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkUpstreamConflict refuses (409) the deploy of a release version
// that an external connection of the repository's search order has,
// when the package's origin controls allow both publishing and upstream:
// the internal copy would shadow the public one. A new package, or one
// whose upstream is BLOCKed (the default for internally deployed ones),
// deploys freely; so does a version the repository already holds. An
// unreachable upstream does not stop a deploy.
func (f *Format) checkUpstreamConflict(ctx context.Context, rp repository, p Path) error {
	if p.Snapshot() {
		return nil
	}
	ref := p.Ref()
	publish, up, err := f.Chain.OriginControls(ctx, rp.domain, rp.name, ref)
	if domain.KindOf(err) == domain.ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if publish != domain.Allow || up != domain.Allow {
		return nil
	}
	if pv, err := f.Store.View(ctx, rp.domain, rp.name, ref); err == nil {
		for _, v := range pv.Versions {
			if v.Version == p.Version {
				return nil // a version held already: its files may be completed
			}
		}
	}
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return err
	}
	order := g.SearchOrder(rp.name)
	blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, ref)
	if err != nil || blocked {
		return err
	}
	for _, h := range order {
		if h.ExternalConnection == "" {
			continue
		}
		has, err := f.upstreamHas(ctx, rp, h, p)
		if err != nil {
			return err
		}
		if has {
			return domain.Conflict("package-version", p.Coordinates()+":"+p.Version,
				"%s:%s exists on the external connection %s, and the package's origin configuration allows both publishing and upstream: "+
					"a deployed copy would shadow it. Deploy another version, or block upstream with put-package-origin-configuration",
				p.Coordinates(), p.Version, h.ExternalConnection)
		}
	}
	return nil
}

// upstreamHas reports whether an external connection has a release
// version: listed in its maven-metadata.xml, or its POM present (a
// repository may publish no metadata).
func (f *Format) upstreamHas(ctx context.Context, rp repository, h domain.Hop, p Path) (bool, error) {
	mp := upstreamPath(Path{GroupID: p.GroupID, ArtifactID: p.ArtifactID, File: MetadataFile})
	doc, found, err := f.upstreamDoc(ctx, rp, h, cacheKey("maven", mp), mp)
	if err != nil && !errors.Is(err, upstream.ErrUpstreamUnavailable) {
		return false, err
	}
	if found {
		body, err := doc.Bytes(ctx)
		if err != nil {
			return false, err
		}
		if m, err := ParseMetadata(body); err == nil {
			for _, v := range m.Versions {
				if v == p.Version {
					return true, nil
				}
			}
		}
	}
	pp := upstreamPath(Path{GroupID: p.GroupID, ArtifactID: p.ArtifactID, Dir: p.Version, File: FileName(p.ArtifactID, p.Version, "", "pom")})
	_, found, err = f.upstreamDoc(ctx, rp, h, cacheKey("maven-probe", pp), pp)
	if err != nil && !errors.Is(err, upstream.ErrUpstreamUnavailable) {
		return false, err
	}
	return found, nil
}
