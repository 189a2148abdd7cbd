package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// projectNameRE is CodeBuild's ProjectName pattern.
// (2 to 150 characters: the length is checked apart.)
var projectNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_]+$`)

// inlineBuildspec reports whether a buildspec setting is YAML rather
// than a file name.
func inlineBuildspec(s string) bool {
	t := strings.TrimSpace(s)
	return strings.Contains(t, "\n") || strings.HasPrefix(t, "version") || strings.HasPrefix(t, "{")
}

// validate checks a project and fills defaults.
func (s *Service) validate(p *Project) error {
	if len(p.Name) > 150 || !projectNameRE.MatchString(p.Name) {
		return errorf(ErrInvalid, "Invalid project name %q: it must be 2 to 150 characters of letters, digits, '-' and '_', starting with a letter or digit", p.Name)
	}
	if err := checkSource("source", p.Source); err != nil {
		return err
	}
	for i, src := range p.SecondarySources {
		if err := checkSource(fmt.Sprintf("secondarySources[%d]", i), src); err != nil {
			return err
		}
		if src.SourceIdentifier == "" {
			return errorf(ErrInvalid, "secondarySources[%d].sourceIdentifier is required", i)
		}
	}
	switch p.Artifacts.Type {
	case ArtifactsNone, ArtifactsS3, ArtifactsCodePipeline:
	case "":
		return errorf(ErrInvalid, "artifacts.type is required")
	default:
		return errorf(ErrInvalid, "artifacts.type %q is not one of NO_ARTIFACTS, S3, CODEPIPELINE", p.Artifacts.Type)
	}
	if (p.Source.Type == SourceCodePipeline) != (p.Artifacts.Type == ArtifactsCodePipeline) {
		return errorf(ErrInvalid, "Both source and artifacts must be of type CODEPIPELINE, or neither")
	}
	for i, a := range p.SecondaryArtifacts {
		if a.ArtifactIdentifier == "" {
			return errorf(ErrInvalid, "secondaryArtifacts[%d].artifactIdentifier is required", i)
		}
	}
	switch p.Cache.Type {
	case "":
		p.Cache.Type = "NO_CACHE"
	case "NO_CACHE", "LOCAL", "S3":
	default:
		return errorf(ErrInvalid, "cache.type %q is not one of NO_CACHE, LOCAL, S3", p.Cache.Type)
	}
	e := p.Environment
	if e.Type == "" || e.Image == "" || e.ComputeType == "" {
		return errorf(ErrInvalid, "environment.type, environment.image and environment.computeType are required")
	}
	if err := checkEnvVars("environment.environmentVariables", e.EnvironmentVariables); err != nil {
		return err
	}
	if p.ServiceRole == "" {
		return errorf(ErrInvalid, "serviceRole is required")
	}
	if p.TimeoutInMinutes == 0 {
		p.TimeoutInMinutes = 60
	}
	if p.TimeoutInMinutes < 5 || p.TimeoutInMinutes > 2160 {
		return errorf(ErrInvalid, "timeoutInMinutes must be between 5 and 2160")
	}
	if p.QueuedTimeoutInMinutes == 0 {
		p.QueuedTimeoutInMinutes = 480
	}
	if p.QueuedTimeoutInMinutes < 5 || p.QueuedTimeoutInMinutes > 480 {
		return errorf(ErrInvalid, "queuedTimeoutInMinutes must be between 5 and 480")
	}
	if p.ConcurrentBuildLimit != nil && *p.ConcurrentBuildLimit < 1 {
		return errorf(ErrInvalid, "concurrentBuildLimit must be at least 1")
	}
	return nil
}

func checkSource(field string, src Source) error {
	switch src.Type {
	case SourceNoSource:
		if strings.TrimSpace(src.Buildspec) == "" {
			return errorf(ErrInvalid, "%s.buildspec is required for source type NO_SOURCE", field)
		}
	case SourceS3:
		if !filepath.IsAbs(strings.TrimPrefix(src.Location, "file://")) {
			return errorf(ErrInvalid, "%s.location must be an absolute path on the server (a directory or a .zip file) for source type S3", field)
		}
	case SourceCodePipeline:
	case "":
		return errorf(ErrInvalid, "%s.type is required", field)
	default:
		return errorf(ErrInvalid, "%s.type %s is not supported by this server; use NO_SOURCE (inline buildspec), S3 (a local directory or .zip) or CODEPIPELINE", field, src.Type)
	}
	if inlineBuildspec(src.Buildspec) {
		if _, err := ParseSpec(src.Buildspec); err != nil {
			return errorf(ErrInvalid, "%s.buildspec: %v", field, err)
		}
	}
	return nil
}

// CreateProject stores a new project (defaults filled, ARN and times
// set). An existing name is ErrExists; a bad field or an invalid inline
// buildspec is ErrInvalid.
func (s *Service) CreateProject(ctx context.Context, p Project) (Project, error) {
	if err := s.validate(&p); err != nil {
		return Project{}, err
	}
	p.ARN = s.ProjectARN(p.Name)
	p.Created = s.now().UTC()
	p.LastModified = p.Created
	if err := s.st.createProject(ctx, p); err != nil {
		return Project{}, err
	}
	return p, nil
}

// UpdateProject applies change to a stored project and stores the result
// if it is valid. A missing project is ErrNotFound.
func (s *Service) UpdateProject(ctx context.Context, name string, change func(*Project) error) (Project, error) {
	return s.st.updateProject(ctx, name, func(p *Project) error {
		if err := change(p); err != nil {
			return err
		}
		p.Name, p.ARN = name, s.ProjectARN(name)
		if err := s.validate(p); err != nil {
			return err
		}
		p.LastModified = s.now().UTC()
		return nil
	})
}

// DeleteProject removes a project and its cache; its builds stay
// readable. Deleting a missing project succeeds, as in CodeBuild.
func (s *Service) DeleteProject(ctx context.Context, name string) error {
	ok, err := s.st.deleteProject(ctx, name)
	if err != nil || !ok {
		return err
	}
	mu := s.cacheLock(name)
	mu.Lock()
	defer mu.Unlock()
	return os.RemoveAll(s.cacheDir(name))
}

// Projects returns the named projects that exist, in the order asked,
// and the names that do not.
func (s *Service) Projects(ctx context.Context, names []string) (found []Project, missing []string, err error) {
	for _, n := range names {
		p, err := s.st.project(ctx, n)
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = append(found, p)
	}
	return found, missing, nil
}

// ListProjects returns every project, by name.
func (s *Service) ListProjects(ctx context.Context) ([]Project, error) { return s.st.projects(ctx) }
