package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// AppSpec is an appspec.yml for EC2/on-premises deployments:
// https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure.html
//
//	version: 0.0                     # the only version
//	os: linux
//	files: [{source, destination}]   # source relative to the bundle ("/" = all of it), destination absolute
//	file_exists_behavior: DISALLOW | OVERWRITE | RETAIN
//	permissions: [{object, pattern, except, owner, group, mode, type}]
//	hooks: {ApplicationStop: [{location, timeout, runas}], ...}
//
// Unknown keys are rejected with their path.
type AppSpec struct {
	Version            string              `yaml:"version"`
	OS                 string              `yaml:"os"`
	Files              []FileMapping       `yaml:"files"`
	FileExistsBehavior string              `yaml:"file_exists_behavior"`
	Permissions        []Permission        `yaml:"permissions"`
	Hooks              map[string][]Script `yaml:"hooks"`
}

// FileMapping copies Source (a file or directory of the bundle) to
// Destination (an absolute path, under the instance's root).
type FileMapping struct {
	Source      string `yaml:"source"`
	Destination string `yaml:"destination"`
}

// Permission sets modes on installed files under Object.
type Permission struct {
	Object  string   `yaml:"object"`
	Pattern string   `yaml:"pattern"`
	Except  []string `yaml:"except"`
	Owner   string   `yaml:"owner"`
	Group   string   `yaml:"group"`
	Mode    string   `yaml:"mode"`
	Type    []string `yaml:"type"`
	ACLs    []string `yaml:"acls"`
	Context *struct {
		User  string `yaml:"user"`
		Type  string `yaml:"type"`
		Range string `yaml:"range"`
	} `yaml:"context"`
}

// Script is one hook script.
type Script struct {
	Location string `yaml:"location"`
	Timeout  int    `yaml:"timeout"`
	RunAs    string `yaml:"runas"`
}

// MaxHookTimeout is the default and largest timeout, in seconds, of one
// lifecycle event's scripts together.
const MaxHookTimeout = 3600

// ScriptableEvents are the lifecycle events an appspec may hook, in
// CodeDeploy's in-place order; the agent runs the reserved ones.
var ScriptableEvents = []string{"BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop", "BeforeInstall", "AfterInstall",
	"ApplicationStart", "ValidateService", "BeforeAllowTraffic", "AfterAllowTraffic"}

// ParseAppSpec parses and validates an appspec.yml, reporting every
// problem it finds together.
func ParseAppSpec(b []byte) (*AppSpec, error) {
	if len(b) > 1<<20 {
		return nil, errorf(ErrInvalid, "Revision", "appspec: larger than 1 MiB")
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var spec AppSpec
	if err := dec.Decode(&spec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(ErrInvalid, "Revision", "appspec: the file is empty")
		}
		return nil, errorf(ErrInvalid, "Revision", "appspec: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

func (s *AppSpec) validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if s.Version != "0.0" {
		bad("version must be 0.0, not %q", s.Version)
	}
	if s.OS != "linux" {
		bad("os must be linux, not %q", s.OS)
	}
	switch s.FileExistsBehavior {
	case "", "DISALLOW", "OVERWRITE", "RETAIN":
	default:
		bad("file_exists_behavior must be DISALLOW, OVERWRITE or RETAIN, not %q", s.FileExistsBehavior)
	}
	for i, f := range s.Files {
		if f.Source == "" {
			bad("files[%d].source is required", i)
		} else if !inside(f.Source) {
			bad("files[%d].source %q leaves the bundle", i, f.Source)
		}
		if !strings.HasPrefix(f.Destination, "/") {
			bad("files[%d].destination %q must be an absolute path", i, f.Destination)
		} else if strings.Contains("/"+f.Destination+"/", "/../") {
			bad("files[%d].destination %q must not contain ..", i, f.Destination)
		}
	}
	for i, p := range s.Permissions {
		if p.Object == "" || !strings.HasPrefix(p.Object, "/") || strings.Contains(p.Object+"/", "/../") {
			bad("permissions[%d].object %q must be an absolute path without ..", i, p.Object)
		}
		if p.Mode != "" {
			if _, err := strconv.ParseUint(p.Mode, 8, 32); err != nil || len(p.Mode) > 4 {
				bad("permissions[%d].mode %q is not an octal mode", i, p.Mode)
			}
		}
		for _, t := range p.Type {
			if t != "file" && t != "directory" {
				bad("permissions[%d].type %q must be file or directory", i, t)
			}
		}
	}
	for ev, scripts := range s.Hooks {
		if !scriptable(ev) {
			bad("hooks.%s is not a lifecycle event an appspec can hook", ev)
			continue
		}
		total := 0
		for i, sc := range scripts {
			switch {
			case sc.Location == "":
				bad("hooks.%s[%d].location is required", ev, i)
			case strings.HasPrefix(sc.Location, "/") || !inside(sc.Location):
				bad("hooks.%s[%d].location %q must be a path inside the bundle", ev, i, sc.Location)
			}
			if sc.Timeout < 0 || sc.Timeout > MaxHookTimeout {
				bad("hooks.%s[%d].timeout %d must be between 1 and %d seconds", ev, i, sc.Timeout, MaxHookTimeout)
			}
			total += sc.Timeout
		}
		if total > MaxHookTimeout {
			bad("hooks.%s: the timeouts add up to %d s, more than %d", ev, total, MaxHookTimeout)
		}
	}
	if len(probs) > 0 {
		return errorf(ErrInvalid, "Revision", "appspec: %s", strings.Join(probs, "; "))
	}
	return nil
}

func scriptable(ev string) bool {
	for _, e := range ScriptableEvents {
		if e == ev {
			return true
		}
	}
	return false
}

// inside reports whether the bundle-relative path p stays in the bundle
// ("/" and "" mean the bundle itself).
func inside(p string) bool {
	c := path.Clean("/" + p)
	return !strings.Contains(p, "\x00") && strings.HasPrefix(c, "/") && !strings.Contains("/"+p+"/", "/../")
}
