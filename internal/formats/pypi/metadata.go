package pypi

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/artifactd/registry/internal/domain"
)

// Core metadata (https://packaging.python.org/en/latest/specifications/core-metadata/)
// is the METADATA file of a wheel's .dist-info directory and the PKG-INFO
// file of a source distribution: RFC 822 style "Field: value" lines, a
// line starting with whitespace continuing the previous field, and after
// the first empty line an optional body that is the description
// (Metadata-Version 2.1, PEP 566). Fields may repeat (Requires-Dist,
// Classifier, Project-URL, ...). Metadata-Version 2.2 (PEP 643) adds
// Dynamic, which may not name Name, Version or Metadata-Version.

// maxMetadataBytes bounds a core metadata file.
const maxMetadataBytes = 8 << 20

var (
	metadataVersionRE = regexp.MustCompile(`^[12]\.[0-9]+$`)
)

// Metadata is a parsed core metadata file.
type Metadata struct {
	fields map[string][]string // by lower-case field name, in file order
	// Body is the text after the header block (the description).
	Body string
}

// ParseMetadata parses and checks a core metadata file: UTF-8, well-formed
// header lines, Metadata-Version 1.x or 2.x, a valid Name and a PEP 440
// Version (each exactly once), parseable Requires-Dist lines, and no
// Dynamic entry for Name, Version or Metadata-Version. Anything else is
// ErrInvalid.
func ParseMetadata(b []byte) (*Metadata, error) {
	bad := func(format string, args ...any) (*Metadata, error) {
		return nil, domain.Invalid("core metadata: "+format, args...)
	}
	m, err := parseFields(b)
	if err != nil {
		return bad("%v", err)
	}
	for _, f := range []string{"Metadata-Version", "Name", "Version"} {
		switch n := len(m.All(f)); {
		case n == 0:
			return bad("the %s field is missing", f)
		case n > 1:
			return bad("the %s field appears %d times", f, n)
		}
	}
	if mv := m.MetadataVersion(); !metadataVersionRE.MatchString(mv) {
		return bad("Metadata-Version %q is not a supported version (1.x or 2.x)", mv)
	}
	if !ValidName(m.Name()) {
		return bad("Name %q is not a valid project name", m.Name())
	}
	if _, ok := ParseVersion(m.Version()); !ok {
		return bad("Version %q is not a PEP 440 version", m.Version())
	}
	for _, d := range m.All("Dynamic") {
		switch strings.ToLower(d) {
		case "name", "version", "metadata-version":
			return bad("Dynamic may not name %s", d)
		}
	}
	for _, r := range m.All("Requires-Dist") {
		if _, ok := parseRequirement(r); !ok {
			return bad("Requires-Dist %q is not a valid requirement", r)
		}
	}
	return m, nil
}

// parseFields reads the "Field: value" lines and the body of an RFC 822
// style file (core metadata, a wheel's WHEEL file), checking only their
// form. The errors it returns are plain; callers give them a kind.
func parseFields(b []byte) (*Metadata, error) {
	if len(b) > maxMetadataBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxMetadataBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	m := &Metadata{fields: map[string][]string{}}
	// The value of the field being read grows in a builder: appending
	// continuation lines to a string one by one would be quadratic.
	var name string
	var value strings.Builder
	flush := func() {
		if name != "" {
			m.fields[name] = append(m.fields[name], value.String())
		}
	}
	rest := string(b)
	for line := 1; rest != ""; line++ {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			m.Body = rest
			break
		}
		if strings.ContainsFunc(l, isControl) {
			return nil, fmt.Errorf("line %d has a control character", line)
		}
		if l[0] == ' ' || l[0] == '\t' {
			if name == "" {
				return nil, fmt.Errorf("line %d continues a field, but no field precedes it", line)
			}
			value.WriteByte('\n')
			value.WriteString(unfold(l))
			continue
		}
		field, v, ok := strings.Cut(l, ":")
		if !ok || !validFieldName(field) {
			return nil, fmt.Errorf("line %d is not a \"Field: value\" line", line)
		}
		flush()
		name = strings.ToLower(field)
		value = strings.Builder{}
		value.WriteString(strings.TrimSpace(v))
	}
	flush()
	return m, nil
}

// validFieldName reports whether s is a field name: a letter or digit,
// then letters, digits, '-' and '_'.
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && (i == 0 || c != '-' && c != '_') {
			return false
		}
	}
	return s != ""
}

// unfold strips the indentation of a continuation line: the 8 spaces (and
// the '|' of old Description fields) that tools write, or the one
// whitespace character that marks it.
func unfold(l string) string {
	if s, ok := strings.CutPrefix(l, "        "); ok {
		return strings.TrimPrefix(s, "|")
	}
	return l[1:]
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// Get returns the first value of a field ("" if absent); field names are
// case-insensitive.
func (m *Metadata) Get(field string) string {
	if vs := m.fields[strings.ToLower(field)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// All returns every value of a field, in file order.
func (m *Metadata) All(field string) []string { return m.fields[strings.ToLower(field)] }

// MetadataVersion returns the Metadata-Version field.
func (m *Metadata) MetadataVersion() string { return m.Get("Metadata-Version") }

// Name returns the Name field (not normalised).
func (m *Metadata) Name() string { return m.Get("Name") }

// Version returns the Version field as written.
func (m *Metadata) Version() string { return m.Get("Version") }

// RequiresPython returns the Requires-Python specifier, "" if none.
func (m *Metadata) RequiresPython() string { return m.Get("Requires-Python") }

// Description returns the Description field, or the body when the field
// is absent.
func (m *Metadata) Description() string {
	if d := m.Get("Description"); d != "" {
		return d
	}
	return m.Body
}

// projectURL returns the first Project-URL whose label, normalised as the
// spec's "well-known project URLs" section does (lower case, no
// punctuation or spaces), is one of labels.
func (m *Metadata) projectURL(labels ...string) string {
	for _, pu := range m.All("Project-URL") {
		label, u, ok := strings.Cut(pu, ",")
		if !ok {
			continue
		}
		l := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || strings.ContainsRune("-_.", r) {
				return -1
			}
			return r
		}, strings.ToLower(label))
		for _, want := range labels {
			if l == want {
				return strings.TrimSpace(u)
			}
		}
	}
	return ""
}

// licenses returns the license of a version: the License-Expression
// (PEP 639), else the first line of License, else the names of the
// "License ::" classifiers.
func (m *Metadata) licenses() []domain.License {
	if e := m.Get("License-Expression"); e != "" {
		return []domain.License{{Name: e}}
	}
	if l, _, _ := strings.Cut(strings.TrimSpace(m.Get("License")), "\n"); l != "" && !strings.EqualFold(l, "UNKNOWN") {
		if utf8.RuneCountInString(l) > 256 {
			l = string([]rune(l)[:256])
		}
		return []domain.License{{Name: l}}
	}
	var out []domain.License
	for _, c := range m.All("Classifier") {
		if rest, ok := strings.CutPrefix(c, "License :: "); ok {
			parts := strings.Split(rest, " :: ")
			out = append(out, domain.License{Name: strings.TrimSpace(parts[len(parts)-1])})
		}
	}
	return out
}

// versionMeta returns what the control plane shows of a version.
func (m *Metadata) versionMeta() domain.VersionMeta {
	home := m.Get("Home-page")
	if home == "" || strings.EqualFold(home, "UNKNOWN") {
		home = m.projectURL("homepage", "home")
	}
	summary := m.Get("Summary")
	if strings.EqualFold(summary, "UNKNOWN") {
		summary = ""
	}
	return domain.VersionMeta{
		DisplayName:          m.Name(),
		Summary:              summary,
		HomePage:             home,
		SourceCodeRepository: m.projectURL("source", "sourcecode", "repository", "code"),
		Licenses:             m.licenses(),
		Readme:               m.Description(),
	}
}

// dependencyType is CodeArtifact's dependencyType for every PyPI
// dependency.
const dependencyType = "Requires-Dist"

// dependencies returns the Requires-Dist lines as control-plane
// dependencies: the normalised project name, and as the requirement
// everything after the name (extras, version specifier, "; marker").
func (m *Metadata) dependencies() []domain.Dependency {
	var out []domain.Dependency
	for _, r := range m.All("Requires-Dist") {
		req, ok := parseRequirement(r)
		if !ok {
			continue // ParseMetadata refused these
		}
		out = append(out, domain.Dependency{Name: Normalize(req.name), Type: dependencyType, VersionRequirement: req.requirement()})
	}
	return out
}

// requirement is a PEP 508 dependency specifier, split into its parts
// (https://packaging.python.org/en/latest/specifications/dependency-specifiers/).
type requirement struct {
	name, extras, spec, marker string
}

// parseRequirement splits "name[extras] (spec) ; marker" or
// "name[extras] @ url ; marker". Only the name is checked strictly; the
// rest is kept as written.
func parseRequirement(s string) (requirement, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (isAlnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-') {
		i++
	}
	r := requirement{name: s[:i]}
	if !ValidName(r.name) {
		return r, false
	}
	rest := strings.TrimSpace(s[i:])
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, false
		}
		r.extras, rest = strings.TrimSpace(rest[1:end]), strings.TrimSpace(rest[end+1:])
	}
	if spec, marker, ok := strings.Cut(rest, ";"); ok {
		rest, r.marker = strings.TrimSpace(spec), strings.TrimSpace(marker)
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	r.spec = rest
	return r, true
}

// requirement returns the requirement after the name.
func (r requirement) requirement() string {
	var b strings.Builder
	if r.extras != "" {
		b.WriteString("[" + r.extras + "]")
	}
	b.WriteString(r.spec)
	if r.marker != "" {
		b.WriteString("; " + r.marker)
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
