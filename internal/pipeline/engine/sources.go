package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// codeArtifactSource is the CodeArtifact Source action: its artifact is a
// package version's assets. An execution started by a package event uses
// the event's version; any other execution the newest version the filter
// selects (PackageSource.Latest).
type codeArtifactSource struct{}

var _ Provider = codeArtifactSource{}

func (codeArtifactSource) Type() pipeline.ActionType {
	return pipeline.ActionType{
		ID: awsType(pipeline.CategorySource, "CodeArtifact"), MinOutputs: 1, MaxOutputs: 1,
		Required: []string{pipeline.CfgDomainName, pipeline.CfgRepositoryName, pipeline.CfgPackageName},
		Optional: []string{pipeline.CfgPackageFormat, pipeline.CfgPackageNamespace, pipeline.CfgPackageVersion, pipeline.CfgDetectChanges},
		OutputVariables: []string{"PackageName", "PackageVersion", "PackageVersionRevision", "PackageFormat", "PackageNamespace",
			"DomainName", "RepositoryName"},
		Check: func(a *pipeline.Action) error { return pipeline.CheckFilter(a.Configuration) },
	}
}

func (codeArtifactSource) Run(ctx context.Context, j *Job) (Result, error) {
	ps := j.engine.opts.Packages
	if ps == nil {
		return Result{}, errors.New("no package source is configured for CodeArtifact Source actions")
	}
	f := pipeline.FilterOf(j.Config)
	var v PackageVersion
	if ev := j.Trigger; ev != nil {
		v = PackageVersion{Domain: ev.DomainName, Repository: ev.RepositoryName, Format: ev.PackageFormat, Namespace: ev.PackageNamespace,
			Name: ev.PackageName, Version: ev.PackageVersion, Revision: ev.PackageVersionRevision}
	} else {
		var err error
		v, err = ps.Latest(ctx, PackageQuery{Domain: f.Domain, Repository: f.Repository, Format: f.Format, Namespace: f.Namespace, Name: f.Name, Version: f.Version})
		if errors.Is(err, ErrNoPackageVersion) {
			return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("No Published package version in %s/%s matches package %q version %q",
				f.Domain, f.Repository, f.Name, f.Version)}
		}
		if err != nil {
			return Result{}, err
		}
	}
	assets, err := ps.Assets(ctx, v)
	if err != nil {
		return Result{}, fmt.Errorf("reading the assets of %s: %w", packageLabel(v), err)
	}
	digest, size, err := j.engine.zipAssets(ctx, assets)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Outputs: []Artifact{{Name: j.outputName(), SHA256: digest, Size: size}},
		Variables: map[string]string{"PackageName": v.Name, "PackageVersion": v.Version, "PackageVersionRevision": v.Revision,
			"PackageFormat": v.Format, "PackageNamespace": v.Namespace, "DomainName": v.Domain, "RepositoryName": v.Repository},
		Summary:  packageLabel(v),
		Revision: &Revision{ID: v.Version, ChangeID: v.Revision, Summary: packageLabel(v), Created: j.engine.now()},
	}, nil
}

func packageLabel(v PackageVersion) string {
	name := v.Name
	if v.Namespace != "" {
		name = v.Namespace + "/" + name
		if v.Format == "npm" {
			name = "@" + name
		}
	}
	return fmt.Sprintf("%s %s@%s in %s/%s", v.Format, name, v.Version, v.Domain, v.Repository)
}

// localDirectorySource zips a directory on the server.
type localDirectorySource struct{}

var _ Provider = localDirectorySource{}

func (localDirectorySource) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(pipeline.CategorySource, "LocalDirectory"), MinOutputs: 1, MaxOutputs: 1,
		Required: []string{"Path"}, OutputVariables: []string{"Path", "Digest"}, Check: checkAbsPath("Path")}
}

func (localDirectorySource) Run(ctx context.Context, j *Job) (Result, error) {
	dir := j.Config["Path"]
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return Result{}, &ActionError{Code: "JobFailed", Message: fmt.Sprintf("Path %q is not a readable directory", dir)}
	}
	a, err := j.Zip(ctx, j.outputName(), dir, nil)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Outputs:   []Artifact{a},
		Variables: map[string]string{"Path": dir, "Digest": a.SHA256},
		Summary:   dir,
		Revision:  &Revision{ID: a.SHA256, Summary: dir, Created: j.engine.now()},
	}, nil
}

// gitSource clones a branch of a git repository (a local path or a URL)
// with the git CLI; the artifact is the working tree without .git.
type gitSource struct{}

var _ Provider = gitSource{}

func (gitSource) Type() pipeline.ActionType {
	return pipeline.ActionType{ID: awsType(pipeline.CategorySource, "Git"), MinOutputs: 1, MaxOutputs: 1,
		Required: []string{"RepositoryUrl"}, Optional: []string{"BranchName"},
		OutputVariables: []string{"CommitId", "BranchName", "CommitMessage", "AuthorDate", "RepositoryUrl"},
		Check: func(a *pipeline.Action) error {
			if strings.HasPrefix(a.Configuration["RepositoryUrl"], "-") || strings.HasPrefix(a.Configuration["BranchName"], "-") {
				return errors.New("configuration: RepositoryUrl and BranchName must not start with '-'")
			}
			return nil
		},
	}
}

func (gitSource) Run(ctx context.Context, j *Job) (Result, error) {
	url, branch := j.Config["RepositoryUrl"], j.Config["BranchName"]
	root, err := j.Workspace()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(root)
	repo := filepath.Join(root, "repo")
	args := []string{"clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags"}
	if branch != "" {
		args = append(args, "--branch", branch)
	}
	if filepath.IsAbs(url) {
		url = "file://" + url // honours --depth for local repositories
	}
	if _, err := git(ctx, "", append(args, "--", url, repo)...); err != nil {
		return Result{}, &ActionError{Code: "JobFailed", Message: err.Error()}
	}
	commit, err := git(ctx, repo, "rev-parse", "HEAD")
	if err != nil {
		return Result{}, err
	}
	if branch == "" {
		if branch, err = git(ctx, repo, "rev-parse", "--abbrev-ref", "HEAD"); err != nil {
			return Result{}, err
		}
	}
	msg, _ := git(ctx, repo, "log", "-1", "--format=%s")
	date, _ := git(ctx, repo, "log", "-1", "--format=%aI")
	a, err := j.Zip(ctx, j.outputName(), repo, nil)
	if err != nil {
		return Result{}, err
	}
	created, _ := time.Parse(time.RFC3339, date)
	return Result{
		Outputs: []Artifact{a},
		Variables: map[string]string{"CommitId": commit, "BranchName": branch, "CommitMessage": msg, "AuthorDate": date,
			"RepositoryUrl": j.Config["RepositoryUrl"]},
		Summary:  truncate(msg, 2048),
		Revision: &Revision{ID: commit, ChangeID: commit, Summary: truncate(msg, 2048), Created: created},
	}, nil
}

// git runs the git CLI and returns its trimmed standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
