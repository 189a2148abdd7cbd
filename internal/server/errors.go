package server

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
)

// Flavour is the error dialect of a route: what the client on the other end
// understands.
type Flavour int

// Error flavours.
const (
	// RestJSON is AWS rest-json (CodeArtifact): x-amzn-ErrorType header and
	// {"message": ...} body.
	RestJSON Flavour = iota
	// JSON11 is AWS JSON 1.1 (X-Amz-Target services): {"__type","message"}.
	JSON11
	// Query is the AWS query protocol (IAM, STS): an XML ErrorResponse.
	Query
	// NPM is npm's {"error": ...} JSON.
	NPM
	// Text is a plain-text body (PyPI, Maven, health endpoints).
	Text
)

const flavourKey = "registry.flavour"

// SetFlavour returns middleware that marks every request of a group with the
// error dialect its clients speak.
func SetFlavour(f Flavour) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(flavourKey, f)
			return next(c)
		}
	}
}

// APIError is an error with an explicit AWS error code and status, for
// failures that have no domain kind (signature errors, unknown operations).
type APIError struct {
	Status int
	Code   string
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

// classify decides status and AWS error code for err. It is the only place
// where error kinds become HTTP statuses.
func classify(err error, f Flavour) (status int, code, msg string) {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status, api.Code, api.Msg
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		code := "ValidationException"
		switch he.Code {
		case http.StatusNotFound:
			code = "UnknownOperationException"
		case http.StatusMethodNotAllowed:
			code = "UnknownOperationException"
		case http.StatusRequestEntityTooLarge:
			code = "ValidationException"
		}
		return he.Code, code, msg
	}
	msg = err.Error()
	switch domain.KindOf(err) {
	case domain.ErrNotFound:
		return http.StatusNotFound, "ResourceNotFoundException", msg
	case domain.ErrAlreadyExists, domain.ErrConflict:
		return http.StatusConflict, "ConflictException", msg
	case domain.ErrInvalid:
		return http.StatusBadRequest, "ValidationException", msg
	case domain.ErrForbidden:
		return http.StatusForbidden, "AccessDeniedException", msg
	case domain.ErrUnauthenticated:
		if f == RestJSON || f == JSON11 || f == Query {
			return http.StatusForbidden, "UnrecognizedClientException", msg
		}
		return http.StatusUnauthorized, "Unauthorized", msg
	case domain.ErrQuotaExceeded:
		return http.StatusPaymentRequired, "ServiceQuotaExceededException", msg
	case domain.ErrTooLarge:
		return http.StatusRequestEntityTooLarge, "ValidationException", msg
	}
	return http.StatusInternalServerError, "InternalServerException", "An internal error occurred; the request id identifies it in the server log."
}

// queryErrorCodes maps AWS rest-json codes to the IAM/STS query dialect.
var queryErrorCodes = map[string]string{
	"ResourceNotFoundException":     "NoSuchEntity",
	"ConflictException":             "EntityAlreadyExists",
	"ValidationException":           "ValidationError",
	"AccessDeniedException":         "AccessDenied",
	"ServiceQuotaExceededException": "LimitExceeded",
	"InternalServerException":       "InternalFailure",
	// Signature failures, as IAM and STS name them.
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"IncompleteSignatureException":        "IncompleteSignature",
	"UnrecognizedClientException":         "InvalidClientTokenId",
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	f, _ := c.Get(flavourKey).(Flavour)
	if c.Get(flavourKey) == nil {
		f = Text
	}
	status, code, msg := classify(err, f)
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", requestID(c), "err", err)
	}
	h := c.Response().Header()
	var body []byte
	switch f {
	case RestJSON:
		h.Set("x-amzn-ErrorType", code)
		m := map[string]any{"message": msg}
		if rt, id := domain.Resource(err); rt != "" && (code == "ResourceNotFoundException" || code == "ConflictException" || code == "ServiceQuotaExceededException") {
			m["resourceType"], m["resourceId"] = rt, id
		}
		if code == "ValidationException" {
			m["reason"] = "FIELD_VALIDATION_FAILED"
		}
		body, _ = json.Marshal(m)
		h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	case JSON11:
		h.Set("x-amzn-ErrorType", code)
		body, _ = json.Marshal(map[string]string{"__type": code, "message": msg})
		h.Set(echo.HeaderContentType, "application/x-amz-json-1.1")
	case Query:
		if q, ok := queryErrorCodes[code]; ok {
			code = q
		}
		h.Set("x-amzn-ErrorType", code)
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		type xmlErr struct {
			Type    string
			Code    string
			Message string
		}
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Error     xmlErr
			RequestID string `xml:"RequestId"`
		}{Error: xmlErr{typ, code, msg}, RequestID: requestID(c)})
		h.Set(echo.HeaderContentType, "text/xml")
	case NPM:
		body, _ = json.Marshal(map[string]string{"error": msg})
		h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	default:
		body = []byte(msg + "\n")
		h.Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
	}
	if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		if f == NPM {
			h.Set("WWW-Authenticate", `Bearer realm="registry"`)
		} else {
			h.Set("WWW-Authenticate", `Basic realm="registry"`)
		}
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	if err := c.Blob(status, h.Get(echo.HeaderContentType), body); err != nil {
		s.log.Debug("writing error response", "err", err)
	}
}
