package awsmodel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrUnmodelled is returned (wrapped) by CheckError for an error code that
// is not an exception shape of the model.
var ErrUnmodelled = errors.New("awsmodel: exception is not in the model")

// ErrUndeclared is returned (wrapped) by CheckError for a modelled
// exception that the operation does not declare.
var ErrUndeclared = errors.New("awsmodel: exception is not declared by the operation")

// Mismatch is the error for a value that departs from its shape. Each
// problem starts with the JSON path of the offending value.
type Mismatch struct {
	Shape    string
	Problems []string
}

// Error lists every problem, one per line.
func (e *Mismatch) Error() string {
	return fmt.Sprintf("%d problems against %s:\n  %s", len(e.Problems), e.Shape, strings.Join(e.Problems, "\n  "))
}

// Check returns a *Mismatch listing every way v, as DecodeJSON returns it,
// departs from the shape named shape, or nil if it fits.
func (m *Model) Check(shape string, v any) error {
	var problems []string
	m.check(shape, v, shape, &problems)
	if len(problems) > 0 {
		return &Mismatch{Shape: shape, Problems: problems}
	}
	return nil
}

// CheckInput checks v as the JSON body of a request for operation op. An
// operation without an input shape accepts anything.
func (m *Model) CheckInput(op string, v any) error {
	o, err := m.Operation(op)
	if err != nil || o.Input == nil {
		return err
	}
	return m.Check(o.Input.Shape, v)
}

// CheckOutput checks v as the JSON body of a successful response to
// operation op. An operation without an output shape accepts anything.
func (m *Model) CheckOutput(op string, v any) error {
	o, err := m.Operation(op)
	if err != nil || o.Output == nil {
		return err
	}
	return m.Check(o.Output.Shape, v)
}

// CheckError checks an error response with exception code code to
// operation op (or to no operation, if op is ""): code must be an
// exception of the model (else ErrUnmodelled), declared by op (else
// ErrUndeclared), and v, the JSON body, must have the exception's shape
// (else a *Mismatch). The protocol's own members, which botocore reads
// from any error body, are allowed besides the shape's: "__type" (JSON
// 1.1), and "message" or "Message" where the shape does not model them.
// Several failures are joined.
func (m *Model) CheckError(op, code string, v any) error {
	s, ok := m.Shapes[code]
	if !ok || !s.Exception {
		return fmt.Errorf("%w: %s", ErrUnmodelled, code)
	}
	var errs []error
	if op != "" {
		o, err := m.Operation(op)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !o.Declares(code):
			errs = append(errs, fmt.Errorf("%w: %s does not declare %s", ErrUndeclared, op, code))
		}
	}
	if obj, ok := v.(map[string]any); ok {
		body := make(map[string]any, len(obj))
		for k, x := range obj {
			_, modelled := s.Members[k]
			if k == "__type" || (k == "message" || k == "Message") && !modelled {
				continue
			}
			body[k] = x
		}
		v = body
	}
	errs = append(errs, m.Check(code, v))
	return errors.Join(errs...)
}

// check appends to problems every way v departs from the shape named
// shape; at is the JSON path for messages.
func (m *Model) check(at string, v any, shape string, problems *[]string) {
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
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			mem, ok := s.Members[k]
			if !ok || mem.Location != "" {
				bad("member %q is not in %s (members: %s)", k, shape, strings.Join(slices.Sorted(maps.Keys(s.Members)), ", "))
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
		checkLength(float64(len(arr)), s, bad)
		for i, x := range arr {
			m.check(fmt.Sprintf("%s[%d]", at, i), x, s.Member.Shape, problems)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a JSON object (%s), got %T", shape, v)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
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
		checkLength(float64(utf8.RuneCountInString(str)), s, bad)
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
			return
		}
		if f, _ := n.Float64(); (s.Min != nil && f < *s.Min) || (s.Max != nil && f > *s.Max) {
			bad("%s is out of %s's range", n, shape)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a JSON boolean, got %T", v)
		}
	case "blob":
		str, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(str); !ok || err != nil {
			bad("want a blob as a base64 JSON string, got %T %v", v, v)
		}
	default:
		bad("shape %s of type %s cannot appear in a JSON body", shape, s.Type)
	}
}

func checkLength(n float64, s *Shape, bad func(string, ...any)) {
	if s.Min != nil && n < *s.Min {
		bad("length %v is below the minimum %v", n, *s.Min)
	}
	if s.Max != nil && n > *s.Max {
		bad("length %v is above the maximum %v", n, *s.Max)
	}
}

// DecodeJSON decodes b, exactly one JSON value, keeping numbers as
// json.Number, which is the form the checks expect.
func DecodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}
