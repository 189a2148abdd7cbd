package codebuild

// The wire contract: botocore's model of CodeBuild, copied verbatim into
// testdata/codebuild-2016-10-06.json.gz from botocore 1.43.11
// (botocore/data/codebuild/2016-10-06/service-2.json.gz, the file the aws
// CLI on these machines uses). The checker is the one of
// internal/codeartifact's model_test.go: every request the tests send is
// checked against the input shape and every response against the output
// or error shape:
//
//	structure  JSON object; only modelled members, required ones present
//	list, map  JSON array / object; members, keys and values checked
//	string     JSON string; enum, length (in characters) and the pattern,
//	           anchored, when it compiles in RE2
//	timestamp  JSON number of epoch seconds (JSON 1.1's default)
//	integer    JSON number without a fraction; boolean a JSON bool
//
// A JSON null counts as an absent member.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

const modelFile = "testdata/codebuild-2016-10-06.json.gz"

type awsModel struct {
	Operations map[string]modelOp     `json:"operations"`
	Shapes     map[string]*modelShape `json:"shapes"`
}

type modelOp struct {
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input  *modelRef  `json:"input"`
	Output *modelRef  `json:"output"`
	Errors []modelRef `json:"errors"`
}

type modelRef struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

type modelShape struct {
	Type      string              `json:"type"`
	Members   map[string]modelRef `json:"members"`
	Member    *modelRef           `json:"member"`
	Key       *modelRef           `json:"key"`
	Value     *modelRef           `json:"value"`
	Enum      []string            `json:"enum"`
	Required  []string            `json:"required"`
	Payload   string              `json:"payload"`
	Pattern   string              `json:"pattern"`
	Min       *float64            `json:"min"`
	Max       *float64            `json:"max"`
	Exception bool                `json:"exception"`
	Error     *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`

	re *regexp.Regexp // anchored Pattern, nil if none or not RE2
}

var loadModel = sync.OnceValues(func() (*awsModel, error) {
	f, err := os.Open(modelFile)
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

func (m *awsModel) op(tb testing.TB, name string) modelOp {
	tb.Helper()
	op, ok := m.Operations[name]
	if !ok {
		tb.Fatalf("botocore has no operation %s", name)
	}
	return op
}

// check appends to problems every way v (decoded with UseNumber) departs
// from the shape named shape; at is the JSON path for messages.
func (m *awsModel) check(at string, v any, shape string, problems *[]string) {
	bad := func(format string, args ...any) {
		*problems = append(*problems, at+": "+fmt.Sprintf(format, args...))
	}
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
			if !ok || mem.Location != "" {
				bad("member %q is not in %s (members: %s)", k, shape, strings.Join(sortedKeys(s.Members), ", "))
				continue
			}
			if obj[k] != nil {
				m.check(at+"."+k, obj[k], mem.Shape, problems)
			}
		}
		for _, k := range s.Required {
			if obj[k] == nil && s.Members[k].Location == "" {
				bad("required member %q of %s is missing", k, shape)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("want a JSON array (%s), got %T", shape, v)
			return
		}
		m.checkLength(at, float64(len(arr)), s, bad)
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
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			bad("%q is not one of %s %v", str, shape, s.Enum)
		}
		m.checkLength(at, float64(utf8.RuneCountInString(str)), s, bad)
		if s.re != nil && !s.re.MatchString(str) {
			bad("%q does not match %s's pattern %s", str, shape, s.Pattern)
		}
	case "timestamp":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a timestamp as a JSON number, got %T %v", v, v)
			return
		}
		f, err := n.Float64()
		if err != nil || f < 1e9 || f > 1e10 {
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
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a JSON boolean, got %T", v)
		}
	default:
		bad("shape %s of type %s cannot appear in a JSON body", shape, s.Type)
	}
}

func (m *awsModel) checkLength(at string, n float64, s *modelShape, bad func(string, ...any)) {
	if s.Min != nil && n < *s.Min {
		bad("length %v is below the minimum %v", n, *s.Min)
	}
	if s.Max != nil && n > *s.Max {
		bad("length %v is above the maximum %v", n, *s.Max)
	}
}

// decodeJSON decodes b keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
