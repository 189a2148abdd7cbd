package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/access"
	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/formats/maven"
	"github.com/artifactd/registry/internal/formats/npm"
	"github.com/artifactd/registry/internal/formats/pypi"
	"github.com/artifactd/registry/internal/server"
)

// The administration API: operations of this registry that CodeArtifact
// has no equivalent for.
//
//	DELETE /admin/upstream-cache?domain=D&repository=R&format=F&package=P[&namespace=N]
//	  forget the cached upstream metadata of a package on every external
//	  connection of the format; the next read asks upstream again, also in
//	  repositories that prefer cached metadata. 200 with the connections
//	  purged. Formats: npm (namespace: the scope without '@'), pypi (no
//	  namespace; any spelling of the project name), maven (namespace: the
//	  groupId, package: the artifactId; the artifact's maven-metadata.xml).
//
// Callers sign with SigV4 (service "codeartifact") or send an
// authorization token (for the same domain); they must be the root
// principal or be allowed ActionPurgeUpstreamCache on the repository's
// ARN. Errors are rest-json, as the CodeArtifact API's.

// ActionPurgeUpstreamCache is the IAM action the purge requires.
const ActionPurgeUpstreamCache = "registry:PurgeUpstreamCache"

// adminPurgePath is the route of the purge.
const adminPurgePath = "/admin/upstream-cache"

// upstreamPurger is a format whose cached upstream metadata can be purged
// per package; the format keeps its cache key scheme to itself.
type upstreamPurger interface {
	// PurgeUpstream forgets a package's cached upstream metadata on
	// every external connection of the format and returns the
	// connections purged. Bad names wrap domain.ErrInvalid.
	PurgeUpstream(ctx context.Context, namespace, name string) ([]string, error)
}

// adminAPI serves the administration routes.
type adminAPI struct {
	authz   *access.Authorizer
	arns    access.ARNs
	repo    func(ctx context.Context, dom, repo string) error // nil if the repository exists
	purgers map[domain.Format]upstreamPurger
}

// registerAdmin adds the administration routes to srv. Formats join the
// purge by an entry in purgers.
func (a *app) registerAdmin(srv *server.Server, authz *access.Authorizer) {
	api := &adminAPI{
		authz: authz,
		arns:  access.ARNs{Region: a.cfg.Region, Account: a.account},
		repo:  func(ctx context.Context, d, r string) error { _, err := a.db.GetRepository(ctx, d, r); return err },
		// Each shares the serving format's clients, hence their caches.
		purgers: map[domain.Format]upstreamPurger{
			domain.FormatNPM:   &npm.Format{Upstreams: a.ups.of(domain.FormatNPM)},
			domain.FormatPyPI:  &pypi.Format{Upstreams: a.ups.of(domain.FormatPyPI)},
			domain.FormatMaven: &maven.Format{Upstreams: a.ups.of(domain.FormatMaven)},
		},
	}
	authn := &server.Authenticator{LookupKey: a.db.LookupAccessKey, LookupToken: a.tokenLookup()}
	srv.Echo.DELETE(adminPurgePath, api.purgeUpstreamCache, server.SetFlavour(server.RestJSON), sigV4OrToken(authn))
}

// sigV4OrToken authenticates with SigV4 when the request is signed and
// with an authorization token otherwise; an anonymous request is refused.
func sigV4OrToken(authn *server.Authenticator) echo.MiddlewareFunc {
	signed := authn.SigV4("codeartifact")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		sig, tok := signed(next), authn.Token(next)
		return func(c echo.Context) error {
			r := c.Request()
			if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || r.URL.Query().Has("X-Amz-Signature") {
				return sig(c)
			}
			if server.BearerOrBasic(r) == "" {
				return domain.Errorf(domain.ErrUnauthenticated, "authentication required: sign the request (SigV4) or send an authorization token")
			}
			return tok(c)
		}
	}
}

// purgeRequest is the purge's query, checked.
type purgeRequest struct {
	Domain     string `json:"domain"`
	Repository string `json:"repository"`
	Format     string `json:"format"`
	Namespace  string `json:"namespace,omitempty"`
	Package    string `json:"package"`
}

// parsePurge reads and checks the purge's query, every problem at once.
func parsePurge(q url.Values, formats map[domain.Format]upstreamPurger) (purgeRequest, error) {
	p := purgeRequest{Domain: q.Get("domain"), Repository: q.Get("repository"), Format: q.Get("format"),
		Namespace: q.Get("namespace"), Package: q.Get("package")}
	var problems []string
	for _, f := range []struct{ name, v string }{{"domain", p.Domain}, {"repository", p.Repository}, {"format", p.Format}, {"package", p.Package}} {
		if f.v == "" {
			problems = append(problems, f.name+" is required")
		}
	}
	if p.Domain != "" {
		if err := domain.ValidateDomainName(p.Domain); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if p.Repository != "" {
		if err := domain.ValidateRepositoryName(p.Repository); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if _, ok := formats[domain.Format(p.Format)]; p.Format != "" && !ok {
		var known []string
		for f := range formats {
			known = append(known, string(f))
		}
		sort.Strings(known)
		problems = append(problems, fmt.Sprintf("format %q has no upstream cache to purge (formats: %s)", p.Format, strings.Join(known, ", ")))
	}
	if len(problems) > 0 {
		return p, domain.Invalid("%s", strings.Join(problems, "; "))
	}
	return p, nil
}

func (api *adminAPI) purgeUpstreamCache(c echo.Context) error {
	server.SetOperation(c, "admin.PurgeUpstreamCache")
	ctx := c.Request().Context()
	caller, ok := server.CallerOf(c)
	if !ok {
		return domain.Errorf(domain.ErrUnauthenticated, "authentication required")
	}
	p, err := parsePurge(c.QueryParams(), api.purgers)
	if err != nil {
		return err
	}
	if d := server.TokenDomain(c); d != "" && d != p.Domain {
		return domain.Errorf(domain.ErrForbidden, "the authorization token was issued for domain %s, not %s", d, p.Domain)
	}
	if err := api.repo(ctx, p.Domain, p.Repository); err != nil {
		return err
	}
	resource := api.arns.Repository(p.Domain, p.Repository)
	if err := api.authz.Check(ctx, caller, true, ActionPurgeUpstreamCache, resource, access.Scope{Domain: p.Domain, Repository: p.Repository}); err != nil {
		return err
	}
	purged, err := api.purgers[domain.Format(p.Format)].PurgeUpstream(ctx, p.Namespace, p.Package)
	if err != nil {
		return err
	}
	if purged == nil {
		purged = []string{}
	}
	return c.JSON(http.StatusOK, struct {
		purgeRequest
		ExternalConnections []string `json:"externalConnections"`
	}{p, purged})
}

// purge is "registry purge": it asks the running server of a data
// directory to purge a package's cached upstream metadata, signing with
// the root credentials kept there.
func purge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var req purgeRequest
	c, err := loadConfig("purge", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&req.Domain, "domain", "", "domain of the repository (required)")
		fs.StringVar(&req.Repository, "repository", "", "repository whose external connections are purged (required)")
		fs.StringVar(&req.Format, "format", "", "package format: npm, pypi or maven (required)")
		fs.StringVar(&req.Namespace, "namespace", "", "namespace: the npm scope without '@', or the Maven groupId (none for pypi)")
		fs.StringVar(&req.Package, "package", "", "package name, the Maven artifactId (required)")
	})
	if err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--domain", req.Domain}, {"--repository", req.Repository}, {"--format", req.Format}, {"--package", req.Package}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	b, err := os.ReadFile(c.Path(rootCredentialsFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no root credentials in %s: run \"registry serve --data-dir %s\" first", c.DataDir, c.DataDir)
	}
	if err != nil {
		return err
	}
	var rc rootCredentials
	if err := json.Unmarshal(b, &rc); err != nil {
		return fmt.Errorf("%s: %w", c.Path(rootCredentialsFile), err)
	}
	endpoint := c.BaseURL()
	if c.PublicURL == "" {
		e, err := os.ReadFile(c.Path(endpointFile))
		if err != nil {
			return fmt.Errorf("no running server found for %s (%v): start \"registry serve --data-dir %s\"", c.DataDir, err, c.DataDir)
		}
		endpoint = strings.TrimSpace(string(e))
	}
	q := url.Values{"domain": {req.Domain}, "repository": {req.Repository}, "format": {req.Format}, "package": {req.Package}}
	if req.Namespace != "" {
		q.Set("namespace", req.Namespace)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimRight(endpoint, "/")+adminPurgePath+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(nil)
	payload := hex.EncodeToString(sum[:])
	hr.Header.Set("X-Amz-Content-Sha256", payload)
	creds := aws.Credentials{AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, hr, payload, "codeartifact", c.Region, time.Now()); err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		return fmt.Errorf("%s: %s", res.Status, e.Message)
	}
	var out struct {
		ExternalConnections []string `json:"externalConnections"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	name := req.Package
	switch {
	case req.Namespace != "" && req.Format == string(domain.FormatMaven):
		name = req.Namespace + ":" + name // groupId:artifactId
	case req.Namespace != "":
		name = req.Namespace + "/" + name
	}
	if len(out.ExternalConnections) == 0 {
		fmt.Fprintf(stdout, "no %s external connection to purge %s on\n", req.Format, name)
		return nil
	}
	fmt.Fprintf(stdout, "purged cached upstream metadata of %s %s on %s\n", req.Format, name, strings.Join(out.ExternalConnections, ", "))
	return nil
}
