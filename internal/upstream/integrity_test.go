package upstream

import (
	"errors"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestParseSRI(t *testing.T) {
	// Digests of "hello\n" (printf 'hello\n' | openssl dgst -binary -sha512 | base64).
	const (
		sha512b64 = "sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ=="
		sha512hex = "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"
		sha1b64   = "sha1-9XLTlvrpIGYocU+yzgD3LpTyJY8="
		sha1hex   = "f572d396fae9206628714fb2ce00f72e94f2258f"
		sha256b64 = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="
		sha256hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	)
	for _, tc := range []struct {
		name string
		in   string
		want Integrity
		err  bool
	}{
		{"npm sha512", sha512b64, Integrity{SHA512: sha512hex}, false},
		{"old npm sha1", sha1b64, Integrity{SHA1: sha1hex}, false},
		{"sha256", sha256b64, Integrity{SHA256: sha256hex}, false},
		{"several, with options and spaces", "  " + sha1b64 + "?foo " + sha512b64 + "\t", Integrity{SHA1: sha1hex, SHA512: sha512hex}, false},
		{"unpadded base64", strings.TrimRight(sha512b64, "="), Integrity{SHA512: sha512hex}, false},
		{"sha384 skipped", "sha384-HQ8oTv4+3qS5yjvVFPoTSxfq42HMx6Hu/v+AG5vWYE4B8h9r8knvAwWZ8MIY8rqM " + sha512b64, Integrity{SHA512: sha512hex}, false},
		{"first of a repeated algorithm wins", sha512b64 + " sha512-" + strings.Repeat("A", 86) + "==", Integrity{SHA512: sha512hex}, false},
		{"uppercase algorithm", "SHA512-" + strings.TrimPrefix(sha512b64, "sha512-"), Integrity{SHA512: sha512hex}, false},
		{"only sha384", "sha384-HQ8oTv4+3qS5yjvVFPoTSxfq42HMx6Hu/v+AG5vWYE4B8h9r8knvAwWZ8MIY8rqM", Integrity{}, true},
		{"empty", "", Integrity{}, true},
		{"hex instead of base64", "sha512-" + sha512hex, Integrity{}, true},
		{"short digest", "sha512-AAAA", Integrity{}, true},
		{"no dash", "sha512", Integrity{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSRI(tc.in)
			if tc.err {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("ParseSRI(%q) = %+v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSRI(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("parsed value does not validate: %v", err)
			}
		})
	}
}

func TestIntegrityCheck(t *testing.T) {
	h := domain.Hashes{SHA1: strings.Repeat("a", 40), SHA256: strings.Repeat("b", 64), SHA512: strings.Repeat("c", 128)}
	for _, tc := range []struct {
		name string
		in   Integrity
		ok   bool
	}{
		{"nothing declared", Integrity{}, true},
		{"all match", Integrity{SHA1: h.SHA1, SHA256: h.SHA256, SHA512: h.SHA512}, true},
		{"upper-case hex matches", Integrity{SHA256: strings.ToUpper(h.SHA256)}, true},
		{"sha1 differs", Integrity{SHA1: strings.Repeat("0", 40), SHA256: h.SHA256}, false},
		{"sha512 differs", Integrity{SHA512: strings.Repeat("0", 128)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Check(h)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrIntegrity)) {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestIntegrityValidate(t *testing.T) {
	for _, in := range []Integrity{
		{SHA256: "xyz"},
		{SHA1: strings.Repeat("g", 40)},
		{SHA512: strings.Repeat("a", 127)},
	} {
		if err := in.Validate(); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", in, err)
		}
	}
}

// FuzzParseSRI: outside input (packuments, lockfiles) must never panic,
// and whatever parses validates.
func FuzzParseSRI(f *testing.F) {
	f.Add("sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ==")
	f.Add("sha1-9XLTlvrpIGYocU+yzgD3LpTyJY8=?x sha384-abc")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ParseSRI(s)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if in.IsZero() {
			t.Fatal("parsed to nothing without an error")
		}
		if err := in.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
