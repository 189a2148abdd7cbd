package sigv4

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm this package verifies.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxPresignExpiry is the longest X-Amz-Expires AWS accepts: one week.
const MaxPresignExpiry = 7 * 24 * time.Hour

const scopeTerminator = "aws4_request"

// Auth is what a client claims about its signature: the access key, the
// credential scope, the headers it signed and the signature itself. It
// comes from ParseAuthorization, ParseQuery or ParseRequest and is proved
// (or not) by Verify.
type Auth struct {
	AccessKeyID string
	Date        string // credential scope date, YYYYMMDD
	Region      string
	Service     string
	// SignedHeaders are the header names the client signed, as it listed
	// them (lower case and sorted, for every client that follows the spec).
	SignedHeaders []string
	Signature     string // hex HMAC-SHA256
	// Presigned reports that the fields came from the query string
	// (X-Amz-*) rather than the Authorization header.
	Presigned bool
	// Expires is a presigned request's X-Amz-Expires; zero otherwise.
	Expires time.Duration
}

// Scope returns the credential scope, "20150830/us-east-1/service/aws4_request".
func (a Auth) Scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/" + scopeTerminator
}

// ParseAuthorization parses the value of an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// It checks the syntax only; Verify checks the signature. Errors wrap
// domain.ErrUnauthenticated and never repeat the header.
func ParseAuthorization(header string) (Auth, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Auth{}, missingToken()
	}
	alg, params, _ := strings.Cut(header, " ")
	if alg != Algorithm {
		return Auth{}, incomplete("Authorization header must use the %s algorithm", Algorithm)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(params, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return Auth{}, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header", clip(name))
		}
		var dst *string
		var seen *bool
		switch name {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		default:
			return Auth{}, incomplete("'%s' is not a valid parameter of the Authorization header", clip(name))
		}
		if *seen {
			return Auth{}, incomplete("Authorization header has more than one '%s' parameter", name)
		}
		*dst, *seen = value, true
	}
	var missing []string
	for _, p := range []struct {
		name string
		ok   bool
	}{{"Credential", haveCred}, {"Signature", haveSig}, {"SignedHeaders", haveSigned}} {
		if !p.ok {
			missing = append(missing, "Authorization header requires '"+p.name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return Auth{}, incomplete("%s", strings.Join(missing, " "))
	}
	return build(cred, signed, sig, "Authorization header")
}

// ParseQuery reads the presigned-URL form of the signature from a query
// string. ok is false, with a nil error, when q carries none of
// X-Amz-Algorithm, X-Amz-Credential and X-Amz-Signature. Errors wrap
// domain.ErrUnauthenticated.
func ParseQuery(q url.Values) (auth Auth, ok bool, err error) {
	if !presigned(q.Has) {
		return Auth{}, false, nil
	}
	var missing []string
	get := func(name string) string {
		vs, has := q[name]
		switch {
		case !has:
			missing = append(missing, "AWS query-string parameters must include '"+name+"'.")
		case len(vs) != 1:
			missing = append(missing, "AWS query-string parameter '"+name+"' must appear once.")
		default:
			return vs[0]
		}
		return ""
	}
	alg, cred, date, exp := get("X-Amz-Algorithm"), get("X-Amz-Credential"), get("X-Amz-Date"), get("X-Amz-Expires")
	signed, sig := get("X-Amz-SignedHeaders"), get("X-Amz-Signature")
	if len(missing) > 0 {
		return Auth{}, true, incomplete("%s", strings.Join(missing, " "))
	}
	if alg != Algorithm {
		return Auth{}, true, incomplete("X-Amz-Algorithm only supports %s", Algorithm)
	}
	if _, err := parseAmzDate(date); err != nil {
		return Auth{}, true, err
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || secs < 0 || len(exp) > 7 || secs > int64(MaxPresignExpiry/time.Second) {
		return Auth{}, true, incomplete("X-Amz-Expires must be a whole number of seconds from 0 to %d", int64(MaxPresignExpiry/time.Second))
	}
	auth, err = build(cred, signed, sig, "X-Amz-Credential")
	if err != nil {
		return Auth{}, true, err
	}
	auth.Presigned = true
	auth.Expires = time.Duration(secs) * time.Second
	return auth, true, nil
}

// ParseRequest finds a SigV4 signature in r: an Authorization header whose
// scheme starts with "AWS4-", or presigned query parameters. ok is false,
// with a nil error, when r carries neither (it is anonymous, or uses Bearer
// or Basic). Both at once is an error, as it is at AWS.
func ParseRequest(r *http.Request) (auth Auth, ok bool, err error) {
	headers := r.Header.Values("Authorization")
	sigv4Header := false
	for _, h := range headers {
		if strings.HasPrefix(strings.TrimSpace(h), "AWS4-") {
			sigv4Header = true
		}
	}
	q, qerr := parseRawQuery(rawQuery(r))
	inQuery := presigned(q.has)
	if !sigv4Header && !inQuery {
		return Auth{}, false, nil
	}
	switch {
	case sigv4Header && inQuery:
		return Auth{}, true, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(headers) > 1:
		return Auth{}, true, incomplete("Only one Authorization header is allowed")
	case sigv4Header:
		auth, err = ParseAuthorization(headers[0])
		return auth, true, err
	case qerr != nil:
		return Auth{}, true, qerr
	}
	auth, _, err = ParseQuery(q.values())
	return auth, true, err
}

// presigned reports whether a query string claims to carry a signature.
func presigned(has func(string) bool) bool {
	return has("X-Amz-Algorithm") || has("X-Amz-Credential") || has("X-Amz-Signature")
}

// build checks the credential and signed-header fields common to both forms.
func build(cred, signed, sig, where string) (Auth, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return Auth{}, incomplete("%s: Credential must have the form <AccessKeyId>/<YYYYMMDD>/<Region>/<Service>/aws4_request", where)
	}
	a := Auth{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Signature: sig}
	switch {
	case a.AccessKeyID == "":
		return Auth{}, incomplete("%s: Credential must name an access key id", where)
	case !validDate(a.Date):
		return Auth{}, incomplete("%s: Credential should be scoped to a valid date (YYYYMMDD), not '%s'", where, clip(a.Date))
	case a.Region == "":
		return Auth{}, incomplete("%s: Credential should be scoped to a valid region", where)
	case a.Service == "":
		return Auth{}, incomplete("%s: Credential should be scoped to a valid service", where)
	case parts[4] != scopeTerminator:
		return Auth{}, incomplete("%s: Credential should be scoped with a valid terminator: 'aws4_request', not '%s'", where, clip(parts[4]))
	case sig == "":
		return Auth{}, incomplete("%s: Signature must not be empty", where)
	case signed == "":
		return Auth{}, incomplete("%s: SignedHeaders must not be empty", where)
	}
	for name := range strings.SplitSeq(signed, ";") {
		if !validHeaderName(name) {
			return Auth{}, incomplete("%s: SignedHeaders must be lower-case header names separated by ';'", where)
		}
		a.SignedHeaders = append(a.SignedHeaders, name)
	}
	return a, nil
}

func validDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

// validHeaderName accepts RFC 9110 token characters, lower case only.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens client-supplied text quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
