package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// This file builds the canonical request; doc.go draws its layout.

// rawTarget returns the path and query exactly as the client sent them:
// from r.RequestURI on a server, from r.URL for a request built in process
// or one whose request-target was not in origin form.
func rawTarget(r *http.Request) (path, query string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, query, _ = strings.Cut(r.RequestURI, "?")
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

func rawQuery(r *http.Request) string {
	_, q := rawTarget(r)
	return q
}

// uriEncode percent-encodes every byte but the RFC 3986 unreserved
// characters (and '/' when keepSlash), with upper-case hex, as AWS requires.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalURIs returns the canonical URI of the path as sent, first with
// dot and empty segments removed (botocore, the AWS spec), then, if it
// differs, without that normalisation (the Go SDK).
func canonicalURIs(path string) []string {
	if path == "" {
		path = "/"
	}
	literal := uriEncode(path, true)
	normal := uriEncode(removeDotSegments(path), true)
	if normal == literal {
		return []string{normal}
	}
	return []string{normal, literal}
}

// removeDotSegments is botocore's utils.remove_dot_segments: RFC 3986
// section 5.2.4, and also drops empty segments ("//").
func removeDotSegments(path string) string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if strings.HasPrefix(path, "/") {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if strings.HasSuffix(path, "/") && len(out) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// queryPair is one decoded name=value pair of a query string.
type queryPair struct{ name, value string }

type queryPairs []queryPair

// parseRawQuery decodes a raw query string as url.ParseQuery does ('+' is a
// space, empty pairs are skipped) but keeps ';' as an ordinary character.
// On a malformed escape it returns the pairs it could decode and an error.
func parseRawQuery(raw string) (queryPairs, error) {
	var pairs queryPairs
	var bad error
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err1 := url.QueryUnescape(name)
		v, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			bad = incomplete("The query string is not correctly percent-encoded")
			continue
		}
		pairs = append(pairs, queryPair{n, v})
	}
	return pairs, bad
}

func (q queryPairs) has(name string) bool {
	return slices.ContainsFunc(q, func(p queryPair) bool { return p.name == name })
}

func (q queryPairs) values() url.Values {
	v := make(url.Values, len(q))
	for _, p := range q {
		v[p.name] = append(v[p.name], p.value)
	}
	return v
}

// canonicalQuery encodes, sorts and joins the pairs, leaving out skip.
func canonicalQuery(q queryPairs, skip string) string {
	enc := make([]queryPair, 0, len(q))
	for _, p := range q {
		if skip != "" && p.name == skip {
			continue
		}
		enc = append(enc, queryPair{uriEncode(p.name, false), uriEncode(p.value, false)})
	}
	slices.SortFunc(enc, func(a, b queryPair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// headerValues returns the values of a signed header and whether the
// request has it. host is r.Host; content-length and transfer-encoding,
// which net/http moves out of r.Header, come from their fields.
func headerValues(r *http.Request, name string) ([]string, bool) {
	switch name {
	case "host":
		return []string{r.Host}, r.Host != ""
	case "content-length":
		if vs := r.Header.Values(name); len(vs) > 0 {
			return vs, true
		}
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
	case "transfer-encoding":
		if vs := r.Header.Values(name); len(vs) > 0 {
			return vs, true
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}, true
		}
	}
	vs, ok := r.Header[http.CanonicalHeaderKey(name)]
	return vs, ok
}

// canonicalHeaders returns the canonical header block ("name:value\n" per
// signed header) in the two ways clients trim values: the spec's, which
// collapses runs of spaces (the Go SDK), then, if it differs, botocore's,
// which collapses runs of any white space.
func canonicalHeaders(r *http.Request, names []string) []string {
	var spec, boto strings.Builder
	for _, name := range names {
		vs, _ := headerValues(r, name)
		for _, b := range []*strings.Builder{&spec, &boto} {
			b.WriteString(name)
			b.WriteByte(':')
		}
		for i, v := range vs {
			if i > 0 {
				spec.WriteByte(',')
				boto.WriteByte(',')
			}
			spec.WriteString(strings.TrimSpace(collapseSpaces(v)))
			boto.WriteString(strings.Join(strings.Fields(v), " "))
		}
		spec.WriteByte('\n')
		boto.WriteByte('\n')
	}
	if spec.String() == boto.String() {
		return []string{spec.String()}
	}
	return []string{spec.String(), boto.String()}
}

// collapseSpaces replaces each run of ' ' with one ' ' and trims ' ' at
// both ends (the spec's Trimall).
func collapseSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// stringToSign hashes the canonical request into the string to sign.
func stringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the key for one day, region and service.
func signingKey(secret string, a Auth) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), a.Date)
	k = hmacSHA256(k, a.Region)
	k = hmacSHA256(k, a.Service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
