package iam

import (
	"errors"
	"net/http"

	"github.com/artifactd/registry/internal/domain"
)

// apiError is an error in IAM's terms: an HTTP status, an error code from
// the botocore model and a message for the client.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// Codes of the error kinds, with IAM's statuses (botocore iam model).
var kindCodes = []struct {
	kind   error
	status int
	code   string
}{
	{domain.ErrNotFound, http.StatusNotFound, "NoSuchEntity"},
	{domain.ErrAlreadyExists, http.StatusConflict, "EntityAlreadyExists"},
	{domain.ErrConflict, http.StatusConflict, "DeleteConflict"},
	{domain.ErrQuotaExceeded, http.StatusConflict, "LimitExceeded"},
	{domain.ErrTooLarge, http.StatusConflict, "LimitExceeded"},
	{domain.ErrInvalid, http.StatusBadRequest, "ValidationError"},
	{domain.ErrForbidden, http.StatusForbidden, "AccessDenied"},
	{domain.ErrUnauthenticated, http.StatusForbidden, "InvalidClientTokenId"},
}

// internalFailure is all a client learns of an unkinded error.
var internalFailure = &apiError{http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}

// toAPIError decides the code, status and message of an error. This is the
// one place where that happens for IAM and STS.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, k := range kindCodes {
		if errors.Is(err, k.kind) {
			msg := err.Error()
			var de *domain.Error
			if errors.As(err, &de) {
				msg = de.Msg
			}
			return &apiError{k.status, k.code, msg}
		}
	}
	return internalFailure
}

// validationError is IAM's answer to a parameter that breaks a constraint.
func validationError(msg string) error {
	return &apiError{http.StatusBadRequest, "ValidationError", msg}
}

// malformedPolicy reports a policy document the validator rejected.
func malformedPolicy(err error) error {
	msg := err.Error()
	var de *domain.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	return &apiError{http.StatusBadRequest, "MalformedPolicyDocument", msg}
}
