package policy

// Evaluate returns Deny if any statement of d that applies to req denies,
// otherwise Allow if any that applies allows, otherwise NotApplicable. A
// nil Document is NotApplicable.
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
	if s.Principals != nil && !principalMatches(s.Principals, req) {
		return false
	}
	if s.NotPrincipals != nil && principalMatches(s.NotPrincipals, req) {
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
