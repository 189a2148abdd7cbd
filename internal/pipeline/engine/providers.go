package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/artifactd/registry/internal/pipeline"
)

// The built-in action providers (all owner AWS, version 1):
//
//	category          provider        inputs outputs  configuration
//	Source            CodeArtifact    0      1        DomainName RepositoryName PackageName; PackageFormat PackageNamespace PackageVersion DetectChanges
//	Source            LocalDirectory  0      1        Path
//	Source            Git             0      1        RepositoryUrl; BranchName
//	Approval          Manual          0      0        ; CustomData ExternalEntityLink NotificationArn
//	Invoke, Compute   Commands        0-10   0-5      (commands, outputVariables, environmentVariables)
//	Invoke            Webhook         0-5    0        Url; Secret
//	Build, Test       CodeBuild       1-5    0-5      ProjectName; PrimarySource EnvironmentVariables BatchEnabled CombineArtifacts
//	Deploy            CodeArtifact    1      0        DomainName RepositoryName PackageFormat; PackageNamespace PackageName PackageVersion
//
// Required keys come before the semicolon, optional ones after it.
func builtinProviders() []Provider {
	return []Provider{
		codeArtifactSource{}, localDirectorySource{}, gitSource{},
		approval{},
		commands{category: pipeline.CategoryInvoke}, commands{category: pipeline.CategoryCompute},
		webhook{},
		codeBuild{category: pipeline.CategoryBuild}, codeBuild{category: pipeline.CategoryTest},
		codeArtifactDeploy{},
	}
}

func awsType(category, provider string) pipeline.ActionTypeID {
	return pipeline.ActionTypeID{Category: category, Owner: "AWS", Provider: provider, Version: "1"}
}

// Catalog returns the action types of the engine's providers, for
// pipeline.Validate.
func (e *Engine) Catalog() pipeline.Catalog {
	return func(id pipeline.ActionTypeID) (pipeline.ActionType, bool) {
		p, ok := e.providers[id]
		if !ok {
			return pipeline.ActionType{}, false
		}
		return p.Type(), true
	}
}

// approval is the Manual approval provider. It never runs: the engine
// gives the run a token and waits for PutApprovalResult or the timeout.
type approval struct{}

var _ Provider = approval{}

func (approval) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(pipeline.CategoryApproval, "Manual"), Optional: []string{"CustomData", "ExternalEntityLink", "NotificationArn"}}
}

func (approval) Run(context.Context, *Job) (Result, error) {
	return Result{}, errors.New("a manual approval is completed by PutApprovalResult")
}

// webhook and commands live in their own files; the checks below are
// shared by source providers.

func checkAbsPath(key string) func(a *pipeline.Action) error {
	return func(a *pipeline.Action) error {
		v := a.Configuration[key]
		if _, err := pipeline.Refs(v); err == nil && len(v) > 0 && v[0] != '#' && !filepath.IsAbs(v) {
			return fmt.Errorf("configuration.%s: %q is not an absolute path", key, v)
		}
		return nil
	}
}

// outputName returns the name of the action's first output artifact.
func (j *Job) outputName() string {
	if len(j.Outputs) == 0 {
		return ""
	}
	return j.Outputs[0].Name
}
