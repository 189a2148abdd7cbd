package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/artifactd/registry/internal/domain"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var signTime = time.Date(2026, 11, 21, 23, 59, 30, 0, time.UTC)

// sdkRequest builds a request for target ("/path?query") and signs it with
// the aws-sdk-go-v2 v4 signer, the oracle.
func sdkRequest(t *testing.T, method, target, service string, header http.Header, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, "http://registry.test"+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	sdkSign(t, r, service, body, signTime)
	return r
}

func sdkSign(t *testing.T, r *http.Request, service, body string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
}

func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return "?" + q.Encode()
}

var sdkCases = []struct {
	name, method, target, service string
	header                        http.Header
	body                          string
}{
	{"list domains", "POST", "/v1/domains", "codeartifact", http.Header{"Content-Type": {"application/json"}}, `{"maxResults":5}`},
	{"json 1.1", "POST", "/", "codebuild", http.Header{"X-Amz-Target": {"CodeBuild_20161006.ListProjects"}, "Content-Type": {"application/x-amz-json-1.1"}}, "{}"},
	{"query protocol", "POST", "/", "sts", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "Action=GetCallerIdentity&Version=2011-06-15"},
	{"get with query", "GET", "/v1/package" + query("domain", "d", "repository", "r", "format", "npm", "package", "left-pad"), "codeartifact", nil, ""},
	{"query spaces and plus", "GET", "/v1/x" + query("a", "one two", "b", "1+1=2", "c", "x y+z"), "codeartifact", nil, ""},
	{"query slash", "GET", "/v1/x" + query("prefix", "a/b", "enc", "%2F"), "codeartifact", nil, ""},
	{"query unicode", "GET", "/v1/x" + query("name", "ünïcödé", "☃", "snow"), "codeartifact", nil, ""},
	{"query repeated keys", "GET", "/v1/x" + query("k", "b", "k", "a", "k", "", "j", "z"), "codeartifact", nil, ""},
	{"query empty values", "GET", "/v1/x?a=&b&c=1", "codeartifact", nil, ""},
	{"query reserved", "GET", "/v1/x" + query("q", "!*'();:@&=+$,/?#[]~"), "codeartifact", nil, ""},
	{"npm scoped lower", "GET", "/npm/d/r/@scope%2fname", "codeartifact", nil, ""},
	{"npm scoped upper", "GET", "/npm/d/r/@scope%2Fname/-/name-1.0.0.tgz", "codeartifact", nil, ""},
	{"path unicode", "GET", "/v1/ünïcödé/☃", "codeartifact", nil, ""},
	{"path reserved", "GET", "/v1/a:b/c;d/e=f/g+h/i,j/k'l/(m)/*n!", "codeartifact", nil, ""},
	{"path slashes unnormalised", "GET", "//v1//a/./b/../c/", "codeartifact", nil, ""},
	{"path encoded space", "GET", "/v1/a%20b/c", "codeartifact", nil, ""},
	{"maven put", "PUT", "/maven/d/r/com/example/app/1.0/app-1.0.jar", "codeartifact", http.Header{"Content-Type": {"application/java-archive"}}, "PK\x03\x04jar bytes"},
	{"delete", "DELETE", "/v1/domain" + query("domain", "d"), "codeartifact", nil, ""},
	{"head", "HEAD", "/v1/x", "codeartifact", nil, ""},
	{"header values", "GET", "/v1/x", "codeartifact", http.Header{"X-Multi": {"one", "  two  ", "three   four"}, "X-Empty": {""}}, ""},
	{"other region service", "POST", "/", "codedeploy", http.Header{"X-Amz-Target": {"CodeDeploy_20141006.ListApplications"}}, "{}"},
}

func TestVerifySDKRequests(t *testing.T) {
	v := newVerifier(t, testSecret, signTime.Add(90*time.Second))
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkRequest(t, tc.method, tc.target, tc.service, tc.header, tc.body)
			if status, body := v.do(t, r); status != http.StatusNoContent {
				t.Fatalf("SDK signature rejected by a server: %d %s", status, body)
			}
			// The same request verified in process, as built by a client:
			// no RequestURI, Host from the URL, Content-Length from the field.
			r = sdkRequest(t, tc.method, tc.target, tc.service, tc.header, tc.body)
			auth, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(tc.body))
			if err := Verify(r, auth, testSecret, hex.EncodeToString(sum[:]), signTime); err != nil {
				t.Fatalf("in process: %v", err)
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	base := func(t *testing.T) *http.Request {
		return sdkRequest(t, "POST", "/v1/package/versions"+query("domain", "d", "package", "p q"), "codeartifact",
			http.Header{"X-Amz-Target": {"T.Op"}, "Content-Type": {"application/json"}}, `{"a":1}`)
	}
	cases := []struct {
		name   string
		server string // secret the server holds
		tamper func(r *http.Request)
		code   string
	}{
		{"untouched", testSecret, func(*http.Request) {}, ""},
		{"method", testSecret, func(r *http.Request) { r.Method = "PUT" }, CodeInvalidSignature},
		{"path", testSecret, func(r *http.Request) { r.URL.Path = "/v1/package/version" }, CodeInvalidSignature},
		{"path case", testSecret, func(r *http.Request) { r.URL.Path = "/v1/Package/versions" }, CodeInvalidSignature},
		{"query value", testSecret, func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "domain=d", "domain=e", 1) }, CodeInvalidSignature},
		{"query added", testSecret, func(r *http.Request) { r.URL.RawQuery += "&x=1" }, CodeInvalidSignature},
		{"query removed", testSecret, func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "domain=d&", "", 1) }, CodeInvalidSignature},
		{"signed header", testSecret, func(r *http.Request) { r.Header.Set("X-Amz-Target", "T.Other") }, CodeInvalidSignature},
		{"signed header dropped", testSecret, func(r *http.Request) { r.Header.Del("X-Amz-Target") }, CodeInvalidSignature},
		{"unsigned header added", testSecret, func(r *http.Request) { r.Header.Set("X-Extra", "fine") }, ""},
		{"body", testSecret, func(r *http.Request) { setBody(r, `{"a":2}`) }, CodeInvalidSignature},
		{"date", testSecret, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261121T235931Z") }, CodeInvalidSignature},
		{"date next day", testSecret, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261122T000000Z") }, CodeInvalidSignature},
		{"region", testSecret, func(r *http.Request) { editAuth(r, "/us-east-1/", "/us-west-2/") }, CodeInvalidSignature},
		{"service", testSecret, func(r *http.Request) { editAuth(r, "/codeartifact/", "/codebuild/") }, CodeInvalidSignature},
		{"signed headers list", testSecret, func(r *http.Request) { editAuth(r, ";x-amz-target", "") }, CodeInvalidSignature},
		{"signature", testSecret, func(r *http.Request) { editAuth(r, "Signature=", "Signature=00") }, CodeInvalidSignature},
		{"secret", testSecret + "x", func(*http.Request) {}, CodeInvalidSignature},
		{"host unsigned", testSecret, func(r *http.Request) {
			editAuth(r, "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;")
		}, CodeIncompleteSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, tc.server, signTime)
			r := base(t)
			tc.tamper(r)
			status, body := v.do(t, r)
			if tc.code == "" {
				if status != http.StatusNoContent {
					t.Fatalf("got %d %s, want accepted", status, body)
				}
				return
			}
			if status != http.StatusForbidden || !strings.HasPrefix(body, tc.code+": ") {
				t.Fatalf("got %d %q, want 403 %s", status, body, tc.code)
			}
		})
	}
}

func setBody(r *http.Request, body string) {
	r.Body = http.NoBody
	if body != "" {
		r.Body = readCloser{bytes.NewReader([]byte(body))}
	}
	r.ContentLength = int64(len(body))
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func editAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func TestVerifyClock(t *testing.T) {
	cases := []struct {
		name string
		skew time.Duration // server clock minus signing time
		msg  string
	}{
		{"exact", 0, ""},
		{"14m late", 14 * time.Minute, ""},
		{"15m late", 15 * time.Minute, ""},
		{"14m early", -14 * time.Minute, ""},
		{"16m late", 16 * time.Minute, "Signature expired: 20261121T235930Z is now earlier than 20261122T000030Z (20261122T001530Z - 15 min.)"},
		{"16m early", -16 * time.Minute, "Signature not yet current: 20261121T235930Z is still later than 20261121T235830Z (20261121T234330Z + 15 min.)"},
		{"a day late", 24 * time.Hour, "Signature expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkRequest(t, "GET", "/v1/x", "codeartifact", nil, "")
			auth, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			err = Verify(r, auth, testSecret, EmptyPayloadHash, signTime.Add(tc.skew))
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.msg) || ErrorCode(err) != CodeInvalidSignature {
				t.Fatalf("got %v (%s), want %q", err, ErrorCode(err), tc.msg)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	signed := func(t *testing.T) (*http.Request, Auth) {
		r := sdkRequest(t, "GET", "/v1/x", "codeartifact", http.Header{"X-Thing": {"1"}}, "")
		auth, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		return r, auth
	}
	cases := []struct {
		name   string
		edit   func(r *http.Request, a *Auth)
		code   string
		substr string
	}{
		{"no date", func(r *http.Request, a *Auth) { r.Header.Del("X-Amz-Date") }, CodeIncompleteSignature, "requires existence of either a 'X-Amz-Date' or a 'Date' header"},
		{"bad date", func(r *http.Request, a *Auth) { r.Header.Set("X-Amz-Date", "2026-11-21T23:59:30Z") }, CodeIncompleteSignature, "ISO8601 basic format"},
		{"bad Date header", func(r *http.Request, a *Auth) { r.Header.Del("X-Amz-Date"); r.Header.Set("Date", "yesterday") }, CodeIncompleteSignature, "RFC 1123"},
		{"scope date", func(r *http.Request, a *Auth) { a.Date = "20261120" }, CodeInvalidSignature, "Date in Credential scope does not match"},
		{"host unsigned", func(r *http.Request, a *Auth) { a.SignedHeaders = []string{"x-amz-date", "x-thing"} }, CodeIncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader'"},
		{"no host", func(r *http.Request, a *Auth) { r.Host, r.URL.Host = "", "" }, CodeInvalidSignature, "missing the header 'host'"},
		{"signed header missing", func(r *http.Request, a *Auth) { r.Header.Del("X-Thing") }, CodeInvalidSignature, "missing the header 'x-thing'"},
		{"signature not hex", func(r *http.Request, a *Auth) { a.Signature = "zz" }, CodeInvalidSignature, "does not match"},
		{"signature short", func(r *http.Request, a *Auth) { a.Signature = a.Signature[:62] }, CodeInvalidSignature, "does not match"},
		{"payload", func(r *http.Request, a *Auth) {}, CodeInvalidSignature, "The request signature we calculated does not match the signature you provided."},
		{"bad query escape", func(r *http.Request, a *Auth) { r.URL.RawQuery = "a=%zz" }, CodeIncompleteSignature, "percent-encoded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, auth := signed(t)
			tc.edit(r, &auth)
			err := Verify(r, auth, testSecret, "0000", signTime)
			if !errors.Is(err, domain.ErrUnauthenticated) || domain.KindOf(err) != domain.ErrUnauthenticated {
				t.Fatalf("error %v does not wrap domain.ErrUnauthenticated", err)
			}
			if ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("got %s %q, want %s containing %q", ErrorCode(err), err, tc.code, tc.substr)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("error message contains the secret")
			}
		})
	}
}

func TestVerifyPresigned(t *testing.T) {
	r, err := http.NewRequest("GET", "http://registry.test/v1/domain"+query("domain", "my domain", "x", "a+b", "X-Amz-Expires", "900"), nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, EmptyPayloadHash, "codeartifact", "us-east-1", signTime)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		now  time.Duration
		url  func(string) string
		ok   bool
	}{
		{"in time", 10 * time.Minute, nil, true},
		{"at expiry", 15 * time.Minute, nil, true},
		{"expired", 15*time.Minute + time.Second, nil, false},
		{"not yet current", -16 * time.Minute, nil, false},
		{"query tampered", 0, func(s string) string { return strings.Replace(s, "domain=my%20domain", "domain=other", 1) }, false},
		{"expiry tampered", 0, func(s string) string { return strings.Replace(s, "X-Amz-Expires=900", "X-Amz-Expires=901", 1) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := u
			if tc.url != nil {
				target = tc.url(u)
			}
			req, err := http.NewRequest("GET", target, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = hdr.Clone()
			v := newVerifier(t, testSecret, signTime.Add(tc.now))
			status, body := v.do(t, req)
			if tc.ok != (status == http.StatusNoContent) {
				t.Fatalf("got %d %s, want ok=%v", status, body, tc.ok)
			}
		})
	}
}
