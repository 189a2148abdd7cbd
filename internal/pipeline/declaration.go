package pipeline

import (
	"encoding/json"
	"slices"
)

// Declaration is a pipeline's structure, the PipelineDeclaration shape of
// the CodePipeline API (botocore codepipeline 2015-07-09). It is what
// CreatePipeline takes, what GetPipeline returns and what the engine
// stores, one copy per version.
type Declaration struct {
	Name           string                   `json:"name"`
	RoleArn        string                   `json:"roleArn"`
	ArtifactStore  *ArtifactStore           `json:"artifactStore,omitempty"`
	ArtifactStores map[string]ArtifactStore `json:"artifactStores,omitempty"`
	Stages         []Stage                  `json:"stages"`
	Version        int                      `json:"version,omitempty"`
	ExecutionMode  string                   `json:"executionMode,omitempty"`
	PipelineType   string                   `json:"pipelineType,omitempty"`
	Variables      []VariableDeclaration    `json:"variables,omitempty"`
	// Triggers (git push and pull-request filters) are kept verbatim; the
	// package-event triggers of this server are Source actions instead.
	Triggers []json.RawMessage `json:"triggers,omitempty"`
}

// ArtifactStore is where AWS keeps artifacts (an S3 bucket). This server
// keeps them in its blob store; the value is stored and returned as given.
type ArtifactStore struct {
	Type          string          `json:"type"`
	Location      string          `json:"location"`
	EncryptionKey json.RawMessage `json:"encryptionKey,omitempty"`
}

// Stage is a StageDeclaration. The V2 conditions (beforeEntry, onSuccess,
// onFailure) and blockers are refused by Validate rather than ignored.
type Stage struct {
	Name        string          `json:"name"`
	Blockers    json.RawMessage `json:"blockers,omitempty"`
	Actions     []Action        `json:"actions"`
	OnFailure   json.RawMessage `json:"onFailure,omitempty"`
	OnSuccess   json.RawMessage `json:"onSuccess,omitempty"`
	BeforeEntry json.RawMessage `json:"beforeEntry,omitempty"`
}

// Action is an ActionDeclaration.
type Action struct {
	Name                 string                `json:"name"`
	ActionTypeID         ActionTypeID          `json:"actionTypeId"`
	RunOrder             int                   `json:"runOrder,omitempty"`
	Configuration        map[string]string     `json:"configuration,omitempty"`
	Commands             []string              `json:"commands,omitempty"`
	OutputArtifacts      []OutputArtifact      `json:"outputArtifacts"`
	InputArtifacts       []InputArtifact       `json:"inputArtifacts"`
	OutputVariables      []string              `json:"outputVariables,omitempty"`
	RoleArn              string                `json:"roleArn,omitempty"`
	Region               string                `json:"region,omitempty"`
	Namespace            string                `json:"namespace,omitempty"`
	TimeoutInMinutes     int                   `json:"timeoutInMinutes,omitempty"`
	EnvironmentVariables []EnvironmentVariable `json:"environmentVariables,omitempty"`
}

// ActionTypeID names an action type: category, owner, provider, version.
type ActionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

// OutputArtifact names an artifact an action produces; Files (for the
// Commands provider) are the globs of the workspace it keeps.
type OutputArtifact struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitempty"`
}

// InputArtifact names an artifact an action consumes.
type InputArtifact struct {
	Name string `json:"name"`
}

// EnvironmentVariable is an environment variable of a Commands action.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"` // PLAINTEXT (default) or SECRETS_MANAGER
}

// VariableDeclaration declares a pipeline-level variable (V2), referenced
// as #{variables.Name} and overridable at StartPipelineExecution.
type VariableDeclaration struct {
	Name         string `json:"name"`
	DefaultValue string `json:"defaultValue,omitempty"`
	Description  string `json:"description,omitempty"`
}

// Action categories.
const (
	CategorySource   = "Source"
	CategoryBuild    = "Build"
	CategoryTest     = "Test"
	CategoryDeploy   = "Deploy"
	CategoryApproval = "Approval"
	CategoryInvoke   = "Invoke"
	CategoryCompute  = "Compute"
)

// Execution modes.
const (
	ModeSuperseded = "SUPERSEDED"
	ModeQueued     = "QUEUED"
	ModeParallel   = "PARALLEL"
)

// Pipeline types.
const (
	TypeV1 = "V1"
	TypeV2 = "V2"
)

// Normalize fills the defaults AWS fills: runOrder 1, execution mode
// SUPERSEDED, pipeline type V1, empty artifact lists. It returns a copy.
func (d Declaration) Normalize() Declaration {
	d.Stages = slices.Clone(d.Stages)
	for i := range d.Stages {
		s := &d.Stages[i]
		s.Actions = slices.Clone(s.Actions)
		for j := range s.Actions {
			a := &s.Actions[j]
			if a.RunOrder == 0 {
				a.RunOrder = 1
			}
			if a.InputArtifacts == nil {
				a.InputArtifacts = []InputArtifact{}
			}
			if a.OutputArtifacts == nil {
				a.OutputArtifacts = []OutputArtifact{}
			}
		}
	}
	if d.ExecutionMode == "" {
		d.ExecutionMode = ModeSuperseded
	}
	if d.PipelineType == "" {
		d.PipelineType = TypeV1
	}
	return d
}

// Stage returns the stage named name and its index, or -1.
func (d *Declaration) Stage(name string) (*Stage, int) {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i], i
		}
	}
	return nil, -1
}

// Action returns the action named name of the stage, or nil.
func (s *Stage) Action(name string) *Action {
	for i := range s.Actions {
		if s.Actions[i].Name == name {
			return &s.Actions[i]
		}
	}
	return nil
}

// RunOrders returns the distinct runOrders of the stage's actions in
// increasing order: the groups the stage runs one after another.
func (s *Stage) RunOrders() []int {
	var out []int
	for _, a := range s.Actions {
		r := a.RunOrder
		if r == 0 {
			r = 1
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// Variable returns the declaration of the pipeline variable name.
func (d *Declaration) Variable(name string) (VariableDeclaration, bool) {
	for _, v := range d.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return VariableDeclaration{}, false
}
