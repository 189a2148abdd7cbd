package npm

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
)

// jsonWriter is where documents are written: a bytes.Buffer, or a
// rendered.Writer that compresses (and perhaps spills) as it goes.
type jsonWriter interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
}

// Writing and splicing JSON without decoding it: the packument is built
// from stored manifests member by member, so rendering a package with
// thousands of versions allocates per version, not per field.

// writeObject writes m as a JSON object with sorted keys; values are
// written as they are (they are valid JSON).
func writeObject(b jsonWriter, m map[string]json.RawMessage) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		b.Write(m[k])
	}
	b.WriteByte('}')
}

func writeTags(b jsonWriter, tags map[string]string) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		writeString(b, tags[k])
	}
	b.WriteByte('}')
}

// writeString writes s as a JSON string (without HTML escaping).
func writeString(b jsonWriter, s string) {
	if plainString(s) {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	var e bytes.Buffer
	enc := json.NewEncoder(&e)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Write(e.Bytes()[:e.Len()-1]) // Encode appends a newline
}

// plainString reports whether s needs no escaping in JSON.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func jsonString(s string) json.RawMessage {
	var b bytes.Buffer
	writeString(&b, s)
	return b.Bytes()
}

// unquotedKey returns a quoted key without its quotes. Keys with escapes
// are returned as they are (they match none of the names looked for).
func unquotedKey(key []byte) string {
	if len(key) >= 2 {
		return string(key[1 : len(key)-1])
	}
	return string(key)
}

// members calls fn with the quoted key and the value of each member of
// the JSON object raw, in order, without decoding; it reports false if raw
// is not a well-formed object. raw is trusted to be valid JSON (the
// registry wrote it).
func members(raw []byte, fn func(key, val []byte)) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(raw, i+1)
		}
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		kEnd := endOfString(raw, i)
		if kEnd < 0 {
			return false
		}
		j := skipSpace(raw, kEnd)
		if j >= len(raw) || raw[j] != ':' {
			return false
		}
		j = skipSpace(raw, j+1)
		vEnd := endOfValue(raw, j)
		if vEnd < 0 {
			return false
		}
		fn(raw[i:kEnd], raw[j:vEnd])
		i = vEnd
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the string starting at b[i] ('"').
func endOfString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// endOfValue returns the index after the value starting at b[i].
func endOfValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := endOfString(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && literalByte(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
