package iam_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/iam"
	"github.com/artifactd/registry/internal/sqlite"
)

const (
	account = "123456789012"
	iamNS   = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS   = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// authz allows the root principal everything and a user only actions on
// itself, and records every question it is asked.
type authz struct {
	mu    sync.Mutex
	calls []string
}

func (a *authz) authorize(_ context.Context, caller domain.Principal, action, resource string) error {
	a.mu.Lock()
	a.calls = append(a.calls, action+" "+resource)
	a.mu.Unlock()
	if caller.Root || resource == caller.ARN(account) {
		return nil
	}
	return domain.Errorf(domain.ErrForbidden, "denied")
}

func (a *authz) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.calls
	a.calls = nil
	return c
}

// validatePolicy accepts documents that look like JSON objects.
func validatePolicy(doc string) error {
	if !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return domain.Invalid("Syntax errors in policy.")
	}
	return nil
}

type fixture struct {
	h    *iam.Handler
	db   *sqlite.DB
	az   *authz
	root domain.Principal
	logs *bytes.Buffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _, err := db.EnsureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := db.LookupAccessKey(ctx, key.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, az: &authz{}, root: root, logs: &bytes.Buffer{}}
	f.h = iam.New(db, f.az.authorize, account, validatePolicy)
	f.h.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	return f
}

// call serves one request; kv are alternating form keys and values.
func (f *fixture) call(t *testing.T, service string, caller domain.Principal, action string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	form.Set("Action", action)
	if !form.Has("Version") {
		form.Set("Version", map[string]string{"iam": "2010-05-08", "sts": "2011-06-15"}[service])
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	f.h.Serve(rec, r, service, caller, form, "req-"+action)
	if got := rec.Header().Get("x-amzn-RequestId"); got != "req-"+action {
		t.Errorf("%s: x-amzn-RequestId = %q", action, got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/xml" {
		t.Errorf("%s: Content-Type = %q", action, ct)
	}
	return rec
}

// ok serves a request that must succeed and decodes its result into T.
func ok[T any](t *testing.T, f *fixture, service string, caller domain.Principal, action string, kv ...string) T {
	t.Helper()
	rec := f.call(t, service, caller, action, kv...)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", action, rec.Code, rec.Body)
	}
	var env struct {
		XMLName   xml.Name
		Result    T      `xml:",any"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s: %v in %s", action, err, rec.Body)
	}
	ns := map[string]string{"iam": iamNS, "sts": stsNS}[service]
	if env.XMLName != (xml.Name{Space: ns, Local: action + "Response"}) || env.RequestID != "req-"+action {
		t.Fatalf("%s: envelope %v, request id %q", action, env.XMLName, env.RequestID)
	}
	return env.Result
}

type xmlUser struct {
	Path, UserName, UserId, Arn, CreateDate string
}

type userResult struct {
	XMLName xml.Name
	User    xmlUser
}

type listUsers struct {
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool
	Marker      string
}

type xmlKey struct {
	UserName, AccessKeyId, Status, SecretAccessKey, CreateDate string
}

func (f *fixture) createUser(t *testing.T, name, path string) domain.Principal {
	t.Helper()
	ok[userResult](t, f, "iam", f.root, "CreateUser", "UserName", name, "Path", path)
	u, err := f.db.GetUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserLifecycle(t *testing.T) {
	f := newFixture(t)
	created := ok[userResult](t, f, "iam", f.root, "CreateUser", "UserName", "bob", "Path", "/team/")
	u := created.User
	if u.UserName != "bob" || u.Path != "/team/" || u.Arn != "arn:aws:iam::123456789012:user/team/bob" ||
		!strings.HasPrefix(u.UserId, "AIDA") || !strings.HasSuffix(u.CreateDate, "Z") || len(u.CreateDate) != 20 {
		t.Fatalf("CreateUser = %+v", u)
	}
	if calls := f.az.take(); !slices.Equal(calls, []string{"iam:CreateUser arn:aws:iam::123456789012:user/team/bob"}) {
		t.Fatalf("authorizer calls = %v", calls)
	}

	if got := ok[userResult](t, f, "iam", f.root, "GetUser", "UserName", "BOB").User; got != u {
		t.Fatalf("GetUser(BOB) = %+v, want %+v", got, u)
	}
	bob, err := f.db.GetUser(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	f.az.take()
	if got := ok[userResult](t, f, "iam", bob, "GetUser").User; got != u {
		t.Fatalf("GetUser as bob = %+v", got)
	}
	if calls := f.az.take(); !slices.Equal(calls, []string{"iam:GetUser " + u.Arn}) {
		t.Fatalf("authorizer calls = %v", calls)
	}
	rootUser := ok[userResult](t, f, "iam", f.root, "GetUser").User
	if rootUser.UserId != account || rootUser.Arn != "arn:aws:iam::123456789012:root" || rootUser.UserName != "" || rootUser.Path != "" {
		t.Fatalf("GetUser as root = %+v", rootUser)
	}

	ok[userResult](t, f, "iam", f.root, "DeleteUser", "UserName", "bob")
	wantError(t, f.call(t, "iam", f.root, "GetUser", "UserName", "bob"), iamNS, 404, "NoSuchEntity", "The user with name bob cannot be found.")
}

func TestListUsersPages(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"dave", "carol", "alice", "erin", "bob"} {
		path := "/"
		if n == "carol" || n == "erin" {
			path = "/ops/"
		}
		f.createUser(t, n, path)
	}
	f.az.take()
	var names []string
	marker := ""
	for pages := 0; ; pages++ {
		kv := []string{"MaxItems", "2"}
		if marker != "" {
			kv = append(kv, "Marker", marker)
		}
		page := ok[listUsers](t, f, "iam", f.root, "ListUsers", kv...)
		if len(page.Users) > 2 || pages > 3 {
			t.Fatalf("page %d has %d users", pages, len(page.Users))
		}
		for _, u := range page.Users {
			names = append(names, u.UserName)
		}
		if page.IsTruncated != (page.Marker != "") {
			t.Fatalf("IsTruncated %v with marker %q", page.IsTruncated, page.Marker)
		}
		if !page.IsTruncated {
			break
		}
		marker = page.Marker
		if pages == 0 { // a user created between pages does not shift the rest
			f.createUser(t, "aaron", "/")
		}
	}
	if !slices.Equal(names, []string{"alice", "bob", "carol", "dave", "erin"}) {
		t.Fatalf("paged names = %v", names)
	}
	if calls := f.az.take(); calls[0] != "iam:ListUsers arn:aws:iam::123456789012:user/*" {
		t.Fatalf("authorizer calls = %v", calls)
	}

	ops := ok[listUsers](t, f, "iam", f.root, "ListUsers", "PathPrefix", "/ops/")
	if len(ops.Users) != 2 || ops.Users[0].UserName != "carol" || ops.Users[1].UserName != "erin" || ops.IsTruncated {
		t.Fatalf("ListUsers /ops/ = %+v", ops)
	}
	if calls := f.az.take(); !slices.Equal(calls, []string{"iam:ListUsers arn:aws:iam::123456789012:user/ops/*"}) {
		t.Fatalf("authorizer calls = %v", calls)
	}
}

func TestAccessKeys(t *testing.T) {
	f := newFixture(t)
	bob := f.createUser(t, "bob", "/")
	type created struct{ AccessKey xmlKey }
	k1 := ok[created](t, f, "iam", f.root, "CreateAccessKey", "UserName", "bob").AccessKey
	k2 := ok[created](t, f, "iam", bob, "CreateAccessKey").AccessKey // bob for himself
	for _, k := range []xmlKey{k1, k2} {
		if k.UserName != "bob" || k.Status != "Active" || len(k.AccessKeyId) != 20 || len(k.SecretAccessKey) != 40 || k.CreateDate == "" {
			t.Fatalf("CreateAccessKey = %+v", k)
		}
		p, stored, err := f.db.LookupAccessKey(context.Background(), k.AccessKeyId)
		if err != nil || p.ID != bob.ID || stored.Secret != k.SecretAccessKey {
			t.Fatalf("LookupAccessKey(%s) = %v, %v", k.AccessKeyId, p.Name, err)
		}
	}
	wantError(t, f.call(t, "iam", f.root, "CreateAccessKey", "UserName", "bob"), iamNS, 409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	wantError(t, f.call(t, "iam", f.root, "DeleteUser", "UserName", "bob"), iamNS, 409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")

	type listed struct {
		Keys        []xmlKey `xml:"AccessKeyMetadata>member"`
		IsTruncated bool
		Marker      string
	}
	all := ok[listed](t, f, "iam", bob, "ListAccessKeys")
	if len(all.Keys) != 2 || all.IsTruncated {
		t.Fatalf("ListAccessKeys = %+v", all)
	}
	var ids []string
	for _, k := range all.Keys {
		if k.SecretAccessKey != "" || k.UserName != "bob" || k.Status != "Active" {
			t.Fatalf("listed key %+v", k)
		}
		ids = append(ids, k.AccessKeyId)
	}
	first := ok[listed](t, f, "iam", f.root, "ListAccessKeys", "UserName", "bob", "MaxItems", "1")
	second := ok[listed](t, f, "iam", f.root, "ListAccessKeys", "UserName", "bob", "MaxItems", "1", "Marker", first.Marker)
	if !first.IsTruncated || second.IsTruncated || len(second.Keys) != 1 || first.Keys[0].AccessKeyId != ids[0] || second.Keys[0].AccessKeyId != ids[1] {
		t.Fatalf("paged keys: %+v then %+v", first, second)
	}

	ok[struct{}](t, f, "iam", bob, "DeleteAccessKey", "AccessKeyId", k1.AccessKeyId)
	wantError(t, f.call(t, "iam", f.root, "DeleteAccessKey", "UserName", "bob", "AccessKeyId", k1.AccessKeyId), iamNS, 404, "NoSuchEntity", "The Access Key with id "+k1.AccessKeyId+" cannot be found.")
	ok[struct{}](t, f, "iam", f.root, "DeleteAccessKey", "UserName", "bob", "AccessKeyId", k2.AccessKeyId)
	if got := ok[listed](t, f, "iam", f.root, "ListAccessKeys", "UserName", "bob"); len(got.Keys) != 0 {
		t.Fatalf("keys left: %+v", got)
	}
	ok[struct{}](t, f, "iam", f.root, "DeleteUser", "UserName", "bob")

	// The root principal has no user name to act on by default.
	wantError(t, f.call(t, "iam", f.root, "CreateAccessKey"), iamNS, 400, "ValidationError", "Must specify userName when calling with non-User credentials")
	if strings.Contains(f.logs.String(), k1.SecretAccessKey) || strings.Contains(f.logs.String(), k2.SecretAccessKey) {
		t.Fatal("a secret access key reached the log")
	}
}

func TestUserPolicies(t *testing.T) {
	f := newFixture(t)
	f.createUser(t, "bob", "/")
	const doc = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codeartifact:*", "Resource": "*"}]}`
	ok[struct{}](t, f, "iam", f.root, "PutUserPolicy", "UserName", "bob", "PolicyName", "read", "PolicyDocument", doc)
	ok[struct{}](t, f, "iam", f.root, "PutUserPolicy", "UserName", "bob", "PolicyName", "admin", "PolicyDocument", `{}`)
	wantError(t, f.call(t, "iam", f.root, "PutUserPolicy", "UserName", "bob", "PolicyName", "bad", "PolicyDocument", "not json"),
		iamNS, 400, "MalformedPolicyDocument", "Syntax errors in policy.")

	type got struct{ UserName, PolicyName, PolicyDocument string }
	g := ok[got](t, f, "iam", f.root, "GetUserPolicy", "UserName", "BOB", "PolicyName", "read")
	decoded, err := url.PathUnescape(g.PolicyDocument)
	if err != nil || decoded != doc || g.UserName != "bob" || g.PolicyName != "read" || strings.ContainsAny(g.PolicyDocument, " {\"+") {
		t.Fatalf("GetUserPolicy = %+v (decoded %q, %v)", g, decoded, err)
	}
	wantError(t, f.call(t, "iam", f.root, "GetUserPolicy", "UserName", "bob", "PolicyName", "bad"), iamNS, 404, "NoSuchEntity", "The user policy with name bad cannot be found.")

	type names struct {
		Names       []string `xml:"PolicyNames>member"`
		IsTruncated bool
		Marker      string
	}
	if l := ok[names](t, f, "iam", f.root, "ListUserPolicies", "UserName", "bob"); !slices.Equal(l.Names, []string{"admin", "read"}) || l.IsTruncated {
		t.Fatalf("ListUserPolicies = %+v", l)
	}
	p1 := ok[names](t, f, "iam", f.root, "ListUserPolicies", "UserName", "bob", "MaxItems", "1")
	p2 := ok[names](t, f, "iam", f.root, "ListUserPolicies", "UserName", "bob", "MaxItems", "1", "Marker", p1.Marker)
	if !slices.Equal(p1.Names, []string{"admin"}) || !p1.IsTruncated || !slices.Equal(p2.Names, []string{"read"}) || p2.IsTruncated {
		t.Fatalf("paged policies: %+v then %+v", p1, p2)
	}
	wantError(t, f.call(t, "iam", f.root, "DeleteUser", "UserName", "bob"), iamNS, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	for _, n := range []string{"admin", "read"} {
		ok[struct{}](t, f, "iam", f.root, "DeleteUserPolicy", "UserName", "bob", "PolicyName", n)
	}
	wantError(t, f.call(t, "iam", f.root, "DeleteUserPolicy", "UserName", "bob", "PolicyName", "read"), iamNS, 404, "NoSuchEntity", "The user policy with name read cannot be found.")
	ok[struct{}](t, f, "iam", f.root, "DeleteUser", "UserName", "bob")
}

func TestGetCallerIdentity(t *testing.T) {
	f := newFixture(t)
	bob := f.createUser(t, "bob", "/ci/")
	f.az.take()
	type identity struct{ UserId, Account, Arn string }
	for _, tc := range []struct {
		name   string
		caller domain.Principal
		want   identity
	}{
		{"root", f.root, identity{account, account, "arn:aws:iam::123456789012:root"}},
		{"user", bob, identity{bob.UserID, account, "arn:aws:iam::123456789012:user/ci/bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ok[identity](t, f, "sts", tc.caller, "GetCallerIdentity"); got != tc.want {
				t.Fatalf("GetCallerIdentity = %+v, want %+v", got, tc.want)
			}
		})
	}
	if calls := f.az.take(); len(calls) != 0 {
		t.Fatalf("GetCallerIdentity consulted the authorizer: %v", calls)
	}
}
