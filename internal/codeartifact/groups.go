package codeartifact

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
)

// Package group operations. Patterns and matching are domain.GroupPattern
// and domain.GroupTree; the store keeps the groups (sqlite/groups.go).

// groupARN is a package group's ARN:
// arn:aws:codeartifact:<region>:<account>:package-group/<domain><pattern>,
// each pattern segment path-escaped.
func (a *API) groupARN(dom, pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return a.groupARNPrefix(dom) + strings.TrimPrefix(strings.Join(segs, "/"), "/")
}

func (a *API) groupARNPrefix(dom string) string {
	return "arn:aws:codeartifact:" + a.ARNs.Region + ":" + a.ARNs.Account + ":package-group/" + dom + "/"
}

// parseGroupARNPath turns the path after "package-group/" of an ARN back
// into a domain and a pattern.
func parseGroupARNPath(path string) (dom, pattern string, ok bool) {
	dom, rest, found := strings.Cut(path, "/")
	if !found {
		return "", "", false
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", "", false
	}
	return dom, "/" + p, true
}

// groupPattern validates a package group pattern parameter.
func groupPattern(s string) (domain.GroupPattern, error) {
	if s == "" {
		return domain.GroupPattern{}, domain.Invalid("missing required parameter packageGroup")
	}
	return domain.ParseGroupPattern(s)
}

// groupOp reads ?domain= and ?package-group= and authorizes the operation
// on the group's ARN.
func (a *API) groupOp(c echo.Context) (string, domain.GroupPattern, error) {
	d, err := a.domainParam(c)
	if err != nil {
		return "", domain.GroupPattern{}, err
	}
	p, err := groupPattern(c.QueryParam("package-group"))
	if err != nil {
		return "", p, err
	}
	return d, p, a.authorize(c, "", a.groupARN(d, p.String()), access.Scope{Domain: d})
}

func validateContactInfo(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 1000 || !domain.Printable(s) {
		return domain.Invalid("contactInfo must be at most 1000 printable characters")
	}
	return nil
}

func (a *API) groupRef(dom string, g domain.PackageGroup) map[string]any {
	return map[string]any{"arn": a.groupARN(dom, g.Pattern.String()), "pattern": g.Pattern.String()}
}

// groupDescription renders a PackageGroupDescription (and, being the same
// members, a PackageGroupSummary).
func (a *API) groupDescription(t *domain.GroupTree, g domain.PackageGroup) map[string]any {
	pattern := g.Pattern.String()
	restrictions := map[string]any{}
	for _, rt := range domain.GroupRestrictionTypes {
		e := t.Effective(pattern, rt)
		r := map[string]any{"mode": string(e.Mode), "effectiveMode": string(e.Effective), "repositoriesCount": len(g.Allowed[rt])}
		if e.From != "" {
			if from, ok := t.Get(e.From); ok {
				r["inheritedFrom"] = a.groupRef(g.Domain, from)
			}
		}
		restrictions[string(rt)] = r
	}
	out := map[string]any{
		"arn": a.groupARN(g.Domain, pattern), "pattern": pattern, "domainName": g.Domain, "domainOwner": a.ARNs.Account,
		"createdTime": ts(g.CreatedAt), "contactInfo": g.ContactInfo, "description": g.Description,
		"originConfiguration": map[string]any{"restrictions": restrictions},
	}
	if p, ok := t.Parent(pattern); ok {
		out["parent"] = a.groupRef(g.Domain, p)
	}
	return out
}

// describeGroup renders group pattern of dom as it is now.
func (a *API) describeGroup(c echo.Context, dom, pattern string) (map[string]any, error) {
	t, err := a.DB.GroupTree(ctx(c), dom)
	if err != nil {
		return nil, err
	}
	g, ok := t.Get(pattern)
	if !ok {
		return nil, domain.NotFound("package-group", pattern)
	}
	return a.groupDescription(t, g), nil
}

func (a *API) createPackageGroup(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	var in struct {
		PackageGroup string  `json:"packageGroup"`
		ContactInfo  string  `json:"contactInfo"`
		Description  string  `json:"description"`
		Tags         tagList `json:"tags"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	p, err := groupPattern(in.PackageGroup)
	if err != nil {
		return err
	}
	if err := domain.ValidateDescription(in.Description); err != nil {
		return err
	}
	if err := validateContactInfo(in.ContactInfo); err != nil {
		return err
	}
	tags, err := in.Tags.validate()
	if err != nil {
		return err
	}
	arn := a.groupARN(d, p.String())
	if err := a.authorize(c, "", arn, access.Scope{Domain: d}); err != nil {
		return err
	}
	if _, err := a.DB.CreatePackageGroup(ctx(c), domain.PackageGroup{Domain: d, Pattern: p, Description: in.Description, ContactInfo: in.ContactInfo}); err != nil {
		return err
	}
	if len(tags) > 0 {
		if err := a.DB.TagResource(ctx(c), arn, tags); err != nil {
			return err
		}
	}
	out, err := a.describeGroup(c, d, p.String())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": out})
}

func (a *API) describePackageGroup(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	out, err := a.describeGroup(c, d, p.String())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": out})
}

func (a *API) updatePackageGroup(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	var in struct {
		PackageGroup string  `json:"packageGroup"`
		ContactInfo  *string `json:"contactInfo"`
		Description  *string `json:"description"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	p, err := groupPattern(in.PackageGroup)
	if err != nil {
		return err
	}
	if in.Description != nil {
		if err := domain.ValidateDescription(*in.Description); err != nil {
			return err
		}
	}
	if in.ContactInfo != nil {
		if err := validateContactInfo(*in.ContactInfo); err != nil {
			return err
		}
	}
	if err := a.authorize(c, "", a.groupARN(d, p.String()), access.Scope{Domain: d}); err != nil {
		return err
	}
	if _, err := a.DB.UpdatePackageGroup(ctx(c), d, p.String(), in.Description, in.ContactInfo); err != nil {
		return err
	}
	out, err := a.describeGroup(c, d, p.String())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": out})
}

type allowedRepoList []struct {
	RepositoryName        string `json:"repositoryName"`
	OriginRestrictionType string `json:"originRestrictionType"`
}

func (l allowedRepoList) byType(field string) (map[domain.GroupRestrictionType][]string, error) {
	out := map[domain.GroupRestrictionType][]string{}
	for _, x := range l {
		rt := domain.GroupRestrictionType(x.OriginRestrictionType)
		if !domain.ValidGroupRestrictionType(rt) {
			return nil, domain.Invalid("%s: originRestrictionType %q must be one of EXTERNAL_UPSTREAM, INTERNAL_UPSTREAM, PUBLISH", field, x.OriginRestrictionType)
		}
		if err := domain.ValidateRepositoryName(x.RepositoryName); err != nil {
			return nil, domain.Invalid("%s: %v", field, err)
		}
		out[rt] = append(out[rt], x.RepositoryName)
	}
	return out, nil
}

func (a *API) updatePackageGroupOriginConfiguration(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	var in struct {
		Restrictions              map[string]string `json:"restrictions"`
		AddAllowedRepositories    allowedRepoList   `json:"addAllowedRepositories"`
		RemoveAllowedRepositories allowedRepoList   `json:"removeAllowedRepositories"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	u := domain.GroupUpdate{Modes: map[domain.GroupRestrictionType]domain.GroupMode{}}
	for k, v := range in.Restrictions {
		rt, m := domain.GroupRestrictionType(k), domain.GroupMode(v)
		if !domain.ValidGroupRestrictionType(rt) {
			return domain.Invalid("restrictions: %q is not one of EXTERNAL_UPSTREAM, INTERNAL_UPSTREAM, PUBLISH", k)
		}
		if !domain.ValidGroupMode(m) {
			return domain.Invalid("restrictions: %s mode %q must be one of ALLOW, ALLOW_SPECIFIC_REPOSITORIES, BLOCK, INHERIT", k, v)
		}
		u.Modes[rt] = m
	}
	if u.Add, err = in.AddAllowedRepositories.byType("addAllowedRepositories"); err != nil {
		return err
	}
	if u.Remove, err = in.RemoveAllowedRepositories.byType("removeAllowedRepositories"); err != nil {
		return err
	}
	_, added, removed, err := a.DB.UpdatePackageGroupOrigin(ctx(c), d, p.String(), u)
	if err != nil {
		return err
	}
	out, err := a.describeGroup(c, d, p.String())
	if err != nil {
		return err
	}
	updates := map[string]any{}
	for _, rt := range domain.GroupRestrictionTypes {
		if len(added[rt]) == 0 && len(removed[rt]) == 0 {
			continue
		}
		x := map[string]any{}
		if len(added[rt]) > 0 {
			x["ADDED"] = added[rt]
		}
		if len(removed[rt]) > 0 {
			x["REMOVED"] = removed[rt]
		}
		updates[string(rt)] = x
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": out, "allowedRepositoryUpdates": updates})
}

// pageOf returns the slice of keys (sorted) a page covers and the token of
// the next page ("" when none). Tokens are the last key returned.
func pageOf(keys []string, p domain.Page) (start, end int, next string, err error) {
	if p.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.After)
		if err != nil {
			return 0, 0, "", domain.Invalid("nextToken is not valid")
		}
		start = sort.SearchStrings(keys, string(b))
		if start < len(keys) && keys[start] == string(b) {
			start++
		}
	}
	end = min(start+p.Size(), len(keys))
	if end < len(keys) {
		next = base64.RawURLEncoding.EncodeToString([]byte(keys[end-1]))
	}
	return start, end, next, nil
}

func (a *API) groupSummaries(t *domain.GroupTree, gs []domain.PackageGroup, p domain.Page) ([]map[string]any, string, error) {
	keys := make([]string, len(gs))
	for i, g := range gs {
		keys[i] = g.Pattern.String()
	}
	start, end, next, err := pageOf(keys, p) // gs is ordered by pattern
	if err != nil {
		return nil, "", err
	}
	out := make([]map[string]any, 0, end-start)
	for _, g := range gs[start:end] {
		out = append(out, a.groupDescription(t, g))
	}
	return out, next, nil
}

func (a *API) listPackageGroups(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	pg, err := page(c)
	if err != nil {
		return err
	}
	prefix := c.QueryParam("prefix")
	if !utf8.ValidString(prefix) || utf8.RuneCountInString(prefix) > domain.MaxGroupPatternLength || !domain.Printable(prefix) {
		return domain.Invalid("prefix must be at most %d printable characters", domain.MaxGroupPatternLength)
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	t, err := a.DB.GroupTree(ctx(c), d)
	if err != nil {
		return err
	}
	var gs []domain.PackageGroup
	for _, g := range t.Groups() {
		if strings.HasPrefix(g.Pattern.String(), prefix) {
			gs = append(gs, g)
		}
	}
	out, next, err := a.groupSummaries(t, gs, pg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroups": out, "nextToken": opt(next)})
}

func (a *API) listSubPackageGroups(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	pg, err := page(c)
	if err != nil {
		return err
	}
	t, err := a.DB.GroupTree(ctx(c), d)
	if err != nil {
		return err
	}
	if _, ok := t.Get(p.String()); !ok {
		return domain.NotFound("package-group", p.String())
	}
	out, next, err := a.groupSummaries(t, t.Children(p.String()), pg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroups": out, "nextToken": opt(next)})
}

func (a *API) deletePackageGroup(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	out, err := a.describeGroup(c, d, p.String())
	if err != nil {
		return err
	}
	if _, err := a.DB.DeletePackageGroup(ctx(c), d, p.String()); err != nil {
		return err
	}
	if err := a.DB.DropTags(ctx(c), a.groupARN(d, p.String())); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": out})
}

func (a *API) getAssociatedPackageGroup(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	f, err := query(c, "format")
	if err != nil {
		return err
	}
	name, err := query(c, "package")
	if err != nil {
		return err
	}
	ref := domain.PackageRef{Format: domain.Format(f), Namespace: c.QueryParam("namespace"), Name: name}
	if !isGroupFormat(ref.Format) {
		return domain.Invalid("format %q must be one of npm, pypi, maven, nuget, generic, ruby, swift, cargo", f)
	}
	for field, v := range map[string]string{"namespace": ref.Namespace, "package": ref.Name} {
		if v == "" {
			continue
		}
		if err := domain.ValidatePackageRef(domain.PackageRef{Format: domain.FormatNPM, Name: v}); err != nil {
			return domain.Invalid("%s %q must be 1-255 characters without '#', '/' or whitespace", field, v)
		}
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	t, err := a.DB.GroupTree(ctx(c), d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"packageGroup": a.groupDescription(t, t.Associated(ref)), "associationType": "STRONG"})
}

func isGroupFormat(f domain.Format) bool {
	for _, k := range domain.GroupFormats {
		if k == f {
			return true
		}
	}
	return false
}

func (a *API) listAssociatedPackages(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	pg, err := page(c)
	if err != nil {
		return err
	}
	preview := false
	switch c.QueryParam("preview") {
	case "", "false":
	case "true":
		preview = true
	default:
		return domain.Invalid("preview must be true or false")
	}
	t, err := a.DB.GroupTree(ctx(c), d)
	if err != nil {
		return err
	}
	if _, ok := t.Get(p.String()); !ok {
		if !preview {
			return domain.NotFound("package-group", p.String())
		}
		// As if it were created: the same tree plus this group.
		gs := append(append([]domain.PackageGroup(nil), t.Groups()...), domain.PackageGroup{Domain: d, Pattern: p})
		t = domain.NewGroupTree(gs, domain.PackageGroup{})
	}
	refs, err := a.DB.DomainPackages(ctx(c), d)
	if err != nil {
		return err
	}
	key := func(r domain.PackageRef) string { return string(r.Format) + "/" + r.Namespace + "/" + r.Name }
	var matched []domain.PackageRef
	for _, r := range refs {
		if t.Associated(r).Pattern == p {
			matched = append(matched, r)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return key(matched[i]) < key(matched[j]) })
	keys := make([]string, len(matched))
	for i, r := range matched {
		keys[i] = key(r)
	}
	start, end, next, err := pageOf(keys, pg)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, end-start)
	for _, r := range matched[start:end] {
		out = append(out, map[string]any{"format": r.Format, "namespace": opt(r.Namespace), "package": r.Name, "associationType": "STRONG"})
	}
	return c.JSON(http.StatusOK, map[string]any{"packages": out, "nextToken": opt(next)})
}

func (a *API) listAllowedRepositoriesForGroup(c echo.Context) error {
	d, p, err := a.groupOp(c)
	if err != nil {
		return err
	}
	pg, err := page(c)
	if err != nil {
		return err
	}
	rt := domain.GroupRestrictionType(c.QueryParam("originRestrictionType"))
	if !domain.ValidGroupRestrictionType(rt) {
		return domain.Invalid("originRestrictionType %q must be one of EXTERNAL_UPSTREAM, INTERNAL_UPSTREAM, PUBLISH", string(rt))
	}
	t, err := a.DB.GroupTree(ctx(c), d)
	if err != nil {
		return err
	}
	g, ok := t.Get(p.String())
	if !ok {
		return domain.NotFound("package-group", p.String())
	}
	repos := g.Allowed[rt] // sorted by the store
	start, end, next, err := pageOf(repos, pg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"allowedRepositories": append([]string{}, repos[start:end]...), "nextToken": opt(next)})
}
