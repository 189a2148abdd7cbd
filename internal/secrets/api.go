package secrets

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/server"
)

// Authorize is asked before every operation whether the caller of c may
// perform action (e.g. "ssm:GetParameter") on resource (an ARN, or "*").
// It returns nil to allow and an error (kind domain.ErrForbidden) to
// refuse; cmd/registry builds it from access.Authorizer.
type Authorize func(c echo.Context, action, resource string) error

// epoch marshals a time as JSON 1.1 timestamps travel: a number of epoch
// seconds, with milliseconds as the fraction.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

// timePtr returns nil for the zero time (so omitempty drops it).
func timePtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// decode reads a JSON 1.1 request body into v; an empty body is {}.
func decode(c echo.Context, v any) error {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "reading the request body: " + err.Error()}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "Unexpected value type for field " + te.Field + ": want " + te.Type.String()}
		}
		return &server.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Msg: "malformed JSON request body: " + err.Error()}
	}
	return nil
}

// reply writes v as a JSON 1.1 response.
func reply(c echo.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/x-amz-json-1.1", b)
}

// badRequest is an AWS error with status 400.
func badRequest(code, msg string) error {
	return &server.APIError{Status: http.StatusBadRequest, Code: code, Msg: msg}
}

// operation returns the operation an X-Amz-Target names after prefix.
func operation(c echo.Context, prefix string) string {
	op := strings.TrimPrefix(c.Request().Header.Get("X-Amz-Target"), prefix)
	server.SetOperation(c, op)
	return op
}
