package sigv4

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// awsSuite holds cases of AWS's published SigV4 test suite
// (aws-sig-v4-test-suite, as kept in awslabs/aws-c-auth
// tests/aws-signing-test-suite/v4/*/header-signed-request.txt): access key
// AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1,
// service "service", 20150830T123600Z, empty body. Cases whose request line
// is not valid HTTP (get-space: a bare space in the path) are left out.
var awsSuite = []struct {
	name, method, target string
	header               []string
	signedHeaders        string
	signature            string
}{
	{"get-vanilla", "GET", "/", nil, "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", nil, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"get-vanilla-query-unreserved", "GET", "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", nil, "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
	{"get-vanilla-utf8-query", "GET", "/?ሴ=bar", nil, "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
	{"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", nil, "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
	{"get-utf8", "GET", "/ሴ", nil, "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
	{"get-slashes-normalized", "GET", "//example//", nil, "host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
	{"get-relative-relative-normalized", "GET", "/example1/example2/../..", nil, "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-header-key-duplicate", "GET", "/", []string{"My-Header1:value2", "My-Header1:value2", "My-Header1:value1"}, "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
	{"get-header-value-trim", "GET", "/", []string{"My-Header1: value1", `My-Header2: "a   b   c"`}, "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
	{"post-header-key-sort", "POST", "/", []string{"My-Header1:value1"}, "host;my-header1;x-amz-date", "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
}

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func TestAWSSuite(t *testing.T) {
	v := newVerifier(t, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", suiteTime)
	for _, tc := range awsSuite {
		t.Run(tc.name, func(t *testing.T) {
			header := append([]string{"Host:example.amazonaws.com", "X-Amz-Date:20150830T123600Z"}, tc.header...)
			header = append(header, "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="+
				tc.signedHeaders+", Signature="+tc.signature)
			if status, body := v.raw(t, tc.method, tc.target, header, ""); status != http.StatusNoContent {
				t.Fatalf("AWS's signature rejected: %d %s", status, body)
			}
			flipped := strings.Replace(header[len(header)-1], "Signature="+tc.signature[:1], "Signature=0", 1)
			if tc.signature[0] == '0' {
				flipped = strings.Replace(header[len(header)-1], "Signature=0", "Signature=1", 1)
			}
			header[len(header)-1] = flipped
			if status, _ := v.raw(t, tc.method, tc.target, header, ""); status != http.StatusForbidden {
				t.Errorf("altered signature: got %d, want 403", status)
			}
		})
	}
}

// TestAWSSuiteKeyDerivation checks the published intermediate values of
// get-vanilla: the string to sign and the signature.
func TestAWSSuiteKeyDerivation(t *testing.T) {
	const canonical = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + EmptyPayloadHash
	a := Auth{Date: "20150830", Region: "us-east-1", Service: "service"}
	sts := stringToSign("20150830T123600Z", a.Scope(), canonical)
	const wantSTS = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
		"bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
	if sts != wantSTS {
		t.Fatalf("string to sign:\n%s\nwant:\n%s", sts, wantSTS)
	}
	sig := hmacSHA256(signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a), sts)
	if got := hex.EncodeToString(sig); got != "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" {
		t.Fatalf("signature %s", got)
	}
}
