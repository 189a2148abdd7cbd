package build

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseSpec parses and validates a buildspec. Unknown keys, values of the
// wrong type and unsupported settings are reported together in a
// *SpecError, each naming its field path and line.
func ParseSpec(text string) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, &SpecError{Problems: []string{"YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	p := &parser{}
	s := &Spec{Phases: map[Phase]*SpecPhase{}}
	if len(doc.Content) == 0 {
		return nil, &SpecError{Problems: []string{"is empty"}}
	}
	p.mapping(doc.Content[0], "", map[string]func(*yaml.Node, string){
		"version": func(n *yaml.Node, at string) { s.Version = p.str(n, at) },
		"run-as":  func(n *yaml.Node, at string) { s.RunAs = p.str(n, at) },
		"env":     func(n *yaml.Node, at string) { p.env(n, at, &s.Env) },
		"proxy": func(n *yaml.Node, at string) {
			p.mapping(n, at, map[string]func(*yaml.Node, string){
				"upload-artifacts": func(n *yaml.Node, at string) { p.yesNo(n, at) },
				"logs":             func(n *yaml.Node, at string) { p.yesNo(n, at) },
			})
		},
		// batch configures StartBuildBatch, which this server does not
		// offer; a single build ignores it, as CodeBuild does.
		"batch":  func(n *yaml.Node, at string) { p.kind(n, at, yaml.MappingNode) },
		"phases": func(n *yaml.Node, at string) { p.phases(n, at, s) },
		"reports": func(n *yaml.Node, at string) {
			p.each(n, at, func(name string, n *yaml.Node, at string) { s.Reports = append(s.Reports, p.report(name, n, at)) })
		},
		"artifacts": func(n *yaml.Node, at string) { s.Artifacts = p.artifacts(n, at) },
		"cache": func(n *yaml.Node, at string) {
			p.mapping(n, at, map[string]func(*yaml.Node, string){
				"paths":         func(n *yaml.Node, at string) { s.Cache.Paths = p.strs(n, at) },
				"key":           func(n *yaml.Node, at string) { s.Cache.Key = p.str(n, at) },
				"fallback-keys": func(n *yaml.Node, at string) { s.Cache.FallbackKeys = p.strs(n, at) },
				"action":        func(n *yaml.Node, at string) { s.Cache.Action = p.str(n, at) },
			})
		},
	})
	s.check(p)
	if len(p.problems) > 0 {
		return nil, &SpecError{Problems: p.problems}
	}
	return s, nil
}

// parser walks a yaml.Node tree collecting problems.
type parser struct{ problems []string }

func (p *parser) bad(at, format string, args ...any) {
	p.problems = append(p.problems, at+": "+fmt.Sprintf(format, args...))
}

func (p *parser) badNode(n *yaml.Node, at, format string, args ...any) {
	p.bad(at, "%s (line %d)", fmt.Sprintf(format, args...), n.Line)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar " + fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// kind checks n is of kind k (a null counts as an empty value).
func (p *parser) kind(n *yaml.Node, at string, k yaml.Kind) bool {
	if n.Kind == k {
		return true
	}
	if isNull(n) {
		return false
	}
	want := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a scalar"}[k]
	p.badNode(n, at, "must be %s, not %s", want, describe(n))
	return false
}

// mapping visits the keys of a mapping with the given handlers; any other
// key is a problem, as is a repeated one.
func (p *parser) mapping(n *yaml.Node, at string, fields map[string]func(*yaml.Node, string)) {
	n = resolve(n)
	if !p.kind(n, orRoot(at), yaml.MappingNode) {
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		path := join(at, k.Value)
		if seen[k.Value] {
			p.badNode(k, path, "is given more than once")
			continue
		}
		seen[k.Value] = true
		f, ok := fields[k.Value]
		if !ok {
			p.badNode(k, path, "unknown key (known keys at %s: %s)", orRoot(at), strings.Join(sortedKeys(fields), ", "))
			continue
		}
		f(v, path)
	}
}

func orRoot(at string) string {
	if at == "" {
		return "the top level"
	}
	return at
}

// each visits a mapping whose keys are names chosen by the user.
func (p *parser) each(n *yaml.Node, at string, f func(key string, v *yaml.Node, at string)) {
	n = resolve(n)
	if !p.kind(n, at, yaml.MappingNode) {
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if seen[k.Value] {
			p.badNode(k, join(at, k.Value), "is given more than once")
			continue
		}
		seen[k.Value] = true
		f(k.Value, v, join(at, k.Value))
	}
}

// str reads a scalar as text (numbers and booleans keep their spelling).
func (p *parser) str(n *yaml.Node, at string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		hint := ""
		if n.Kind == yaml.MappingNode && (strings.Contains(at, "commands") || strings.Contains(at, "finally")) {
			hint = "; a colon followed by a space makes YAML read a mapping, so quote the command"
		}
		p.badNode(n, at, "must be a string, not %s%s", describe(n), hint)
		return ""
	}
	return n.Value
}

// strs reads a list of scalars.
func (p *parser) strs(n *yaml.Node, at string) []string {
	n = resolve(n)
	if !p.kind(n, at, yaml.SequenceNode) {
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		out = append(out, p.str(c, fmt.Sprintf("%s[%d]", at, i)))
	}
	return out
}

// yesNo reads "yes"/"no" (or a YAML boolean).
func (p *parser) yesNo(n *yaml.Node, at string) bool {
	n = resolve(n)
	if isNull(n) {
		return false
	}
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "yes", "true", "on":
			return true
		case "no", "false", "off":
			return false
		}
	}
	p.badNode(n, at, "must be yes or no, not %s", describe(n))
	return false
}

// vars reads a mapping of NAME: value.
func (p *parser) vars(n *yaml.Node, at, typ string) []EnvVar {
	var out []EnvVar
	p.each(n, at, func(k string, v *yaml.Node, at string) {
		out = append(out, EnvVar{Name: k, Value: p.str(v, at), Type: typ})
	})
	return out
}

func (p *parser) env(n *yaml.Node, at string, e *SpecEnv) {
	p.mapping(n, at, map[string]func(*yaml.Node, string){
		"shell":                 func(n *yaml.Node, at string) { e.Shell = p.str(n, at) },
		"variables":             func(n *yaml.Node, at string) { e.Variables = p.vars(n, at, EnvPlaintext) },
		"parameter-store":       func(n *yaml.Node, at string) { e.ParameterStore = p.vars(n, at, EnvParameterStore) },
		"secrets-manager":       func(n *yaml.Node, at string) { e.SecretsManager = p.vars(n, at, EnvSecretsManager) },
		"exported-variables":    func(n *yaml.Node, at string) { e.ExportedVariables = p.strs(n, at) },
		"git-credential-helper": func(n *yaml.Node, at string) { e.GitCredentialHelper = p.yesNo(n, at) },
	})
}

func (p *parser) phases(n *yaml.Node, at string, s *Spec) {
	fields := map[string]func(*yaml.Node, string){}
	for _, ph := range []Phase{PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild} {
		ph := ph
		fields[ph.specKey()] = func(n *yaml.Node, at string) {
			sp := &SpecPhase{}
			s.Phases[ph] = sp
			p.mapping(n, at, map[string]func(*yaml.Node, string){
				"run-as": func(n *yaml.Node, at string) { sp.RunAs = p.str(n, at) },
				"on-failure": func(n *yaml.Node, at string) {
					sp.OnFailure = p.str(n, at)
					if sp.OnFailure != "" && sp.OnFailure != OnFailureAbort && sp.OnFailure != OnFailureContinue {
						if _, ok, err := ParseRetry(sp.OnFailure); !ok {
							p.badNode(n, at, "%q is not one of ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex, RETRY-count-regex", sp.OnFailure)
						} else if err != nil {
							p.badNode(n, at, "%v", err)
						}
					}
				},
				"runtime-versions": func(n *yaml.Node, at string) { sp.RuntimeVersions = p.vars(n, at, EnvPlaintext) },
				"commands":         func(n *yaml.Node, at string) { sp.Commands = p.strs(n, at) },
				"finally":          func(n *yaml.Node, at string) { sp.Finally = p.strs(n, at) },
			})
		}
	}
	p.mapping(n, at, fields)
}

func (p *parser) report(name string, n *yaml.Node, at string) SpecReport {
	r := SpecReport{Name: name, FileFormat: "JUNITXML"}
	p.mapping(n, at, map[string]func(*yaml.Node, string){
		"files":          func(n *yaml.Node, at string) { r.Files = p.strs(n, at) },
		"base-directory": func(n *yaml.Node, at string) { r.BaseDirectory = p.str(n, at) },
		"discard-paths":  func(n *yaml.Node, at string) { r.DiscardPaths = p.yesNo(n, at) },
		"file-format":    func(n *yaml.Node, at string) { r.FileFormat = strings.ToUpper(p.str(n, at)) },
	})
	return r
}

func (p *parser) artifactSet(n *yaml.Node, at string, set *SpecArtifactSet, extra map[string]func(*yaml.Node, string)) {
	fields := map[string]func(*yaml.Node, string){
		"files":           func(n *yaml.Node, at string) { set.Files = p.strs(n, at) },
		"name":            func(n *yaml.Node, at string) { set.Name = p.str(n, at) },
		"discard-paths":   func(n *yaml.Node, at string) { set.DiscardPaths = p.yesNo(n, at) },
		"base-directory":  func(n *yaml.Node, at string) { set.BaseDirectory = p.str(n, at) },
		"exclude-paths":   func(n *yaml.Node, at string) { set.ExcludePaths = p.strs(n, at) },
		"enable-symlinks": func(n *yaml.Node, at string) { set.EnableSymlinks = p.yesNo(n, at) },
		"s3-prefix":       func(n *yaml.Node, at string) { set.S3Prefix = p.str(n, at) },
	}
	for k, f := range extra {
		fields[k] = f
	}
	p.mapping(n, at, fields)
}

func (p *parser) artifacts(n *yaml.Node, at string) *SpecArtifacts {
	a := &SpecArtifacts{}
	p.artifactSet(n, at, &a.SpecArtifactSet, map[string]func(*yaml.Node, string){
		"secondary-artifacts": func(n *yaml.Node, at string) {
			p.each(n, at, func(id string, n *yaml.Node, at string) {
				set := SpecArtifactSet{Identifier: id}
				p.artifactSet(n, at, &set, nil)
				a.Secondary = append(a.Secondary, set)
			})
		},
	})
	return a
}
