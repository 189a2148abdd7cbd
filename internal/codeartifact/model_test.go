package codeartifact

// The wire contract: botocore's model of CodeArtifact, copied verbatim into
// testdata/codeartifact-2018-09-22.json.gz from botocore 1.43.11
// (botocore/data/codeartifact/2018-09-22/service-2.json.gz, the file the aws
// CLI on these machines uses). Tests build requests from it the way
// botocore's rest-json serializer does (each input member in its modelled
// location) and check every response against the output or error shape
// with internal/awsmodel, whose package comment gives the rules.

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/awsmodel"
)

var loadModel = sync.OnceValues(func() (*awsmodel.Model, error) {
	return awsmodel.Load("testdata/codeartifact-2018-09-22.json.gz")
})

func model(tb testing.TB) *awsmodel.Model {
	tb.Helper()
	m, err := loadModel()
	if err != nil {
		tb.Fatalf("loading the botocore model: %v", err)
	}
	return m
}

// modelOp returns botocore's operation name, failing the test if there is
// none.
func modelOp(tb testing.TB, name string) awsmodel.Operation {
	tb.Helper()
	op, err := model(tb).Operation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return op
}

// decodeJSON decodes b keeping numbers exact, as the checks expect.
func decodeJSON(b []byte) (any, error) { return awsmodel.DecodeJSON(b) }

// problems lists the ways err, from an awsmodel check, says a value departs
// from its shape; other errors are one problem each.
func problems(err error) []string {
	var mm *awsmodel.Mismatch
	if errors.As(err, &mm) {
		return mm.Problems
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// TestRoutesMatchModel pins the route table to botocore's HTTP bindings:
// every route is an operation with the same method and URI.
func TestRoutesMatchModel(t *testing.T) {
	t.Parallel()
	m := model(t)
	seen := map[string]bool{}
	for _, r := range routes {
		op, ok := m.Operations[r.op]
		if !ok {
			t.Errorf("route %s %s: botocore has no operation %s", r.method, r.path, r.op)
			continue
		}
		if seen[r.op] {
			t.Errorf("operation %s is routed twice", r.op)
		}
		seen[r.op] = true
		if op.HTTP.Method != r.method || op.HTTP.RequestURI != "/v1"+r.path {
			t.Errorf("%s: routed as %s /v1%s, botocore says %s %s", r.op, r.method, r.path, op.HTTP.Method, op.HTTP.RequestURI)
		}
	}
}

// TestModelCheck shows the shape checker rejects what it should, so the
// tests built on it can fail.
func TestModelCheck(t *testing.T) {
	t.Parallel()
	m := model(t)
	for _, tc := range []struct {
		name, shape, json string
		want              string // substring of the first problem; "" for none
	}{
		{"valid", "RepositoryDescription", `{"name":"main","arn":"arn:x","createdTime":1700000000.5,"upstreams":[{"repositoryName":"up"}],"description":null}`, ""},
		{"unknown member", "RepositoryDescription", `{"name":"main","upstream":[]}`, `member "upstream" is not in`},
		{"bad enum", "DomainSummary", `{"status":"active"}`, `"active" is not one of DomainStatus`},
		{"millisecond timestamp", "DomainSummary", `{"createdTime":1700000000000}`, "not in epoch seconds"},
		{"string timestamp", "DomainSummary", `{"createdTime":"2024-01-01T00:00:00Z"}`, "want a timestamp as a JSON number"},
		{"missing required", "PackageVersionSummary", `{"version":"1.0"}`, `required member "status"`},
		{"pattern", "RepositorySummary", `{"name":"-bad"}`, "does not match"},
		{"map key enum", "AssetSummary", `{"name":"a","hashes":{"SHA256":"00000000000000000000000000000000"}}`, `"SHA256" is not one of HashAlgorithm`},
		{"fractional integer", "DomainDescription", `{"repositoryCount":1.5}`, "is not an integer"},
		{"too long", "Tag", `{"key":"` + strings.Repeat("k", 129) + `","value":""}`, "above the maximum 128"},
		{"error resource type", "ResourceNotFoundException", `{"message":"m","resourceType":"policy"}`, `"policy" is not one of ResourceType`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			problems := problems(m.Check(tc.shape, v))
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("unexpected problems: %v", problems)
			case tc.want != "" && (len(problems) == 0 || !strings.Contains(problems[0], tc.want)):
				t.Errorf("problems %v, want one containing %q", problems, tc.want)
			}
		})
	}
}
