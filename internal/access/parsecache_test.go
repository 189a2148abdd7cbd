package access

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/policy"
)

// countingAuthorizer returns an Authorizer whose policies come from the
// given variables and whose parse calls are counted.
func countingAuthorizer(identity *[]string, resource *string) (*Authorizer, *int) {
	a := &Authorizer{
		Account:          "123456789012",
		IdentityPolicies: func(context.Context, int64) ([]string, error) { return *identity, nil },
		ResourcePolicy:   func(context.Context, string, string) (string, error) { return *resource, nil },
	}
	a.parsed = newParseCache(parsedPolicies)
	var mu sync.Mutex
	n := new(int)
	a.parsed.parse = func(doc string, kind policy.Kind) (*policy.Document, error) {
		mu.Lock()
		*n++
		mu.Unlock()
		return policy.Parse(doc, kind)
	}
	return a, n
}

const (
	allowRead = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"codeartifact:ReadFromRepository","Resource":"*"}}`
	denyRead  = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"codeartifact:ReadFromRepository","Resource":"*"}}`
	allowAnon = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"codeartifact:ReadFromRepository","Resource":"*"}}`
	repoARN   = "arn:aws:codeartifact:us-east-1:123456789012:repository/acme/main"
)

var alice = domain.Principal{ID: 7, Name: "alice", Path: "/"}

// TestParsedPoliciesReused checks that repeated checks parse each policy
// document once, and that a changed document takes effect at once.
func TestParsedPoliciesReused(t *testing.T) {
	identity := []string{allowRead}
	resource := allowAnon
	a, parses := countingAuthorizer(&identity, &resource)
	ctx := context.Background()
	s := Scope{Domain: "acme", Repository: "main"}
	for i := 0; i < 5; i++ {
		if err := a.Check(ctx, alice, true, "codeartifact:ReadFromRepository", repoARN, s); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if *parses != 2 {
		t.Fatalf("%d parses for 5 checks over 2 documents, want 2", *parses)
	}
	// The same text as an identity and as a resource policy are parsed
	// separately (the kinds validate differently).
	if err := a.Check(ctx, domain.Principal{}, false, "codeartifact:ReadFromRepository", repoARN, s); err != nil {
		t.Fatalf("anonymous check: %v", err)
	}
	if *parses != 2 {
		t.Fatalf("%d parses after an anonymous check, want 2", *parses)
	}

	// A changed repository policy has a new text and is used at once.
	resource = denyRead
	err := a.Check(ctx, alice, true, "codeartifact:ReadFromRepository", repoARN, s)
	if !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("after the policy changed to Deny: %v, want ErrForbidden", err)
	}
	if *parses != 3 {
		t.Fatalf("%d parses after the change, want 3", *parses)
	}
	// And changing it back finds the earlier parse.
	resource = allowAnon
	if err := a.Check(ctx, alice, true, "codeartifact:ReadFromRepository", repoARN, s); err != nil {
		t.Fatalf("after the policy changed back: %v", err)
	}
	// A removed identity policy stops granting.
	identity = nil
	resource = ""
	if err := a.Check(ctx, alice, true, "codeartifact:ReadFromRepository", repoARN, s); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("with no policies: %v, want ErrForbidden", err)
	}
	if *parses != 3 {
		t.Fatalf("%d parses, want 3", *parses)
	}
}

// TestParsedInvalidPolicyGrantsNothing checks that an invalid stored
// document is parsed once and grants nothing.
func TestParsedInvalidPolicyGrantsNothing(t *testing.T) {
	identity := []string{`{"Statement":`}
	resource := ""
	a, parses := countingAuthorizer(&identity, &resource)
	for i := 0; i < 3; i++ {
		err := a.Check(context.Background(), alice, true, "codeartifact:ReadFromRepository", repoARN, Scope{Domain: "acme"})
		if !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("check %d: %v, want ErrForbidden", i, err)
		}
	}
	if *parses != 1 {
		t.Fatalf("%d parses of an invalid document, want 1", *parses)
	}
}

// TestParseCacheConcurrent runs checks from many goroutines on a zero
// Authorizer's lazily created cache (for the race detector).
func TestParseCacheConcurrent(t *testing.T) {
	a := &Authorizer{
		Account:          "123456789012",
		IdentityPolicies: func(context.Context, int64) ([]string, error) { return []string{allowRead}, nil },
		ResourcePolicy:   func(context.Context, string, string) (string, error) { return allowAnon, nil },
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- a.Check(context.Background(), alice, true, "codeartifact:ReadFromRepository", repoARN, Scope{Domain: "acme", Repository: "main"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
