package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/formats/rendered"
	"github.com/artifactd/registry/internal/upstream"
)

// Resolution through upstreams and external connections
// (https://docs.aws.amazon.com/codeartifact/latest/ug/repo-upstream-behavior.html):
//
//	GET simple/{project}/              GET simple/{project}/{version}/{file}[.metadata]
//	  │                                  │ in the asked repository? ─▶ serve
//	  ▼                                  ▼
//	Graph.SearchOrder(repo): hops      first hop (SearchOrder) holding the file
//	  internal hop: View                 internal hop ─▶ RetainVersion(RetainIn) ─▶ serve the blob
//	  external hop: Client.Metadata      external hop ─▶ Client.Fetch (#sha256= of the upstream page)
//	    (PEP 691 JSON or PEP 503 HTML)                 ─▶ to the client ─▶ IngestVersion(RetainIn)
//	  │                                                   (a .metadata file is only passed on)
//	merge: the first hop with a
//	version gives all of that
//	version's files; PEP 440 order;
//	URLs {version}/{file} relative
//	to the asked repository's page
//
// A package whose origin controls block upstream in any internal hop
// (every package published internally, or blocked in advance), or that a
// package group keeps from external upstreams, hides the external
// connection (formats.UpstreamBlocked). The merged page is cached under
// the stamps of every internal hop plus the upstream page's ETag and
// fetch time.
//
// An upstream file whose size upstream declares and which is at most
// verifyFirstBytes is fetched and checked before the response starts, so
// a digest mismatch is a clean 502 with a message; a larger one streams
// as it arrives and a mismatch at its end aborts the response. Nothing
// that fails its check is stored or recorded. Each ingested file records
// (or extends) its version in the repositories domain.RetainIn names,
// with the summary, requires-python and dependencies of the file's own
// metadata; later files of a version keep the version's first metadata.

// pageAccept is what an upstream project page is asked for as: PEP 691
// JSON, with PEP 503 HTML as the fallback.
const pageAccept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"

// ingestTimeout bounds fetching and recording an ingested file once a
// client asked for it; it runs detached from the request.
const ingestTimeout = 10 * time.Minute

// verifyFirstBytes is the largest upstream file checked against its
// digest before its response starts.
const verifyFirstBytes = 32 << 20

// hopState is what one hop contributes to a merged project page.
type hopState struct {
	hop   domain.Hop
	stamp string       // internal hop with the package
	doc   upstream.Doc // external hop with a page
}

// chainState reads the hops of rp's search order that know a project. ok
// is false when none does.
func (f *Format) chainState(ctx context.Context, rp repo, project string) (hops []hopState, key string, ok bool, err error) {
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return nil, "", false, err
	}
	r := ref(project)
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, r)
	if err != nil {
		return nil, "", false, err
	}
	var parts []string
	external := false
	for _, h := range order {
		if h.ExternalConnection != "" {
			external = true
			continue
		}
		stamp, err := f.Store.PackageStamp(ctx, rp.domain, h.Repository, r)
		if domain.KindOf(err) == domain.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, "", false, err
		}
		hops = append(hops, hopState{hop: h, stamp: stamp})
		parts = append(parts, h.Repository+"="+stamp)
	}
	if !external {
		return hops, strings.Join(parts, "|"), len(hops) > 0, nil
	}
	blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, r)
	if err != nil || blocked {
		return hops, strings.Join(parts, "|"), len(hops) > 0, err
	}
	// External hops come after every internal hop of the repository
	// holding them, so appending keeps search order within the chain
	// (SearchOrder places a connection after its holder's upstreams);
	// the merge below re-sorts by position anyway.
	var all []hopState
	for _, h := range order {
		if h.ExternalConnection == "" {
			for _, s := range hops {
				if s.hop == h {
					all = append(all, s)
				}
			}
			continue
		}
		doc, found, err := f.upstreamPage(ctx, rp, h.ExternalConnection, project)
		if err != nil {
			return nil, "", false, err
		}
		if !found {
			continue
		}
		all = append(all, hopState{hop: h, doc: doc})
		parts = append(parts, h.ExternalConnection+"="+doc.ETag+"@"+strconv.FormatInt(doc.FetchedAt.UnixNano(), 36))
	}
	return all, strings.Join(parts, "|"), len(all) > 0, nil
}

// preferCached reports the repository's setting for cached upstream
// metadata.
func (f *Format) preferCached(rp repo) bool {
	return f.PreferCached != nil && f.PreferCached(rp.domain, rp.name)
}

// upstreamPage returns an external connection's project page. found is
// false when the connection has no client, upstream says the project does
// not exist, or upstream is unreachable with no cached copy (retained
// versions are served all the same).
func (f *Format) upstreamPage(ctx context.Context, rp repo, conn, project string) (upstream.Doc, bool, error) {
	cl := f.Upstreams[conn]
	if cl == nil {
		return upstream.Doc{}, false, nil
	}
	doc, err := cl.Validator(ctx, pageCacheKey(project), project+"/", upstream.MetaOptions{Accept: pageAccept, PreferCached: f.preferCached(rp)})
	switch {
	case err == nil:
		return doc, true, nil
	case domain.KindOf(err) == domain.ErrNotFound, errors.Is(err, upstream.ErrUpstreamUnavailable):
		return upstream.Doc{}, false, nil
	}
	return upstream.Doc{}, false, err
}

// mergedPage renders the union of the files visible along rp's search
// order, from the cache when it has one for this state of every hop.
func (f *Format) mergedPage(ctx context.Context, rp repo, project string, asJSON bool) (*rendered.Doc, error) {
	hops, key, ok, err := f.chainState(ctx, rp, project)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domain.NotFound("package", project)
	}
	k := pageKey{domain: rp.domain, repo: rp.name, project: project, stamp: "chain:" + key, json: asJSON}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*rendered.Doc, error) {
		f.renders.Add(1)
		pv, err := f.mergeVersions(ctx, rp, project, hops)
		if err != nil {
			return nil, err
		}
		p, ok := buildProject(project, pv)
		if !ok {
			return nil, domain.NotFound("package", project)
		}
		if asJSON {
			return rendered.NewDoc(p.json()), nil
		}
		return rendered.NewDoc(p.html()), nil
	})
}

// mergeVersions merges the hops into one package view: the first hop
// (in search order) with a version gives that version and all its files.
func (f *Format) mergeVersions(ctx context.Context, rp repo, project string, hops []hopState) (domain.PackageView, error) {
	r := ref(project)
	pv := domain.PackageView{Package: domain.Package{PackageRef: r}}
	seen := map[string]bool{}
	for _, h := range hops {
		var versions []domain.VersionRecord
		if h.hop.ExternalConnection == "" {
			view, err := f.Store.View(ctx, rp.domain, h.hop.Repository, r)
			if domain.KindOf(err) == domain.ErrNotFound {
				continue
			}
			if err != nil {
				return pv, err
			}
			versions = view.Versions
		} else {
			body, err := h.doc.Bytes(ctx) // read on render only
			if err != nil {
				return pv, err
			}
			files, err := parseUpstreamPage(body, h.doc.ContentType, project)
			if err != nil {
				continue // an unreadable upstream page contributes nothing
			}
			for _, rec := range upstreamVersions(files, project, h.hop.ExternalConnection) {
				versions = append(versions, *rec)
			}
		}
		for _, v := range versions {
			if seen[v.Version] {
				continue
			}
			seen[v.Version] = true
			pv.Versions = append(pv.Versions, v)
		}
	}
	return pv, nil
}

// proxyFile serves a file the asked repository does not hold, from the
// first hop of its search order that has it, recording it where
// domain.RetainIn says. ok is false when no hop has it.
func (f *Format) proxyFile(c echo.Context, rp repo, rt route) (bool, error) {
	ctx := c.Request().Context()
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return false, err
	}
	r := ref(rt.project)
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, r)
	if err != nil {
		return false, err
	}
	blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, r)
	if err != nil {
		return false, err
	}
	for _, h := range order {
		if h.ExternalConnection == "" {
			a, found, err := formats.RetainFromHop(ctx, f.Store.GetAsset, f.Chain, rp.domain, rp.name, h, r, rt.version, rt.file)
			if err != nil {
				return false, err
			}
			if !found {
				continue
			}
			return true, rendered.ServeAsset(c, f.Blobs, a, rt.file, "application/octet-stream")
		}
		if blocked {
			continue
		}
		served, err := f.ingestFile(c, rp, rt, h)
		if served || err != nil {
			return served, err
		}
	}
	return false, nil
}

// ingestFile fetches a file through an external connection and sends it
// to the client; a distribution file is then recorded in the
// repositories domain.RetainIn names, a core metadata file is only passed
// on. served is false when upstream does not have the file.
func (f *Format) ingestFile(c echo.Context, rp repo, rt route, h domain.Hop) (served bool, err error) {
	ctx := c.Request().Context()
	conn := h.ExternalConnection
	doc, found, err := f.upstreamPage(ctx, rp, conn, rt.project)
	if err != nil || !found {
		return false, err
	}
	body, err := doc.Bytes(ctx)
	if err != nil {
		return false, err
	}
	files, err := parseUpstreamPage(body, doc.ContentType, rt.project)
	if err != nil {
		return false, nil
	}
	name := strings.TrimSuffix(rt.file, metadataSuffix)
	if !rt.metadataOfFile {
		name = rt.file
	}
	var uf *upstreamFile
	for i := range files {
		if files[i].name == name && files[i].version == rt.version {
			uf = &files[i]
			break
		}
	}
	if uf == nil || rt.metadataOfFile && !uf.hasMetadata {
		return false, nil
	}
	cl := f.Upstreams[conn]
	key, src, want := "pypi/file/"+rt.project+"/"+uf.name, uf.ref, upstream.Integrity{SHA256: uf.sha256}
	if rt.metadataOfFile {
		key, src, want = key+metadataSuffix, uf.metadataRef(), upstream.Integrity{SHA256: uf.metadataSHA256}
	}
	d, err := cl.Fetch(ctx, key, src, want)
	if domain.KindOf(err) == domain.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, upstreamError(rt.file, err)
	}
	defer d.Close()
	// Fetching and recording go on whatever happens to this client.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	size := d.Size()
	if size < 0 && !rt.metadataOfFile && uf.size > 0 {
		size = uf.size // as the page declares it
	}
	put, err := f.sendDownload(c, wctx, d, size, rt.file)
	if err != nil || rt.metadataOfFile {
		return true, err
	}
	if err := f.Chain.IngestVersion(wctx, f.ingestInput(wctx, rp, h, *uf, put)); err != nil {
		return true, err
	}
	return true, nil
}

// sendDownload writes an upstream file to the client and returns it as
// committed to the blob store. A file whose size is known (size: from
// upstream's headers or its page; -1 when neither says) and at most
// verifyFirstBytes is checked before the response starts; for any other
// a failed check aborts the response.
func (f *Format) sendDownload(c echo.Context, wctx context.Context, d *upstream.Download, size int64, file string) (blob.Put, error) {
	if size >= 0 && size <= verifyFirstBytes {
		if _, err := d.Wait(wctx); err != nil {
			return blob.Put{}, upstreamError(file, err)
		}
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "application/octet-stream")
	if d.Size() >= 0 {
		hd.Set(echo.HeaderContentLength, strconv.FormatInt(d.Size(), 10))
	}
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method != http.MethodHead {
		io.Copy(c.Response(), d) // a client hanging up does not stop the fill
	}
	put, err := d.Wait(wctx)
	if err != nil {
		// The response has started: break it off so the client cannot
		// take a partial or wrong file for a complete one.
		panic(http.ErrAbortHandler)
	}
	return put, nil
}

// upstreamError turns a failed upstream fetch into the client's answer:
// 504 for a timeout, 502 otherwise, with a message naming the file.
func upstreamError(file string, err error) error {
	switch {
	case errors.Is(err, upstream.ErrIntegrity):
		return echo.NewHTTPError(http.StatusBadGateway, "bad gateway: the upstream index sent "+file+" with a sha256 other than it declares; nothing was stored ("+err.Error()+")")
	case errors.Is(err, upstream.ErrUpstreamTimeout):
		return echo.NewHTTPError(http.StatusGatewayTimeout, "gateway timeout: the upstream index did not send "+file+" in time")
	case errors.Is(err, upstream.ErrUpstreamUnavailable):
		return echo.NewHTTPError(http.StatusBadGateway, "bad gateway: the upstream index could not send "+file+": "+err.Error())
	}
	return err
}

// ingestInput describes an ingested file for IngestVersion, with what the
// file's own metadata says when it can be read (a wheel's METADATA is
// kept as the file's PEP 658 metadata asset).
func (f *Format) ingestInput(ctx context.Context, rp repo, h domain.Hop, uf upstreamFile, put blob.Put) domain.IngestInput {
	in := domain.IngestInput{
		Domain:             rp.domain,
		Repositories:       domain.RetainIn(rp.name, h),
		Ref:                ref(Normalize(uf.fn.Name)),
		Version:            uf.version,
		ExternalConnection: h.ExternalConnection,
		Assets:             []domain.Asset{{Name: uf.name, Size: put.Size, Hashes: put.Hashes}},
	}
	if t, err := time.Parse(time.RFC3339Nano, uf.uploadTime); err == nil {
		in.PublishedAt = t
	}
	fm := fileMeta{RequiresPython: uf.requiresPython, UploadTime: uf.uploadTime}
	if info, ok := f.readIngested(ctx, put, uf.fn); ok {
		in.Meta = info.meta.versionMeta()
		in.Dependencies = info.meta.dependencies()
		if fm.RequiresPython == "" {
			fm.RequiresPython = info.meta.RequiresPython()
		}
		if info.raw != nil {
			if mp, err := f.Blobs.Put(ctx, bytes.NewReader(info.raw), ""); err == nil {
				in.Assets = append(in.Assets, domain.Asset{Name: uf.name + metadataSuffix, Size: mp.Size, Hashes: mp.Hashes})
			}
		}
	}
	in.Meta.Metadata, _ = json.Marshal(storedMeta{Files: map[string]fileMeta{uf.name: fm}})
	return in
}

// readIngested reads the core metadata of a committed upstream file; ok
// is false when it has none that agrees with its name.
func (f *Format) readIngested(ctx context.Context, put blob.Put, fn Filename) (distInfo, bool) {
	rc, _, err := f.Blobs.Open(ctx, put.Hashes.SHA256)
	if err != nil {
		return distInfo{}, false
	}
	defer rc.Close()
	info, err := inspect(readerAt(rc), put.Size, fn)
	return info, err == nil
}
