package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/sqlite"
)

// buildCredentials gives each build that reads registry repositories (a
// pipeline build after a CodeArtifact Source action) a short-lived
// authorization token for the first repository's domain, the one
// GetAuthorizationToken would return, living as long as the build may
// run. The build sees:
//
//	CODEARTIFACT_AUTH_TOKEN            the token (masked in the log)
//	CODEARTIFACT_DOMAIN                the domain
//	CODEARTIFACT_REPOSITORY            the repository
//	CODEARTIFACT_REPOSITORY_ENDPOINT   its endpoint for the source's format
//	NPM_CONFIG_USERCONFIG              (npm) an .npmrc selecting the repository,
//	                                   reading the token from the environment
//	PIP_INDEX_URL                      (pypi) the repository's simple index with the token
//
// so that "npm install" or "pip install" inside the build reaches the
// repository unchanged, as after "aws codeartifact login".
type buildCredentials struct {
	db        *sqlite.DB
	base      string
	principal int64 // tokens act as the root principal, the builds' service role
}

// tokenMargin is how much longer than the build's timeout its token lives.
const tokenMargin = 5 * time.Minute

func (c buildCredentials) forBuild(ctx context.Context, b *build.Build, dir string) (map[string]string, []string, error) {
	if len(b.Request.Repositories) == 0 {
		return nil, nil, nil
	}
	r := b.Request.Repositories[0]
	tok, err := c.token(ctx, r.Domain, time.Duration(b.TimeoutInMinutes)*time.Minute+tokenMargin)
	if err != nil {
		return nil, nil, fmt.Errorf("a token for domain %s: %w", r.Domain, err)
	}
	base := strings.TrimRight(c.base, "/")
	env := map[string]string{
		"CODEARTIFACT_AUTH_TOKEN": tok,
		"CODEARTIFACT_DOMAIN":     r.Domain,
		"CODEARTIFACT_REPOSITORY": r.Repository,
	}
	switch r.Format {
	case "npm":
		endpoint := base + "/npm/" + r.Domain + "/" + r.Repository + "/"
		env["CODEARTIFACT_REPOSITORY_ENDPOINT"] = endpoint
		// npm expands ${VAR} in .npmrc, so the file holds no secret.
		npmrc := "registry=" + endpoint + "\n" + strings.TrimPrefix(strings.TrimPrefix(endpoint, "http:"), "https:") +
			":_authToken=${CODEARTIFACT_AUTH_TOKEN}\n"
		path := filepath.Join(dir, "npmrc")
		if err := os.WriteFile(path, []byte(npmrc), 0o600); err != nil {
			return nil, nil, err
		}
		env["NPM_CONFIG_USERCONFIG"] = path
	case "pypi":
		endpoint := base + "/pypi/" + r.Domain + "/" + r.Repository + "/"
		env["CODEARTIFACT_REPOSITORY_ENDPOINT"] = endpoint
		if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
			env["PIP_INDEX_URL"] = scheme + "://aws:" + tok + "@" + rest + "simple/"
		}
	case "maven":
		env["CODEARTIFACT_REPOSITORY_ENDPOINT"] = base + "/maven/" + r.Domain + "/" + r.Repository + "/"
	}
	return env, []string{tok}, nil
}

// token issues an authorization token for domain, as GetAuthorizationToken
// does.
func (c buildCredentials) token(ctx context.Context, domain string, ttl time.Duration) (string, error) {
	return c.db.IssueToken(ctx, c.principal, domain, time.Now().Add(ttl).Truncate(time.Second))
}
