package build

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Spec is a parsed buildspec (version 0.2), in the syntax of
// https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
type Spec struct {
	Version string
	// RunAs is the top-level run-as user ("" = the server's user).
	RunAs     string
	Env       SpecEnv
	Phases    map[Phase]*SpecPhase // INSTALL, PRE_BUILD, BUILD, POST_BUILD; absent = nothing to run
	Reports   []SpecReport
	Artifacts *SpecArtifacts
	Cache     SpecCache
}

// SpecEnv is the buildspec's env section.
type SpecEnv struct {
	// Shell is "bash" (default) or "/bin/sh".
	Shell               string
	Variables           []EnvVar // in file order, all PLAINTEXT
	ParameterStore      []EnvVar // Value is a parameter name
	SecretsManager      []EnvVar // Value is a secret reference
	ExportedVariables   []string
	GitCredentialHelper bool
}

// SpecPhase is one of phases.install/pre_build/build/post_build.
type SpecPhase struct {
	RunAs           string
	OnFailure       string // "", ABORT, CONTINUE or a RETRY form (retry.go)
	RuntimeVersions []EnvVar
	Commands        []string
	Finally         []string
}

// SpecArtifactSet is the artifacts section or one of its
// secondary-artifacts.
type SpecArtifactSet struct {
	Identifier     string // the secondary-artifacts key; "" for the primary set
	Files          []string
	Name           string
	DiscardPaths   bool
	BaseDirectory  string
	ExcludePaths   []string
	EnableSymlinks bool
	S3Prefix       string
}

// SpecArtifacts is the artifacts section.
type SpecArtifacts struct {
	SpecArtifactSet
	Secondary []SpecArtifactSet // sorted by identifier
}

// SpecReport is one reports group.
type SpecReport struct {
	Name          string
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	FileFormat    string // JUNITXML
}

// SpecCache is the cache section.
type SpecCache struct {
	Paths        []string
	Key          string
	FallbackKeys []string
	Action       string
}

// SpecError lists what is wrong with a buildspec, each problem naming the
// field path (e.g. "phases.build.commands[2]") and its line. It wraps
// ErrInvalid.
type SpecError struct {
	Problems []string
}

func (e *SpecError) Error() string {
	if len(e.Problems) == 1 {
		return "buildspec: " + e.Problems[0]
	}
	return fmt.Sprintf("buildspec: %d problems: %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Unwrap returns ErrInvalid.
func (e *SpecError) Unwrap() error { return ErrInvalid }

var (
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	shellNames = []string{"bash", "/bin/bash", "sh", "/bin/sh"}
	// reportFormats are the report file formats this server reads.
	reportFormats = []string{"JUNITXML"}
)

const maxReportGroups = 5

// check validates the parsed spec beyond its shape.
func (s *Spec) check(p *parser) {
	switch s.Version {
	case "0.2":
	case "0.1":
		p.bad("version", "version 0.1 runs every command in its own shell and is not supported; use 0.2")
	case "":
		p.bad("version", "is required (use 0.2)")
	default:
		p.bad("version", "%q is not supported; use 0.2", s.Version)
	}
	if s.Env.Shell != "" && !contains(shellNames, s.Env.Shell) {
		p.bad("env.shell", "%q is not supported; use bash or /bin/sh", s.Env.Shell)
	}
	seen := map[string]string{}
	for _, group := range []struct {
		name string
		vars []EnvVar
	}{{"variables", s.Env.Variables}, {"parameter-store", s.Env.ParameterStore}, {"secrets-manager", s.Env.SecretsManager}} {
		for _, v := range group.vars {
			at := "env." + group.name + "." + v.Name
			switch {
			case !envNameRE.MatchString(v.Name):
				p.bad(at, "is not a valid environment variable name")
			case strings.HasPrefix(v.Name, "CODEBUILD_"):
				p.bad(at, "names starting with CODEBUILD_ are reserved")
			}
			if prev, ok := seen[v.Name]; ok {
				p.bad(at, "is also defined in env.%s", prev)
			}
			seen[v.Name] = group.name
			if group.name == "secrets-manager" {
				if _, err := ParseSecretRef(v.Value); err != nil {
					p.bad(at, "%v", err)
				}
			}
			if group.name == "parameter-store" && v.Value == "" {
				p.bad(at, "must name a parameter")
			}
		}
	}
	for i, v := range s.Env.ExportedVariables {
		if !envNameRE.MatchString(v) {
			p.bad(fmt.Sprintf("env.exported-variables[%d]", i), "%q is not a valid environment variable name", v)
		}
	}
	for ph, sp := range s.Phases {
		at := "phases." + ph.specKey()
		if sp.RunAs != "" && sp.RunAs != s.RunAs {
			p.bad(at+".run-as", "a user other than the top-level run-as is not supported (one shell session runs the whole build)")
		}
	}
	if len(s.Reports) > maxReportGroups {
		p.bad("reports", "has %d report groups; at most %d are allowed", len(s.Reports), maxReportGroups)
	}
	for _, r := range s.Reports {
		at := "reports." + r.Name
		if len(r.Files) == 0 {
			p.bad(at+".files", "is required")
		}
		if !contains(reportFormats, r.FileFormat) {
			p.bad(at+".file-format", "%q is not supported; this server reads %s", r.FileFormat, strings.Join(reportFormats, ", "))
		}
	}
	if a := s.Artifacts; a != nil {
		if len(a.Files) == 0 && len(a.Secondary) == 0 {
			p.bad("artifacts.files", "is required")
		}
		for _, sa := range a.Secondary {
			if len(sa.Files) == 0 {
				p.bad("artifacts.secondary-artifacts."+sa.Identifier+".files", "is required")
			}
		}
	}
	switch s.Cache.Action {
	case "", "restore", "save":
	default:
		p.bad("cache.action", "%q is not one of restore, save", s.Cache.Action)
	}
}

// SecretRef is a parsed secrets-manager reference
// "secret-id[:json-key[:version-stage[:version-id]]]".
type SecretRef struct {
	SecretID, JSONKey, VersionStage, VersionID string
}

// ParseSecretRef parses a secrets-manager reference. The secret id may be
// a full ARN (which contains colons itself).
func ParseSecretRef(ref string) (SecretRef, error) {
	var r SecretRef
	parts := strings.Split(ref, ":")
	n := 1
	if strings.HasPrefix(ref, "arn:") {
		n = 7 // arn:aws:secretsmanager:region:account:secret:name-XXXXXX
		if len(parts) < n {
			return r, fmt.Errorf("%q is not a secret ARN", ref)
		}
	}
	r.SecretID = strings.Join(parts[:n], ":")
	rest := parts[n:]
	if len(rest) > 3 {
		return r, fmt.Errorf("%q has more parts than secret-id:json-key:version-stage:version-id", ref)
	}
	fields := []*string{&r.JSONKey, &r.VersionStage, &r.VersionID}
	for i, v := range rest {
		*fields[i] = v
	}
	if r.SecretID == "" {
		return r, fmt.Errorf("%q names no secret", ref)
	}
	if r.VersionStage != "" && r.VersionID != "" {
		return r, fmt.Errorf("%q gives both a version stage and a version id; use one", ref)
	}
	return r, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
