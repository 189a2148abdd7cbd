package iam_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/iam"
)

// wantError checks an error response: status, x-amzn-ErrorType, the XML
// error shape and, when msg is not "", the message.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, ns string, status int, code, msg string) {
	t.Helper()
	var e struct {
		XMLName   xml.Name
		Type      string `xml:"Error>Type"`
		Code      string `xml:"Error>Code"`
		Message   string `xml:"Error>Message"`
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%v in %s", err, rec.Body)
	}
	wantType := "Sender"
	if status >= 500 {
		wantType = "Receiver"
	}
	switch {
	case rec.Code != status, e.Code != code, rec.Header().Get("x-amzn-ErrorType") != code:
		t.Fatalf("got %d %s (header %q), want %d %s: %s", rec.Code, e.Code, rec.Header().Get("x-amzn-ErrorType"), status, code, rec.Body)
	case e.XMLName != xml.Name{Space: ns, Local: "ErrorResponse"}, e.Type != wantType, e.RequestID == "":
		t.Fatalf("error envelope %v, type %q, request id %q", e.XMLName, e.Type, e.RequestID)
	case msg != "" && e.Message != msg:
		t.Fatalf("message %q, want %q", e.Message, msg)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	bob := f.createUser(t, "bob", "/")
	f.createUser(t, "carol", "/")
	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		name    string
		service string
		caller  domain.Principal
		action  string
		kv      []string
		status  int
		code    string
		msg     string
	}{
		{"unknown action", "iam", f.root, "CreateRole", nil, 400, "InvalidAction", "Could not find operation CreateRole for version 2010-05-08"},
		{"sts action sent to iam", "iam", f.root, "GetCallerIdentity", nil, 400, "InvalidAction", ""},
		{"iam action sent to sts", "sts", f.root, "CreateUser", []string{"UserName", "x"}, 400, "InvalidAction", ""},
		{"unknown service", "s3", f.root, "ListUsers", nil, 400, "InvalidAction", ""},
		{"wrong version", "iam", f.root, "ListUsers", []string{"Version", "2006-03-01"}, 400, "InvalidAction", ""},
		{"missing user name", "iam", f.root, "CreateUser", nil, 400, "ValidationError",
			"1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{"bad user name", "iam", f.root, "CreateUser", []string{"UserName", "a b"}, 400, "ValidationError",
			`1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"long user name", "iam", f.root, "CreateUser", []string{"UserName", long}, 400, "ValidationError", ""},
		{"bad path", "iam", f.root, "CreateUser", []string{"UserName", "x", "Path", "team"}, 400, "ValidationError", ""},
		{"reserved root", "iam", f.root, "CreateUser", []string{"UserName", "root"}, 400, "ValidationError", ""},
		{"tags unsupported", "iam", f.root, "CreateUser", []string{"UserName", "x", "Tags.member.1.Key", "k"}, 400, "ValidationError", ""},
		{"duplicate", "iam", f.root, "CreateUser", []string{"UserName", "Bob"}, 409, "EntityAlreadyExists", "User with name Bob already exists."},
		{"max items 0", "iam", f.root, "ListUsers", []string{"MaxItems", "0"}, 400, "ValidationError", ""},
		{"max items 1001", "iam", f.root, "ListUsers", []string{"MaxItems", "1001"}, 400, "ValidationError", ""},
		{"max items not a number", "iam", f.root, "ListUsers", []string{"MaxItems", "ten"}, 400, "ValidationError", ""},
		{"foreign marker", "iam", f.root, "ListUsers", []string{"Marker", "!!"}, 400, "ValidationError", ""},
		{"short access key id", "iam", f.root, "DeleteAccessKey", []string{"UserName", "bob", "AccessKeyId", "AKIA"}, 400, "ValidationError", ""},
		{"missing policy document", "iam", f.root, "PutUserPolicy", []string{"UserName", "bob", "PolicyName", "p"}, 400, "ValidationError", ""},
		{"policy document outside Latin-1", "iam", f.root, "PutUserPolicy", []string{"UserName", "bob", "PolicyName", "p", "PolicyDocument", "{\"\u4e2d\": 1}"}, 400, "ValidationError", ""},
		{"no such user", "iam", f.root, "DeleteUser", []string{"UserName", "nobody"}, 404, "NoSuchEntity", "The user with name nobody cannot be found."},
		{"denied", "iam", bob, "DeleteUser", []string{"UserName", "carol"}, 403, "AccessDenied",
			"User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:DeleteUser on resource: arn:aws:iam::123456789012:user/carol"},
		{"denied user cannot probe for names", "iam", bob, "GetUser", []string{"UserName", "nobody"}, 403, "AccessDenied", ""},
		{"denied list", "iam", bob, "ListUsers", nil, 403, "AccessDenied", ""},
		{"denied create", "iam", bob, "CreateAccessKey", []string{"UserName", "carol"}, 403, "AccessDenied", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := map[string]string{"iam": iamNS, "sts": stsNS, "s3": iamNS}[tc.service]
			wantError(t, f.call(t, tc.service, tc.caller, tc.action, tc.kv...), ns, tc.status, tc.code, tc.msg)
		})
	}
}

// failingStore is the real store with ListUsers broken the way a full disk
// would break it.
type failingStore struct{ iam.Store }

func (failingStore) ListUsers(context.Context) ([]domain.Principal, error) {
	return nil, errors.New("sqlite: list users: disk I/O error at /secret/path")
}

func TestInternalFailure(t *testing.T) {
	f := newFixture(t)
	f.h.Store = failingStore{f.db}
	rec := f.call(t, "iam", f.root, "ListUsers")
	wantError(t, rec, iamNS, 500, "InternalFailure", "")
	if strings.Contains(rec.Body.String(), "disk") || strings.Contains(rec.Body.String(), "/secret/path") {
		t.Fatalf("internal error text reached the client: %s", rec.Body)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "disk I/O error") || !strings.Contains(logs, "req-ListUsers") {
		t.Fatalf("internal failure not logged with its request id: %q", logs)
	}
}

func TestUndecidedAuthorizerIsInternal(t *testing.T) {
	f := newFixture(t)
	f.h.Authorize = func(context.Context, domain.Principal, string, string) error { return errors.New("policy store down") }
	wantError(t, f.call(t, "iam", f.root, "ListUsers"), iamNS, 500, "InternalFailure", "")
}

// FuzzServe feeds arbitrary actions and parameters to the handler: it must
// never panic, never fail internally and always answer with XML.
func FuzzServe(f *testing.F) {
	for _, seed := range [][4]string{
		{"CreateUser", "UserName", "bob", "Path=/a/"},
		{"ListUsers", "MaxItems", "1", "Marker=Ym9i"},
		{"GetUserPolicy", "UserName", "bob", "PolicyName=p"},
		{"PutUserPolicy", "UserName", "bob", "PolicyDocument={}&PolicyName=x"},
		{"DeleteAccessKey", "AccessKeyId", "AKIAAAAAAAAAAAAAAAAA", ""},
		{"ListAccessKeys", "UserName", "\xff", "MaxItems=-1"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, action, key, value, rawQuery string) {
		form, err := url.ParseQuery(rawQuery)
		if err != nil {
			form = url.Values{}
		}
		form.Set("Action", action)
		form.Set(key, value)
		for _, service := range []string{"iam", "sts"} {
			rec := httptest.NewRecorder()
			fx.h.Serve(rec, httptest.NewRequest(http.MethodPost, "/", nil), service, fx.root, form, "fuzz")
			if rec.Code >= 500 {
				t.Fatalf("%s %v: status %d: %s", service, form, rec.Code, rec.Body)
			}
			var v struct{ XMLName xml.Name }
			if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %v: response is not XML: %v", service, form, err)
			}
		}
	})
}
