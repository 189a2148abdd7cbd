package build

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// maskAll feeds s to a masker in chunks of n bytes.
func maskAll(m *masker, s string, n int) string {
	var out bytes.Buffer
	for len(s) > 0 {
		k := min(n, len(s))
		out.Write(m.write([]byte(s[:k])))
		s = s[k:]
	}
	out.Write(m.flush())
	return out.String()
}

func TestMaskerAcrossWrites(t *testing.T) {
	secret := "hunter2-very-secret"
	input := "password is " + secret + "\nagain:" + secret + secret + " end\nno newline " + secret
	for _, chunk := range []int{1, 2, 3, 7, 64, 1 << 20} {
		var m masker
		m.add(secret)
		got := maskAll(&m, input, chunk)
		if strings.Contains(got, "hunter2") {
			t.Errorf("chunk %d: secret leaked: %q", chunk, got)
		}
		want := "password is ***\nagain:****** end\nno newline ***"
		if got != want {
			t.Errorf("chunk %d: got %q, want %q", chunk, got, want)
		}
	}
}

func TestMaskerVariants(t *testing.T) {
	secret := "line one secret\nline two secret"
	var m masker
	m.add(secret, "ab", "  padded-secret  ")
	in := strings.Join([]string{
		"whole: " + secret,
		"first line: line one secret",
		"b64: " + base64.StdEncoding.EncodeToString([]byte(secret)),
		"url: " + url.QueryEscape(secret),
		"trimmed: padded-secret",
		"short values stay: ab",
	}, "\n") + "\n"
	got := maskAll(&m, in, 5)
	for _, leak := range []string{"line one secret", "line two secret", "padded-secret", base64.StdEncoding.EncodeToString([]byte(secret))} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaked in %q", leak, got)
		}
	}
	if !strings.Contains(got, "short values stay: ab") {
		t.Errorf("a 2-byte value was masked: %q", got)
	}
}

// TestMaskerLongLine: output without newlines is emitted in bounded
// pieces (never held whole), and still masked at the cuts.
func TestMaskerLongLine(t *testing.T) {
	secret := "SECRETSECRET"
	var m masker
	m.add(secret)
	var out bytes.Buffer
	held := 0
	for i := 0; i < 300; i++ {
		out.Write(m.write([]byte(strings.Repeat("x", 1000) + secret[:5])))
		out.Write(m.write([]byte(secret[5:])))
		held = max(held, len(m.pending))
	}
	out.Write(m.flush())
	if held > maxPendingLine+2000 {
		t.Errorf("masker held %d bytes of one line", held)
	}
	if strings.Contains(out.String(), "SECRET") || strings.Count(out.String(), Mask) != 300 {
		t.Errorf("got %d masks, leak=%v", strings.Count(out.String(), Mask), strings.Contains(out.String(), "SECRET"))
	}
}

func FuzzMasker(f *testing.F) {
	f.Add("s3cr3t", "before s3cr3t after\n", uint8(3))
	f.Add("abc\ndef", "xx abc\ndef yy", uint8(1))
	f.Fuzz(func(t *testing.T, secret, input string, chunk uint8) {
		if len(strings.TrimSpace(secret)) < minSecretLen || strings.Contains(secret, "*") {
			return
		}
		var m masker
		m.add(secret)
		got := maskAll(&m, input, int(chunk)+1)
		if strings.Contains(got, strings.TrimSpace(secret)) {
			t.Fatalf("secret %q appears in %q (input %q)", secret, got, input)
		}
	})
}
