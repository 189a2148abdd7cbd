package codepipeline

// The wire contract: botocore's model of CodePipeline, copied verbatim into
// testdata/codepipeline-2015-07-09.json.gz from botocore 1.43.11
// (botocore/data/codepipeline/2015-07-09/service-2.json.gz, the file the
// aws CLI on these machines uses). Responses are checked against the
// operation's output shape:
//
//	structure  JSON object; only modelled members, required ones present
//	list, map  JSON array / object; members, keys and values checked
//	string     JSON string; enum, length (in characters) and the pattern,
//	           anchored, when it compiles in RE2
//	timestamp  JSON number of epoch seconds
//	integer    JSON number without a fraction; boolean a JSON bool
//
// and errors' "__type" against the operation's modelled errors.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

type awsModel struct {
	Metadata struct {
		TargetPrefix  string `json:"targetPrefix"`
		SigningName   string `json:"signingName"`
		EndpointPrefx string `json:"endpointPrefix"`
	} `json:"metadata"`
	Operations map[string]modelOp     `json:"operations"`
	Shapes     map[string]*modelShape `json:"shapes"`
}

type modelOp struct {
	Input  *modelRef  `json:"input"`
	Output *modelRef  `json:"output"`
	Errors []modelRef `json:"errors"`
}

type modelRef struct {
	Shape string `json:"shape"`
}

type modelShape struct {
	Type     string              `json:"type"`
	Members  map[string]modelRef `json:"members"`
	Member   *modelRef           `json:"member"`
	Key      *modelRef           `json:"key"`
	Value    *modelRef           `json:"value"`
	Enum     []string            `json:"enum"`
	Required []string            `json:"required"`
	Pattern  string              `json:"pattern"`
	Min      *float64            `json:"min"`
	Max      *float64            `json:"max"`

	re *regexp.Regexp
}

var loadModel = sync.OnceValues(func() (*awsModel, error) {
	f, err := os.Open("testdata/codepipeline-2015-07-09.json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var m awsModel
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, err
	}
	for _, s := range m.Shapes {
		if s.Pattern != "" {
			s.re, _ = regexp.Compile(`^(?:` + s.Pattern + `)$`)
		}
	}
	return &m, nil
})

func model(tb testing.TB) *awsModel {
	tb.Helper()
	m, err := loadModel()
	if err != nil {
		tb.Fatalf("loading the botocore model: %v", err)
	}
	return m
}

// check appends to problems every way v (decoded with UseNumber) departs
// from the shape; at is the JSON path for messages.
func (m *awsModel) check(at string, v any, shape string, problems *[]string) {
	bad := func(format string, args ...any) { *problems = append(*problems, at+": "+fmt.Sprintf(format, args...)) }
	s := m.Shapes[shape]
	if s == nil {
		bad("no shape %s in the model", shape)
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a JSON object (%s), got %T", shape, v)
			return
		}
		for _, k := range sortedKeys(obj) {
			mem, ok := s.Members[k]
			if !ok {
				bad("member %q is not in %s (members: %s)", k, shape, strings.Join(sortedKeys(s.Members), ", "))
				continue
			}
			if obj[k] != nil {
				m.check(at+"."+k, obj[k], mem.Shape, problems)
			}
		}
		for _, k := range s.Required {
			if obj[k] == nil {
				bad("required member %q of %s is missing", k, shape)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("want a JSON array (%s), got %T", shape, v)
			return
		}
		m.length(float64(len(arr)), s, bad)
		for i, x := range arr {
			m.check(fmt.Sprintf("%s[%d]", at, i), x, s.Member.Shape, problems)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a JSON object (%s), got %T", shape, v)
			return
		}
		for _, k := range sortedKeys(obj) {
			m.check(at+"{key "+k+"}", k, s.Key.Shape, problems)
			m.check(at+"."+k, obj[k], s.Value.Shape, problems)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a JSON string (%s), got %T %v", shape, v, v)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			bad("%q is not one of %s %v", str, shape, s.Enum)
		}
		m.length(float64(utf8.RuneCountInString(str)), s, bad)
		if s.re != nil && !s.re.MatchString(str) {
			bad("%q does not match %s's pattern %s", str, shape, s.Pattern)
		}
	case "timestamp":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a timestamp as a JSON number, got %T %v", v, v)
			return
		}
		if f, err := n.Float64(); err != nil || f < 1e9 || f > 1e10 {
			bad("timestamp %s is not in epoch seconds", n)
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a JSON number (%s), got %T %v", shape, v, v)
			return
		}
		if _, err := n.Int64(); err != nil {
			bad("%s is not an integer", n)
		}
		if f, _ := n.Float64(); (s.Min != nil && f < *s.Min) || (s.Max != nil && f > *s.Max) {
			bad("%s is out of range", n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a JSON boolean, got %T", v)
		}
	default:
		bad("shape %s of type %s cannot appear in a JSON body", shape, s.Type)
	}
}

func (m *awsModel) length(n float64, s *modelShape, bad func(string, ...any)) {
	if s.Min != nil && n < *s.Min {
		bad("length %v is below the minimum %v", n, *s.Min)
	}
	if s.Max != nil && n > *s.Max {
		bad("length %v is above the maximum %v", n, *s.Max)
	}
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOperationsMatchModel: the handler serves exactly operations of the
// model, under its target prefix and signing name.
func TestOperationsMatchModel(t *testing.T) {
	m := model(t)
	if m.Metadata.TargetPrefix+"." != TargetPrefix || m.Metadata.EndpointPrefx != SigningName {
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
		var problems []string
		m.check(tc.shape, v, tc.shape, &problems)
		if (tc.want == "") != (len(problems) == 0) || (tc.want != "" && !strings.Contains(problems[0], tc.want)) {
			t.Errorf("%s: problems %v, want %q", tc.name, problems, tc.want)
		}
	}
}
