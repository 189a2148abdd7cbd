package build

import (
	"errors"
	"fmt"
)

// Error kinds. Every error the Service returns for a caller's mistake
// wraps one of them; the API layer turns them into AWS exceptions.
var (
	// ErrNotFound: no such project or build.
	ErrNotFound = errors.New("not found")
	// ErrExists: a project with that name exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: bad input (a field, a buildspec, a state transition).
	ErrInvalid = errors.New("invalid input")
	// ErrLimit: a limit (such as a project's concurrentBuildLimit) is hit.
	ErrLimit = errors.New("limit exceeded")
)

// Error is a kinded error with a message for the client.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
