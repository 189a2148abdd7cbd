package access

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCheck measures an authorization check of a user with two
// identity policies against a repository policy of 21 statements, the
// documents coming from memory: with the parse cache, and with the cache
// emptied before every check (what each check paid before there was one).
func BenchmarkCheck(b *testing.B) {
	var stmts []string
	for i := 0; i < 20; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/team%d"},"Action":["codeartifact:ReadFromRepository","codeartifact:PublishPackageVersion"],"Resource":"*","Condition":{"StringLike":{"aws:username":"team%d-*"}}}`, i, i))
	}
	stmts = append(stmts, `{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"codeartifact:ReadFromRepository","Resource":"*"}`)
	repoDoc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	identity := []string{allowRead, `{"Statement":{"Effect":"Allow","Action":"codeartifact:PublishPackageVersion","Resource":"arn:aws:codeartifact:*:*:package/acme/main/npm/@acme/*"}}`}
	a := &Authorizer{
		Account:          "123456789012",
		IdentityPolicies: func(context.Context, int64) ([]string, error) { return identity, nil },
		ResourcePolicy:   func(context.Context, string, string) (string, error) { return repoDoc, nil },
	}
	ctx := context.Background()
	s := Scope{Domain: "acme", Repository: "main"}
	for _, bc := range []struct {
		name  string
		purge bool
	}{{"cached", false}, {"parse-every-check", true}} {
		b.Run(bc.name, func(b *testing.B) {
			a.parsed = newParseCache(parsedPolicies)
			b.ReportAllocs()
			for b.Loop() {
				if bc.purge {
					a.parsed.lru.Purge() // what every check did before the cache
				}
				if err := a.Check(ctx, alice, true, "codeartifact:ReadFromRepository", repoARN, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
