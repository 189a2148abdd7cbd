package awsmodel

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// ErrUnknownOperation is returned (wrapped) for an operation the model
// does not have.
var ErrUnknownOperation = errors.New("awsmodel: unknown operation")

// Model is a botocore service model. Its fields mirror service-2.json and
// are read-only once loaded.
type Model struct {
	Metadata   Metadata             `json:"metadata"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`
}

// Metadata is the service-wide part of a model.
type Metadata struct {
	Protocol       string `json:"protocol"`
	TargetPrefix   string `json:"targetPrefix"`
	SigningName    string `json:"signingName"`
	EndpointPrefix string `json:"endpointPrefix"`
}

// Operation is one API operation: its HTTP binding (for rest protocols),
// its input and output shapes (nil when it has none) and the exceptions it
// declares.
type Operation struct {
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input  *Ref  `json:"input"`
	Output *Ref  `json:"output"`
	Errors []Ref `json:"errors"`
}

// Declares reports whether the operation lists the exception shape code.
func (op Operation) Declares(code string) bool {
	return slices.ContainsFunc(op.Errors, func(r Ref) bool { return r.Shape == code })
}

// Ref refers to a shape, and for a structure member says where the member
// travels: Location is "" for the JSON body, or "header", "querystring",
// "uri" with the wire name in LocationName.
type Ref struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

// Shape is one shape of the model. Which fields are set depends on Type.
type Shape struct {
	Type      string         `json:"type"`
	Members   map[string]Ref `json:"members"`
	Member    *Ref           `json:"member"`
	Key       *Ref           `json:"key"`
	Value     *Ref           `json:"value"`
	Enum      []string       `json:"enum"`
	Required  []string       `json:"required"`
	Payload   string         `json:"payload"`
	Pattern   string         `json:"pattern"`
	Min       *float64       `json:"min"`
	Max       *float64       `json:"max"`
	Exception bool           `json:"exception"`
	Error     *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`

	re *regexp.Regexp // anchored Pattern, nil if none or not RE2
}

// Load reads the model at path, a service-2.json, gunzipping it when the
// name ends in ".gz". The returned model is safe for concurrent use.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("awsmodel: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("awsmodel: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	m, err := Decode(r)
	if err != nil {
		return nil, fmt.Errorf("awsmodel: %s: %w", path, err)
	}
	return m, nil
}

// Decode reads a model in service-2.json form from r.
func Decode(r io.Reader) (*Model, error) {
	var m Model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, err
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		return nil, errors.New("not a botocore model: no operations or shapes")
	}
	for _, s := range m.Shapes {
		if s.Pattern != "" {
			s.re, _ = regexp.Compile(`^(?:` + s.Pattern + `)$`)
		}
	}
	return &m, nil
}

// Operation returns the operation called name, or an error wrapping
// ErrUnknownOperation.
func (m *Model) Operation(name string) (Operation, error) {
	op, ok := m.Operations[name]
	if !ok {
		return Operation{}, fmt.Errorf("%w %s", ErrUnknownOperation, name)
	}
	return op, nil
}
