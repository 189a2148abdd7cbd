package policy

import (
	"encoding/json"
	"strings"
)

// Condition operators:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//
//	[ForAnyValue:|ForAllValues:] Base [IfExists]      or      Null
//
//	Base                        compares (policy value p, request value v)
//	StringEquals                p == v
//	StringEqualsIgnoreCase      strings.EqualFold(p, v)
//	StringLike                  v matches pattern p (* and ?), case-sensitive
//	ArnEquals, ArnLike          each of the six ':' fields of v matches p's
//	Bool                        p and v both "true" or both "false"
//	...Not... (StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike,
//	ArnNotEquals, ArnNotLike)   the negation of the positive form
//
// With the key absent from the request: positive operators are false,
// negated ones true, IfExists makes either true, ForAnyValue is false,
// ForAllValues is true. Null {"key": "true"} holds when the key is absent.

type setOp int

const (
	single setOp = iota
	forAnyValue
	forAllValues
)

// operator is a parsed condition operator name.
type operator struct {
	set      setOp
	ifExists bool
	null     bool
	negated  bool
	boolean  bool // values must be "true" or "false"
	match    func(policy, value string) bool
}

var baseOperators = map[string]operator{
	"StringEquals":              {match: stringEquals},
	"StringNotEquals":           {match: stringEquals, negated: true},
	"StringEqualsIgnoreCase":    {match: strings.EqualFold},
	"StringNotEqualsIgnoreCase": {match: strings.EqualFold, negated: true},
	"StringLike":                {match: glob},
	"StringNotLike":             {match: glob, negated: true},
	"ArnEquals":                 {match: arnLike},
	"ArnLike":                   {match: arnLike},
	"ArnNotEquals":              {match: arnLike, negated: true},
	"ArnNotLike":                {match: arnLike, negated: true},
	"Bool":                      {match: strings.EqualFold, boolean: true},
}

func stringEquals(p, v string) bool { return p == v }

// parseOperator reads an operator name; ok is false for an unknown or
// unsupported one.
func parseOperator(name string) (op operator, ok bool) {
	set := single
	if rest, found := strings.CutPrefix(name, "ForAnyValue:"); found {
		set, name = forAnyValue, rest
	} else if rest, found := strings.CutPrefix(name, "ForAllValues:"); found {
		set, name = forAllValues, rest
	}
	if name == "Null" {
		return operator{null: true, boolean: true}, set == single
	}
	base, ifExists := strings.CutSuffix(name, "IfExists")
	op, ok = baseOperators[base]
	op.set, op.ifExists = set, ifExists
	return op, ok
}

// conditions reads a Condition element: {operator: {key: value(s)}}.
func (p parser) conditions(raw json.RawMessage, at string) ([]Condition, error) {
	ops, err := members(raw, at)
	if err != nil {
		return nil, err
	}
	var out []Condition
	for _, o := range ops {
		op, ok := parseOperator(o.name)
		if !ok {
			return nil, invalid("%s: condition operator %q is not supported (supported: String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, with IfExists and ForAnyValue:/ForAllValues:, and Null)", at, clip(o.name))
		}
		keys, err := members(o.value, at+"."+o.name)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, invalid("%s.%s has no condition keys", at, o.name)
		}
		for _, k := range keys {
			where := at + "." + o.name + "." + clip(k.name)
			if vendor, name, found := strings.Cut(k.name, ":"); !found || vendor == "" || name == "" {
				return nil, invalid("%s: Actions/Conditions must be prefaced by a vendor, e.g., aws, codeartifact", where)
			}
			values, err := conditionValues(k.value, where)
			if err != nil {
				return nil, err
			}
			for _, v := range values {
				if op.boolean && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
					return nil, invalid("%s: %s takes \"true\" or \"false\", not %q", where, o.name, clip(v))
				}
				if p.variables && strings.Contains(v, "${") {
					return nil, invalid("%s: policy variables such as %q are not supported", where, clip(v))
				}
			}
			out = append(out, Condition{Operator: o.name, Key: k.name, Values: values})
		}
	}
	return out, nil
}

// conditionValues reads a string, boolean or number, or a non-empty array
// of them, keeping booleans and numbers as their JSON text.
func conditionValues(raw json.RawMessage, at string) ([]string, error) {
	var list []json.RawMessage
	if first(raw) == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid("%s: values must be strings, booleans or numbers", at)
		}
		if len(list) == 0 {
			return nil, invalid("%s must not be an empty array", at)
		}
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		switch c := first(v); {
		case c == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, invalid("%s: %v", at, err)
			}
			out = append(out, s)
		case c == 't' || c == 'f' || c == '-' || '0' <= c && c <= '9':
			out = append(out, strings.TrimSpace(string(v)))
		default:
			return nil, invalid("%s: values must be strings, booleans or numbers", at)
		}
	}
	return out, nil
}

// holds reports whether the condition is true of the request context. An
// unknown operator (possible only in a hand-built Document) never holds.
func (c Condition) holds(ctx map[string][]string) bool {
	op, ok := parseOperator(c.Operator)
	if !ok {
		return false
	}
	values := lookup(ctx, c.Key)
	present := len(values) > 0
	if op.null {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case op.ifExists, op.set == forAllValues:
			return true
		case op.set == forAnyValue:
			return false
		}
		return op.negated
	}
	matches := func(v string) bool {
		for _, p := range c.Values {
			if op.match(p, v) {
				return true
			}
		}
		return false
	}
	switch op.set {
	case forAllValues:
		for _, v := range values {
			if matches(v) == op.negated {
				return false
			}
		}
		return true
	case forAnyValue:
		for _, v := range values {
			if matches(v) != op.negated {
				return true
			}
		}
		return false
	}
	for _, v := range values {
		if matches(v) {
			return !op.negated
		}
	}
	return op.negated
}

// lookup returns the values of a condition key; keys match
// case-insensitively, and differently-cased duplicates are merged.
func lookup(ctx map[string][]string, key string) []string {
	var out []string
	for k, vs := range ctx {
		if strings.EqualFold(k, key) {
			out = append(out, vs...)
		}
	}
	return out
}
