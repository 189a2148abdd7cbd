package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The constraints the botocore model puts on a PipelineDeclaration
// (lengths, patterns, enums, ranges), checked before the structure and
// reported the way AWS reports them: every violation, each naming its
// member by path ("pipeline.stages.2.member.actions.1.member.name").

var (
	pipelineNameRE = regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`)
	roleArnRE      = regexp.MustCompile(`^arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*$`)
	providerRE     = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)
	artifactNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-]+$`)
	envNameRE      = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	bucketRE       = regexp.MustCompile(`^[a-zA-Z0-9\-\.]+$`)
)

// modelErrors collects ValidationException messages in botocore's words.
type modelErrors []string

func (m *modelErrors) add(path, value, constraint string) {
	if value == "" {
		*m = append(*m, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", path, constraint))
		return
	}
	*m = append(*m, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint))
}

func (m *modelErrors) null(path string) {
	*m = append(*m, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
}

func (m *modelErrors) str(path, v string, min, max int, re *regexp.Regexp, pattern string) {
	n := utf8.RuneCountInString(v)
	if n < min || (max > 0 && n > max) {
		m.add(path, v, fmt.Sprintf("Member must have length between %d and %d", min, max))
		return
	}
	if re != nil && !re.MatchString(v) {
		m.add(path, v, "Member must satisfy regular expression pattern: "+pattern)
	}
}

func (m *modelErrors) enum(path, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		m.add(path, v, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
	}
}

func (m *modelErrors) count(path string, n, min, max int) {
	if n < min || n > max {
		*m = append(*m, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length between %d and %d", path, min, max))
	}
}

func (m *modelErrors) err() error {
	switch len(*m) {
	case 0:
		return nil
	case 1:
		return Errorf(ErrValidation, "1 validation error detected: %s", (*m)[0])
	}
	return Errorf(ErrValidation, "%d validation errors detected: %s", len(*m), strings.Join(*m, "; "))
}

// StagePath returns the model path of stage i (0-based).
func StagePath(i int) string { return fmt.Sprintf("pipeline.stages.%d.member", i+1) }

// ActionPath returns the model path of action j of stage i (0-based).
func ActionPath(i, j int) string { return fmt.Sprintf("%s.actions.%d.member", StagePath(i), j+1) }

func validateModel(d *Declaration) error {
	var m modelErrors
	if d.Name == "" {
		m.null("pipeline.name")
	} else {
		m.str("pipeline.name", d.Name, 1, 100, pipelineNameRE, `[A-Za-z0-9.@\-_]+`)
	}
	if d.RoleArn == "" {
		m.null("pipeline.roleArn")
	} else {
		m.str("pipeline.roleArn", d.RoleArn, 0, 1024, roleArnRE, `arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*`)
	}
	if d.Stages == nil {
		m.null("pipeline.stages")
	}
	if d.Version < 0 {
		m.add("pipeline.version", fmt.Sprint(d.Version), "Member must have value greater than or equal to 1")
	}
	m.enum("pipeline.executionMode", d.ExecutionMode, ModeQueued, ModeSuperseded, ModeParallel)
	m.enum("pipeline.pipelineType", d.PipelineType, TypeV1, TypeV2)
	if d.ArtifactStore != nil {
		m.enum("pipeline.artifactStore.type", d.ArtifactStore.Type, "S3")
		m.str("pipeline.artifactStore.location", d.ArtifactStore.Location, 3, 63, bucketRE, `[a-zA-Z0-9\-\.]+`)
	}
	m.count("pipeline.variables", len(d.Variables), 0, 50)
	for i, v := range d.Variables {
		p := fmt.Sprintf("pipeline.variables.%d.member", i+1)
		m.str(p+".name", v.Name, 1, 128, nameRE, `[A-Za-z0-9@\-_]+`)
		if v.DefaultValue != "" {
			m.str(p+".defaultValue", v.DefaultValue, 1, 1000, nil, "")
		}
		m.str(p+".description", v.Description, 0, 200, nil, "")
	}
	m.count("pipeline.triggers", len(d.Triggers), 0, 50)
	for i, s := range d.Stages {
		sp := StagePath(i)
		m.str(sp+".name", s.Name, 1, 100, pipelineNameRE, `[A-Za-z0-9.@\-_]+`)
		if s.Actions == nil {
			m.null(sp + ".actions")
		}
		for j, a := range s.Actions {
			validateActionModel(&m, ActionPath(i, j), &a)
		}
	}
	return m.err()
}

func validateActionModel(m *modelErrors, ap string, a *Action) {
	m.str(ap+".name", a.Name, 1, 100, pipelineNameRE, `[A-Za-z0-9.@\-_]+`)
	t := a.ActionTypeID
	m.enum(ap+".actionTypeId.category", t.Category, CategorySource, CategoryBuild, CategoryDeploy, CategoryTest, CategoryInvoke, CategoryApproval, CategoryCompute)
	m.enum(ap+".actionTypeId.owner", t.Owner, "AWS", "ThirdParty", "Custom")
	m.str(ap+".actionTypeId.provider", t.Provider, 1, 35, providerRE, `[0-9A-Za-z_-]+`)
	m.str(ap+".actionTypeId.version", t.Version, 1, 9, providerRE, `[0-9A-Za-z_-]+`)
	if a.RunOrder < 0 || a.RunOrder > 999 {
		m.add(ap+".runOrder", fmt.Sprint(a.RunOrder), "Member must have value between 1 and 999")
	}
	for _, k := range sortedKeys(a.Configuration) {
		m.str(ap+".configuration.key", k, 1, 50, nil, "")
		m.str(ap+".configuration."+k, a.Configuration[k], 1, 1000, nil, "")
	}
	if a.Commands != nil {
		m.count(ap+".commands", len(a.Commands), 1, 50)
		for k, c := range a.Commands {
			m.str(fmt.Sprintf("%s.commands.%d.member", ap, k+1), c, 1, 1000, nil, "")
		}
	}
	for k, o := range a.OutputArtifacts {
		p := fmt.Sprintf("%s.outputArtifacts.%d.member", ap, k+1)
		m.str(p+".name", o.Name, 1, 100, artifactNameRE, `[a-zA-Z0-9_\-]+`)
		if o.Files != nil {
			m.count(p+".files", len(o.Files), 1, 10)
			for f, g := range o.Files {
				m.str(fmt.Sprintf("%s.files.%d.member", p, f+1), g, 1, 128, nil, "")
			}
		}
	}
	for k, in := range a.InputArtifacts {
		m.str(fmt.Sprintf("%s.inputArtifacts.%d.member.name", ap, k+1), in.Name, 1, 100, artifactNameRE, `[a-zA-Z0-9_\-]+`)
	}
	if a.OutputVariables != nil {
		m.count(ap+".outputVariables", len(a.OutputVariables), 1, 15)
		for k, v := range a.OutputVariables {
			m.str(fmt.Sprintf("%s.outputVariables.%d.member", ap, k+1), v, 1, 128, nameRE, `[A-Za-z0-9@\-_]+`)
		}
	}
	if a.RoleArn != "" {
		m.str(ap+".roleArn", a.RoleArn, 0, 1024, roleArnRE, `arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*`)
	}
	if a.Region != "" {
		m.str(ap+".region", a.Region, 4, 30, nil, "")
	}
	if a.Namespace != "" {
		m.str(ap+".namespace", a.Namespace, 1, 100, nameRE, `[A-Za-z0-9@\-_]+`)
	}
	if a.TimeoutInMinutes != 0 && (a.TimeoutInMinutes < 5 || a.TimeoutInMinutes > 86400) {
		m.add(ap+".timeoutInMinutes", fmt.Sprint(a.TimeoutInMinutes), "Member must have value between 5 and 86400")
	}
	if a.EnvironmentVariables != nil {
		m.count(ap+".environmentVariables", len(a.EnvironmentVariables), 1, 10)
		for k, e := range a.EnvironmentVariables {
			p := fmt.Sprintf("%s.environmentVariables.%d.member", ap, k+1)
			m.str(p+".name", e.Name, 1, 128, envNameRE, `[A-Za-z0-9_]+`)
			m.str(p+".value", e.Value, 1, 2000, nil, "")
			if e.Type != "" {
				m.enum(p+".type", e.Type, "PLAINTEXT", "SECRETS_MANAGER")
			}
		}
	}
}
