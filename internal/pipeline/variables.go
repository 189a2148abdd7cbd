package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// Variable references, as CodePipeline writes them:
//
//	#{codepipeline.PipelineExecutionId}   the reserved namespace
//	#{variables.Name}                     a pipeline-level variable (V2)
//	#{Namespace.Name}                     an output variable of the action
//	                                      whose namespace is Namespace
//
// https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html
// A '#' not followed by '{' is literal text.

// Reserved namespaces.
const (
	NamespaceCodePipeline = "codepipeline"
	NamespaceVariables    = "variables"
)

var (
	refRE  = regexp.MustCompile(`#\{([^{}]*)\}`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`)
)

// Ref is one #{namespace.name} reference.
type Ref struct {
	Namespace, Name string
}

func (r Ref) String() string { return "#{" + r.Namespace + "." + r.Name + "}" }

// Refs returns the references in s, in order. A malformed reference
// (no dot, or characters outside [A-Za-z0-9@-_]) is an error naming it.
func Refs(s string) ([]Ref, error) {
	var out []Ref
	for _, m := range refRE.FindAllStringSubmatch(s, -1) {
		ns, name, ok := strings.Cut(m[1], ".")
		if !ok || !nameRE.MatchString(ns) || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("%q is not a variable reference of the form #{namespace.name}", m[0])
		}
		out = append(out, Ref{ns, name})
	}
	return out, nil
}

// Lookup returns the value of a variable, reporting whether it is set.
type Lookup func(namespace, name string) (string, bool)

// Resolve replaces every reference in s with its value. References that
// lookup does not know are an error listing them all.
func Resolve(s string, lookup Lookup) (string, error) {
	if !strings.Contains(s, "#{") {
		return s, nil
	}
	if _, err := Refs(s); err != nil {
		return "", err
	}
	var missing []string
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		ns, name, _ := strings.Cut(m[2:len(m)-1], ".")
		v, ok := lookup(ns, name)
		if !ok {
			missing = append(missing, m)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unresolved variable reference(s) %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// ValidVariableName reports whether name fits the pattern of pipeline
// variable and output variable names, [A-Za-z0-9@\-_]+.
func ValidVariableName(name string) bool { return nameRE.MatchString(name) }
