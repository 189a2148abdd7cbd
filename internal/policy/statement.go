package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// parser holds what statement parsing needs to know about the document.
type parser struct {
	kind      Kind
	variables bool // the Version gives "${...}" a meaning we do not implement
}

// statement parses and validates Statement[i].
func (p parser) statement(raw json.RawMessage, i int) (Statement, error) {
	where := fmt.Sprintf("Statement[%d]", i)
	ms, err := members(raw, where)
	if err != nil {
		return Statement{}, err
	}
	for _, m := range ms {
		if m.name == "Sid" {
			var sid string
			if err := unmarshalString(m.value, &sid, where+": Sid"); err != nil {
				return Statement{}, err
			}
			where = fmt.Sprintf("Statement[%d] (Sid %q)", i, clip(sid))
		}
	}
	var st Statement
	for _, m := range ms {
		at := where + ": " + m.name
		switch m.name {
		case "Sid":
			err = unmarshalString(m.value, &st.Sid, at)
			if err == nil && p.kind == Identity && !alphanumeric(st.Sid) {
				err = invalid("%s: Statement IDs (SID) must be alpha-numeric", where)
			}
		case "Effect":
			var e string
			if err = unmarshalString(m.value, &e, at); err == nil {
				st.Effect = Effect(e)
				if st.Effect != EffectAllow && st.Effect != EffectDeny {
					err = invalid("%s: Effect must be \"Allow\" or \"Deny\", not %q", where, clip(e))
				}
			}
		case "Principal":
			st.Principals, err = principals(m.value, at)
		case "NotPrincipal":
			st.NotPrincipals, err = principals(m.value, at)
		case "Action":
			st.Actions, err = actions(m.value, at)
		case "NotAction":
			st.NotActions, err = actions(m.value, at)
		case "Resource":
			st.Resources, err = p.resources(m.value, at)
		case "NotResource":
			st.NotResources, err = p.resources(m.value, at)
		case "Condition":
			st.Conditions, err = p.conditions(m.value, at)
		default:
			err = invalid("%s has an unknown element %q", where, clip(m.name))
		}
		if err != nil {
			return Statement{}, err
		}
	}
	return st, p.check(st, where)
}

// check enforces which elements a statement must have, and may not have.
func (p parser) check(st Statement, where string) error {
	hasPrincipal := st.Principals != nil || st.NotPrincipals != nil
	hasResource := st.Resources != nil || st.NotResources != nil
	switch {
	case st.Effect == "":
		return invalid("%s: Effect is required", where)
	case st.Actions == nil && st.NotActions == nil:
		return invalid("%s: Policy statement must contain actions (Action or NotAction)", where)
	case st.Actions != nil && st.NotActions != nil:
		return invalid("%s: a statement may have Action or NotAction, not both", where)
	case st.Principals != nil && st.NotPrincipals != nil:
		return invalid("%s: a statement may have Principal or NotPrincipal, not both", where)
	case st.Resources != nil && st.NotResources != nil:
		return invalid("%s: a statement may have Resource or NotResource, not both", where)
	case p.kind == Identity && hasPrincipal:
		return invalid("%s: Policy document should not specify a principal (an identity policy applies to the identity it is attached to)", where)
	case p.kind == Identity && !hasResource:
		return invalid("%s: Policy statement must contain resources (Resource or NotResource)", where)
	case p.kind == Resource && !hasPrincipal:
		return invalid("%s: a resource policy statement must contain Principal or NotPrincipal", where)
	}
	return nil
}

// principals reads "*" or {"AWS": "..." | [...]}.
func principals(raw json.RawMessage, at string) ([]string, error) {
	if first(raw) == '"' {
		var s string
		if err := unmarshalString(raw, &s, at); err != nil || s != "*" {
			return nil, invalid("%s must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}", at)
		}
		return []string{"*"}, nil
	}
	ms, err := members(raw, at)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, invalid("%s must name at least one principal", at)
	}
	var out []string
	for _, m := range ms {
		switch m.name {
		case "AWS":
		case "Service", "Federated", "CanonicalUser":
			return nil, invalid("%s: principal type %q is not supported; use \"AWS\"", at, m.name)
		default:
			return nil, invalid("%s: unknown principal type %q", at, clip(m.name))
		}
		list, err := stringList(m.value, at+".AWS")
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			if !validPrincipal(s) {
				return nil, invalid("%s: Invalid principal in policy: \"AWS\":%q (want \"*\", an account id or an IAM ARN without wildcards)", at, clip(s))
			}
		}
		out = append(out, list...)
	}
	return out, nil
}

// validPrincipal accepts "*", a 12-digit account id, or an IAM or STS ARN
// naming an account and a principal, with no wildcard.
func validPrincipal(s string) bool {
	if s == "*" || isAccountID(s) {
		return true
	}
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" &&
		(parts[2] == "iam" || parts[2] == "sts") && parts[3] == "" &&
		isAccountID(parts[4]) && parts[5] != "" && !strings.ContainsAny(s, "*? \t\n")
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// actions reads Action or NotAction: "*" or "vendor:pattern".
func actions(raw json.RawMessage, at string) ([]string, error) {
	list, err := stringList(raw, at)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		vendor, name, ok := strings.Cut(a, ":")
		if a != "*" && (!ok || vendor == "" || name == "" || strings.ContainsAny(a, " \t\r\n")) {
			return nil, invalid("%s: Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: %q", at, clip(a))
		}
	}
	return list, nil
}

// resources reads Resource or NotResource: "*" or ARN patterns.
func (p parser) resources(raw json.RawMessage, at string) ([]string, error) {
	list, err := stringList(raw, at)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return nil, invalid("%s: Resource %q must be in ARN format or \"*\"", at, clip(r))
		}
		if p.variables && strings.Contains(r, "${") {
			return nil, invalid("%s: policy variables such as %q are not supported", at, clip(r))
		}
	}
	return list, nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
