package codepipeline

// The wire contract: botocore's model of CodePipeline, copied verbatim into
// testdata/codepipeline-2015-07-09.json.gz from botocore 1.43.11
// (botocore/data/codepipeline/2015-07-09/service-2.json.gz, the file the
// aws CLI on these machines uses). Responses are checked against the
// operation's output shape, and errors against the operation's modelled
// exceptions, with internal/awsmodel, whose package comment gives the
// rules.

import (
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/awsmodel"
)

var loadModel = sync.OnceValues(func() (*awsmodel.Model, error) {
	return awsmodel.Load("testdata/codepipeline-2015-07-09.json.gz")
})

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

// TestOperationsMatchModel: the handler serves exactly operations of the
// model, under its target prefix and signing name.
func TestOperationsMatchModel(t *testing.T) {
	m := model(t)
	if m.Metadata.TargetPrefix+"." != TargetPrefix || m.Metadata.EndpointPrefix != SigningName {
		t.Errorf("model metadata %+v", m.Metadata)
	}
	for op := range operations {
		if _, ok := m.Operations[op]; !ok {
			t.Errorf("operation %s is not in the model", op)
		}
	}
}

// TestModelCheck shows the checker rejects what it should.
func TestModelCheck(t *testing.T) {
	m := model(t)
	for _, tc := range []struct {
		name, shape, json, want string
	}{
		{"valid", "StageExecution", `{"pipelineExecutionId":"0a1b2c3d-0000-4000-8000-000000000000","status":"InProgress"}`, ""},
		{"unknown member", "StageExecution", `{"pipelineExecutionId":"0a1b2c3d-0000-4000-8000-000000000000","status":"InProgress","x":1}`, `member "x"`},
		{"bad enum", "StageExecution", `{"pipelineExecutionId":"0a1b2c3d-0000-4000-8000-000000000000","status":"Running"}`, "is not one of"},
		{"missing required", "StageExecution", `{"status":"Failed"}`, "required member"},
		{"bad pattern", "StageExecution", `{"pipelineExecutionId":"nope","status":"Failed"}`, "does not match"},
		{"string timestamp", "PipelineMetadata", `{"created":"2024-01-01"}`, "as a JSON number"},
	} {
		v, _ := decodeJSON([]byte(tc.json))
		err := m.Check(tc.shape, v)
		if (tc.want == "") != (err == nil) || (tc.want != "" && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
