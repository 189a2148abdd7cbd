package maven

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Uploaded XML (POMs and maven-metadata.xml) is outside input. It is read
// with encoding/xml, which resolves no external entities and expands no
// entities a document defines; on top of that a document with a DOCTYPE
// is refused outright (neither Maven's reader nor any POM needs one), so
// an entity expansion attack fails before anything is stored. Callers
// bound the size before parsing.

// decodeXML decodes the root element of doc, which must be named root,
// into v.
func decodeXML(doc []byte, root string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.CharsetReader = charsetReader
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return errors.New("the document has no root element")
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return errors.New("a DOCTYPE is not allowed")
			}
			return errors.New("XML directives are not allowed")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root element")
			}
		case xml.StartElement:
			if t.Name.Local != root {
				return fmt.Errorf("the root element is <%s>, not <%s>", t.Name.Local, root)
			}
			if err := d.DecodeElement(v, &t); err != nil {
				return err
			}
			return trailing(d)
		}
	}
}

// trailing checks that only comments, processing instructions and space
// follow the root element.
func trailing(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after the root element")
		}
	}
}

// charsetReader accepts the encodings POMs declare: UTF-8 (and its ASCII
// subset) as is, ISO-8859-1 (and windows-1252, read as ISO-8859-1)
// converted to UTF-8.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b)+len(b)/8)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// text trims the surrounding white space of an element's character data.
type text string

func (t *text) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	*t = text(strings.TrimSpace(s))
	return nil
}

// escape returns s with XML's special characters escaped.
func escape(s string) string {
	if !strings.ContainsAny(s, `<>&'"`) {
		return s
	}
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
