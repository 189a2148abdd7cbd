package sigv4

import (
	"context"
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

// FuzzVerify feeds Verify arbitrary requests and signatures, which must
// never make it panic nor fail without domain.ErrUnauthenticated; and, as
// a differential test, requests the aws-sdk-go-v2 signer signed, which it
// must accept.
func FuzzVerify(f *testing.F) {
	f.Add("GET", "/v1/x?a=b", "registry.test", "X-Thing", "v", goodHeader, testSecret, EmptyPayloadHash, int64(0), int64(0))
	f.Add("POST", "//a/./b/../%2f@x?k=2&k=1&e=&sp=a%20b+c", "h:80", "X-Multi", "  a   b\t c ", "", "s", "UNSIGNED-PAYLOAD", int64(1e9), int64(-899))
	f.Add("PUT", "/ሴ?ሴ=bar;x=%zz", "[::1]:7373", "Content-Length", "3", "AWS4-HMAC-SHA256 Credential=a/20000101/r/s/aws4_request,SignedHeaders=host;x,Signature=00", "", "", int64(-5), int64(900))
	f.Add("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20261121%2Fr%2Fs%2Faws4_request&X-Amz-Date=20261121T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", "h", "", "", "", "k", "x", int64(1795219200), int64(3))
	f.Fuzz(func(t *testing.T, method, target, host, name, value, authz, secret, payload string, unix, skew int64) {
		signedAt := time.Unix(unix%(200*365*24*3600), 0).UTC()
		now := signedAt.Add(time.Duration(skew%(20*60)) * time.Second)

		// Anything at all: no panic, and errors are kinded.
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u = &url.URL{}
		}
		r := &http.Request{Method: method, URL: u, RequestURI: target, Host: host, Header: http.Header{}}
		r.Header.Set(name, value)
		r.Header.Set("Authorization", authz)
		r.Header.Set("X-Amz-Date", signedAt.Format(amzDateFormat))
		if auth, ok, err := ParseRequest(r); ok && err == nil {
			checkKinded(t, Verify(r, auth, secret, payload, now))
		} else {
			checkKinded(t, err)
		}
		if auth, err := ParseAuthorization(authz); err == nil {
			checkKinded(t, Verify(r, auth, secret, payload, now))
		}

		// Signed by the SDK, as a client would send it: must verify while
		// the clock is within MaxSkew.
		if !strings.HasPrefix(target, "/") || !tokenOnly(name) || !fieldValue(value) || host == "" || strings.ContainsAny(host, "/?#@ \t\r\n") {
			return
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Authorization", "X-Amz-Date", "Content-Length", "Transfer-Encoding", "User-Agent", "Expect", "X-Amzn-Trace-Id":
			return
		}
		req, err := http.NewRequest(method, "http://"+host+target, nil)
		if err != nil || req.URL.Opaque != "" || req.URL.Host != host || presigned(req.URL.Query().Has) {
			return
		}
		req.Header.Set(name, value)
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, "codeartifact", "us-east-1", signedAt); err != nil {
			return
		}
		// What a server sees: the request-target, Host, and header values
		// trimmed of spaces and tabs by net/textproto.
		srv := &http.Request{Method: req.Method, URL: req.URL, RequestURI: req.URL.RequestURI(), Host: req.Host, Header: http.Header{}}
		for k, vs := range req.Header {
			for _, v := range vs {
				srv.Header.Add(k, strings.Trim(v, " \t"))
			}
		}
		auth, ok, err := ParseRequest(srv)
		if !ok || err != nil {
			t.Fatalf("ParseRequest of the SDK's header %q: ok=%v %v", req.Header.Get("Authorization"), ok, err)
		}
		if d := now.Sub(signedAt); d > MaxSkew || d < -MaxSkew {
			return
		}
		if err := Verify(srv, auth, secret, payload, now); err != nil {
			t.Fatalf("the SDK's signature of %s %s (%s: %q) rejected: %v", req.Method, srv.RequestURI, name, value, err)
		}
	})
}

func checkKinded(t *testing.T, err error) {
	t.Helper()
	if err != nil && (!errors.Is(err, domain.ErrUnauthenticated) || ErrorCode(err) == "") {
		t.Fatalf("error %v has no kind or code", err)
	}
}

// tokenOnly reports whether s is a valid header name (an RFC 9110 token).
func tokenOnly(s string) bool {
	return s != "" && validHeaderName(strings.ToLower(s))
}

// fieldValue reports whether a server would accept s as a header value.
func fieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
