package build

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Mask is what a secret value becomes in a build log (CodeBuild's own).
const Mask = "***"

// minSecretLen is the shortest value masked: masking every "1" or "ab"
// would destroy a log and protect nothing.
const minSecretLen = 3

// maxPendingLine bounds how much of an unfinished line the masker holds
// back; longer lines are masked and written in pieces.
const maxPendingLine = 64 << 10

// masker replaces secret values in a stream of output. Output is held
// back until a newline (or maxPendingLine bytes) and never cut inside an
// occurrence of a secret, so a value split across writes is still masked.
// Besides each value it masks its trimmed form, each line of a multi-line
// value, and its base64 and URL-encoded forms.
type masker struct {
	values  []string // longest first
	repl    *strings.Replacer
	maxLen  int
	pending []byte
}

// add registers secret values.
func (m *masker) add(values ...string) {
	set := map[string]bool{}
	for _, v := range m.values {
		set[v] = true
	}
	for _, v := range values {
		for _, variant := range variants(v) {
			if len(variant) >= minSecretLen {
				set[variant] = true
			}
		}
	}
	m.values = m.values[:0]
	for v := range set {
		m.values = append(m.values, v)
	}
	sort.Slice(m.values, func(i, j int) bool {
		if len(m.values[i]) != len(m.values[j]) {
			return len(m.values[i]) > len(m.values[j])
		}
		return m.values[i] < m.values[j]
	})
	args := make([]string, 0, 2*len(m.values))
	m.maxLen = 0
	for _, v := range m.values {
		args = append(args, v, Mask)
		m.maxLen = max(m.maxLen, len(v))
	}
	m.repl = strings.NewReplacer(args...)
}

func variants(v string) []string {
	out := []string{v, strings.TrimSpace(v)}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	out = append(out, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)), url.QueryEscape(v))
	return out
}

// mask returns s with every secret replaced.
func (m *masker) mask(s string) string {
	if m.repl == nil {
		return s
	}
	return m.repl.Replace(s)
}

// write takes more output and returns what can be emitted, masked.
func (m *masker) write(p []byte) []byte {
	if len(m.values) == 0 {
		return p
	}
	m.pending = append(m.pending, p...)
	cut := bytes.LastIndexByte(m.pending, '\n') + 1
	if cut == 0 && len(m.pending) > maxPendingLine {
		cut = len(m.pending) - (m.maxLen - 1)
	}
	cut = m.safeCut(cut)
	if cut <= 0 {
		return nil
	}
	out := []byte(m.repl.Replace(string(m.pending[:cut])))
	m.pending = append(m.pending[:0:0], m.pending[cut:]...)
	return out
}

// safeCut moves cut back until no occurrence of a secret straddles it.
func (m *masker) safeCut(cut int) int {
	for moved := true; moved && cut > 0; {
		moved = false
		for _, v := range m.values {
			lo := max(0, cut-len(v)+1)
			hi := min(len(m.pending), cut+len(v)-1)
			if lo >= hi {
				continue
			}
			if i := bytes.Index(m.pending[lo:hi], []byte(v)); i >= 0 && lo+i < cut {
				cut, moved = lo+i, true
			}
		}
	}
	return cut
}

// flush returns everything still held back, masked.
func (m *masker) flush() []byte {
	if len(m.pending) == 0 {
		return nil
	}
	out := []byte(m.mask(string(m.pending)))
	m.pending = nil
	return out
}
