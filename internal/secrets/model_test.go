package secrets

// The wire contracts: botocore's models of SSM and Secrets Manager, copied
// verbatim into testdata/ssm-2014-11-06.json.gz and
// testdata/secretsmanager-2017-10-17.json.gz from botocore 1.43.11 (the
// files the aws CLI on these machines uses). Every request the tests send
// is checked against the input shape and every response against the
// output shape or the operation's errors, with internal/awsmodel, whose
// package comment gives the rules.

import (
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/awsmodel"
)

var (
	loadSSM = sync.OnceValues(func() (*awsmodel.Model, error) { return awsmodel.Load("testdata/ssm-2014-11-06.json.gz") })
	loadSM  = sync.OnceValues(func() (*awsmodel.Model, error) { return awsmodel.Load("testdata/secretsmanager-2017-10-17.json.gz") })
)

// model returns the botocore model of service "ssm" or "secretsmanager".
func model(tb testing.TB, service string) *awsmodel.Model {
	tb.Helper()
	load := loadSSM
	if service == "secretsmanager" {
		load = loadSM
	}
	m, err := load()
	if err != nil {
		tb.Fatalf("loading the botocore model: %v", err)
	}
	return m
}

// decodeJSON decodes b keeping numbers exact, as the checks expect.
func decodeJSON(b []byte) (any, error) { return awsmodel.DecodeJSON(b) }

// TestModelCheck shows the checks the API tests rely on reject what they
// should, in both models, so those tests can fail.
func TestModelCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, service string
		check         func(m *awsmodel.Model, v any) error
		json          string
		want          string // substring of the error; "" for none
	}{
		{"valid secret", "secretsmanager", func(m *awsmodel.Model, v any) error { return m.CheckOutput("GetSecretValue", v) },
			`{"Name":"db","SecretBinary":"aGk=","VersionStages":["AWSCURRENT"],"CreatedDate":1700000000.5}`, ""},
		{"blob not base64", "secretsmanager", func(m *awsmodel.Model, v any) error { return m.CheckOutput("GetSecretValue", v) },
			`{"SecretBinary":"not base64!"}`, "want a blob as a base64"},
		{"string timestamp", "secretsmanager", func(m *awsmodel.Model, v any) error { return m.CheckOutput("GetSecretValue", v) },
			`{"CreatedDate":"2024-01-01T00:00:00Z"}`, "want a timestamp as a JSON number"},
		{"lower-case member", "ssm", func(m *awsmodel.Model, v any) error { return m.CheckOutput("GetParameter", v) },
			`{"parameter":{}}`, `member "parameter" is not in GetParameterResult`},
		{"bad parameter type", "ssm", func(m *awsmodel.Model, v any) error { return m.CheckOutput("GetParameter", v) },
			`{"Parameter":{"Name":"/a","Type":"Text","Value":"v","Version":1}}`, `"Text" is not one of ParameterType`},
		{"missing input", "ssm", func(m *awsmodel.Model, v any) error { return m.CheckInput("GetParameter", v) },
			`{"WithDecryption":true}`, `required member "Name"`},
		{"declared error", "ssm", func(m *awsmodel.Model, v any) error { return m.CheckError("GetParameter", "ParameterNotFound", v) },
			`{"__type":"ParameterNotFound","message":"none"}`, ""},
		{"undeclared error", "secretsmanager", func(m *awsmodel.Model, v any) error {
			return m.CheckError("GetSecretValue", "ResourceExistsException", v)
		}, `{"__type":"ResourceExistsException","Message":"exists"}`, "not declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.check(model(t, tc.service), v)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
