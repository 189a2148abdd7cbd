package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// ActionType is what an action provider accepts; the engine registers one
// per provider and Validate checks declarations against them.
type ActionType struct {
	ID ActionTypeID
	// Input and output artifact counts, inclusive.
	MinInputs, MaxInputs, MinOutputs, MaxOutputs int
	// Required configuration keys; Optional ones are also accepted, any
	// other key is refused.
	Required, Optional []string
	// Commands is set for providers that take the commands,
	// outputVariables and environmentVariables fields (Commands).
	Commands bool
	// OutputVariables are the variables the action emits into its
	// namespace whatever its configuration (nil when they depend on it).
	OutputVariables []string
	// SecretKeys are configuration keys whose values are secrets: reads
	// show them as "****", and an update that sends "****" keeps the
	// stored value.
	SecretKeys []string
	// Check, when set, validates provider-specific values; its error
	// message should name the configuration key.
	Check func(a *Action) error
}

// Catalog returns the action type registered for id.
type Catalog func(id ActionTypeID) (ActionType, bool)

// Validate checks a declaration the way CreatePipeline and UpdatePipeline
// do: first the constraints of the botocore model (all reported together
// in one ValidationException, each naming the member by its path, e.g.
// 'pipeline.stages.2.member.actions.1.member.name'), then the structure
// (InvalidStructureException, InvalidStageDeclarationException or
// InvalidActionDeclarationException for the first problem found). d should
// be normalized.
func Validate(d *Declaration, types Catalog) error {
	if err := validateModel(d); err != nil {
		return err
	}
	return validateStructure(d, types)
}

// producer records where an artifact or namespace comes from.
type producer struct {
	stage, runOrder int
	path            string
}

func validateStructure(d *Declaration, types Catalog) error {
	if len(d.Stages) < 2 {
		return Errorf(ErrInvalidStructure, "Pipeline has only %d stage(s). There should be a minimum of 2 stages in a pipeline", len(d.Stages))
	}
	if d.PipelineType != TypeV2 {
		if d.ExecutionMode != ModeSuperseded {
			return Errorf(ErrValidation, "pipeline.executionMode: execution mode %s requires pipelineType V2", d.ExecutionMode)
		}
		if len(d.Variables) > 0 {
			return Errorf(ErrValidation, "pipeline.variables: pipeline-level variables require pipelineType V2")
		}
	}
	vars := map[string]bool{}
	for i, v := range d.Variables {
		if vars[v.Name] {
			return Errorf(ErrValidation, "pipeline.variables.%d.member.name: the variable name '%s' is declared more than once", i+1, v.Name)
		}
		vars[v.Name] = true
	}
	if len(d.Triggers) > 0 {
		return Errorf(ErrValidation, "pipeline.triggers: git triggers are not supported by this server; a CodeArtifact Source action starts the pipeline on package events")
	}
	stageNames := map[string]int{}
	outputs := map[string]producer{}    // artifact name -> producer
	namespaces := map[string]producer{} // namespace -> producer
	for i := range d.Stages {
		s := &d.Stages[i]
		sp := StagePath(i)
		if j, dup := stageNames[s.Name]; dup {
			return Errorf(ErrInvalidStructure, "%s.name: stage name '%s' is not unique; %s has the same name", sp, s.Name, StagePath(j))
		}
		stageNames[s.Name] = i
		for _, f := range []struct {
			name string
			raw  []byte
		}{{"blockers", s.Blockers}, {"beforeEntry", s.BeforeEntry}, {"onSuccess", s.OnSuccess}, {"onFailure", s.OnFailure}} {
			if len(f.raw) > 0 && string(f.raw) != "null" {
				return Errorf(ErrInvalidStageDeclaration, "%s.%s: stage conditions, blockers and automatic retry are not supported by this server", sp, f.name)
			}
		}
		if len(s.Actions) == 0 {
			return Errorf(ErrInvalidStageDeclaration, "%s.actions: stage '%s' must have at least one action", sp, s.Name)
		}
		actionNames := map[string]int{}
		for j := range s.Actions {
			a := &s.Actions[j]
			ap := ActionPath(i, j)
			if k, dup := actionNames[a.Name]; dup {
				return Errorf(ErrInvalidStructure, "%s.name: action name '%s' is not unique in stage '%s'; %s has the same name", ap, a.Name, s.Name, ActionPath(i, k))
			}
			actionNames[a.Name] = j
			isSource := a.ActionTypeID.Category == CategorySource
			if i == 0 && !isSource {
				return Errorf(ErrInvalidStructure, "%s.actionTypeId.category: the first stage '%s' may contain only Source actions; action '%s' is a %s action", ap, s.Name, a.Name, a.ActionTypeID.Category)
			}
			if i > 0 && isSource {
				return Errorf(ErrInvalidStructure, "%s.actionTypeId.category: Source actions may appear only in the first stage; action '%s' is in stage '%s'", ap, a.Name, s.Name)
			}
			t, ok := types(a.ActionTypeID)
			if !ok {
				id := a.ActionTypeID
				return Errorf(ErrInvalidActionDeclaration, "%s.actionTypeId: ActionType (Category: '%s', Provider: '%s', Owner: '%s', Version: '%s') in action '%s' is not available",
					ap, id.Category, id.Provider, id.Owner, id.Version, a.Name)
			}
			if err := checkAction(a, ap, &t); err != nil {
				return err
			}
		}
		// The outputs and namespaces of this stage are visible to its
		// actions of a higher runOrder and to later stages.
		for j := range s.Actions {
			a := &s.Actions[j]
			ap := ActionPath(i, j)
			for k, o := range a.OutputArtifacts {
				path := fmt.Sprintf("%s.outputArtifacts.%d.member.name", ap, k+1)
				if p, dup := outputs[o.Name]; dup {
					return Errorf(ErrInvalidStructure, "%s: output artifact name '%s' is not unique; %s produces an artifact of the same name", path, o.Name, p.path)
				}
				outputs[o.Name] = producer{i, a.RunOrder, ap}
			}
			if a.Namespace != "" {
				if p, dup := namespaces[a.Namespace]; dup {
					return Errorf(ErrInvalidStructure, "%s.namespace: namespace '%s' is not unique; %s declares it too", ap, a.Namespace, p.path)
				}
				namespaces[a.Namespace] = producer{i, a.RunOrder, ap}
			}
		}
		for j := range s.Actions {
			a := &s.Actions[j]
			ap := ActionPath(i, j)
			for k, in := range a.InputArtifacts {
				p, ok := outputs[in.Name]
				path := fmt.Sprintf("%s.inputArtifacts.%d.member.name", ap, k+1)
				switch {
				case !ok && producedLater(d, i, in.Name):
					return Errorf(ErrInvalidStructure, "%s: input artifact '%s' of action '%s' is produced by a later stage (a cycle)", path, in.Name, a.Name)
				case !ok:
					return Errorf(ErrInvalidStructure, "%s: input artifact '%s' of action '%s' is not the output artifact of any preceding action", path, in.Name, a.Name)
				case p.stage == i && p.runOrder >= a.RunOrder:
					return Errorf(ErrInvalidStructure, "%s: input artifact '%s' of action '%s' is produced by %s, which does not run before it (runOrder %d, this action %d)", path, in.Name, a.Name, p.path, p.runOrder, a.RunOrder)
				}
			}
			if err := checkRefs(d, a, ap, i, vars, namespaces); err != nil {
				return err
			}
		}
	}
	// Namespaces must not reuse artifact names.
	for ns, p := range namespaces {
		if _, clash := outputs[ns]; clash {
			return Errorf(ErrInvalidStructure, "%s.namespace: namespace '%s' is also the name of an output artifact", p.path, ns)
		}
	}
	return nil
}

// producedLater reports whether an action of a stage after i outputs
// name.
func producedLater(d *Declaration, i int, name string) bool {
	for _, st := range d.Stages[i+1:] {
		for _, a := range st.Actions {
			for _, o := range a.OutputArtifacts {
				if o.Name == name {
					return true
				}
			}
		}
	}
	return false
}

func checkAction(a *Action, ap string, t *ActionType) error {
	bad := func(format string, args ...any) error {
		return Errorf(ErrInvalidActionDeclaration, ap+"."+format, args...)
	}
	id := t.ID
	if n := len(a.InputArtifacts); n < t.MinInputs || n > t.MaxInputs {
		return bad("inputArtifacts: action '%s' has %d input artifact(s); provider %s (%s) takes %d to %d", a.Name, n, id.Provider, id.Category, t.MinInputs, t.MaxInputs)
	}
	if n := len(a.OutputArtifacts); n < t.MinOutputs || n > t.MaxOutputs {
		return bad("outputArtifacts: action '%s' has %d output artifact(s); provider %s (%s) gives %d to %d", a.Name, n, id.Provider, id.Category, t.MinOutputs, t.MaxOutputs)
	}
	for _, k := range t.Required {
		if a.Configuration[k] == "" {
			return bad("configuration: action '%s' is missing the required configuration key '%s'", a.Name, k)
		}
	}
	for _, k := range sortedKeys(a.Configuration) {
		if !slices.Contains(t.Required, k) && !slices.Contains(t.Optional, k) {
			known := append(slices.Clone(t.Required), t.Optional...)
			return bad("configuration.%s: '%s' is not a configuration key of provider %s (known keys: %s)", k, k, id.Provider, strings.Join(known, ", "))
		}
	}
	if t.Commands {
		if len(a.Commands) == 0 {
			return bad("commands: action '%s' of provider %s needs at least one command", a.Name, id.Provider)
		}
	} else {
		switch {
		case a.Commands != nil:
			return bad("commands: only the Commands provider takes commands")
		case a.OutputVariables != nil:
			return bad("outputVariables: only the Commands provider takes outputVariables")
		case a.EnvironmentVariables != nil:
			return bad("environmentVariables: only the Commands provider takes environmentVariables")
		}
		for k, o := range a.OutputArtifacts {
			if o.Files != nil {
				return bad("outputArtifacts.%d.member.files: only the Commands provider takes files", k+1)
			}
		}
	}
	if a.Namespace == NamespaceCodePipeline || a.Namespace == NamespaceVariables {
		return bad("namespace: '%s' is a reserved namespace", a.Namespace)
	}
	if t.Check != nil {
		if err := t.Check(a); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// checkRefs validates the variable references of an action: the reserved
// namespace, declared pipeline variables, and namespaces of actions that
// run before this one.
func checkRefs(d *Declaration, a *Action, ap string, stage int, vars map[string]bool, namespaces map[string]producer) error {
	check := func(field, s string) error {
		refs, err := Refs(s)
		if err != nil {
			return Errorf(ErrInvalidActionDeclaration, "%s.%s: %v", ap, field, err)
		}
		for _, r := range refs {
			switch r.Namespace {
			case NamespaceCodePipeline:
				if r.Name != "PipelineExecutionId" {
					return Errorf(ErrInvalidActionDeclaration, "%s.%s: %s: the codepipeline namespace has only PipelineExecutionId", ap, field, r)
				}
			case NamespaceVariables:
				if !vars[r.Name] {
					return Errorf(ErrValidation, "%s.%s: %s refers to a pipeline variable that pipeline.variables does not declare", ap, field, r)
				}
			default:
				p, ok := namespaces[r.Namespace]
				if !ok {
					if ownsNamespace(d, r.Namespace) {
						return Errorf(ErrInvalidActionDeclaration, "%s.%s: %s refers to namespace '%s' of an action that does not run before action '%s'", ap, field, r, r.Namespace, a.Name)
					}
					return Errorf(ErrInvalidActionDeclaration, "%s.%s: %s refers to namespace '%s', which no action declares", ap, field, r, r.Namespace)
				}
				if p.stage == stage && p.runOrder >= a.RunOrder {
					return Errorf(ErrInvalidActionDeclaration, "%s.%s: %s refers to namespace '%s' of %s, which does not run before action '%s'", ap, field, r, r.Namespace, p.path, a.Name)
				}
			}
		}
		return nil
	}
	for _, k := range sortedKeys(a.Configuration) {
		if err := check("configuration."+k, a.Configuration[k]); err != nil {
			return err
		}
	}
	for k, c := range a.Commands {
		if err := check(fmt.Sprintf("commands.%d.member", k+1), c); err != nil {
			return err
		}
	}
	for k, e := range a.EnvironmentVariables {
		if err := check(fmt.Sprintf("environmentVariables.%d.member.value", k+1), e.Value); err != nil {
			return err
		}
	}
	return nil
}

func ownsNamespace(d *Declaration, ns string) bool {
	for _, s := range d.Stages {
		for _, a := range s.Actions {
			if a.Namespace == ns {
				return true
			}
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
