package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

const goodHeader = "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/codeartifact/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123"

var goodAuth = Auth{
	AccessKeyID: "AKID", Date: "20261121", Region: "us-east-1", Service: "codeartifact",
	SignedHeaders: []string{"host", "x-amz-date"}, Signature: "abc123",
}

func TestParseAuthorization(t *testing.T) {
	cases := []struct {
		name   string
		header string
		want   Auth
		code   string // "" when the header parses
		substr string
	}{
		{"botocore", goodHeader, goodAuth, "", ""},
		{"no spaces after commas", strings.ReplaceAll(goodHeader, ", ", ","), goodAuth, "", ""},
		{"surrounding space", "  " + goodHeader + "  ", goodAuth, "", ""},
		{"parameters reordered", "AWS4-HMAC-SHA256 Signature=abc123, SignedHeaders=host;x-amz-date, Credential=AKID/20261121/us-east-1/codeartifact/aws4_request", goodAuth, "", ""},
		{"empty", "", Auth{}, CodeMissingAuthenticationToken, "Missing Authentication Token"},
		{"bearer", "Bearer abc", Auth{}, CodeIncompleteSignature, "AWS4-HMAC-SHA256"},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 Credential=x", Auth{}, CodeIncompleteSignature, "algorithm"},
		{"lower-case algorithm", strings.Replace(goodHeader, "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1), Auth{}, CodeIncompleteSignature, "algorithm"},
		{"missing signature", "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/s/aws4_request, SignedHeaders=host", Auth{}, CodeIncompleteSignature, "requires 'Signature' parameter"},
		{"missing all", "AWS4-HMAC-SHA256", Auth{}, CodeIncompleteSignature, "requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
		{"no equals", goodHeader + ", Junk", Auth{}, CodeIncompleteSignature, "missing equal-sign"},
		{"unknown parameter", goodHeader + ", Foo=bar", Auth{}, CodeIncompleteSignature, "'Foo' is not a valid parameter"},
		{"duplicate parameter", goodHeader + ", Signature=def", Auth{}, CodeIncompleteSignature, "more than one 'Signature'"},
		{"credential too short", strings.Replace(goodHeader, "/aws4_request", "", 1), Auth{}, CodeIncompleteSignature, "Credential must have the form"},
		{"credential too long", strings.Replace(goodHeader, "AKID/", "AKID/x/", 1), Auth{}, CodeIncompleteSignature, "Credential must have the form"},
		{"empty key id", strings.Replace(goodHeader, "AKID/", "/", 1), Auth{}, CodeIncompleteSignature, "access key id"},
		{"bad date", strings.Replace(goodHeader, "20261121", "20261321", 1), Auth{}, CodeIncompleteSignature, "valid date"},
		{"short date", strings.Replace(goodHeader, "20261121", "2026112", 1), Auth{}, CodeIncompleteSignature, "valid date"},
		{"empty region", strings.Replace(goodHeader, "us-east-1", "", 1), Auth{}, CodeIncompleteSignature, "valid region"},
		{"empty service", strings.Replace(goodHeader, "codeartifact", "", 1), Auth{}, CodeIncompleteSignature, "valid service"},
		{"terminator", strings.Replace(goodHeader, "aws4_request", "aws4_reqest", 1), Auth{}, CodeIncompleteSignature, "valid terminator"},
		{"empty signature", strings.Replace(goodHeader, "abc123", "", 1), Auth{}, CodeIncompleteSignature, "Signature must not be empty"},
		{"empty signed headers", strings.Replace(goodHeader, "host;x-amz-date", "", 1), Auth{}, CodeIncompleteSignature, "SignedHeaders must not be empty"},
		{"upper-case signed header", strings.Replace(goodHeader, "host;", "Host;", 1), Auth{}, CodeIncompleteSignature, "lower-case header names"},
		{"empty signed header", strings.Replace(goodHeader, "host;", "host;;", 1), Auth{}, CodeIncompleteSignature, "lower-case header names"},
		{"space in signed header", strings.Replace(goodHeader, "host;", "ho st;", 1), Auth{}, CodeIncompleteSignature, "lower-case header names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAuthorization(tc.header)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
				return
			}
			if !errors.Is(err, domain.ErrUnauthenticated) || ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("got %v (%s), want %s containing %q", err, ErrorCode(err), tc.code, tc.substr)
			}
		})
	}
}

func TestParseQuery(t *testing.T) {
	good := func() url.Values {
		return url.Values{
			"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
			"X-Amz-Credential":    {"AKID/20261121/us-east-1/codeartifact/aws4_request"},
			"X-Amz-Date":          {"20261121T103000Z"},
			"X-Amz-Expires":       {"300"},
			"X-Amz-SignedHeaders": {"host"},
			"X-Amz-Signature":     {"abc123"},
			"domain":              {"d"},
		}
	}
	want := goodAuth
	want.SignedHeaders = []string{"host"}
	want.Presigned, want.Expires = true, 300*time.Second
	cases := []struct {
		name   string
		edit   func(url.Values)
		ok     bool
		substr string // "" when it parses
	}{
		{"good", func(url.Values) {}, true, ""},
		{"not presigned", func(q url.Values) {
			for k := range q {
				if strings.HasPrefix(k, "X-Amz-") {
					delete(q, k)
				}
			}
		}, false, ""},
		{"missing date", func(q url.Values) { delete(q, "X-Amz-Date") }, true, "must include 'X-Amz-Date'"},
		{"missing expires", func(q url.Values) { delete(q, "X-Amz-Expires") }, true, "must include 'X-Amz-Expires'"},
		{"repeated signature", func(q url.Values) { q.Add("X-Amz-Signature", "x") }, true, "must appear once"},
		{"algorithm", func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, true, "only supports"},
		{"bad date", func(q url.Values) { q.Set("X-Amz-Date", "20261121") }, true, "ISO8601"},
		{"negative expires", func(q url.Values) { q.Set("X-Amz-Expires", "-1") }, true, "X-Amz-Expires"},
		{"week plus one", func(q url.Values) { q.Set("X-Amz-Expires", "604801") }, true, "X-Amz-Expires"},
		{"expires junk", func(q url.Values) { q.Set("X-Amz-Expires", "1e3") }, true, "X-Amz-Expires"},
		{"bad credential", func(q url.Values) { q.Set("X-Amz-Credential", "AKID") }, true, "Credential must have the form"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := good()
			tc.edit(q)
			got, ok, err := ParseQuery(q)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			switch {
			case tc.substr != "":
				if !errors.Is(err, domain.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.substr) {
					t.Fatalf("got %v, want error containing %q", err, tc.substr)
				}
			case err != nil:
				t.Fatal(err)
			case ok && !reflect.DeepEqual(got, want):
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	const presign = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261121%2Fus-east-1%2Fcodeartifact%2Faws4_request" +
		"&X-Amz-Date=20261121T103000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123"
	cases := []struct {
		name    string
		target  string
		headers []string
		ok      bool
		code    string
	}{
		{"anonymous", "/npm/d/r/left-pad", nil, false, ""},
		{"bearer", "/npm/d/r/left-pad", []string{"Bearer token"}, false, ""},
		{"basic", "/pypi/d/r/simple/", []string{"Basic YXdzOnRva2Vu"}, false, ""},
		{"bad query, no signature", "/x?a=%zz", nil, false, ""},
		{"header", "/v1/x", []string{goodHeader}, true, ""},
		{"broken header", "/v1/x", []string{"AWS4-HMAC-SHA256 Credential=x"}, true, CodeIncompleteSignature},
		{"two headers", "/v1/x", []string{goodHeader, goodHeader}, true, CodeIncompleteSignature},
		{"presigned", "/v1/x?" + presign, nil, true, ""},
		{"presigned, bad escape", "/v1/x?a=%zz&" + presign, nil, true, CodeIncompleteSignature},
		{"both", "/v1/x?" + presign, []string{goodHeader}, true, CodeIncompleteSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{Method: "GET", RequestURI: tc.target, Host: "h", Header: http.Header{}}
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			_, ok, err := ParseRequest(r)
			if ok != tc.ok || ErrorCode(err) != tc.code {
				t.Fatalf("got ok=%v err=%v, want ok=%v code %q", ok, err, tc.ok, tc.code)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(goodHeader)
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,==,Credential==a/b/c/d/e")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261121/r/s/aws4_request,SignedHeaders=host,Signature=\xff")
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if !errors.Is(err, domain.ErrUnauthenticated) || ErrorCode(err) == "" {
				t.Fatalf("error %v has no kind or code", err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
			return
		}
		if a.AccessKeyID == "" || a.Signature == "" || len(a.SignedHeaders) == 0 || !validDate(a.Date) {
			t.Fatalf("accepted an incomplete header: %+v", a)
		}
		// What parsed must parse again from its own rendering.
		again, err := ParseAuthorization(Algorithm + " Credential=" + a.AccessKeyID + "/" + a.Scope() +
			", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature)
		if err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, a)
		}
	})
}
