package policy

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/artifactd/registry/internal/domain"
)

// maxRawLength bounds the document Parse reads at all, white space
// included (IAM's API limit on a PolicyDocument parameter).
const maxRawLength = 131072

// Parse parses and validates a policy document of the given kind, accepting
// the JSON forms IAM accepts: Statement as one object or an array, Action,
// Resource and principal values as a string or an array, Principal as "*"
// or {"AWS": ...}. It rejects what IAM would reject as a
// MalformedPolicyDocument, and also duplicate JSON keys, unknown elements
// and the features this package does not implement (see the package
// comment). Errors wrap domain.ErrInvalid and say what is wrong and where.
func Parse(doc string, kind Kind) (*Document, error) {
	limit := MaxResourceLength
	switch kind {
	case Identity:
		limit = MaxIdentityLength
	case Resource:
	default:
		return nil, invalid("unknown policy kind %d", int(kind))
	}
	if len(doc) > maxRawLength {
		return nil, invalid("policy document is %d bytes long; the limit is %d", len(doc), maxRawLength)
	}
	if !utf8.ValidString(doc) {
		return nil, invalid("policy document is not valid UTF-8")
	}
	if n := length(doc); n > limit {
		return nil, invalid("policy document is %d characters long (white space not counted); a %s policy may have at most %d", n, kind, limit)
	}
	var probe any
	if err := json.Unmarshal([]byte(doc), &probe); err != nil {
		return nil, invalid("Syntax errors in policy: %v", err)
	}
	top, err := members(json.RawMessage(doc), "policy document")
	if err != nil {
		return nil, err
	}
	d := &Document{}
	p := parser{kind: kind}
	var stmts json.RawMessage
	for _, m := range top {
		switch m.name {
		case "Version":
			if err := unmarshalString(m.value, &d.Version, "Version"); err != nil {
				return nil, err
			}
			if d.Version != "2012-10-17" && d.Version != "2008-10-17" {
				return nil, invalid("Version must be \"2012-10-17\" or \"2008-10-17\", not %q", clip(d.Version))
			}
		case "Id":
			if err := unmarshalString(m.value, &d.ID, "Id"); err != nil {
				return nil, err
			}
		case "Statement":
			stmts = m.value
		default:
			return nil, invalid("policy document has an unknown element %q", clip(m.name))
		}
	}
	// Policy variables exist from 2012-10-17 on; before, "${" is literal.
	p.variables = d.Version == "2012-10-17"
	if stmts == nil {
		return nil, invalid("policy document must contain a Statement")
	}
	list := []json.RawMessage{stmts}
	if first(stmts) == '[' {
		list = nil
		if err := json.Unmarshal(stmts, &list); err != nil {
			return nil, invalid("Statement must be an object or an array of objects")
		}
		if len(list) == 0 {
			return nil, invalid("Statement must not be empty")
		}
	}
	sids := make(map[string]bool)
	for i, raw := range list {
		st, err := p.statement(raw, i)
		if err != nil {
			return nil, err
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, invalid("Statement IDs (SID) in a single policy must be unique: %q appears twice", clip(st.Sid))
			}
			sids[st.Sid] = true
		}
		d.Statements = append(d.Statements, st)
	}
	return d, nil
}

// length counts characters the way IAM does for its size limits: white
// space does not count.
func length(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

func invalid(format string, args ...any) error {
	return domain.Invalid("invalid policy: "+format, args...)
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// members splits a JSON object into its members, rejecting anything else
// and duplicate names (which encoding/json would silently resolve to the
// last one: a classic way to make a policy read differently to a human).
func members(raw json.RawMessage, what string) ([]member, error) {
	if first(raw) != '{' {
		return nil, invalid("%s must be a JSON object", what)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, invalid("%s must be a JSON object", what)
	}
	var out []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("%s: %v", what, err)
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, invalid("%s: %v", what, err)
		}
		if seen[name] {
			return nil, invalid("%s has %q twice", what, clip(name))
		}
		seen[name] = true
		out = append(out, member{name, value})
	}
	return out, nil
}

// first returns the first byte of a JSON value, past white space.
func first(raw json.RawMessage) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

func unmarshalString(raw json.RawMessage, dst *string, what string) error {
	if first(raw) != '"' || json.Unmarshal(raw, dst) != nil {
		return invalid("%s must be a string", what)
	}
	return nil
}

// stringList reads a string or a non-empty array of strings.
func stringList(raw json.RawMessage, what string) ([]string, error) {
	switch first(raw) {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("%s must be a string or an array of strings", what)
		}
		return []string{s}, nil
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid("%s must be a string or an array of strings", what)
		}
		if len(list) == 0 {
			return nil, invalid("%s must not be an empty array", what)
		}
		return list, nil
	}
	return nil, invalid("%s must be a string or an array of strings", what)
}

// clip shortens client-supplied text quoted in an error message.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
