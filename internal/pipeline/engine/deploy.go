package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/artifactd/registry/internal/pipeline"
)

// codeArtifactDeploy is the CodeArtifact Deploy action: it publishes the
// files of its input artifact as a new package version through the
// PackagePublisher port.
type codeArtifactDeploy struct{}

var _ Provider = codeArtifactDeploy{}

func (codeArtifactDeploy) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(pipeline.CategoryDeploy, "CodeArtifact"), MinInputs: 1, MaxInputs: 1,
		Required:        []string{pipeline.CfgDomainName, pipeline.CfgRepositoryName, pipeline.CfgPackageFormat},
		Optional:        []string{pipeline.CfgPackageNamespace, pipeline.CfgPackageName, pipeline.CfgPackageVersion},
		OutputVariables: []string{"PackageName", "PackageVersion", "PackageVersionRevision", "PackageNamespace", "PackageFormat"},
		Check: func(a *pipeline.Action) error {
			c := a.Configuration
			switch c[pipeline.CfgPackageFormat] {
			case "generic":
				for _, k := range []string{pipeline.CfgPackageNamespace, pipeline.CfgPackageName, pipeline.CfgPackageVersion} {
					if c[k] == "" {
						return fmt.Errorf("configuration.%s: format generic needs a %s", k, k)
					}
				}
			case "npm":
			default:
				return fmt.Errorf("configuration.%s: %q is not generic or npm", pipeline.CfgPackageFormat, c[pipeline.CfgPackageFormat])
			}
			return nil
		}}
}

func (codeArtifactDeploy) Run(ctx context.Context, j *Job) (Result, error) {
	pub := j.engine.opts.Publisher
	if pub == nil {
		return Result{}, errors.New("no package publisher is configured for CodeArtifact Deploy actions")
	}
	files, err := j.engine.storeFiles(ctx, j.Inputs[0].SHA256)
	if err != nil {
		return Result{}, err
	}
	if len(files) == 0 {
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("input artifact %s has no files to publish", j.Inputs[0].Name)}
	}
	c := j.Config
	v, err := pub.Publish(ctx, Publication{Domain: c[pipeline.CfgDomainName], Repository: c[pipeline.CfgRepositoryName], Format: c[pipeline.CfgPackageFormat],
		Namespace: c[pipeline.CfgPackageNamespace], Name: c[pipeline.CfgPackageName], Version: c[pipeline.CfgPackageVersion], Files: files})
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, &ActionError{Code: "JobFailed", Message: "publishing: " + err.Error()}
	}
	return Result{
		Variables: map[string]string{"PackageName": v.Name, "PackageVersion": v.Version, "PackageVersionRevision": v.Revision,
			"PackageNamespace": v.Namespace, "PackageFormat": v.Format},
		Summary: "Published " + packageLabel(v),
	}, nil
}
