package npm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"

	"github.com/artifactd/registry/internal/domain"
)

// scanner walks JSON from a buffered reader without building values
// except where asked (value), so attachment data can be streamed.
type scanner struct {
	br      *bufio.Reader
	budget  int64        // bytes still allowed outside attachment data
	scratch bytes.Buffer // transientValue's
}

var errEnd = domain.Invalid("malformed document: unexpected end of JSON")

// fail turns a read error into the error to report: kinded errors (a body
// limit) pass; end of input is malformed JSON.
func (s *scanner) fail(err error) error { return endOr(err) }

// endOr returns errEnd for the end of input, else err.
func endOr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errEnd
	}
	return err
}

// charge takes n bytes from the budget: an error once it is spent.
func (s *scanner) charge(n int64) error {
	if s.budget -= n; s.budget < 0 {
		return domain.Errorf(domain.ErrTooLarge, "the document without attachments exceeds %d bytes", maxDocumentBytes)
	}
	return nil
}

func (s *scanner) readByte() (byte, error) {
	if err := s.charge(1); err != nil {
		return 0, err
	}
	b, err := s.br.ReadByte()
	if err != nil {
		return 0, s.fail(err)
	}
	return b, nil
}

// peek returns the next byte that is not JSON whitespace without
// consuming it; io.EOF at the end of input.
func (s *scanner) peek() (byte, error) {
	for {
		b, err := s.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			if err := s.charge(1); err != nil {
				return 0, err
			}
			continue
		}
		s.br.UnreadByte()
		return b, nil
	}
}

// object reads a JSON object, calling member for each key; member must
// consume the value.
func (s *scanner) object(what string, member func(key string) error) error {
	c, err := s.peek()
	if err != nil {
		return s.fail(err)
	}
	if c != '{' {
		return domain.Invalid("malformed document: %s must be a JSON object", what)
	}
	s.readByte()
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return s.fail(err)
		}
		if c == '}' {
			s.readByte()
			return nil
		}
		if !first {
			if c != ',' {
				return domain.Invalid("malformed document: expected ',' or '}' in %s", what)
			}
			s.readByte()
			if c, err = s.peek(); err != nil {
				return s.fail(err)
			}
		}
		if c != '"' {
			return domain.Invalid("malformed document: expected a string key in %s", what)
		}
		raw, err := s.value()
		if err != nil {
			return err
		}
		var key string
		if err := json.Unmarshal(raw, &key); err != nil {
			return domain.Invalid("malformed document: bad key in %s", what)
		}
		if c, err = s.peek(); err != nil {
			return s.fail(err)
		}
		if c != ':' {
			return domain.Invalid("malformed document: expected ':' after key %q", key)
		}
		s.readByte()
		if err := member(key); err != nil {
			return err
		}
	}
}

// value reads the next JSON value and returns its bytes, checked to be
// valid JSON.
func (s *scanner) value() (json.RawMessage, error) {
	var buf bytes.Buffer
	return s.valueInto(&buf)
}

// transientValue is value for a caller that does not keep the bytes: they
// are valid until the next call, and one buffer serves every value.
func (s *scanner) transientValue() (json.RawMessage, error) {
	s.scratch.Reset()
	return s.valueInto(&s.scratch)
}

// valueInto reads the next JSON value into buf and returns its bytes.
func (s *scanner) valueInto(buf *bytes.Buffer) (json.RawMessage, error) {
	c, err := s.peek()
	if err != nil {
		return nil, s.fail(err)
	}
	switch c {
	case '{', '[':
		depth := 0
		for {
			if err := s.copyPlain(buf, &structural); err != nil {
				return nil, err
			}
			b, err := s.readByte()
			if err != nil {
				return nil, err
			}
			buf.WriteByte(b)
			switch b {
			case '"':
				if err := s.stringRest(buf); err != nil {
					return nil, err
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			if depth == 0 {
				break
			}
		}
	case '"':
		b, _ := s.readByte()
		buf.WriteByte(b)
		if err := s.stringRest(buf); err != nil {
			return nil, err
		}
	default:
		for {
			b, err := s.br.ReadByte()
			if err != nil {
				break // the literal ends at the end of input
			}
			if !literalByte(b) {
				s.br.UnreadByte()
				break
			}
			if err := s.charge(1); err != nil {
				return nil, err
			}
			buf.WriteByte(b)
		}
	}
	if !json.Valid(buf.Bytes()) {
		return nil, domain.Invalid("malformed document: invalid JSON value")
	}
	return buf.Bytes(), nil
}

func literalByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '+' || b == '.'
}

// stringRest copies the rest of a string (after its opening quote) up to
// and including the closing quote.
func (s *scanner) stringRest(buf *bytes.Buffer) error {
	for {
		if err := s.copyPlain(buf, &stringSpecial); err != nil {
			return err
		}
		b, err := s.readByte()
		if err != nil {
			return err
		}
		buf.WriteByte(b)
		switch b {
		case '"':
			return nil
		case '\\':
			b, err := s.readByte()
			if err != nil {
				return err
			}
			buf.WriteByte(b)
		}
	}
}

// byteSet is a set of bytes, for copyPlain.
type byteSet [256]bool

func newByteSet(bs string) (set byteSet) {
	for i := 0; i < len(bs); i++ {
		set[bs[i]] = true
	}
	return set
}

var (
	structural    = newByteSet(`"{}[]`) // what a value's bytes outside strings turn on
	stringSpecial = newByteSet(`"\`)    // what ends a run of a string's bytes
)

// copyPlain copies the buffered bytes up to the next one in stop to buf,
// charging the budget, a buffer's worth at a time instead of a byte at a
// time. It stops at a byte of stop, or when nothing is buffered (the
// caller's readByte then fills the buffer).
func (s *scanner) copyPlain(buf *bytes.Buffer, stop *byteSet) error {
	for {
		chunk, _ := s.br.Peek(s.br.Buffered())
		i := 0
		for i < len(chunk) && !stop[chunk[i]] {
			i++
		}
		if i == 0 {
			return nil
		}
		if err := s.charge(int64(i)); err != nil {
			return err
		}
		buf.Write(chunk[:i])
		s.br.Discard(i)
		if i < len(chunk) {
			return nil
		}
	}
}

// stringReader reads the contents of a JSON string of base64 text (after
// its opening quote) and reports EOF at the closing quote. Of JSON's
// escapes only \/ \n \r occur in base64 text (newlines are ignored by the
// decoder); any other escape or a raw control character is an error.
type stringReader struct {
	br   *bufio.Reader
	done bool
}

func (r *stringReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		if r.br.Buffered() == 0 {
			if n > 0 {
				return n, nil // hand over what we have before blocking
			}
			if _, err := r.br.Peek(1); err != nil {
				return n, endOr(err)
			}
		}
		chunk, _ := r.br.Peek(r.br.Buffered())
		if len(chunk) > len(p)-n {
			chunk = chunk[:len(p)-n]
		}
		i := 0
		for i < len(chunk) && chunk[i] != '"' && chunk[i] != '\\' && chunk[i] >= 0x20 {
			i++
		}
		n += copy(p[n:], chunk[:i])
		r.br.Discard(i)
		if i == len(chunk) {
			continue
		}
		switch c := chunk[i]; {
		case c == '"':
			r.br.Discard(1)
			r.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case c == '\\':
			esc, err := r.br.Peek(2)
			if err != nil {
				return n, endOr(err)
			}
			var out byte
			switch esc[1] {
			case '/':
				out = '/'
			case 'n':
				out = '\n'
			case 'r':
				out = '\r'
			default:
				return n, domain.Invalid("malformed document: unexpected escape \\%c in attachment data", esc[1])
			}
			r.br.Discard(2)
			p[n] = out
			n++
		default:
			return n, domain.Invalid("malformed document: control character in attachment data")
		}
	}
	return n, nil
}

// decodedReader counts decoded bytes and turns base64 errors into
// ErrInvalid.
type decodedReader struct {
	r    io.Reader
	name string
	n    int64
}

func (d *decodedReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	var ce base64.CorruptInputError
	switch {
	case errors.As(err, &ce):
		err = domain.Invalid("attachment %q: data is not valid base64 (at byte %d)", d.name, int64(ce))
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = domain.Invalid("attachment %q: data is not valid base64 (truncated)", d.name)
	}
	return n, err
}
