package iam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/artifactd/registry/internal/domain"
)

// Users stores IAM users. Lookups by name ignore case; the root principal is
// never returned, listed or deleted through it.
type Users interface {
	// CreateUser creates a user; ErrAlreadyExists if the name is taken.
	CreateUser(ctx context.Context, name, path string) (domain.Principal, error)
	// GetUser returns a user or ErrNotFound.
	GetUser(ctx context.Context, name string) (domain.Principal, error)
	// ListUsers returns all users.
	ListUsers(ctx context.Context) ([]domain.Principal, error)
	// DeleteUser deletes a user; ErrConflict while it has keys or policies.
	DeleteUser(ctx context.Context, name string) error
}

// AccessKeys stores users' access keys.
type AccessKeys interface {
	// CreateAccessKey creates a key, secret included; ErrQuotaExceeded past
	// the per-user limit.
	CreateAccessKey(ctx context.Context, userName string) (domain.AccessKey, error)
	// ListAccessKeys returns a user's keys; their secrets are not needed.
	ListAccessKeys(ctx context.Context, userName string) ([]domain.AccessKey, error)
	// DeleteAccessKey deletes a key of the user; ErrNotFound if it has none
	// with that id.
	DeleteAccessKey(ctx context.Context, userName, keyID string) error
}

// UserPolicies stores users' inline policies.
type UserPolicies interface {
	// PutUserPolicy creates or replaces a policy.
	PutUserPolicy(ctx context.Context, userName, policyName, document string) error
	// GetUserPolicy returns a policy document or ErrNotFound.
	GetUserPolicy(ctx context.Context, userName, policyName string) (string, error)
	// ListUserPolicies returns the names of a user's policies.
	ListUserPolicies(ctx context.Context, userName string) ([]string, error)
	// DeleteUserPolicy deletes a policy or reports ErrNotFound.
	DeleteUserPolicy(ctx context.Context, userName, policyName string) error
}

// Store is everything the handler persists; *sqlite.DB implements it.
type Store interface {
	Users
	AccessKeys
	UserPolicies
}

// Authorizer decides whether caller may perform action ("iam:CreateUser")
// on resource (an IAM ARN). It returns nil to allow, an error wrapping
// domain.ErrForbidden to refuse, and any other error when it cannot decide.
type Authorizer func(ctx context.Context, caller domain.Principal, action, resource string) error

// Handler serves IAM and STS query-protocol requests whose SigV4 signature
// has already been verified. Set its fields before the first request and do
// not change them afterwards; it is then safe for concurrent use.
type Handler struct {
	// Store persists users, keys and policies.
	Store Store
	// Authorize is consulted for every IAM action.
	Authorize Authorizer
	// Account is the 12-digit account id that ARNs name.
	Account string
	// ValidatePolicy checks a policy document before PutUserPolicy stores
	// it; its error message is returned to the client.
	ValidatePolicy func(doc string) error
	// Logger receives internal failures (never secrets). New sets it to
	// slog.Default().
	Logger *slog.Logger
}

// New returns a Handler. store, authz and validatePolicy must not be nil.
func New(store Store, authz Authorizer, account string, validatePolicy func(string) error) *Handler {
	if store == nil || authz == nil || validatePolicy == nil {
		panic("iam: New needs a store, an authorizer and a policy validator")
	}
	return &Handler{Store: store, Authorize: authz, Account: account, ValidatePolicy: validatePolicy, Logger: slog.Default()}
}

// service describes one of the two query-protocol services served here.
type service struct {
	version    string
	namespace  string
	operations map[string]operation
}

// operation runs one action and returns its result element (a struct whose
// XMLName tag is "<Action>Result"), or nil for actions without output.
type operation func(h *Handler, ctx context.Context, caller domain.Principal, p *params) (any, error)

var services = map[string]service{
	"iam": {version: "2010-05-08", namespace: "https://iam.amazonaws.com/doc/2010-05-08/", operations: map[string]operation{
		"CreateUser":       (*Handler).createUser,
		"GetUser":          (*Handler).getUser,
		"ListUsers":        (*Handler).listUsers,
		"DeleteUser":       (*Handler).deleteUser,
		"CreateAccessKey":  (*Handler).createAccessKey,
		"ListAccessKeys":   (*Handler).listAccessKeys,
		"DeleteAccessKey":  (*Handler).deleteAccessKey,
		"PutUserPolicy":    (*Handler).putUserPolicy,
		"GetUserPolicy":    (*Handler).getUserPolicy,
		"ListUserPolicies": (*Handler).listUserPolicies,
		"DeleteUserPolicy": (*Handler).deleteUserPolicy,
	}},
	"sts": {version: "2011-06-15", namespace: "https://sts.amazonaws.com/doc/2011-06-15/", operations: map[string]operation{
		"GetCallerIdentity": (*Handler).getCallerIdentity,
	}},
}

// Serve runs the action named by form's Action for the authenticated caller
// and writes the XML response. service is "iam" or "sts", from the SigV4
// credential scope; form is the request's parsed form; requestID goes into
// the response's metadata and x-amzn-RequestId header.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, service string, caller domain.Principal, form url.Values, requestID string) {
	svc, known := services[service]
	if !known {
		svc = services["iam"] // only for the error's namespace
	}
	action := form.Get("Action")
	op, ok := svc.operations[action]
	if v := form.Get("Version"); !known || !ok || v != "" && v != svc.version {
		h.writeError(w, r, svc, action, requestID, &apiError{http.StatusBadRequest, "InvalidAction",
			"Could not find operation " + action + " for version " + form.Get("Version")})
		return
	}
	result, err := op(h, r.Context(), caller, &params{form: form})
	if err != nil {
		h.writeError(w, r, svc, action, requestID, err)
		return
	}
	h.write(w, r, http.StatusOK, requestID, response{
		XMLName:   xml.Name{Local: action + "Response"},
		Xmlns:     svc.namespace,
		Result:    result,
		RequestID: requestID,
	})
}

// response is the envelope of every successful answer.
type response struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// errorResponse is the envelope of every error.
type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, svc service, action, requestID string, err error) {
	e := toAPIError(err)
	if e.status >= 500 {
		h.Logger.ErrorContext(r.Context(), "iam: internal failure", "action", action, "request_id", requestID, "err", err)
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("x-amzn-ErrorType", e.code)
	h.write(w, r, e.status, requestID, errorResponse{Xmlns: svc.namespace, Type: typ, Code: e.code, Message: e.msg, RequestID: requestID})
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, requestID string, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		// Only a programming error (an unencodable type) gets here.
		h.Logger.ErrorContext(r.Context(), "iam: encode response", "request_id", requestID, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// authorize asks the Authorizer and turns a refusal into IAM's AccessDenied.
func (h *Handler) authorize(ctx context.Context, caller domain.Principal, action, resource string) error {
	err := h.Authorize(ctx, caller, action, resource)
	if errors.Is(err, domain.ErrForbidden) {
		return &apiError{http.StatusForbidden, "AccessDenied",
			"User: " + caller.ARN(h.Account) + " is not authorized to perform: " + action + " on resource: " + resource}
	}
	return err
}
