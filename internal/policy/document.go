package policy

// Kind says where a policy is attached, which decides the elements a
// statement must and must not have.
type Kind int

const (
	// Identity policies are attached to a user: no Principal, and Resource
	// or NotResource is required.
	Identity Kind = iota + 1
	// Resource policies are attached to a domain or repository: Principal
	// or NotPrincipal is required, and Resource is optional.
	Resource
)

// String returns "identity" or "resource".
func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource"
	}
	return "unknown"
}

// Maximum policy sizes in characters, white space not counted, as IAM
// counts them: a managed identity policy and a CodeArtifact resource
// policy.
const (
	MaxIdentityLength = 6144
	MaxResourceLength = 7168
)

// Document is a parsed policy. Parse builds one; a Document built by hand
// is evaluated the same way but has not been validated.
type Document struct {
	Version    string // "2012-10-17", "2008-10-17", or "" when absent
	ID         string // the optional Id element
	Statements []Statement
}

// Effect is a statement's Effect element.
type Effect string

// The two effects a statement can have.
const (
	EffectAllow Effect = "Allow"
	EffectDeny  Effect = "Deny"
)

// Statement is one element of a policy's Statement list. Principal and
// pattern lists hold the values as written; a nil list means the element
// is absent.
type Statement struct {
	Sid    string
	Effect Effect
	// Principals are "*", 12-digit account ids or ARNs (the AWS principal
	// type; {"AWS": "*"} and "*" both give "*"). Nil, with NotPrincipals
	// nil, means the statement names no principal: it applies to whoever
	// the policy is attached to (identity policies).
	Principals    []string
	NotPrincipals []string
	Actions       []string
	NotActions    []string
	// Resources and NotResources both nil means the statement applies to
	// any resource (allowed only in resource policies).
	Resources    []string
	NotResources []string
	Conditions   []Condition
}

// Condition is one key under one operator of a Condition element:
// {"StringLike": {"aws:username": ["a*", "b*"]}} is Operator "StringLike",
// Key "aws:username", Values ["a*", "b*"]. JSON booleans and numbers are
// kept as their JSON text ("true", "12").
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringEqualsIfExists"
	Key      string
	Values   []string
}

// Request is what a caller asks to do, as policies see it.
type Request struct {
	// Principal is the caller's ARN, e.g. arn:aws:iam::123456789012:user/alice
	// or arn:aws:iam::123456789012:root (the account's root principal);
	// "" or "*" for an anonymous caller.
	Principal string
	// Account is the caller's account id; when empty it is taken from
	// Principal. It is ignored for an anonymous caller, who belongs to no
	// account.
	Account  string
	Action   string // e.g. "codeartifact:ReadFromRepository"
	Resource string // the ARN acted on
	// Context holds the condition keys and their values, e.g.
	// "aws:PrincipalAccount", "aws:username". Keys match case-insensitively.
	Context map[string][]string
}

// Decision is the result of evaluating one document.
type Decision int

// The three outcomes of Evaluate.
const (
	// NotApplicable: no statement applies to the request.
	NotApplicable Decision = iota
	// Allow: an Allow statement applies and no Deny statement does.
	Allow
	// Deny: a Deny statement applies.
	Deny
)

// String returns "NotApplicable", "Allow" or "Deny".
func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NotApplicable"
}
