package npm

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// document is what the registry uses of the JSON body of PUT /{name}: a
// publish (one version plus its tarball in _attachments) or, without
// attachments, a whole packument sent back with changes (npm deprecate,
// npm unpublish of one version).
type document struct {
	ID          string
	Name        string
	Rev         string
	Readme      string
	DistTags    map[string]string
	Versions    []versionEntry // in document order
	Attachments []attachmentInfo
}

// versionEntry is one member of the document's "versions" object.
type versionEntry struct {
	Version string
	Raw     json.RawMessage
}

// attachmentInfo describes an attachment whose data went to the sink.
type attachmentInfo struct {
	Name   string
	Length int64 // declared "length", -1 when absent
	Size   int64 // decoded bytes
}

// maxDocumentBytes bounds the bytes of a document outside attachment data
// (held in memory while parsing); a whole packument sent back by npm
// deprecate for a package with thousands of versions fits easily.
const maxDocumentBytes = 64 << 20

// parseDocument reads a document from r, streaming: everything except
// tarball data is held (at most maxDocumentBytes), while the data of each
// attachment named *.tgz is base64-decoded on the fly and handed to sink,
// which must read it (to EOF or until it fails). Other attachments (npm's
// provenance bundle) are read as JSON values and dropped. The bytes sink reads are
// base64-decoded; a decoding error surfaces as a read error wrapping
// domain.ErrInvalid. Errors from r (e.g. a body limit) are returned as
// they are; malformed input is domain.ErrInvalid.
func parseDocument(r io.Reader, sink func(name string, data io.Reader) error) (*document, error) {
	s := &scanner{br: bufio.NewReaderSize(r, 64<<10), budget: maxDocumentBytes}
	d := &document{}
	seen := map[string]bool{}
	err := s.object("document", func(key string) error {
		if seen[key] {
			return domain.Invalid("malformed document: duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case "_attachments":
			return s.attachments(d, sink)
		case "versions":
			return s.object("versions", func(v string) error {
				raw, err := s.value()
				if err != nil {
					return err
				}
				for _, e := range d.Versions {
					if e.Version == v {
						return domain.Invalid("malformed document: duplicate version %q", v)
					}
				}
				if len(raw) == 0 || raw[0] != '{' {
					return domain.Invalid("malformed document: versions[%q] must be an object", v)
				}
				d.Versions = append(d.Versions, versionEntry{Version: v, Raw: raw})
				return nil
			})
		}
		raw, err := s.value()
		if err != nil {
			return err
		}
		var dst any
		switch key {
		case "_id":
			dst = &d.ID
		case "name":
			dst = &d.Name
		case "_rev":
			dst = &d.Rev
		case "readme":
			dst = &d.Readme
		case "dist-tags":
			dst = &d.DistTags
		default:
			return nil
		}
		if string(raw) == "null" {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return domain.Invalid("malformed document: %q has the wrong type", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.peek(); err != io.EOF {
		if err != nil {
			return nil, s.fail(err)
		}
		return nil, domain.Invalid("malformed document: data after the end of the JSON object")
	}
	return d, nil
}

// attachments reads the "_attachments" object.
func (s *scanner) attachments(d *document, sink func(string, io.Reader) error) error {
	return s.object("_attachments", func(name string) error {
		info := attachmentInfo{Name: name, Length: -1}
		hasData := false
		err := s.object("attachment", func(key string) error {
			switch key {
			case "data":
				if hasData {
					return domain.Invalid("malformed document: attachment %q has two data members", name)
				}
				hasData = true
				c, err := s.peek()
				if err != nil {
					return s.fail(err)
				}
				if c != '"' {
					return domain.Invalid("malformed document: attachment %q data must be a string", name)
				}
				if !strings.HasSuffix(name, ".tgz") {
					// Not a tarball (a provenance bundle is JSON text, not
					// base64): read as a value, counted against the
					// document limit, and not kept.
					raw, err := s.value()
					info.Size = int64(len(raw))
					info.Length = -1
					return err
				}
				s.br.ReadByte()
				sr := &stringReader{br: s.br}
				dr := &decodedReader{r: base64.NewDecoder(base64.StdEncoding, sr), name: name}
				if err := sink(name, dr); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, dr); err != nil {
					return err
				}
				if !sr.done {
					return domain.Invalid("malformed document: attachment %q data is not terminated", name)
				}
				info.Size = dr.n
				return nil
			case "length":
				raw, err := s.value()
				if err != nil {
					return err
				}
				n, err := strconv.ParseInt(string(raw), 10, 64)
				if err != nil || n < 0 {
					return domain.Invalid("malformed document: attachment %q length must be a non-negative integer", name)
				}
				info.Length = n
				return nil
			}
			_, err := s.value()
			return err
		})
		if err != nil {
			return err
		}
		if !hasData {
			return domain.Invalid("attachment %q has no data", name)
		}
		if info.Length >= 0 && info.Length != info.Size {
			return domain.Invalid("attachment %q declares length %d but its data decodes to %d bytes", name, info.Length, info.Size)
		}
		d.Attachments = append(d.Attachments, info)
		return nil
	})
}
