package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// TargetOp is one operation of a JSON 1.1 (X-Amz-Target) API served by A.
type TargetOp[A any] func(api A, c echo.Context) (any, error)

// ServeTarget serves one JSON 1.1 request: the operation named by the
// X-Amz-Target header after prefix is looked up in ops (an unknown one is
// UnknownOperationException naming service), its result is written as
// application/x-amz-json-1.1, and its error goes through wire, which gives
// it the service's exception names.
func ServeTarget[A any](c echo.Context, api A, prefix, service string, ops map[string]TargetOp[A], wire func(op string, err error) error) error {
	name := strings.TrimPrefix(c.Request().Header.Get("X-Amz-Target"), prefix)
	SetOperation(c, name)
	f, ok := ops[name]
	if !ok {
		return &APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "operation " + name + " is not supported by this server's " + service}
	}
	out, err := f(api, c)
	if err != nil {
		return wire(name, err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/x-amz-json-1.1", b)
}

// TargetOperations lists the operation names of ops.
func TargetOperations[A any](ops map[string]TargetOp[A]) []string {
	out := make([]string, 0, len(ops))
	for k := range ops {
		out = append(out, k)
	}
	return out
}
