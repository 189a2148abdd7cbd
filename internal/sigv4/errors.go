package sigv4

import (
	"errors"

	"github.com/artifactd/registry/internal/domain"
)

// AWS exception names for a rejected signature, as ErrorCode returns them,
// for the HTTP edge to put in x-amzn-ErrorType. AWS answers
// IncompleteSignatureException with 400 and the others with 403. The query
// protocol (IAM, STS) names them MissingAuthenticationToken,
// IncompleteSignature and SignatureDoesNotMatch.
const (
	// CodeMissingAuthenticationToken: the request carries no signature.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature: the signature fields are malformed or missing.
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeInvalidSignature: the signature is wrong, expired or not yet
	// current, or a signed header is missing.
	CodeInvalidSignature = "InvalidSignatureException"
)

// msgMismatch is AWS's wording for a signature that does not match.
const msgMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// sigError carries the AWS exception name next to a *domain.Error, so that
// errors.Is(err, domain.ErrUnauthenticated) and ErrorCode both work.
type sigError struct {
	code string
	err  error
}

func (e *sigError) Error() string { return e.err.Error() }
func (e *sigError) Unwrap() error { return e.err }

// ErrorCode returns the AWS exception name for an error from this package,
// one of the Code constants, or "" for any other error.
func ErrorCode(err error) string {
	var e *sigError
	if errors.As(err, &e) {
		return e.code
	}
	return ""
}

func newError(code, format string, args ...any) error {
	return &sigError{code: code, err: domain.Errorf(domain.ErrUnauthenticated, format, args...)}
}

func missingToken() error {
	return newError(CodeMissingAuthenticationToken, "Missing Authentication Token")
}

func incomplete(format string, args ...any) error {
	return newError(CodeIncompleteSignature, format, args...)
}

func invalid(format string, args ...any) error {
	return newError(CodeInvalidSignature, format, args...)
}

// mismatch reports a signature that does not match. Unlike AWS, the
// message does not show the canonical request: its query string and
// headers may hold secrets, and errors end up in logs.
func mismatch() error { return invalid("%s", msgMismatch) }
