package codeartifact

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

func (a *API) domainDescription(d domain.Domain) map[string]any {
	return map[string]any{
		"name": d.Name, "owner": a.ARNs.Account, "arn": a.ARNs.Domain(d.Name), "status": "Active",
		"createdTime": ts(d.CreatedAt), "encryptionKey": opt(d.EncryptionKey),
		"repositoryCount": d.RepositoryCount, "assetSizeBytes": d.AssetSizeBytes,
	}
}

type tagList []struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (t tagList) validate() (map[string]string, error) {
	if len(t) > 200 {
		return nil, domain.Invalid("at most 200 tags are allowed")
	}
	m := map[string]string{}
	for _, kv := range t {
		if kv.Key == "" || utf8.RuneCountInString(kv.Key) > 128 || utf8.RuneCountInString(kv.Value) > 256 ||
			!domain.Printable(kv.Key) || !domain.Printable(kv.Value) || !utf8.ValidString(kv.Key+kv.Value) {
			return nil, domain.Invalid("tag keys must be 1-128 printable characters and values at most 256")
		}
		m[kv.Key] = kv.Value
	}
	return m, nil
}

func (a *API) createDomain(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	var in struct {
		EncryptionKey string  `json:"encryptionKey"`
		Tags          tagList `json:"tags"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	tags, err := in.Tags.validate()
	if err != nil {
		return err
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{}); err != nil {
		return err
	}
	x, err := a.DB.CreateDomain(ctx(c), d, in.EncryptionKey)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		if err := a.DB.TagResource(ctx(c), a.ARNs.Domain(d), tags); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"domain": a.domainDescription(x)})
}

func (a *API) describeDomain(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	x, err := a.DB.GetDomain(ctx(c), d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"domain": a.domainDescription(x)})
}

func (a *API) deleteDomain(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	x, err := a.DB.DeleteDomain(ctx(c), d)
	if err != nil {
		return err
	}
	if x.Name == "" {
		return c.JSON(http.StatusOK, map[string]any{})
	}
	if err := a.DB.DropTags(ctx(c), a.ARNs.Domain(d)); err != nil {
		return err
	}
	if err := a.DB.DropTagsPrefix(ctx(c), a.groupARNPrefix(d)); err != nil {
		return err
	}
	desc := a.domainDescription(x)
	desc["status"] = "Deleted"
	return c.JSON(http.StatusOK, map[string]any{"domain": desc})
}

func (a *API) listDomains(c echo.Context) error {
	var in struct {
		MaxResults *int   `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := body(c, &in); err != nil {
		return err
	}
	limit := 0
	if in.MaxResults != nil {
		if limit = *in.MaxResults; limit < 1 || limit > 1000 {
			return domain.Invalid("maxResults must be between 1 and 1000")
		}
	}
	if err := a.authorize(c, "", "*", access.Scope{}); err != nil {
		return err
	}
	ds, next, err := a.DB.ListDomains(ctx(c), domain.Page{After: in.NextToken, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, map[string]any{"name": d.Name, "owner": a.ARNs.Account, "arn": a.ARNs.Domain(d.Name), "status": "Active",
			"createdTime": ts(d.CreatedAt), "encryptionKey": opt(d.EncryptionKey)})
	}
	return c.JSON(http.StatusOK, map[string]any{"domains": out, "nextToken": opt(next)})
}

// Token lifetimes of GetAuthorizationToken.
const (
	minTokenDuration     = 900 * time.Second
	maxTokenDuration     = 12 * time.Hour
	defaultTokenDuration = 12 * time.Hour
)

func (a *API) getAuthorizationToken(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	dur := defaultTokenDuration
	if s := c.QueryParam("duration"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		// Compared in seconds: time.Duration(n)*time.Second overflows
		// (2^55+3600 would become one hour).
		if err != nil || (n != 0 && (n < int64(minTokenDuration/time.Second) || n > int64(maxTokenDuration/time.Second))) {
			return domain.Invalid("durationSeconds must be 0 or between 900 and 43200")
		}
		if n > 0 {
			dur = time.Duration(n) * time.Second
		}
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	if _, err := a.DB.GetDomain(ctx(c), d); err != nil {
		return err
	}
	p, _ := server.CallerOf(c)
	exp := a.now().Add(dur).Truncate(time.Second)
	tok, err := a.DB.IssueToken(ctx(c), p.ID, d, exp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"authorizationToken": tok, "expiration": ts(exp)})
}

func (a *API) listRepositoriesInDomain(c echo.Context) error {
	d, err := a.domainParam(c)
	if err != nil {
		return err
	}
	if adm := c.QueryParam("administrator-account"); adm != "" && adm != a.ARNs.Account {
		return c.JSON(http.StatusOK, map[string]any{"repositories": []any{}})
	}
	if err := a.authorize(c, "", a.ARNs.Domain(d), access.Scope{Domain: d}); err != nil {
		return err
	}
	return a.listRepos(c, d)
}

func (a *API) listRepositories(c echo.Context) error {
	if err := a.authorize(c, "", "*", access.Scope{}); err != nil {
		return err
	}
	return a.listRepos(c, "")
}

func (a *API) listRepos(c echo.Context, d string) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	rs, next, err := a.DB.ListRepositories(ctx(c), domain.RepositoryFilter{Domain: d, Prefix: c.QueryParam("repository-prefix")}, p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		out = append(out, map[string]any{"name": r.Name, "administratorAccount": a.ARNs.Account, "domainName": r.Domain,
			"domainOwner": a.ARNs.Account, "arn": a.ARNs.Repository(r.Domain, r.Name), "description": r.Description, "createdTime": ts(r.CreatedAt)})
	}
	return c.JSON(http.StatusOK, map[string]any{"repositories": out, "nextToken": opt(next)})
}
