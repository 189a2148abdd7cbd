package sigv4

import (
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MaxSkew is how far a request's X-Amz-Date may be from the server's clock,
// either way, as at AWS.
const MaxSkew = 15 * time.Minute

// Payload hashes a caller may pass to Verify besides a hex sha256.
const (
	// UnsignedPayload is the x-amz-content-sha256 value of a client that
	// did not hash its body (botocore does this for operations modelled
	// "v4-unsigned-body" over HTTPS, and for presigned URLs).
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// EmptyPayloadHash is the hex sha256 of an empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// amzDateFormat is the ISO 8601 basic format of X-Amz-Date.
const amzDateFormat = "20060102T150405Z"

// Verify checks that auth is a valid signature of r by the holder of
// secret, at time now. payloadHash is what the client put last in its
// canonical request, and the caller decides it: the x-amz-content-sha256
// header when the client sent one (then the caller must check the body
// against it, unless it is UnsignedPayload), otherwise the hex sha256 of
// the body the caller read (botocore and the Go SDK send no header for
// most services and sign the body's hash).
//
// Verify checks that X-Amz-Date (or, failing that, Date; for a presigned
// request the X-Amz-Date parameter) is present, well formed, the day of the
// credential scope and within MaxSkew of now (a presigned request must
// also not be older than its Expires); that host and every other signed
// header is present; and that the signature matches, compared in constant
// time. It does not check auth.Region or auth.Service: the caller compares
// them with the route. Errors wrap domain.ErrUnauthenticated.
func Verify(r *http.Request, auth Auth, secret, payloadHash string, now time.Time) error {
	amzDate, err := requestDate(r, auth)
	if err != nil {
		return err
	}
	t, err := parseAmzDate(amzDate)
	if err != nil {
		return err
	}
	if amzDate[:8] != auth.Date {
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			clip(auth.Date), amzDate[:8], amzDate)
	}
	if err := checkTime(t, auth, now); err != nil {
		return err
	}
	if !slices.Contains(auth.SignedHeaders, "host") {
		return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	for _, name := range auth.SignedHeaders {
		if _, ok := headerValues(r, name); !ok {
			return invalid("The request is missing the header '%s', which it signed.", clip(name))
		}
	}
	want, err := hex.DecodeString(auth.Signature)
	if err != nil || len(want) != 32 {
		return mismatch()
	}

	path, rawQ := rawTarget(r)
	pairs, err := parseRawQuery(rawQ)
	if err != nil {
		return err
	}
	skip := ""
	if auth.Presigned {
		skip = "X-Amz-Signature"
	}
	query := canonicalQuery(pairs, skip)
	signed := strings.Join(auth.SignedHeaders, ";")
	key := signingKey(secret, auth)
	scope := auth.Scope()
	ok := 0
	for _, uri := range canonicalURIs(path) {
		for _, headers := range canonicalHeaders(r, auth.SignedHeaders) {
			canonical := r.Method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + signed + "\n" + payloadHash
			got := hmacSHA256(key, stringToSign(amzDate, scope, canonical))
			ok |= subtle.ConstantTimeCompare(got, want)
		}
	}
	if ok != 1 {
		return mismatch()
	}
	return nil
}

// requestDate returns the X-Amz-Date the client signed with, in basic
// format: from the query of a presigned request, else the X-Amz-Date
// header, else the Date header converted.
func requestDate(r *http.Request, auth Auth) (string, error) {
	if auth.Presigned {
		pairs, _ := parseRawQuery(rawQuery(r))
		for _, p := range pairs {
			if p.name == "X-Amz-Date" {
				return p.value, nil
			}
		}
		return "", incomplete("AWS query-string parameters must include 'X-Amz-Date'.")
	}
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		return v, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			// botocore writes email.utils.formatdate: "... 12:36:00 -0000".
			t, err = time.Parse(time.RFC1123Z, v)
		}
		if err != nil {
			return "", incomplete("Date must be in RFC 1123 format, for example 'Sun, 30 Aug 2015 12:36:00 GMT'.")
		}
		return t.UTC().Format(amzDateFormat), nil
	}
	return "", incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

func parseAmzDate(s string) (time.Time, error) {
	t, err := time.Parse(amzDateFormat, s)
	if err != nil || len(s) != len(amzDateFormat) {
		return time.Time{}, incomplete("X-Amz-Date must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z', not '%s'.", clip(s))
	}
	return t, nil
}

// checkTime enforces MaxSkew and, for a presigned request, its expiry.
func checkTime(t time.Time, auth Auth, now time.Time) error {
	now = now.UTC()
	if t.After(now.Add(MaxSkew)) {
		return invalid("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			t.Format(amzDateFormat), now.Add(MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if auth.Presigned {
		if end := t.Add(auth.Expires); now.After(end) {
			return invalid("Signature expired: the request was signed at %s for %d seconds and expired at %s.",
				t.Format(amzDateFormat), int64(auth.Expires/time.Second), end.Format(amzDateFormat))
		}
		return nil
	}
	if t.Before(now.Add(-MaxSkew)) {
		return invalid("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			t.Format(amzDateFormat), now.Add(-MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return nil
}
