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
//     account id or "arn:aws:iam::<account>:root" matches every principal
//     of that account; any other ARN matches that principal exactly.
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
package policy
