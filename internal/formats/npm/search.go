package npm

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
)

// Search answers GET /-/v1/search?text=&size=&from= over the repository's
// npm packages, in the registry's response shape
// (https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md#get-v1search).
// Every word of text must occur (case-insensitively) in the name, the
// description or a keyword; "keywords:a,b" and "scope:s" qualifiers narrow
// further. Exact name matches come first, then names in order.

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
	q := parseSearch(c.QueryParam("text"))
	records, err := f.Store.LatestVersions(c.Request().Context(), rp.domain, rp.name, domain.FormatNPM)
	if err != nil {
		return err
	}
	type hit struct {
		rec    domain.VersionRecord
		name   Name
		fields searchFields
		exact  bool
	}
	var hits []hit
	for _, r := range records {
		var sf searchFields
		json.Unmarshal(r.Metadata, &sf)
		n := nameOf(r.PackageRef)
		if q.matches(n, r.Summary, sf.keywordList()) {
			exact := len(q.words) == 1 && strings.EqualFold(n.String(), q.words[0])
			hits = append(hits, hit{r, n, sf, exact})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].exact != hits[j].exact {
			return hits[i].exact
		}
		return hits[i].name.String() < hits[j].name.String()
	})
	total := len(hits)
	if from > len(hits) {
		from = len(hits)
	}
	hits = hits[from:]
	if len(hits) > size {
		hits = hits[:size]
	}
	objects := make([]map[string]any, 0, len(hits))
	for _, h := range hits {
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
		objects = append(objects, map[string]any{
			"package":     pkg,
			"score":       map[string]any{"final": 1, "detail": map[string]any{"quality": 1, "popularity": 1, "maintenance": 1}},
			"searchScore": 1,
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"objects": objects, "total": total, "time": time.Now().UTC().Format(time.RFC1123)})
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
