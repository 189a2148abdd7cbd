package upstream

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// Integrity is what an upstream declares about an artifact's bytes before
// sending them, as lowercase hex digests; empty fields are not checked, and
// a zero Integrity checks nothing. Sources:
//
//   - npm: dist.integrity, an SRI string "sha512-<base64>" (ParseSRI), and
//     dist.shasum, hex sha1 (https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json#packages)
//   - PyPI: the "#sha256=<hex>" fragment of a file URL, or "hashes" in PEP 691
//     JSON (https://peps.python.org/pep-0503/, https://peps.python.org/pep-0691/)
//   - Maven: the sibling .sha1 (or .sha256, .sha512) file
//     (https://maven.apache.org/resolver/about-checksums.html)
type Integrity struct {
	SHA256 string
	SHA1   string
	SHA512 string
}

// IsZero reports whether nothing is declared.
func (i Integrity) IsZero() bool { return i.SHA256 == "" && i.SHA1 == "" && i.SHA512 == "" }

// Validate reports, as an error wrapping domain.ErrInvalid, a field that is
// not a hex digest of its algorithm's length (either case is accepted).
func (i Integrity) Validate() error {
	for _, f := range [...]struct {
		name string
		v    string
		n    int
	}{{"sha256", i.SHA256, 64}, {"sha1", i.SHA1, 40}, {"sha512", i.SHA512, 128}} {
		if f.v == "" {
			continue
		}
		if len(f.v) != f.n || !isHex(f.v) {
			return domain.Invalid("upstream: declared %s %q is not %d hex digits", f.name, f.v, f.n)
		}
	}
	return nil
}

// Check compares the declared digests with the digests of the bytes
// received. A difference is an error wrapping ErrIntegrity that names the
// algorithm and both values.
func (i Integrity) Check(h domain.Hashes) error {
	for _, f := range [...]struct{ name, want, got string }{
		{"sha256", i.SHA256, h.SHA256}, {"sha512", i.SHA512, h.SHA512}, {"sha1", i.SHA1, h.SHA1},
	} {
		if f.want != "" && !strings.EqualFold(f.want, f.got) {
			return fmt.Errorf("%s is %s, declared %s: %w", f.name, f.got, strings.ToLower(f.want), ErrIntegrity)
		}
	}
	return nil
}

// String renders the declared digests for messages, e.g. "sha512:ab12…".
func (i Integrity) String() string {
	var parts []string
	for _, f := range [...]struct{ name, v string }{{"sha256", i.SHA256}, {"sha512", i.SHA512}, {"sha1", i.SHA1}} {
		if f.v != "" {
			parts = append(parts, f.name+":"+strings.ToLower(f.v))
		}
	}
	if parts == nil {
		return "none"
	}
	return strings.Join(parts, " ")
}

// ParseSRI reads a Subresource Integrity metadata string, as npm writes in
// dist.integrity and lockfiles: whitespace-separated "<alg>-<base64>" tokens,
// each optionally followed by "?<options>", which are ignored
// (https://www.w3.org/TR/SRI/#the-integrity-attribute). sha1, sha256 and
// sha512 are kept as hex; other algorithms (sha384) are skipped. When an
// algorithm appears twice the first is kept. A string with no usable token,
// or a token whose base64 does not decode to the algorithm's length, is an
// error wrapping domain.ErrInvalid.
func ParseSRI(s string) (Integrity, error) {
	var in Integrity
	found := false
	for _, tok := range strings.Fields(s) {
		if q := strings.IndexByte(tok, '?'); q >= 0 {
			tok = tok[:q]
		}
		alg, b64, ok := strings.Cut(tok, "-")
		if !ok {
			return Integrity{}, domain.Invalid("upstream: integrity token %q has no algorithm prefix", tok)
		}
		var dst *string
		var size int
		switch strings.ToLower(alg) {
		case "sha1":
			dst, size = &in.SHA1, 20
		case "sha256":
			dst, size = &in.SHA256, 32
		case "sha512":
			dst, size = &in.SHA512, 64
		default:
			continue
		}
		sum, err := decodeBase64(b64)
		if err != nil || len(sum) != size {
			return Integrity{}, domain.Invalid("upstream: integrity token %q is not a %s digest in base64", tok, alg)
		}
		if *dst == "" {
			*dst = hex.EncodeToString(sum)
		}
		found = true
	}
	if !found {
		return Integrity{}, domain.Invalid("upstream: integrity %q has no sha1, sha256 or sha512 digest", s)
	}
	return in, nil
}

// decodeBase64 accepts standard base64 with or without padding (SRI says
// standard; some tools drop the padding).
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
