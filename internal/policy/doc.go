// Package policy parses IAM policy documents (identity policies attached to
// users, resource policies attached to CodeArtifact domains and
// repositories) and evaluates requests against them.
//
// It is pure: it imports the standard library and internal/domain only. It
// knows nothing of who the caller is or what a request touches; the caller
// fills in a Request (principal ARN, action, resource ARN, condition keys).
//
// # Evaluation
//
// IAM's logic for a request within one account
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
// without SCPs, permission boundaries or sessions:
//
//	every statement of every identity and resource policy
//	        |
//	        v
//	statement applies?  Principal/NotPrincipal (resource policies only)
//	                    AND Action/NotAction AND Resource/NotResource
//	                    AND every condition
//	        |
//	        v
//	any applicable Deny ------------------> denied (an explicit deny wins)
//	else any applicable Allow ------------> allowed
//	else -------------------------------> denied (implicitly)
//
// Matching:
//
//   - Action: case-insensitive, with '*' (any run) and '?' (one character):
//     "codeartifact:*", "codeartifact:Get*", "*".
//   - Resource: case-sensitive, same wildcards, '*' spanning ':' and '/'.
//     A resource-policy statement without Resource or NotResource applies
//     to the resource the policy is attached to, whatever the request says.
//   - Principal: "*" matches everyone, anonymous callers included; an
//     ARN other than an account's root ARN matches that principal
//     exactly; an account matches as "Account principals" below says.
//   - Condition: operator -> key -> values. Keys are ANDed, and so are
//     operators; the values of one key are ORed. Condition keys are
//     case-insensitive, values compare as each operator says. Supported:
//     String(Not)Equals, String(Not)EqualsIgnoreCase, String(Not)Like,
//     Arn(Not)Equals, Arn(Not)Like, Bool, each with IfExists, the
//     ForAnyValue: and ForAllValues: set prefixes, and Null.
//
// Not supported, and rejected by Parse rather than silently ignored:
// policy variables ("${aws:username}") in 2012-10-17 documents, principal
// types other than AWS (Service, Federated, CanonicalUser) and the
// numeric, date, IP address and binary condition operators.
//
// # Account principals
//
// A resource-policy statement whose Principal names an account ("<account>"
// or "arn:aws:iam::<account>:root") trusts the account rather than its
// users, as IAM does within one account:
//
//	Principal            Effect  the account's root  another principal of it
//	-------------------  ------  ------------------  -----------------------
//	the account          Allow   allowed             only if an identity
//	                                                 policy allows too
//	the account          Deny    denied              denied
//	the principal's ARN  any     -                   as the Effect says
//	"*" or {"AWS":"*"}   any     as the Effect says  as the Effect says
//
// So an Allow naming the account delegates to the account's identity
// policies: Evaluate finds it not applicable to the account's other
// principals, and it grants them nothing an identity policy does not. A
// Deny naming the account denies all its principals. In NotPrincipal an
// account excludes all its principals. Anonymous callers belong to no
// account.
package policy
