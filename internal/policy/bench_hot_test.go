package policy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkEvaluate measures what an authorization decision costs once the
// documents are parsed: a user's identity policies and a repository policy
// of realistic size, for an allowed read, a request no statement allows,
// and an explicit deny; Parse is measured alone to show what caching the
// parsed documents saves.
func BenchmarkEvaluate(b *testing.B) {
	identity := []*Document{
		mustParseB(b, Identity, `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["codeartifact:Describe*","codeartifact:Get*","codeartifact:List*","codeartifact:ReadFromRepository"],"Resource":"*"},
			{"Effect":"Allow","Action":"sts:GetServiceBearerToken","Resource":"*","Condition":{"StringEquals":{"sts:AWSServiceName":"codeartifact.amazonaws.com"}}},
			{"Effect":"Deny","Action":"codeartifact:Delete*","Resource":"arn:aws:codeartifact:*:*:repository/acme/prod*"}]}`),
		mustParseB(b, Identity, `{"Statement":{"Effect":"Allow","Action":"codeartifact:PublishPackageVersion","Resource":"arn:aws:codeartifact:*:*:package/acme/npm-store/npm/@acme/*"}}`),
	}
	var stmts []string
	for i := 0; i < 20; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/team%d"},"Action":["codeartifact:ReadFromRepository","codeartifact:PublishPackageVersion"],"Resource":"*","Condition":{"StringLike":{"aws:username":"team%d-*"}}}`, i, i))
	}
	stmts = append(stmts, `{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"codeartifact:ReadFromRepository","Resource":"*"}`)
	repoDoc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	resource := []*Document{mustParseB(b, Resource, repoDoc)}
	ctx := map[string][]string{"aws:username": {"alice"}, "aws:PrincipalAccount": {acct}}

	for _, bc := range []struct {
		name string
		req  Request
		want bool
	}{
		{"read-allowed", Request{Principal: alice, Action: "codeartifact:ReadFromRepository", Resource: repoArn, Context: ctx}, true},
		{"publish-not-allowed", Request{Principal: alice, Action: "codeartifact:PublishPackageVersion", Resource: "arn:aws:codeartifact:us-east-1:123456789012:package/acme/npm-store/npm//left-pad", Context: ctx}, false},
		{"delete-denied", Request{Principal: alice, Action: "codeartifact:DeleteRepository", Resource: "arn:aws:codeartifact:us-east-1:123456789012:repository/acme/prod-npm", Context: ctx}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := Authorize(identity, resource, bc.req); got != bc.want {
					b.Fatalf("Authorize = %v, want %v", got, bc.want)
				}
			}
		})
	}
	b.Run("parse-repository-policy", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(repoDoc)))
		for b.Loop() {
			if _, err := Parse(repoDoc, Resource); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func mustParseB(b *testing.B, kind Kind, doc string) *Document {
	b.Helper()
	d, err := Parse(doc, kind)
	if err != nil {
		b.Fatalf("Parse: %v", err)
	}
	return d
}
