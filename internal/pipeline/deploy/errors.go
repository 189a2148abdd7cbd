package deploy

import (
	"errors"
	"fmt"
)

// Error kinds. Every error the service returns for a caller's mistake
// wraps one of them in an *Error that names what it is about.
var (
	ErrNotFound = errors.New("does not exist")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
	ErrRequired = errors.New("required")
	ErrConflict = errors.New("conflict")
)

// Error is a caller's mistake about one kind of thing. Subject names the
// thing in CodeDeploy's vocabulary ("Application", "DeploymentGroup",
// "DeploymentConfigName", "Revision", "Instance", ...) so the API layer can
// name the exception; Kind is one of the Err* kinds.
type Error struct {
	Kind    error
	Subject string
	Msg     string
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, subject, format string, args ...any) error {
	return &Error{Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)}
}
