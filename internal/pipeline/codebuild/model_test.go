package codebuild

// The wire contract: botocore's model of CodeBuild, copied verbatim into
// testdata/codebuild-2016-10-06.json.gz from botocore 1.43.11
// (botocore/data/codebuild/2016-10-06/service-2.json.gz, the file the aws
// CLI on these machines uses). Every request the tests send is checked
// against the input shape and every response against the output shape or
// the operation's errors, with internal/awsmodel, whose package comment
// gives the rules.

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/awsmodel"
)

const modelFile = "testdata/codebuild-2016-10-06.json.gz"

var loadModel = sync.OnceValues(func() (*awsmodel.Model, error) { return awsmodel.Load(modelFile) })

func model(tb testing.TB) *awsmodel.Model {
	tb.Helper()
	m, err := loadModel()
	if err != nil {
		tb.Fatalf("loading the botocore model: %v", err)
	}
	return m
}

// decodeJSON decodes b keeping numbers exact, as the checks expect.
func decodeJSON(b []byte) (any, error) { return awsmodel.DecodeJSON(b) }

// TestModelCheck shows the checks the API tests rely on reject what they
// should, so those tests can fail.
func TestModelCheck(t *testing.T) {
	t.Parallel()
	m := model(t)
	for _, tc := range []struct {
		name  string
		check func(v any) error
		json  string
		want  string // substring of the error; "" for none
	}{
		{"valid output", func(v any) error { return m.CheckOutput("BatchGetBuilds", v) },
			`{"builds":[{"id":"p:1","buildNumber":1,"buildStatus":"SUCCEEDED","startTime":1700000000.25,"buildComplete":true}]}`, ""},
		{"bad enum", func(v any) error { return m.CheckOutput("BatchGetBuilds", v) },
			`{"builds":[{"buildStatus":"SUCCESS"}]}`, `"SUCCESS" is not one of StatusType`},
		{"unknown member", func(v any) error { return m.CheckOutput("BatchGetBuilds", v) },
			`{"builds":[{"status":"SUCCEEDED"}]}`, `member "status" is not in Build`},
		{"empty string", func(v any) error { return m.CheckOutput("BatchGetBuilds", v) },
			`{"builds":[{"id":""}]}`, "below the minimum 1"},
		{"millisecond timestamp", func(v any) error { return m.CheckOutput("BatchGetBuilds", v) },
			`{"builds":[{"startTime":1700000000000}]}`, "not in epoch seconds"},
		{"bad input", func(v any) error { return m.CheckInput("BatchGetBuilds", v) }, `{"id":["p:1"]}`, `required member "ids"`},
		{"declared error", func(v any) error { return m.CheckError("CreateProject", "ResourceAlreadyExistsException", v) },
			`{"__type":"ResourceAlreadyExistsException","message":"exists"}`, ""},
		{"undeclared error", func(v any) error { return m.CheckError("BatchGetBuilds", "ResourceAlreadyExistsException", v) },
			`{"__type":"ResourceAlreadyExistsException","message":"exists"}`, "not declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.check(v)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			var mm *awsmodel.Mismatch
			if tc.want != "" && !errors.As(err, &mm) && !errors.Is(err, awsmodel.ErrUndeclared) {
				t.Errorf("error %v is of the wrong kind", err)
			}
		})
	}
}
