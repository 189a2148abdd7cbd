package policy

import "testing"

const (
	acct    = "123456789012"
	alice   = "arn:aws:iam::123456789012:user/alice"
	bob     = "arn:aws:iam::123456789012:user/bob"
	root    = "arn:aws:iam::123456789012:root"
	outside = "arn:aws:iam::210987654321:user/mallory"
	domArn  = "arn:aws:codeartifact:us-east-1:123456789012:domain/acme"
	repoArn = "arn:aws:codeartifact:us-east-1:123456789012:repository/acme/npm-store"
	pkgArn  = "arn:aws:codeartifact:us-east-1:123456789012:package/acme/npm-store/npm/@acme/left-pad"
)

func mustParse(t *testing.T, kind Kind, doc string) *Document {
	t.Helper()
	d, err := Parse(doc, kind)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		doc  string
		req  Request
		want Decision
	}{
		{"allow", Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"}}`,
			Request{Principal: alice, Action: "codeartifact:ListDomains", Resource: domArn}, Allow},
		{"action not matched", Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:Get*","Resource":"*"}}`,
			Request{Principal: alice, Action: "codeartifact:ListDomains", Resource: domArn}, NotApplicable},
		{"resource matched", Identity, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:codeartifact:*:*:repository/acme/*"}}`,
			Request{Principal: alice, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"resource case-sensitive", Identity, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:codeartifact:*:*:repository/ACME/*"}}`,
			Request{Principal: alice, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"star spans : and /", Identity, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:codeartifact:*left-pad"}}`,
			Request{Action: "codeartifact:PublishPackageVersion", Resource: pkgArn}, Allow},
		{"deny wins within a document", Identity, `{"Statement":[
			{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"},
			{"Effect":"Deny","Action":"codeartifact:Delete*","Resource":"*"}]}`,
			Request{Principal: alice, Action: "codeartifact:DeleteDomain", Resource: domArn}, Deny},
		{"deny not matching leaves allow", Identity, `{"Statement":[
			{"Effect":"Deny","Action":"codeartifact:Delete*","Resource":"*"},
			{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"}]}`,
			Request{Principal: alice, Action: "codeartifact:GetDomain", Resource: domArn}, Allow},
		{"NotAction allow", Identity, `{"Statement":{"Effect":"Allow","NotAction":"codeartifact:Delete*","Resource":"*"}}`,
			Request{Action: "codeartifact:GetDomain", Resource: domArn}, Allow},
		{"NotAction excludes", Identity, `{"Statement":{"Effect":"Allow","NotAction":"codeartifact:Delete*","Resource":"*"}}`,
			Request{Action: "codeartifact:DeleteDomain", Resource: domArn}, NotApplicable},
		{"NotResource deny elsewhere", Identity, `{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:codeartifact:*:*:*/acme/npm-store*"}}`,
			Request{Action: "codeartifact:ReadFromRepository", Resource: "arn:aws:codeartifact:us-east-1:123456789012:repository/acme/other"}, Deny},
		{"NotResource spares its resources", Identity, `{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:codeartifact:*:*:*/acme/npm-store*"}}`,
			Request{Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"resource policy without Resource applies to its resource", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"codeartifact:ReadFromRepository"}}`,
			Request{Principal: alice, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"principal star allows anonymous", Resource, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"codeartifact:ReadFromRepository","Resource":"*"}}`,
			Request{Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"AWS star allows anonymous", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"codeartifact:ReadFromRepository"}}`,
			Request{Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"user principal, other user", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"account principal allow, user of the account: delegated", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"account principal allow, root of the account", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: root, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"root principal allow, user of the account: delegated", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"root principal allow, root", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*"}}`,
			Request{Principal: root, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"account principal deny, user of the account", Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"root principal deny, user of the account", Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"account principal deny, root", Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: root, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"account principal deny, user of another account", Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: outside, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"account principal deny, anonymous", Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: "*", Account: acct, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"account and user principals, allow", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/bob"]},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Allow},
		{"account principal deny beats user principal allow", Resource, `{"Statement":[
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"*"},
			{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"codeartifact:ReadFromRepository"}]}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"NotPrincipal account excludes its users", Resource, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: bob, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"NotPrincipal account, user of another account", Resource, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: outside, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"NotPrincipal account, anonymous", Resource, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*"}}`,
			Request{Principal: "*", Account: acct, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, Deny},
		{"root principal, user of another account", Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*"}}`,
			Request{Principal: outside, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
		{"NotPrincipal deny", Resource, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"codeartifact:PublishPackageVersion"}}`,
			Request{Principal: bob, Action: "codeartifact:PublishPackageVersion", Resource: pkgArn}, Deny},
		{"NotPrincipal spares", Resource, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"codeartifact:PublishPackageVersion"}}`,
			Request{Principal: alice, Action: "codeartifact:PublishPackageVersion", Resource: pkgArn}, NotApplicable},
		{"condition gates", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}}`,
			Request{Principal: outside, Action: "codeartifact:ReadFromRepository", Resource: repoArn, Context: map[string][]string{"aws:PrincipalAccount": {"210987654321"}}}, NotApplicable},
		{"empty document list is not applicable", Identity, `{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}`,
			Request{Principal: alice, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, NotApplicable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.kind, tc.doc).Evaluate(tc.req); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := (*Document)(nil).Evaluate(Request{}); got != NotApplicable {
		t.Fatalf("nil document: %v", got)
	}
	if got := (&Document{Statements: []Statement{{Effect: EffectAllow, Resources: []string{"*"}}}}).Evaluate(Request{Action: "a:b"}); got != NotApplicable {
		t.Fatalf("hand-built statement without actions: %v", got)
	}
}

func TestAuthorize(t *testing.T) {
	var (
		allowAll     = mustParse(t, Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"}}`)
		denyDelete   = mustParse(t, Identity, `{"Statement":{"Effect":"Deny","Action":"codeartifact:Delete*","Resource":"*"}}`)
		readOnly     = mustParse(t, Identity, `{"Statement":{"Effect":"Allow","Action":["codeartifact:Get*","codeartifact:List*","codeartifact:ReadFromRepository"],"Resource":"*"}}`)
		repoForAlice = mustParse(t, Resource, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice+`"},"Action":"codeartifact:PublishPackageVersion"}}`)
		repoPublic   = mustParse(t, Resource, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"codeartifact:ReadFromRepository"}}`)
		repoNoBob    = mustParse(t, Resource, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"`+bob+`"},"Action":"codeartifact:*"}}`)
	)
	publish := func(who string) Request {
		return Request{Principal: who, Action: "codeartifact:PublishPackageVersion", Resource: pkgArn}
	}
	read := func(who string) Request {
		return Request{Principal: who, Action: "codeartifact:ReadFromRepository", Resource: repoArn}
	}
	cases := []struct {
		name     string
		identity []*Document
		resource []*Document
		req      Request
		want     bool
	}{
		{"nothing applies", nil, nil, read(alice), false},
		{"identity allows", []*Document{allowAll}, nil, read(alice), true},
		{"resource allows", nil, []*Document{repoForAlice}, publish(alice), true},
		{"resource allows someone else", nil, []*Document{repoForAlice}, publish(bob), false},
		{"identity allows, resource silent", []*Document{readOnly}, []*Document{repoForAlice}, read(bob), true},
		{"identity read-only, resource grants publish", []*Document{readOnly}, []*Document{repoForAlice}, publish(alice), true},
		{"identity deny beats resource allow", []*Document{denyDelete}, []*Document{mustParse(t, Resource, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`)},
			Request{Principal: alice, Action: "codeartifact:DeleteRepository", Resource: repoArn}, false},
		{"resource deny beats identity allow", []*Document{allowAll}, []*Document{repoNoBob}, read(bob), false},
		{"resource deny for someone else", []*Document{allowAll}, []*Document{repoNoBob}, read(alice), true},
		{"anonymous, public repository", nil, []*Document{repoPublic}, read(""), true},
		{"anonymous, public repository, publish", nil, []*Document{repoPublic}, publish(""), false},
		{"nil documents skipped", []*Document{nil}, []*Document{nil, repoPublic}, read(""), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Authorize(tc.identity, tc.resource, tc.req); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAuthorizeAccountPrincipal covers IAM's same-account rule: a
// resource policy allowing the account delegates to the account's identity
// policies, while one naming the user, or "*", allows by itself, and one
// denying the account denies all its principals.
func TestAuthorizeAccountPrincipal(t *testing.T) {
	resource := func(effect, principal string) *Document {
		return mustParse(t, Resource, `{"Statement":{"Effect":"`+effect+`","Principal":`+principal+`,"Action":"codeartifact:ReadFromRepository"}}`)
	}
	var (
		identityAllow = mustParse(t, Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:ReadFromRepository","Resource":"*"}}`)
		identityOther = mustParse(t, Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:PublishPackageVersion","Resource":"*"}}`)
		allowAccount  = resource("Allow", `{"AWS":"`+acct+`"}`)
		allowRoot     = resource("Allow", `{"AWS":"`+root+`"}`)
		allowAlice    = resource("Allow", `{"AWS":"`+alice+`"}`)
		allowStar     = resource("Allow", `"*"`)
		allowAWSStar  = resource("Allow", `{"AWS":"*"}`)
		denyAccount   = resource("Deny", `{"AWS":"`+acct+`"}`)
		denyRoot      = resource("Deny", `{"AWS":"`+root+`"}`)
		denyOther     = resource("Deny", `{"AWS":"210987654321"}`)
	)
	read := func(who string) Request {
		return Request{Principal: who, Account: acct, Action: "codeartifact:ReadFromRepository", Resource: repoArn}
	}
	cases := []struct {
		name     string
		identity []*Document
		resource []*Document
		req      Request
		want     bool
	}{
		{"account allow, no identity policy, user", nil, []*Document{allowAccount}, read(alice), false},
		{"account allow, no identity policy, root", nil, []*Document{allowAccount}, read(root), true},
		{"account allow, identity allows other action, user", []*Document{identityOther}, []*Document{allowAccount}, read(alice), false},
		{"account allow, identity allow, user", []*Document{identityAllow}, []*Document{allowAccount}, read(alice), true},
		{"root arn allow, no identity policy, user", nil, []*Document{allowRoot}, read(alice), false},
		{"root arn allow, no identity policy, root", nil, []*Document{allowRoot}, read(root), true},
		{"root arn allow, identity allow, user", []*Document{identityAllow}, []*Document{allowRoot}, read(alice), true},
		{"user arn allow alone", nil, []*Document{allowAlice}, read(alice), true},
		{"user arn allow, other user", nil, []*Document{allowAlice}, read(bob), false},
		{"star allow alone, user", nil, []*Document{allowStar}, read(alice), true},
		{"star allow alone, anonymous", nil, []*Document{allowStar}, read(""), true},
		{"AWS star allow alone, user", nil, []*Document{allowAWSStar}, read(alice), true},
		{"account allow, user of another account", nil, []*Document{allowAccount}, Request{Principal: outside, Action: "codeartifact:ReadFromRepository", Resource: repoArn}, false},
		{"account allow, anonymous", nil, []*Document{allowAccount}, read("*"), false},
		{"account deny, user", nil, []*Document{denyAccount}, read(alice), false},
		{"account deny, identity allow, user", []*Document{identityAllow}, []*Document{denyAccount}, read(alice), false},
		{"account deny, user arn allow, user", nil, []*Document{allowAlice, denyAccount}, read(alice), false},
		{"account deny, star allow, user", nil, []*Document{allowStar, denyAccount}, read(alice), false},
		{"account deny, account allow, root", nil, []*Document{allowAccount, denyAccount}, read(root), false},
		{"root arn deny, identity allow, user", []*Document{identityAllow}, []*Document{denyRoot}, read(alice), false},
		{"other account deny, identity allow, user", []*Document{identityAllow}, []*Document{denyOther}, read(alice), true},
		{"account deny, star allow, anonymous", nil, []*Document{allowStar, denyAccount}, read("*"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Authorize(tc.identity, tc.resource, tc.req); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{NotApplicable: "NotApplicable", Allow: "Allow", Deny: "Deny", Decision(9): "NotApplicable"} {
		if d.String() != want {
			t.Errorf("%d: %q", int(d), d.String())
		}
	}
	if Identity.String() != "identity" || Resource.String() != "resource" || Kind(0).String() != "unknown" {
		t.Error("Kind.String")
	}
}
