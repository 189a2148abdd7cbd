package domain

import (
	"errors"
	"testing"
)

// FuzzValidate runs every string validator of names.go on arbitrary
// strings: none may panic, every error must wrap ErrInvalid, and each must
// accept exactly what the service model accepts (see model_test.go),
// except where a known divergence explains the difference.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"", "a", "ab", "a-b", "-ab", "Ab", "a_b", "a.b", "a:b", "public:npmjs", "café", "ab\n",
		rep("a", 50), rep("a", 51), rep("a", 100), rep("a", 101), rep("a", 255), rep("a", 256), rep("é", 255), rep("é", 26),
		"left-pad", "@acme/left-pad", "a#b", "a b", "a\tb", "a\vb", "a\u00a0b", "a\x00b", "a\xffb", "\ufeff", "a\u0378",
		".", "..", "1.0.0-beta.1+build.5", "npm", "nuget", "Published",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range validators {
			err := v.validate(s)
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s %q: %v does not wrap ErrInvalid", v.name, s, err)
			}
			accepted, model := err == nil, v.shape.accepts(s)
			if accepted == model || known(v.name, s) != nil {
				continue
			}
			if accepted {
				t.Errorf("%s: accepts %q, which does not match the model's %s (%s, %d-%d characters)", v.name, s, v.shape.name, v.shape.pattern, v.shape.min, v.shape.max)
			} else {
				t.Errorf("%s: refuses %q, which the model's %s accepts: %v", v.name, s, v.shape.name, err)
			}
		}
	})
}
