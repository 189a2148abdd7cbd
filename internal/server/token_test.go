package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestTokenMiddleware: format routes accept an authorization token as a
// Bearer token or as the password of HTTP Basic with any user name; an
// unknown, expired or foreign-domain token is 401 in the format's error
// dialect; unusable credentials count as none.
func TestTokenMiddleware(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createDomain(t, "acme")
	h.createDomain(t, "other")
	alice := h.user(t, "alice")
	good := h.token(t, "good-token", alice.ID, "acme", time.Now().Add(time.Hour))
	foreign := h.token(t, "other-domain-token", alice.ID, "other", time.Now().Add(time.Hour))
	// Stored last: storing a token prunes the expired ones.
	expired := h.token(t, "expired-token", alice.ID, "acme", time.Now().Add(-time.Minute))

	const npm, maven = "/npm/acme/main/whoami", "/maven/acme/main/whoami"
	for _, tc := range []struct {
		name, path, auth string
		status           int
		want             string // body for 200, message substring for 401
	}{
		{"none", npm, "", 200, "anonymous"},
		{"bearer", npm, "Bearer " + good, 200, "alice@acme"},
		{"bearer lowercase scheme", npm, "bearer " + good, 200, "alice@acme"},
		{"basic as aws", maven, basic("aws", good), 200, "alice@acme"},
		{"basic as anyone", npm, basic("whoever", good), 200, "alice@acme"},
		{"bearer on maven", maven, "Bearer " + good, 200, "alice@acme"},
		{"unknown token", npm, "Bearer nope", 401, "not valid"},
		{"unknown token as password", maven, basic("aws", "nope"), 401, "not valid"},
		{"expired", npm, "Bearer " + expired, 401, "expired"},
		{"expired as password", maven, basic("aws", expired), 401, "expired"},
		{"another domain", npm, "Bearer " + foreign, 401, "another domain"},
		{"another domain as password", maven, basic("aws", foreign), 401, "another domain"},
		{"token of its own domain", "/npm/other/main/whoami", "Bearer " + foreign, 200, "alice@other"},
		{"malformed basic", npm, "Basic !!!not-base64", 200, "anonymous"},
		{"basic without colon", npm, "Basic " + base64.StdEncoding.EncodeToString([]byte(good)), 200, "anonymous"},
		{"basic with empty password", maven, basic("aws", ""), 200, "anonymous"},
		{"other scheme", npm, "Digest " + good, 200, "anonymous"},
		{"bearer without token", npm, "Bearer ", 200, "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := h.get(t, tc.path, tc.auth)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 200 {
				if r.body != tc.want {
					t.Errorf("caller %q, want %q", r.body, tc.want)
				}
				return
			}
			msg := r.body
			if strings.HasPrefix(tc.path, "/npm/") {
				var e map[string]string
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || len(e) != 1 {
					t.Fatalf("npm error body %q is not {\"error\"}", r.body)
				}
				msg = e["error"]
				if a := r.header.Get("WWW-Authenticate"); a != `Bearer realm="registry"` {
					t.Errorf("npm 401 with WWW-Authenticate %q, want a Bearer challenge", a)
				}
			} else if a := r.header.Get("WWW-Authenticate"); a != `Basic realm="registry"` {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge", a)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(r.body, good) || strings.Contains(r.body, expired) || strings.Contains(r.body, foreign) {
				t.Errorf("the error repeats a token: %s", r.body)
			}
		})
	}
}

// TestControlPlaneIgnoresTokens: authorization tokens are for the formats;
// the control plane wants SigV4.
func TestControlPlaneIgnoresTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createDomain(t, "acme")
	tok := h.token(t, "cp-token", h.user(t, "bob").ID, "acme", time.Now().Add(time.Hour))
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+"/v1/domain", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	r := h.do(t, req)
	if r.status != http.StatusForbidden || r.header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("%d %s: %s", r.status, r.header.Get("x-amzn-ErrorType"), r.body)
	}
}
