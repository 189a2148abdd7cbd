package npm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats"
)

// Search answers GET /-/v1/search?text=&size=&from= over the repository's
// npm packages, in the registry's response shape
// (https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md#get-v1search).
// Every word of text must occur (case-insensitively) in the name, the
// description or a keyword; "keywords:a,b" and "scope:s" qualifiers narrow
// further. Exact name matches come first, then names in order.
//
// Through upstreams the matches are those of every internal repository of
// the search order (a name once, from the first), followed by the results
// of the external connections' own /-/v1/search for the rest of the page;
// an external result is left out when its name is among the internal
// matches or its external versions are hidden (published internally in
// the chain). An upstream that fails contributes nothing.

// Search page bounds.
const (
	defaultSearchSize = 20
	maxSearchSize     = 250
)

// searchQuery is a parsed search text.
type searchQuery struct {
	words    []string
	keywords []string
	scope    string
}

func parseSearch(text string) searchQuery {
	var q searchQuery
	for _, w := range strings.Fields(strings.ToLower(text)) {
		switch {
		case strings.HasPrefix(w, "keywords:"):
			for _, k := range strings.Split(strings.TrimPrefix(w, "keywords:"), ",") {
				if k != "" {
					q.keywords = append(q.keywords, k)
				}
			}
		case strings.HasPrefix(w, "scope:"):
			q.scope = strings.TrimPrefix(strings.TrimPrefix(w, "scope:"), "@")
		default:
			q.words = append(q.words, w)
		}
	}
	return q
}

// searchFields is what a search result shows of a version beyond the
// record's own fields.
type searchFields struct {
	Keywords any             `json:"keywords"`
	Author   json.RawMessage `json:"author"`
	NPMUser  struct {
		Name string `json:"name"`
	} `json:"_npmUser"`
}

func (s searchFields) keywordList() []string {
	switch k := s.Keywords.(type) {
	case []any:
		var out []string
		for _, x := range k {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	case string:
		return strings.FieldsFunc(k, func(r rune) bool { return r == ',' || r == ' ' })
	}
	return nil
}

func (q searchQuery) matches(n Name, description string, keywords []string) bool {
	if q.scope != "" && strings.ToLower(n.Scope) != q.scope {
		return false
	}
	name := strings.ToLower(n.String())
	desc := strings.ToLower(description)
	kws := strings.ToLower(strings.Join(keywords, " "))
	for _, k := range q.keywords {
		found := false
		for _, have := range keywords {
			found = found || strings.EqualFold(have, k)
		}
		if !found {
			return false
		}
	}
	for _, w := range q.words {
		if !strings.Contains(name, w) && !strings.Contains(desc, w) && !strings.Contains(kws, w) {
			return false
		}
	}
	return true
}

func intParam(c echo.Context, name string, def, max int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, domain.Invalid("%s must be a non-negative integer", name)
	}
	if n > max {
		n = max
	}
	return n, nil
}

func (f *Format) search(c echo.Context, rp repo) error {
	if err := f.Authorize(c, ActionRead, nil); err != nil {
		return err
	}
	size, err := intParam(c, "size", defaultSearchSize, maxSearchSize)
	if err != nil {
		return err
	}
	from, err := intParam(c, "from", 0, 1<<30)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	text := c.QueryParam("text")
	order := []domain.Hop{{Repository: rp.name}}
	if f.Chain != nil {
		g, err := f.Chain.Graph(ctx, rp.domain)
		if err != nil {
			return err
		}
		order = g.SearchOrder(rp.name)
	}
	hits, err := f.internalHits(ctx, rp, order, parseSearch(text))
	if err != nil {
		return err
	}
	total := len(hits)
	page := hits[min(from, len(hits)):]
	if len(page) > size {
		page = page[:size]
	}
	objects := make([]any, 0, size)
	for _, h := range page {
		objects = append(objects, h.object())
	}
	// The external connections' results follow the internal ones, as
	// one list: this page's share of it starts at from minus the
	// internal matches.
	if len(objects) < size {
		internal := make(map[string]bool, len(hits))
		for _, h := range hits {
			internal[h.name.String()] = true
		}
		ext, extTotal := f.externalHits(ctx, rp, order, text, size-len(objects), max(from-total, 0), internal)
		objects = append(objects, ext...)
		total += extTotal
	}
	return c.JSON(http.StatusOK, map[string]any{"objects": objects, "total": total, "time": time.Now().UTC().Format(time.RFC1123)})
}

// searchHit is an internal package matching a search.
type searchHit struct {
	rec    domain.VersionRecord
	name   Name
	fields searchFields
	exact  bool
}

// internalHits returns the matches of the internal hops of a search
// order, a name found in several hops once (from the first), exact name
// matches first, then names in order.
func (f *Format) internalHits(ctx context.Context, rp repo, order []domain.Hop, q searchQuery) ([]searchHit, error) {
	var hits []searchHit
	seen := map[string]bool{}
	for _, hop := range order {
		if hop.ExternalConnection != "" {
			continue
		}
		records, err := f.Store.LatestVersions(ctx, rp.domain, hop.Repository, domain.FormatNPM)
		if err != nil {
			return nil, err
		}
		for _, r := range records {
			n := nameOf(r.PackageRef)
			if seen[n.String()] {
				continue
			}
			var sf searchFields
			json.Unmarshal(r.Metadata, &sf)
			if q.matches(n, r.Summary, sf.keywordList()) {
				seen[n.String()] = true
				exact := len(q.words) == 1 && strings.EqualFold(n.String(), q.words[0])
				hits = append(hits, searchHit{r, n, sf, exact})
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].exact != hits[j].exact {
			return hits[i].exact
		}
		return hits[i].name.String() < hits[j].name.String()
	})
	return hits, nil
}

// object renders a hit in the registry's search result shape.
func (h searchHit) object() map[string]any {
	pkg := map[string]any{
		"name":        h.name.String(),
		"version":     h.rec.Version,
		"description": h.rec.Summary,
		"date":        isoTime(h.rec.PublishedAt),
		"links":       searchLinks(h.rec),
		"maintainers": []any{},
	}
	if h.name.Scope != "" {
		pkg["scope"] = h.name.Scope
	} else {
		pkg["scope"] = "unscoped"
	}
	if kw := h.fields.keywordList(); len(kw) > 0 {
		pkg["keywords"] = kw
	}
	if len(h.fields.Author) > 0 && string(h.fields.Author) != "null" {
		pkg["author"] = h.fields.Author
	}
	if u := h.fields.NPMUser.Name; u != "" {
		pkg["publisher"] = map[string]string{"username": u}
		pkg["maintainers"] = []map[string]string{{"username": u}}
	}
	return map[string]any{
		"package":     pkg,
		"score":       map[string]any{"final": 1, "detail": map[string]any{"quality": 1, "popularity": 1, "maintenance": 1}},
		"searchScore": 1,
	}
}

// Querier is an upstream client that can answer uncached requests
// (*upstream.Client), used for searches.
type Querier interface {
	Query(ctx context.Context, rawURL, accept string) ([]byte, error)
}

// upstreamResult is one object of a registry's search response, passed
// on as upstream sent it.
type upstreamResult struct {
	name Name
	raw  json.RawMessage
}

// parseUpstreamSearch reads a registry's search response
// (https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md#get-v1search):
// the objects with a valid package name, and the total.
func parseUpstreamSearch(body []byte) ([]upstreamResult, int, error) {
	var res struct {
		Objects []json.RawMessage `json:"objects"`
		Total   int               `json:"total"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, 0, domain.Invalid("upstream search response: %v", err)
	}
	out := make([]upstreamResult, 0, len(res.Objects))
	for _, raw := range res.Objects {
		var o struct {
			Package struct {
				Name string `json:"name"`
			} `json:"package"`
		}
		if json.Unmarshal(raw, &o) != nil {
			continue
		}
		n, err := ParseName(o.Package.Name, false)
		if err != nil {
			continue
		}
		out = append(out, upstreamResult{name: n, raw: raw})
	}
	return out, max(res.Total, 0), nil
}

// externalHits asks the external connections of a search order for a
// page of a search and returns their results, without those whose name
// the internal results hold or whose external versions are hidden (a
// package published internally in the chain), and the upstream totals.
// An upstream that fails contributes nothing.
func (f *Format) externalHits(ctx context.Context, rp repo, order []domain.Hop, text string, size, from int, internal map[string]bool) ([]any, int) {
	var out []any
	total := 0
	for _, hop := range order {
		if hop.ExternalConnection == "" || len(out) >= size {
			continue
		}
		q, ok := f.Upstreams[hop.ExternalConnection].(Querier)
		if !ok {
			continue
		}
		v := url.Values{"text": {text}, "size": {strconv.Itoa(size)}, "from": {strconv.Itoa(from)}}
		body, err := q.Query(ctx, "-/v1/search?"+v.Encode(), "application/json")
		if err != nil {
			continue
		}
		results, n, err := parseUpstreamSearch(body)
		if err != nil {
			continue
		}
		total += n
		for _, r := range results {
			n := r.name
			if internal[n.String()] {
				continue
			}
			if f.Chain != nil {
				blocked, err := formats.UpstreamBlocked(ctx, f.Chain, rp.domain, rp.name, order, n.Ref())
				if err != nil || blocked {
					continue
				}
			}
			internal[n.String()] = true // once, whichever connection
			out = append(out, r.raw)
			if len(out) >= size {
				break
			}
		}
	}
	return out, total
}

func searchLinks(r domain.VersionRecord) map[string]string {
	links := map[string]string{}
	if r.HomePage != "" {
		links["homepage"] = r.HomePage
	}
	if r.SourceCodeRepository != "" {
		links["repository"] = r.SourceCodeRepository
	}
	return links
}
