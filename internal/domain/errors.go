package domain

import (
	"errors"
	"fmt"
)

// Error kinds. Every error that reaches a client wraps exactly one of these;
// the HTTP edge maps the kind to a status code and a client-native body.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrConflict        = errors.New("conflict")
	ErrInvalid         = errors.New("invalid")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrQuotaExceeded   = errors.New("quota exceeded")
	ErrTooLarge        = errors.New("too large")
)

// Error is a kinded error with a message meant for the client and,
// optionally, the resource it is about (AWS error shapes carry both).
type Error struct {
	Kind         error
	Msg          string
	ResourceType string // "domain", "repository", "package", "package-version", "asset"
	ResourceID   string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given kind with a formatted message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports that a resource of the given type and id does not exist.
func NotFound(resourceType, id string) error {
	return &Error{Kind: ErrNotFound, Msg: fmt.Sprintf("%s %s not found", resourceType, id), ResourceType: resourceType, ResourceID: id}
}

// Invalid reports bad input; msg should say which field and why.
func Invalid(format string, args ...any) error { return Errorf(ErrInvalid, format, args...) }

// Conflict reports a state conflict on a resource.
func Conflict(resourceType, id, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Msg: fmt.Sprintf(format, args...), ResourceType: resourceType, ResourceID: id}
}

// KindOf returns the kind an error wraps, or nil for an unkinded error
// (an internal failure).
func KindOf(err error) error {
	for _, k := range []error{ErrNotFound, ErrAlreadyExists, ErrConflict, ErrInvalid, ErrForbidden, ErrUnauthenticated, ErrQuotaExceeded, ErrTooLarge} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// Resource returns the resource type and id an error names, if any.
func Resource(err error) (resourceType, id string) {
	var e *Error
	if errors.As(err, &e) {
		return e.ResourceType, e.ResourceID
	}
	return "", ""
}
