package awsmodel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The CodeArtifact model kept by internal/codeartifact's tests, verbatim
// from botocore 1.43.11.
const testModel = "../codeartifact/testdata/codeartifact-2018-09-22.json.gz"

var loadTestModel = sync.OnceValues(func() (*Model, error) { return Load(testModel) })

func model(t *testing.T) *Model {
	t.Helper()
	m, err := loadTestModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoad(t *testing.T) {
	t.Parallel()
	m := model(t)
	if m.Metadata.Protocol != "rest-json" || m.Metadata.SigningName != "codeartifact" {
		t.Errorf("metadata %+v", m.Metadata)
	}
	op, err := m.Operation("DescribeDomain")
	if err != nil {
		t.Fatal(err)
	}
	if op.HTTP.Method != "GET" || op.HTTP.RequestURI != "/v1/domain" || op.Input.Shape != "DescribeDomainRequest" {
		t.Errorf("DescribeDomain is %+v", op)
	}
	if in := m.Shapes["DescribeDomainRequest"].Members["domainOwner"]; in.Location != "querystring" || in.LocationName != "domain-owner" {
		t.Errorf("domainOwner bound to %+v", in)
	}
	if !op.Declares("ResourceNotFoundException") || op.Declares("ConflictException") {
		t.Errorf("DescribeDomain declares %v", op.Errors)
	}
	if _, err := m.Operation("DescribeDomians"); !errors.Is(err, ErrUnknownOperation) {
		t.Errorf("unknown operation: %v", err)
	}

	plain := filepath.Join(t.TempDir(), "service-2.json")
	if err := os.WriteFile(plain, []byte(`{"operations":{"Ping":{}},"shapes":{"S":{"type":"string"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := Load(plain); err != nil || m.Operations["Ping"].Output != nil {
		t.Errorf("Load(plain) = %v, %v", m, err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), "missing.json"), "model.go"} {
		if _, err := Load(path); err == nil {
			t.Errorf("Load(%s) succeeded", path)
		}
	}
}

// TestCheck shows the checks reject what they should and pass what they
// should, through each entry point.
func TestCheck(t *testing.T) {
	t.Parallel()
	m := model(t)
	blobs, err := Decode(strings.NewReader(`{"operations":{"Put":{"input":{"shape":"In"}}},
		"shapes":{"In":{"type":"structure","members":{"Data":{"shape":"B"}}},"B":{"type":"blob"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		check func(v any) error
		json  string
		want  string // substring of the error; "" for none
		is    error  // sentinel the error must wrap, if any
	}{
		{"output valid", func(v any) error { return m.CheckOutput("DescribeDomain", v) },
			`{"domain":{"name":"dom","status":"Active","createdTime":1700000000,"repositoryCount":2}}`, "", nil},
		{"output unknown member", func(v any) error { return m.CheckOutput("DescribeDomain", v) },
			`{"domain":{"name":"d"},"extra":true}`, `DescribeDomainResult: member "extra" is not in`, nil},
		{"output nested enum", func(v any) error { return m.CheckOutput("DescribeDomain", v) },
			`{"domain":{"status":"active"}}`, `DescribeDomainResult.domain.status: "active" is not one of`, nil},
		{"output unknown operation", func(v any) error { return m.CheckOutput("Nope", v) }, `{}`, "", ErrUnknownOperation},
		{"input located member in body", func(v any) error { return m.CheckInput("DescribeDomain", v) },
			`{"domain":"d"}`, `member "domain" is not in`, nil},
		{"input located required member absent", func(v any) error { return m.CheckInput("DescribeDomain", v) }, `{}`, "", nil},
		{"integer range", func(v any) error { return m.Check("ListDomainsMaxResults", v) }, `0`, "out of ListDomainsMaxResults's range", nil},
		{"long in range", func(v any) error { return m.Check("AuthorizationTokenDurationSeconds", v) }, `43200`, "", nil},
		{"list not array", func(v any) error { return m.Check("DomainSummaryList", v) }, `{}`, "want a JSON array", nil},
		{"error valid", func(v any) error { return m.CheckError("DescribeDomain", "ResourceNotFoundException", v) },
			`{"message":"no such domain","resourceType":"domain"}`, "", nil},
		{"error __type allowed", func(v any) error { return m.CheckError("", "ResourceNotFoundException", v) },
			`{"__type":"ResourceNotFoundException","message":"m"}`, "", nil},
		{"error bad body", func(v any) error { return m.CheckError("DescribeDomain", "ResourceNotFoundException", v) },
			`{"Message":"m"}`, `required member "message"`, nil},
		{"error undeclared", func(v any) error { return m.CheckError("DescribeDomain", "ConflictException", v) },
			`{"message":"m"}`, "", ErrUndeclared},
		{"error unmodelled", func(v any) error { return m.CheckError("DescribeDomain", "SerializationException", v) },
			`{"message":"m"}`, "", ErrUnmodelled},
		{"blob", func(v any) error { return blobs.CheckInput("Put", v) }, `{"Data":"aGk="}`, "", nil},
		{"blob not base64", func(v any) error { return blobs.CheckInput("Put", v) }, `{"Data":"h!"}`, "want a blob as a base64", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.check(v)
			switch {
			case tc.want == "" && tc.is == nil && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v, want %v", err, tc.is)
			}
			var mm *Mismatch
			if tc.want != "" && !errors.As(err, &mm) {
				t.Errorf("error %v is not a *Mismatch", err)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		ok         bool
	}{
		{"object", `{"a":1.5}`, true},
		{"trailing", `{} {}`, false},
		{"truncated", `{"a":`, false},
		{"empty", ``, false},
	} {
		if _, err := DecodeJSON([]byte(tc.json)); (err == nil) != tc.ok {
			t.Errorf("%s: DecodeJSON(%q) error %v", tc.name, tc.json, err)
		}
	}
}
