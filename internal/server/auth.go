package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/sigv4"
)

// Authenticator resolves the caller of a request: SigV4 access keys for
// the AWS control planes, authorization tokens for the package formats.
type Authenticator struct {
	// LookupKey returns the principal and secret of an access key id.
	LookupKey func(ctx context.Context, id string) (domain.Principal, domain.AccessKey, error)
	// LookupToken returns the principal and domain of a token's sha256 hex,
	// or an error (ErrUnauthenticated) for an unknown or expired token.
	// CacheTokens wraps a store's lookup so that it is not consulted on
	// every request.
	LookupToken func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxBody bounds control-plane request bodies that must be read to be
	// hashed (those without x-amz-content-sha256).
	MaxBody int64
}

const (
	callerKey     = "registry.caller"
	serviceKey    = "registry.aws_service"
	tokenDomainKy = "registry.token_domain"
)

// CallerOf returns the authenticated principal of a request, if any.
func CallerOf(c echo.Context) (domain.Principal, bool) {
	p, ok := c.Get(callerKey).(domain.Principal)
	return p, ok
}

// ServiceOf returns the AWS service named by the request's SigV4 scope.
func ServiceOf(c echo.Context) string { s, _ := c.Get(serviceKey).(string); return s }

// TokenDomain returns the domain the request's authorization token is
// scoped to ("" when the caller used no token).
func TokenDomain(c echo.Context) string { s, _ := c.Get(tokenDomainKy).(string); return s }

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func sigErr(msg string) error {
	return &APIError{Status: http.StatusForbidden, Code: sigv4.CodeInvalidSignature, Msg: msg}
}

// sigAPIError turns a sigv4 error into AWS's exception and status.
func sigAPIError(err error) error {
	code := sigv4.ErrorCode(err)
	if code == "" {
		code = sigv4.CodeInvalidSignature
	}
	status := http.StatusForbidden
	if code == sigv4.CodeIncompleteSignature {
		status = http.StatusBadRequest
	}
	return &APIError{Status: status, Code: code, Msg: err.Error()}
}

// SigV4 returns middleware that requires a valid SigV4 signature whose
// credential scope names one of services.
func (a *Authenticator) SigV4(services ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !cleanPath(r.URL.Path) {
				// SigV4 canonicalisation removes dot segments, so a signature
				// over /a/b would also verify for /a/x/../b; refuse such paths.
				return domain.Invalid("request path %q is not in canonical form", r.URL.Path)
			}
			auth, present, err := sigv4.ParseRequest(r)
			if !present {
				return &APIError{Status: http.StatusForbidden, Code: sigv4.CodeMissingAuthenticationToken, Msg: "Missing Authentication Token"}
			}
			if err != nil {
				return sigAPIError(err)
			}
			ok := false
			for _, s := range services {
				ok = ok || auth.Service == s
			}
			if !ok {
				return sigErr("Credential should be scoped to correct service: '" + services[0] + "'.")
			}
			p, key, err := a.LookupKey(r.Context(), auth.AccessKeyID)
			if errors.Is(err, domain.ErrNotFound) {
				return &APIError{Status: http.StatusForbidden, Code: "UnrecognizedClientException", Msg: "The security token included in the request is invalid."}
			}
			if err != nil {
				return err
			}
			payload, err := a.payloadHash(r)
			if err != nil {
				return err
			}
			if err := sigv4.Verify(r, auth, key.Secret, payload, a.now()); err != nil {
				return sigAPIError(err)
			}
			c.Set(callerKey, p)
			c.Set(serviceKey, auth.Service)
			return next(c)
		}
	}
}

// cleanPath reports whether p has no empty, "." or ".." segments.
func cleanPath(p string) bool {
	for _, seg := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/"), "/") {
		if seg == "." || seg == ".." || (seg == "" && p != "/") {
			return false
		}
	}
	return true
}

// payloadHash returns the hash the signature covers. With an
// x-amz-content-sha256 header the body streams through a reader that fails
// at EOF if the bytes do not match; otherwise the (small) body is read,
// hashed and replaced.
func (a *Authenticator) payloadHash(r *http.Request) (string, error) {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != "UNSIGNED-PAYLOAD" && r.Body != nil {
			r.Body = &verifyingBody{rc: r.Body, h: sha256.New(), want: strings.ToLower(h)}
		}
		return h, nil
	}
	max := a.MaxBody
	if max <= 0 {
		max = 1 << 20
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, max+1))
		if err != nil {
			return "", domain.Invalid("reading request body: %v", err)
		}
		if int64(len(body)) > max {
			return "", domain.Errorf(domain.ErrTooLarge, "request body exceeds %d bytes", max)
		}
		r.Body.Close()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// verifyingBody hashes a streamed body and turns EOF into an error when
// the bytes differ from the signed payload hash.
type verifyingBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
}

// ErrPayloadMismatch is returned by a streamed body whose bytes do not
// match the x-amz-content-sha256 header.
var ErrPayloadMismatch = domain.Invalid("the request body does not match its x-amz-content-sha256 header")

func (v *verifyingBody) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(v.h.Sum(nil)) != v.want {
		return n, ErrPayloadMismatch
	}
	return n, err
}

func (v *verifyingBody) Close() error { return v.rc.Close() }

// Token is middleware for the package formats: it resolves an
// authorization token sent as "Authorization: Bearer <token>" or as the
// password of HTTP Basic (any user name). A request without credentials
// passes through anonymous (handlers decide); a bad, expired or foreign-
// domain token is refused with 401.
func (a *Authenticator) Token(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok := BearerOrBasic(c.Request())
		if tok == "" {
			return next(c)
		}
		sum := sha256.Sum256([]byte(tok))
		p, dom, err := a.LookupToken(c.Request().Context(), hex.EncodeToString(sum[:]), a.now())
		if err != nil {
			return err
		}
		if d := c.Param("domain"); d != "" && d != dom {
			return domain.Errorf(domain.ErrUnauthenticated, "the authorization token was issued for another domain")
		}
		c.Set(callerKey, p)
		c.Set(tokenDomainKy, dom)
		return next(c)
	}
}

// BearerOrBasic extracts a token from a Bearer header or the password of a
// Basic header; "" if neither is present.
func BearerOrBasic(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		_, pw, _ := strings.Cut(string(b), ":")
		return pw
	}
	return ""
}

// TokenCacheTTL is how long CacheTokens trusts a successful token lookup
// by default.
const TokenCacheTTL = 30 * time.Second

// tokenCacheSize bounds how many tokens CacheTokens remembers.
const tokenCacheSize = 4096

// TokenLookup resolves a token's sha256 hex to its principal, domain and
// expiry at a time; an error for an unknown or expired token.
type TokenLookup func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, time.Time, error)

// tokenAnswer is a cached successful lookup, trusted until until.
type tokenAnswer struct {
	p     domain.Principal
	dom   string
	until time.Time
}

// CacheTokens returns an Authenticator.LookupToken that remembers
// successful answers of lookup, in a bounded LRU, for ttl (TokenCacheTTL
// when ttl is 0) and never past the token's own expiry. Failures are not
// cached, so a token issued a moment ago is found at once.
//
// The price: a token whose principal is deleted (a user removed, its
// access key deleted) keeps working from the cache for at most ttl after
// its last lookup; so does a token that is revoked by deleting it from the
// store. The time passed to the lookup (the Authenticator's clock) is the
// one the cache is checked against.
func CacheTokens(lookup TokenLookup, ttl time.Duration) func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error) {
	if ttl == 0 {
		ttl = TokenCacheTTL
	}
	cache, err := lru.New[string, tokenAnswer](tokenCacheSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return func(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error) {
		// A stale answer is left for the lookup below to overwrite: a
		// failed lookup leaves it in place, and it is refused again next
		// time.
		if a, ok := cache.Get(hash); ok && at.Before(a.until) {
			return a.p, a.dom, nil
		}
		p, dom, expires, err := lookup(ctx, hash, at)
		if err != nil {
			return p, "", err
		}
		until := at.Add(ttl)
		if expires.Before(until) {
			until = expires
		}
		cache.Add(hash, tokenAnswer{p: p, dom: dom, until: until})
		return p, dom, nil
	}
}
