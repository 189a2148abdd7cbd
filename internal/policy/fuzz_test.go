package policy

import (
	"errors"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// FuzzParse checks that Parse never panics, that its errors are kinded,
// that whatever it accepts Evaluate and Authorize handle on any request
// without panicking, and that a resource policy naming the caller's
// account delegates an Allow (to root alone) and applies a Deny to all.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"}}`,
		`{"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["a:*"],"NotResource":"arn:*"}]}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/a"]},"Action":"*"}}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":"*","Action":"a:b?","Condition":{"ForAllValues:StringLike":{"k:v":["*a*",1,true]},"Null":{"a:b":"true"},"ArnNotLikeIfExists":{"aws:SourceArn":"arn:*:*:*:*:*"}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:\u00e9?*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`,
		`{"Statement":{"Effect":"Allow","Effect":"Deny"}}`,
		`[1,2,3]`,
	}
	callers := []string{alice, root, outside, "", "*", acct}
	for i, s := range seeds {
		f.Add(s, i%2 == 0, callers[i%len(callers)], "codeartifact:ReadFromRepository", repoArn, "k:v", "a")
	}
	f.Fuzz(func(t *testing.T, doc string, identity bool, principal, action, resource, key, value string) {
		kind := Resource
		if identity {
			kind = Identity
		}
		d, err := Parse(doc, kind)
		if err != nil {
			if d != nil || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("Parse: %v, %v", d, err)
			}
			return
		}
		if len(d.Statements) == 0 {
			t.Fatal("accepted a policy without statements")
		}
		req := Request{Principal: principal, Action: action, Resource: resource, Context: map[string][]string{key: {value}, "aws:username": {value, principal}}}
		got := d.Evaluate(req)
		if got != NotApplicable && got != Allow && got != Deny {
			t.Fatalf("Evaluate returned %d", got)
		}
		if Authorize([]*Document{d}, nil, req) != (got == Allow) || Authorize(nil, []*Document{d}, req) != (got == Allow) {
			t.Fatalf("Authorize disagrees with Evaluate (%v)", got)
		}
		if got == Allow && Authorize([]*Document{d}, []*Document{{Statements: []Statement{{Effect: EffectDeny, Actions: []string{"*"}}}}}, req) {
			t.Fatal("an explicit deny did not win")
		}
		account := accountOf(principal)
		if anonymous(principal) || !isAccountID(account) {
			return
		}
		naming := func(effect Effect) *Document {
			return &Document{Statements: []Statement{{Effect: effect, Principals: []string{account}, Actions: []string{"*"}}}}
		}
		delegated := Authorize([]*Document{d}, []*Document{naming(EffectAllow)}, req)
		if rootAccount(principal) == account {
			if delegated != (got != Deny) {
				t.Fatalf("an Allow naming the account does not allow its root (%v): %v", got, delegated)
			}
		} else if delegated != (got == Allow) {
			t.Fatalf("an Allow naming the account is not a delegation (%v): %v", got, delegated)
		}
		if Authorize([]*Document{d}, []*Document{d, naming(EffectDeny)}, req) {
			t.Fatal("a Deny naming the account did not deny a principal of it")
		}
	})
}
