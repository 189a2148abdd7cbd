package policy

// Evaluate returns Deny if any statement of d that applies to req denies,
// otherwise Allow if any that applies allows, otherwise NotApplicable. A
// nil Document is NotApplicable.
//
// A statement whose Principal names an account (its id or
// "arn:aws:iam::<account>:root") applies differently by effect, as in
// IAM's same-account evaluation. Allowing, it trusts the account rather
// than its users: it applies to the account's root principal, while for
// the account's other principals it delegates to their identity policies
// and is NotApplicable, so that only an identity policy can allow them.
// Denying, it applies to every principal of the account. A statement
// naming a principal's own ARN, or "*", applies to that principal
// whatever its effect. NotPrincipal always excludes a named account with
// all its principals.
func (d *Document) Evaluate(req Request) Decision {
	if d == nil {
		return NotApplicable
	}
	result := NotApplicable
	for i := range d.Statements {
		st := &d.Statements[i]
		if !st.applies(req) {
			continue
		}
		switch st.Effect {
		case EffectDeny:
			return Deny
		case EffectAllow:
			result = Allow
		}
	}
	return result
}

// Authorize decides a request within one account as IAM does: an explicit
// Deny in any identity or resource policy refuses it; otherwise an Allow in
// any of them permits it; otherwise it is refused. Nil documents are
// skipped.
//
// A resource-policy statement that allows an account (see Evaluate)
// therefore permits the account's root principal by itself, and any other
// principal of the account only if a document in identity also allows the
// request: the statement delegates to the account's identity policies. One
// that names the principal's ARN, or "*", permits it by itself.
func Authorize(identity, resource []*Document, req Request) bool {
	allowed := false
	for _, docs := range [][]*Document{identity, resource} {
		for _, d := range docs {
			switch d.Evaluate(req) {
			case Deny:
				return false
			case Allow:
				allowed = true
			}
		}
	}
	return allowed
}

// applies reports whether every element of the statement matches req. A
// statement with neither Action nor NotAction applies to nothing.
func (s *Statement) applies(req Request) bool {
	// An account named in Principal stands for all its principals only
	// when denying; in NotPrincipal it always excludes all of them.
	if s.Principals != nil && !principalMatches(s.Principals, req, s.Effect == EffectDeny) {
		return false
	}
	if s.NotPrincipals != nil && principalMatches(s.NotPrincipals, req, true) {
		return false
	}
	if s.Actions == nil && s.NotActions == nil {
		return false
	}
	if s.Actions != nil && !actionMatches(s.Actions, req.Action) {
		return false
	}
	if s.NotActions != nil && actionMatches(s.NotActions, req.Action) {
		return false
	}
	if s.Resources != nil && !resourceMatches(s.Resources, req.Resource) {
		return false
	}
	if s.NotResources != nil && resourceMatches(s.NotResources, req.Resource) {
		return false
	}
	for _, c := range s.Conditions {
		if !c.holds(req.Context) {
			return false
		}
	}
	return true
}
