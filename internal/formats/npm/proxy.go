package npm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
	"github.com/artifactd/registry/internal/formats/rendered"
	"github.com/artifactd/registry/internal/upstream"
)

// Resolution through upstreams and external connections
// (https://docs.aws.amazon.com/codeartifact/latest/ug/repo-upstream-behavior.html):
//
//	GET {name}                         GET {name}/-/{file}.tgz
//	  │                                  │ in the asked repository? ─▶ serve
//	  ▼                                  ▼
//	Graph.SearchOrder(repo): hops      first hop (SearchOrder) with the version
//	  internal hop: View                 internal hop ─▶ RetainVersion(RetainIn) ─▶ serve the blob
//	  external hop: Client.Validator     external hop ─▶ Client.Fetch (dist.integrity/shasum)
//	  │                                                ─▶ stream to the client while committed
//	merge: first hop with a version                    ─▶ IngestVersion(RetainIn), one transaction
//	wins it; dist-tags: the more
//	upstream hop wins; tarball URLs
//	point at the asked repository
//
// A package whose origin controls block upstream in any internal hop
// (every package published internally, or blocked in advance) hides the
// external connection's versions of that name. The merged document is
// cached under the stamps of every internal hop plus the upstream copy's
// ETag and fetch time.

// Chain is what resolving through upstreams needs of the metadata store.
type Chain = formats.Chain

// Upstream is an external registry as the npm protocol uses it
// (*upstream.Client).
type Upstream = formats.Upstream

// ingestTimeout bounds recording an ingested version after its bytes
// were served; it runs detached from the request.
const ingestTimeout = 2 * time.Minute

// hopState is what one hop contributes to a merged packument.
type hopState struct {
	hop   domain.Hop
	stamp string       // internal hop with the package
	doc   upstream.Doc // external hop with a document
}

// chainState reads the hops of a repository's search order that know a
// package. ok is false when none does.
func (f *Format) chainState(ctx context.Context, rp repo, n Name) (hops []hopState, key string, ok bool, err error) {
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return nil, "", false, err
	}
	ref := n.Ref()
	blocked := false
	var parts []string
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, ref)
	if err != nil {
		return nil, "", false, err
	}
	for _, h := range order {
		if h.ExternalConnection != "" {
			continue
		}
		stamp, err := f.Store.PackageStamp(ctx, rp.domain, h.Repository, ref)
		if domain.KindOf(err) == domain.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, "", false, err
		}
		_, up, err := f.Chain.OriginControls(ctx, rp.domain, h.Repository, ref)
		if err != nil {
			return nil, "", false, err
		}
		if up == domain.Block {
			blocked = true
		}
		hops = append(hops, hopState{hop: h, stamp: stamp})
		parts = append(parts, h.Repository+"="+stamp)
	}
	if !blocked {
		allowed, err := f.Chain.ExternalUpstreamAllowed(ctx, rp.domain, rp.name, ref)
		if err != nil {
			return nil, "", false, err
		}
		blocked = !allowed
	}
	if !blocked {
		for _, h := range order {
			if h.ExternalConnection == "" {
				continue
			}
			doc, found, err := f.upstreamPackument(ctx, rp, h.ExternalConnection, n)
			if err != nil {
				return nil, "", false, err
			}
			if !found {
				continue
			}
			hops = append(hops, hopState{hop: h, doc: doc})
			parts = append(parts, h.ExternalConnection+"="+doc.ETag+"@"+strconv.FormatInt(doc.FetchedAt.UnixNano(), 36))
		}
		sort.SliceStable(hops, func(i, j int) bool { return hopIndex(order, hops[i].hop) < hopIndex(order, hops[j].hop) })
	}
	return hops, strings.Join(parts, "|"), len(hops) > 0, nil
}

func hopIndex(order []domain.Hop, h domain.Hop) int {
	for i, o := range order {
		if o == h {
			return i
		}
	}
	return len(order)
}

// upstreamPackument returns the external connection's packument of a
// package, as repository rp reads it: a repository that prefers cached
// metadata (Format.PreferCached) takes any cached copy without
// revalidation. found is false when the connection has no client,
// upstream says the package does not exist, or upstream is unreachable
// with no cached copy (retained versions are served all the same).
func (f *Format) upstreamPackument(ctx context.Context, rp repo, conn string, n Name) (upstream.Doc, bool, error) {
	cl := f.Upstreams[conn]
	if cl == nil {
		return upstream.Doc{}, false, nil
	}
	opt := upstream.MetaOptions{Accept: ctFull, PreferCached: f.PreferCached != nil && f.PreferCached(rp.domain, rp.name)}
	doc, err := cl.Validator(ctx, packumentKey(n), n.escaped(), opt) // body read on render only (Doc.Bytes)
	switch {
	case err == nil:
		return doc, true, nil
	case domain.KindOf(err) == domain.ErrNotFound, errors.Is(err, upstream.ErrUpstreamUnavailable):
		return upstream.Doc{}, false, nil
	}
	return upstream.Doc{}, false, err
}

// packumentKey is the key of a package's packument in an upstream
// client's metadata cache.
func packumentKey(n Name) string { return "packument/" + n.String() }

// mergedDocument renders the union of the versions visible along the
// search order of rp.
func (f *Format) mergedDocument(ctx context.Context, rp repo, n Name, fm form) (*rendered.Doc, error) {
	hops, key, ok, err := f.chainState(ctx, rp, n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domain.NotFound("package", n.String())
	}
	// _rev is what npm sends back when it changes the package (deprecate,
	// unpublish), checked against the asked repository's own state.
	rev := docRev("0." + key)
	if hops[0].hop == (domain.Hop{Repository: rp.name}) {
		rev = docRev(hops[0].stamp)
	}
	k := docKey{domain: rp.domain, repo: rp.name, scope: n.Scope, pkg: n.Pkg, stamp: "chain:" + key, form: fm}
	return f.cache.Get(ctx, k, func(ctx context.Context) (*rendered.Doc, error) {
		f.renders.Add(1)
		m, err := f.mergeView(ctx, rp, n, hops)
		defer m.close()
		if err != nil {
			return nil, err
		}
		v, ok := visibleOf(n, m.versions, m.tags)
		if !ok {
			return nil, domain.NotFound("package", n.String())
		}
		return renderForm(fm, v, f.prefix(rp), rev, m.readme)
	})
}

// merged is the merged view of a package along a search order.
type merged struct {
	versions []entry // oldest first
	tags     map[string]string
	// readme returns the readme of a version from the hop that gave it.
	readme func(version string) (string, error)
	// close releases the upstream documents; call it when done.
	close func()
}

// mergeView merges the hops into one package view: the first hop with a
// version gives it; a tag set by a later (more upstream) hop replaces the
// same tag of an earlier one (CodeArtifact's rule,
// https://docs.aws.amazon.com/codeartifact/latest/ug/npm-tags.html).
// Upstream documents are read from where the upstream client keeps them
// (disk, for big ones) and stay open until close. A version costs an
// entry (three words) besides what its hop holds; which hop gave a
// version is only remembered when a second hop has versions.
func (f *Format) mergeView(ctx context.Context, rp repo, n Name, hops []hopState) (m merged, err error) {
	ref := n.Ref()
	var closers []func() error
	m.close = func() {
		for _, c := range closers {
			c()
		}
	}
	m.tags = map[string]string{}
	first := -1             // the first hop with versions
	var from map[string]int // version -> hop, once a second hop has versions
	views := make([]*upstreamView, len(hops))
	for hi, h := range hops {
		var es []entry
		var tags map[string]string
		if h.hop.ExternalConnection == "" {
			view, err := f.Store.View(ctx, rp.domain, h.hop.Repository, ref)
			if domain.KindOf(err) == domain.ErrNotFound {
				continue
			}
			if err != nil {
				return m, err
			}
			es = make([]entry, len(view.Versions))
			for i := range view.Versions {
				es[i] = entry{rec: &view.Versions[i]}
			}
			tags = view.DistTags
		} else {
			sec, err := h.doc.Open(ctx)
			if err != nil {
				return m, err
			}
			closers = append(closers, sec.Close)
			up, err := parseUpstreamPackumentAt(sec, sec.Size(), n, h.hop.ExternalConnection)
			if err != nil {
				continue // an unreadable upstream document contributes nothing
			}
			views[hi] = &up
			es = up.entries()
			tags = up.tags
		}
		switch {
		case len(es) == 0:
		case first < 0:
			// the first hop with versions (often the only one): its
			// entries as they are (clipped: a later hop's append copies)
			first, m.versions = hi, slices.Clip(es)
		default:
			if from == nil {
				from = make(map[string]int, len(m.versions)+len(es))
				for _, e := range m.versions {
					from[e.version()] = first
				}
			}
			for _, e := range es {
				if _, seen := from[e.version()]; !seen {
					from[e.version()] = hi
					m.versions = append(m.versions, e)
				}
			}
		}
		// Tags: the more upstream hop wins a conflict (visibleOf keeps
		// only those naming a version clients can see).
		for t, v := range tags {
			m.tags[t] = v
		}
	}
	sort.SliceStable(m.versions, func(i, j int) bool { return m.versions[i].publishedAt().Before(m.versions[j].publishedAt()) })
	m.readme = func(version string) (string, error) {
		hi, ok := first, first >= 0 // one hop gave every version
		if from != nil {
			hi, ok = from[version]
		}
		if !ok {
			return "", nil
		}
		if up := views[hi]; up != nil {
			return up.readme, nil
		}
		s, _, err := f.Store.Readme(ctx, rp.domain, hops[hi].hop.Repository, ref, version)
		if err != nil && domain.KindOf(err) != domain.ErrNotFound {
			return "", err
		}
		return s, nil
	}
	return m, nil
}

// upstreamView is an upstream packument read as a list of versions, each
// a few words, the manifests left in the document.
type upstreamView struct {
	name     Name
	conn     string
	versions []upVersion // in document order
	tags     map[string]string
	readme   string
	at       io.ReaderAt // the document
	buf      []byte      // record's
}

// upVersion is a version of an upstream document.
type upVersion struct {
	version   string
	published time.Time // zero when the document's time lacks it
	manifest  span      // where its manifest is in the document
}

// entries returns the versions as entries of a merged view.
func (up *upstreamView) entries() []entry {
	es := make([]entry, len(up.versions))
	for i := range up.versions {
		es[i] = entry{uv: &up.versions[i], up: up}
	}
	return es
}

// record returns uv as a Published record of the external connection,
// its manifest read into a buffer it reuses: valid until its next call.
// The tarball asset carries no digests: the manifest's dist declares
// them and writeVersion serves those.
func (up *upstreamView) record(uv *upVersion) domain.VersionRecord {
	r := domain.VersionRecord{Assets: upstreamAssets, UpdatedAt: uv.published.UnixMilli()}
	r.PackageRef = up.name.Ref()
	r.Version = uv.version
	r.Status = domain.StatusPublished
	r.Origin = domain.Origin{Type: domain.OriginExternal, ExternalConnection: up.conn}
	r.PublishedAt = uv.published
	sp := uv.manifest
	if int64(cap(up.buf)) < sp.len {
		up.buf = make([]byte, sp.len)
	}
	if _, err := up.at.ReadAt(up.buf[:sp.len], sp.off); err == nil {
		r.Metadata = up.buf[:sp.len]
	}
	return r
}

// find returns the version named ver, nil if the document lacks it.
func (up *upstreamView) find(ver string) *upVersion {
	for i := range up.versions {
		if up.versions[i].version == ver {
			return &up.versions[i]
		}
	}
	return nil
}

// view is the document alone as clients see it.
func (up *upstreamView) view() (visibleView, bool) { return visibleOf(up.name, up.entries(), up.tags) }

// upstreamAssets are the assets of every record read from an upstream
// document: a tarball whose digests are the ones the manifest's dist
// declares (writeVersion serves them as they are). One slice for all:
// a 9,000-version packument would otherwise hold 9,000 copies of its
// digests in hex besides the document on disk. Never modify it.
var upstreamAssets = []domain.Asset{{Name: assetName}}

// span is a range of a document.
type span struct{ off, len int64 }

// manifest returns a version's manifest as upstream sent it.
func (up *upstreamView) manifest(version string) (json.RawMessage, bool) {
	uv := up.find(version)
	if uv == nil {
		return nil, false
	}
	b := make([]byte, uv.manifest.len)
	if _, err := up.at.ReadAt(b, uv.manifest.off); err != nil {
		return nil, false
	}
	return b, true
}

// parseUpstreamPackumentAt reads a full packument an external registry
// sent: each version whose dist declares a digest (dist.integrity,
// dist.shasum) becomes an upVersion, which record turns into a Published
// record of the connection when it is rendered. The document is walked
// once, each value checked (scanner), and nothing of it is kept but the
// tags, the readme and a few words per version: its manifest, as
// upstream sent it (writeVersion leaves out what the registry does not
// serve), is read back from r when rendering. A packument of tens of
// megabytes thus costs its number of versions, not its size.
func parseUpstreamPackumentAt(r io.ReaderAt, size int64, n Name, conn string) (upstreamView, error) {
	s := &scanner{br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), budget: size + 1}
	pos := func() int64 { return size + 1 - s.budget }
	up := upstreamView{name: n, conn: conn, at: r}
	index := map[string]int{}
	var times map[string]time.Time
	bad := func(what string, err error) error {
		return domain.Invalid("upstream packument of %s: %s: %v", n, what, err)
	}
	err := s.object("packument", func(key string) error {
		switch key {
		case "versions":
			return s.object("versions", func(ver string) error {
				c, err := s.peek()
				if err != nil {
					return s.fail(err)
				}
				off := pos()
				raw, err := s.transientValue()
				if err != nil || c != '{' {
					return err // a version that is not an object is left out
				}
				var dist []byte
				members(raw, func(key, val []byte) {
					if unquotedKey(key) == "dist" {
						dist = val
					}
				})
				if _, ok := declaredDistHashes(dist); !ok {
					return nil
				}
				uv := upVersion{version: ver, manifest: span{off, int64(len(raw))}}
				if i, dup := index[ver]; dup { // of duplicate keys, JSON keeps the last
					up.versions[i] = uv
					return nil
				}
				index[ver] = len(up.versions)
				up.versions = append(up.versions, uv)
				return nil
			})
		case "time":
			times = map[string]time.Time{} // of duplicate keys, the last
			if c, err := s.peek(); err != nil || c != '{' {
				break // not an object: no times
			}
			return s.object("time", func(ver string) error {
				raw, err := s.transientValue()
				if err != nil {
					return err
				}
				var ts string
				if json.Unmarshal(raw, &ts) == nil { // not a string: no time
					times[ver], _ = time.Parse(time.RFC3339Nano, ts)
				}
				return nil
			})
		}
		raw, err := s.transientValue()
		if err != nil {
			return err
		}
		switch key {
		case "dist-tags":
			up.tags = nil
			if err := json.Unmarshal(raw, &up.tags); err != nil {
				return bad("dist-tags", err)
			}
		case "readme":
			up.readme = ""
			json.Unmarshal(raw, &up.readme) // not a string: no readme
		}
		return nil
	})
	if err != nil {
		return upstreamView{}, bad("not a well-formed JSON object", err)
	}
	for i := range up.versions {
		up.versions[i].published = times[up.versions[i].version]
	}
	return up, nil
}

// declaredHashes returns the digests a manifest's dist declares (sha512
// from dist.integrity, sha1 from dist.shasum), as hex; ok is false when
// it declares none that can be checked.
func declaredHashes(m manifest) (domain.Hashes, bool) { return declaredDistHashes(m["dist"]) }

// declaredDistHashes is declaredHashes of a manifest's dist object.
func declaredDistHashes(raw []byte) (domain.Hashes, bool) {
	var dist struct {
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
		Tarball   string `json:"tarball"`
	}
	if json.Unmarshal(raw, &dist) != nil || dist.Tarball == "" {
		return domain.Hashes{}, false
	}
	var h domain.Hashes
	if in, err := upstream.ParseSRI(dist.Integrity); err == nil {
		h.SHA512, h.SHA1, h.SHA256 = in.SHA512, in.SHA1, in.SHA256
	}
	if h.SHA1 == "" && (upstream.Integrity{SHA1: dist.Shasum}).Validate() == nil {
		h.SHA1 = strings.ToLower(dist.Shasum)
	}
	return h, h.SHA512 != "" || h.SHA1 != "" || h.SHA256 != ""
}

// proxyTarball serves a version the asked repository does not hold: from
// the first hop of its search order that has it, recording it where
// domain.RetainIn says. ok is false when no hop has it.
func (f *Format) proxyTarball(c echo.Context, rp repo, rt route, version string) (bool, error) {
	ctx := c.Request().Context()
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return false, err
	}
	ref := rt.name.Ref()
	order, err := formats.SearchOrder(ctx, f.Chain, g, rp.domain, rp.name, ref)
	if err != nil {
		return false, err
	}
	blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, ref)
	if err != nil {
		return false, err
	}
	for _, h := range order {
		if h.ExternalConnection == "" {
			a, found, err := formats.RetainFromHop(ctx, f.Store.GetAsset, f.Chain, rp.domain, rp.name, h, ref, version, assetName)
			if err != nil {
				return false, err
			}
			if !found {
				continue
			}
			return true, f.serveAsset(c, a, rt.file)
		}
		if blocked {
			continue
		}
		served, err := f.ingestTarball(c, rp, rt, h, version)
		if served || err != nil {
			return served, err
		}
	}
	return false, nil
}

// ingestTarball fetches a version's tarball through an external
// connection, streams it to the client while it is committed to the blob
// store, then records the version in the repositories domain.RetainIn
// names. served is false when upstream does not have the version.
func (f *Format) ingestTarball(c echo.Context, rp repo, rt route, h domain.Hop, version string) (served bool, err error) {
	ctx := c.Request().Context()
	n := rt.name
	doc, found, err := f.upstreamPackument(ctx, rp, h.ExternalConnection, n)
	if err != nil || !found {
		return false, err
	}
	sec, err := doc.Open(ctx)
	if err != nil {
		return false, err
	}
	up, err := parseUpstreamPackumentAt(sec, sec.Size(), n, h.ExternalConnection)
	var raw json.RawMessage
	ok := false
	if err == nil {
		raw, ok = up.manifest(version)
	}
	sec.Close()
	if err != nil || !ok {
		return false, err
	}
	m, err := parseManifest(raw)
	if err != nil {
		return false, err
	}
	hashes, ok := declaredHashes(m)
	if !ok {
		return false, domain.Invalid("upstream manifest of %s@%s declares no tarball digest", n, version)
	}
	var dist struct {
		Tarball string `json:"tarball"`
	}
	json.Unmarshal(m["dist"], &dist)
	want := upstream.Integrity{SHA256: hashes.SHA256, SHA1: hashes.SHA1, SHA512: hashes.SHA512}
	d, err := f.Upstreams[h.ExternalConnection].Fetch(ctx, "tarball/"+n.String()+"/"+version, dist.Tarball, want)
	if domain.KindOf(err) == domain.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer d.Close()
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "application/octet-stream")
	if d.Size() >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(d.Size(), 10))
	}
	c.Response().WriteHeader(http.StatusOK)
	var copyErr error
	if c.Request().Method != http.MethodHead {
		_, copyErr = io.Copy(c.Response(), d)
	}
	// Record the version whatever happened to this client: the fill goes
	// on without it.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
	defer cancel()
	put, err := d.Wait(wctx)
	if err != nil {
		return true, errors.Join(copyErr, err)
	}
	var published time.Time
	if p := up.publishedAt(version); !p.IsZero() {
		published = p
	}
	in := domain.IngestInput{
		Domain:             rp.domain,
		Repositories:       domain.RetainIn(rp.name, h),
		Ref:                n.Ref(),
		Version:            version,
		ExternalConnection: h.ExternalConnection,
		Meta:               m.meta(""),
		Assets:             []domain.Asset{{Name: assetName, Size: put.Size, Hashes: put.Hashes}},
		Dependencies:       m.dependencies(),
		PublishedAt:        published,
	}
	in.Meta.Metadata = m.stored(n, version, "")
	if err := f.Chain.IngestVersion(wctx, in); err != nil {
		return true, errors.Join(copyErr, err)
	}
	return true, copyErr
}

// publishedAt returns when upstream says a version was published.
func (up *upstreamView) publishedAt(version string) time.Time {
	if uv := up.find(version); uv != nil {
		return uv.published
	}
	return time.Time{}
}
