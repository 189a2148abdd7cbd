package pipeline

import (
	"errors"
	"fmt"
)

// Error is a CodePipeline exception: Code is the exception's name in the
// botocore model (the JSON 1.1 "__type"), Message the text the client
// shows. The API layer turns it into a 400 response; every other error is
// an internal one.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// The exceptions of the operations this server implements, as the botocore
// model names them.
const (
	ErrValidation                 = "ValidationException"
	ErrInvalidStructure           = "InvalidStructureException"
	ErrInvalidStageDeclaration    = "InvalidStageDeclarationException"
	ErrInvalidActionDeclaration   = "InvalidActionDeclarationException"
	ErrPipelineNameInUse          = "PipelineNameInUseException"
	ErrPipelineNotFound           = "PipelineNotFoundException"
	ErrPipelineVersionNotFound    = "PipelineVersionNotFoundException"
	ErrPipelineExecutionNotFound  = "PipelineExecutionNotFoundException"
	ErrPipelineExecutionNotStop   = "PipelineExecutionNotStoppableException"
	ErrDuplicatedStopRequest      = "DuplicatedStopRequestException"
	ErrStageNotFound              = "StageNotFoundException"
	ErrActionNotFound             = "ActionNotFoundException"
	ErrStageNotRetryable          = "StageNotRetryableException"
	ErrNotLatestPipelineExecution = "NotLatestPipelineExecutionException"
	ErrInvalidApprovalToken       = "InvalidApprovalTokenException"
	ErrApprovalAlreadyCompleted   = "ApprovalAlreadyCompletedException"
	ErrInvalidNextToken           = "InvalidNextTokenException"
	ErrConflict                   = "ConflictException"
	ErrInvalidTags                = "InvalidTagsException"
	ErrConcurrentExecutionsLimit  = "ConcurrentPipelineExecutionsLimitExceededException"
)

// Errorf returns an *Error with the given exception code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the exception code of err, or "" when err is not (and
// does not wrap) an *Error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
