package pipeline

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vars := map[string]string{
		"codepipeline.PipelineExecutionId": "e-1",
		"variables.env":                    "prod",
		"Build.VERSION":                    "1.2.3",
		"Build.EMPTY":                      "",
		"my-ns@x.a_b":                      "ok",
	}
	lookup := func(ns, name string) (string, bool) { v, ok := vars[ns+"."+name]; return v, ok }
	for _, tc := range []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{"#{codepipeline.PipelineExecutionId}", "e-1", ""},
		{"v#{Build.VERSION}-#{variables.env}", "v1.2.3-prod", ""},
		{"#{Build.EMPTY}x", "x", ""},
		{"#{my-ns@x.a_b}", "ok", ""},
		{"# not a ref, nor #{this", "# not a ref, nor #{this", ""},
		{"${SHELL} stays", "${SHELL} stays", ""},
		{"#{Build.NOPE} and #{Other.X}", "", "#{Build.NOPE}, #{Other.X}"},
		{"#{nodot}", "", "#{nodot}"},
		{"#{a b.c}", "", "#{a b.c}"},
		{"#{.x}", "", "#{.x}"},
	} {
		got, err := Resolve(tc.in, lookup)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%q) error %v, want one mentioning %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	refs, err := Refs("#{a.b} #{c.d} #{a.b}")
	if err != nil || len(refs) != 3 || refs[1] != (Ref{"c", "d"}) || refs[0].String() != "#{a.b}" {
		t.Errorf("Refs: %v %v", refs, err)
	}
}

// FuzzResolve: resolution never panics, and a string without references
// comes back unchanged.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"#{a.b}", "x#{codepipeline.PipelineExecutionId}y", "#{", "#{}}", "#{a.b.c}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Resolve(s, func(ns, n string) (string, bool) { return "V", ns != "missing" })
		if !strings.Contains(s, "#{") && (err != nil || got != s) {
			t.Fatalf("Resolve(%q) = %q, %v", s, got, err)
		}
	})
}
