package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
)

// catalog is a small action-type catalog like the engine's.
func catalog(id ActionTypeID) (ActionType, bool) {
	types := map[string]ActionType{
		"Source/Local":     {MinOutputs: 1, MaxOutputs: 1, Required: []string{"Path"}},
		"Invoke/Commands":  {MaxInputs: 10, MaxOutputs: 5, Commands: true},
		"Compute/Commands": {MaxInputs: 10, MaxOutputs: 5, Commands: true},
		"Build/CodeBuild":  {MinInputs: 1, MaxInputs: 5, MaxOutputs: 5, Required: []string{"ProjectName"}, Optional: []string{"PrimarySource"}},
		"Approval/Manual":  {Optional: []string{"CustomData"}},
		"Source/CodeArtifact": {MinOutputs: 1, MaxOutputs: 1, Required: []string{"DomainName", "RepositoryName", "PackageName"},
			Optional: []string{"PackageVersion", "DetectChanges"}, Check: func(a *Action) error { return CheckFilter(a.Configuration) }},
	}
	if id.Owner != "AWS" || id.Version != "1" {
		return ActionType{}, false
	}
	t, ok := types[id.Category+"/"+id.Provider]
	t.ID = id
	return t, ok
}

func aws(category, provider string) ActionTypeID {
	return ActionTypeID{Category: category, Owner: "AWS", Provider: provider, Version: "1"}
}

// valid is a pipeline that passes validation; cases break one thing.
func valid() Declaration {
	return Declaration{
		Name: "app", RoleArn: "arn:aws:iam::123456789012:role/p", PipelineType: TypeV2,
		Variables: []VariableDeclaration{{Name: "env", DefaultValue: "dev"}},
		Stages: []Stage{
			{Name: "Source", Actions: []Action{{Name: "Src", ActionTypeID: aws("Source", "Local"), Configuration: map[string]string{"Path": "/src"},
				OutputArtifacts: []OutputArtifact{{Name: "SourceArtifact"}}, Namespace: "SourceVariables"}}},
			{Name: "Build", Actions: []Action{
				{Name: "Compile", ActionTypeID: aws("Build", "CodeBuild"), Configuration: map[string]string{"ProjectName": "p-#{variables.env}"},
					InputArtifacts: []InputArtifact{{Name: "SourceArtifact"}}, OutputArtifacts: []OutputArtifact{{Name: "Bin"}}, Namespace: "BuildVariables"},
				{Name: "Test", RunOrder: 2, ActionTypeID: aws("Invoke", "Commands"), Commands: []string{"echo #{BuildVariables.X} #{codepipeline.PipelineExecutionId}"},
					InputArtifacts: []InputArtifact{{Name: "Bin"}}},
			}},
			{Name: "Approve", Actions: []Action{{Name: "Gate", ActionTypeID: aws("Approval", "Manual"),
				Configuration: map[string]string{"CustomData": "#{SourceVariables.Path}"}}}},
		},
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(ptr(valid().Normalize()), catalog); err != nil {
		t.Fatalf("the valid pipeline: %v", err)
	}
	cases := []struct {
		name       string
		mutate     func(d *Declaration)
		code       string
		mentioning []string // the message names the field and the culprit
	}{
		{"bad name", func(d *Declaration) { d.Name = "my app" }, ErrValidation, []string{"'pipeline.name'", "[A-Za-z0-9.@\\-_]+"}},
		{"missing role", func(d *Declaration) { d.RoleArn = "" }, ErrValidation, []string{"Value null at 'pipeline.roleArn'"}},
		{"bad role", func(d *Declaration) { d.RoleArn = "role" }, ErrValidation, []string{"'pipeline.roleArn'"}},
		{"bad mode", func(d *Declaration) { d.ExecutionMode = "FAST" }, ErrValidation, []string{"'pipeline.executionMode'", "QUEUED"}},
		{"two model errors", func(d *Declaration) { d.Stages[1].Name = "a b"; d.Stages[1].Actions[0].Name = "c d" },
			ErrValidation, []string{"2 validation errors", "pipeline.stages.2.member.name", "pipeline.stages.2.member.actions.1.member.name"}},
		{"bad category", func(d *Declaration) { d.Stages[2].Actions[0].ActionTypeID.Category = "Magic" }, ErrValidation,
			[]string{"pipeline.stages.3.member.actions.1.member.actionTypeId.category"}},
		{"runOrder too big", func(d *Declaration) { d.Stages[1].Actions[1].RunOrder = 1000 }, ErrValidation,
			[]string{"pipeline.stages.2.member.actions.2.member.runOrder", "between 1 and 999"}},
		{"runOrder negative", func(d *Declaration) { d.Stages[1].Actions[1].RunOrder = -1 }, ErrValidation, []string{"runOrder"}},
		{"long configuration value", func(d *Declaration) { d.Stages[2].Actions[0].Configuration["CustomData"] = strings.Repeat("x", 1001) },
			ErrValidation, []string{"configuration.CustomData", "between 1 and 1000"}},
		{"bad artifact name", func(d *Declaration) { d.Stages[0].Actions[0].OutputArtifacts[0].Name = "a.b" }, ErrValidation,
			[]string{"outputArtifacts.1.member.name"}},
		{"timeout too short", func(d *Declaration) { d.Stages[2].Actions[0].TimeoutInMinutes = 1 }, ErrValidation, []string{"timeoutInMinutes"}},
		{"one stage", func(d *Declaration) { d.Stages = d.Stages[:1] }, ErrInvalidStructure, []string{"only 1 stage(s)", "minimum of 2"}},
		{"V1 queued", func(d *Declaration) { d.PipelineType = TypeV1; d.Variables = nil; d.ExecutionMode = ModeQueued }, ErrValidation,
			[]string{"pipeline.executionMode", "V2"}},
		{"V1 variables", func(d *Declaration) { d.PipelineType = TypeV1 }, ErrValidation, []string{"pipeline.variables", "V2"}},
		{"duplicate stage", func(d *Declaration) { d.Stages[2].Name = "Build" }, ErrInvalidStructure,
			[]string{"pipeline.stages.3.member.name", "'Build'", "pipeline.stages.2.member"}},
		{"duplicate action", func(d *Declaration) { d.Stages[1].Actions[1].Name = "Compile" }, ErrInvalidStructure,
			[]string{"pipeline.stages.2.member.actions.2.member.name", "'Compile'"}},
		{"no actions", func(d *Declaration) { d.Stages[2].Actions = []Action{} }, ErrInvalidStageDeclaration,
			[]string{"pipeline.stages.3.member.actions", "at least one action"}},
		{"conditions", func(d *Declaration) { d.Stages[1].OnFailure = json.RawMessage(`{"result":"RETRY"}`) }, ErrInvalidStageDeclaration,
			[]string{"pipeline.stages.2.member.onFailure"}},
		{"non-source first", func(d *Declaration) { d.Stages[0].Actions = append(d.Stages[0].Actions, d.Stages[2].Actions[0]) }, ErrInvalidStructure,
			[]string{"pipeline.stages.1.member.actions.2.member.actionTypeId.category", "only Source actions"}},
		{"source later", func(d *Declaration) {
			s := d.Stages[0].Actions[0]
			s.Name, s.OutputArtifacts, s.Namespace = "Src2", []OutputArtifact{{Name: "Other"}}, ""
			d.Stages[2].Actions = append(d.Stages[2].Actions, s)
		}, ErrInvalidStructure, []string{"pipeline.stages.3.member.actions.2.member.actionTypeId.category", "only in the first stage"}},
		{"unknown provider", func(d *Declaration) { d.Stages[1].Actions[1].ActionTypeID.Provider = "Jenkins" }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.2.member.actions.2.member.actionTypeId", "Provider: 'Jenkins'", "'Test'"}},
		{"missing configuration", func(d *Declaration) { delete(d.Stages[1].Actions[0].Configuration, "ProjectName") }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.2.member.actions.1.member.configuration", "'ProjectName'"}},
		{"unknown configuration", func(d *Declaration) { d.Stages[1].Actions[0].Configuration["Colour"] = "red" }, ErrInvalidActionDeclaration,
			[]string{"configuration.Colour", "'Colour'", "ProjectName"}},
		{"too many inputs", func(d *Declaration) {
			d.Stages[2].Actions[0].InputArtifacts = []InputArtifact{{Name: "Bin"}}
		}, ErrInvalidActionDeclaration, []string{"pipeline.stages.3.member.actions.1.member.inputArtifacts", "0 to 0"}},
		{"no inputs", func(d *Declaration) { d.Stages[1].Actions[0].InputArtifacts = nil }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.2.member.actions.1.member.inputArtifacts", "1 to 5"}},
		{"commands elsewhere", func(d *Declaration) { d.Stages[1].Actions[0].Commands = []string{"ls"} }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.2.member.actions.1.member.commands"}},
		{"no commands", func(d *Declaration) { d.Stages[1].Actions[1].Commands = nil }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.2.member.actions.2.member.commands"}},
		{"input never produced", func(d *Declaration) { d.Stages[1].Actions[0].InputArtifacts[0].Name = "Nothing" }, ErrInvalidStructure,
			[]string{"pipeline.stages.2.member.actions.1.member.inputArtifacts.1.member.name", "'Nothing'", "not the output artifact of any preceding action"}},
		{"input from same runOrder", func(d *Declaration) { d.Stages[1].Actions[1].RunOrder = 1 }, ErrInvalidStructure,
			[]string{"pipeline.stages.2.member.actions.2.member.inputArtifacts.1.member.name", "'Bin'", "does not run before"}},
		{"input from a later stage (cycle)", func(d *Declaration) {
			d.Stages[1].Actions[0].InputArtifacts = []InputArtifact{{Name: "Late"}}
			d.Stages[2].Actions = append(d.Stages[2].Actions, Action{Name: "Mk", RunOrder: 2, ActionTypeID: aws("Invoke", "Commands"), Commands: []string{"x"},
				InputArtifacts: []InputArtifact{{Name: "Bin"}}, OutputArtifacts: []OutputArtifact{{Name: "Late"}}})
		}, ErrInvalidStructure, []string{"inputArtifacts.1.member.name", "'Late'", "cycle"}},
		{"own output as input", func(d *Declaration) {
			d.Stages[1].Actions[1].OutputArtifacts = []OutputArtifact{{Name: "Loop"}}
			d.Stages[1].Actions[1].InputArtifacts = append(d.Stages[1].Actions[1].InputArtifacts, InputArtifact{Name: "Loop"})
		}, ErrInvalidStructure, []string{"inputArtifacts.2.member.name", "'Loop'", "does not run before"}},
		{"duplicate output", func(d *Declaration) { d.Stages[1].Actions[0].OutputArtifacts[0].Name = "SourceArtifact" }, ErrInvalidStructure,
			[]string{"pipeline.stages.2.member.actions.1.member.outputArtifacts.1.member.name", "'SourceArtifact'", "not unique"}},
		{"duplicate namespace", func(d *Declaration) { d.Stages[1].Actions[0].Namespace = "SourceVariables" }, ErrInvalidStructure,
			[]string{"pipeline.stages.2.member.actions.1.member.namespace", "'SourceVariables'"}},
		{"namespace like artifact", func(d *Declaration) { d.Stages[2].Actions[0].Namespace = "Bin" }, ErrInvalidStructure,
			[]string{"namespace", "'Bin'", "output artifact"}},
		{"reserved namespace", func(d *Declaration) { d.Stages[1].Actions[0].Namespace = "codepipeline" }, ErrInvalidActionDeclaration,
			[]string{"namespace", "reserved"}},
		{"undeclared namespace", func(d *Declaration) { d.Stages[2].Actions[0].Configuration["CustomData"] = "#{Nope.X}" }, ErrInvalidActionDeclaration,
			[]string{"pipeline.stages.3.member.actions.1.member.configuration.CustomData", "'Nope'"}},
		{"namespace of a later action", func(d *Declaration) { d.Stages[1].Actions[0].Configuration["ProjectName"] = "#{BuildVariables.X}" },
			ErrInvalidActionDeclaration, []string{"configuration.ProjectName", "'BuildVariables'", "does not run before"}},
		{"undeclared pipeline variable", func(d *Declaration) { d.Stages[1].Actions[1].Commands[0] = "echo #{variables.nope}" }, ErrValidation,
			[]string{"pipeline.stages.2.member.actions.2.member.commands.1.member", "#{variables.nope}"}},
		{"bad reference", func(d *Declaration) { d.Stages[1].Actions[1].Commands[0] = "echo #{nodot}" }, ErrInvalidActionDeclaration,
			[]string{"commands.1.member", "#{nodot}"}},
		{"bad codepipeline variable", func(d *Declaration) { d.Stages[1].Actions[1].Commands[0] = "echo #{codepipeline.Foo}" }, ErrInvalidActionDeclaration,
			[]string{"#{codepipeline.Foo}"}},
		{"provider check", func(d *Declaration) {
			d.Stages[0].Actions = append(d.Stages[0].Actions, Action{Name: "Pkg", ActionTypeID: aws("Source", "CodeArtifact"),
				Configuration:   map[string]string{"DomainName": "d", "RepositoryName": "r", "PackageName": "p", "PackageVersion": ">=1 <<2"},
				OutputArtifacts: []OutputArtifact{{Name: "PkgArtifact"}}})
		}, ErrInvalidActionDeclaration, []string{"pipeline.stages.1.member.actions.2.member.configuration.PackageVersion"}},
		{"duplicate variable", func(d *Declaration) { d.Variables = append(d.Variables, VariableDeclaration{Name: "env"}) }, ErrValidation,
			[]string{"pipeline.variables.2.member.name", "'env'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := clone(t, valid())
			tc.mutate(&d)
			d = d.Normalize()
			err := Validate(&d, catalog)
			if CodeOf(err) != tc.code {
				t.Fatalf("got %v (%s), want %s", err, CodeOf(err), tc.code)
			}
			for _, m := range tc.mentioning {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not mention %q", err.Error(), m)
				}
			}
		})
	}
}

func clone(t *testing.T, d Declaration) Declaration {
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out Declaration
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestNormalize: the defaults AWS fills in.
func TestNormalize(t *testing.T) {
	d := Declaration{Stages: []Stage{{Actions: []Action{{Name: "a"}}}}}.Normalize()
	a := d.Stages[0].Actions[0]
	if d.ExecutionMode != ModeSuperseded || d.PipelineType != TypeV1 || a.RunOrder != 1 || a.InputArtifacts == nil || a.OutputArtifacts == nil {
		t.Errorf("normalized %+v", d)
	}
	b, _ := json.Marshal(a)
	if !strings.Contains(string(b), `"runOrder":1`) || !strings.Contains(string(b), `"inputArtifacts":[]`) {
		t.Errorf("wire form %s", b)
	}
}

// FuzzValidate: any JSON a client sends either validates or fails with a
// CodePipeline exception, never a panic.
func FuzzValidate(f *testing.F) {
	b, _ := json.Marshal(valid())
	f.Add(b)
	f.Add([]byte(`{"name":"x","stages":[{"name":"s","actions":[{"name":"a","runOrder":-5,"inputArtifacts":[{"name":"q"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Declaration
		if json.Unmarshal(data, &d) != nil {
			return
		}
		d = d.Normalize()
		if err := Validate(&d, catalog); err != nil && CodeOf(err) == "" {
			t.Fatalf("error without an exception code: %v", err)
		}
	})
}
