package build

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// provision creates the workspace and resolves the project's and the
// request's variables.
func (r *run) provision() (Status, []PhaseContext) {
	r.log.Line("Running build %s (number %d of project %s), initiated by %s, as a local process", r.b.ID, r.b.Number, r.b.Project, r.b.Initiator)
	r.work = r.s.workDir(r.b.UUID())
	r.src = filepath.Join(r.work, "src")
	r.ctl = filepath.Join(r.work, "ctl")
	for _, d := range []string{r.src, r.ctl} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return failed("CLIENT_ERROR", "creating the workspace: %v", err)
		}
	}
	var err error
	if r.projectVars, err = r.resolveAll(r.b.Config.Environment.EnvironmentVariables); err != nil {
		return failed("Decrypted Variables Error", "%v", err)
	}
	if r.overrideVars, err = r.resolveAll(r.b.Request.EnvironmentVariables); err != nil {
		return failed("Decrypted Variables Error", "%v", err)
	}
	return StatusSucceeded, nil
}

// resolveAll resolves variables to PLAINTEXT values, registering secret
// ones with the log masker.
func (r *run) resolveAll(vars []EnvVar) ([]EnvVar, error) {
	out := make([]EnvVar, 0, len(vars))
	for _, v := range vars {
		val, secret, err := resolveVar(r.ctx, r.s.cfg.Secrets, v)
		if err != nil {
			return nil, err
		}
		if secret {
			r.log.addSecrets(val)
		}
		out = append(out, EnvVar{Name: v.Name, Value: val, Type: EnvPlaintext})
	}
	return out, nil
}

// downloadSource puts the sources in place, loads and parses the
// buildspec, resolves its variables, builds the environment and restores
// the cache.
func (r *run) downloadSource() (Status, []PhaseContext) {
	b := r.b
	req := b.Request
	resolved := req.SourceVersion
	srcLocation := b.Config.Source.Location
	if len(req.InputArtifacts) > 0 {
		primary := req.InputArtifacts[0]
		for _, in := range req.InputArtifacts {
			if in.Name == req.PrimarySource {
				primary = in
			}
		}
		for _, in := range req.InputArtifacts {
			dest := r.src
			if in != primary {
				dest = filepath.Join(r.work, "src2", in.Name)
			}
			if err := r.extractBlob(in.Digest, dest); err != nil {
				return failed("CLIENT_ERROR", "input artifact %s: %v", in.Name, err)
			}
		}
		if resolved == "" {
			resolved = primary.Digest
		}
		srcLocation = primary.Name
	} else {
		if err := r.fetchSource(b.Config.Source, r.src); err != nil {
			return failed("CLIENT_ERROR", "source: %v", err)
		}
		for _, sec := range b.Config.SecondarySources {
			if err := r.fetchSource(sec, filepath.Join(r.work, "src2", sec.SourceIdentifier)); err != nil {
				return failed("CLIENT_ERROR", "secondary source %s: %v", sec.SourceIdentifier, err)
			}
		}
	}
	r.update(func(b *Build) { b.ResolvedSourceVersion = resolved })

	text, where, err := r.buildspecText()
	if err != nil {
		return failed("YAML_FILE_ERROR", "%v", err)
	}
	spec, err := ParseSpec(text)
	if err != nil {
		return failed("YAML_FILE_ERROR", "%s: %v", where, err)
	}
	r.spec = spec
	specSecrets, err := r.resolveAll(append(append([]EnvVar{}, spec.Env.ParameterStore...), spec.Env.SecretsManager...))
	if err != nil {
		return failed("Decrypted Variables Error", "%v", err)
	}
	if err := r.chooseShell(); err != nil {
		return failed("CLIENT_ERROR", "%v", err)
	}

	env := envSet{}
	env.setAll(r.s.cfg.Environ)
	env["AWS_REGION"], env["AWS_DEFAULT_REGION"] = r.s.cfg.Region, r.s.cfg.Region
	for k, v := range r.s.cfg.ExtraEnv {
		env[k] = v
	}
	if c := r.s.cfg.Credentials; c != nil {
		dir := filepath.Join(r.work, "credentials")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return failed("CLIENT_ERROR", "creating the credentials directory: %v", err)
		}
		vars, secrets, err := c(r.ctx, b, dir)
		if err != nil {
			return failed("CLIENT_ERROR", "registry credentials: %v", err)
		}
		r.log.addSecrets(secrets...)
		for k, v := range vars {
			env[k] = v
		}
	}
	for _, group := range [][]EnvVar{spec.Env.Variables, specSecrets, r.projectVars, r.overrideVars} {
		for _, v := range group {
			env[v.Name] = v.Value
		}
	}
	for k, v := range map[string]string{
		"CODEBUILD_BUILD_ID":                b.ID,
		"CODEBUILD_BUILD_ARN":               b.ARN,
		"CODEBUILD_BUILD_NUMBER":            strconv.FormatInt(b.Number, 10),
		"CODEBUILD_BUILD_IMAGE":             b.Config.Environment.Image,
		"CODEBUILD_BUILD_SUCCEEDING":        "1",
		"CODEBUILD_INITIATOR":               b.Initiator,
		"CODEBUILD_LOG_PATH":                b.UUID(),
		"CODEBUILD_PROJECT_ARN":             b.Config.ARN,
		"CODEBUILD_PUBLIC_BUILD_URL":        r.s.LogURL(b.ID),
		"CODEBUILD_RESOLVED_SOURCE_VERSION": resolved,
		"CODEBUILD_SOURCE_REPO_URL":         srcLocation,
		"CODEBUILD_SOURCE_VERSION":          req.SourceVersion,
		"CODEBUILD_SRC_DIR":                 r.src,
		"CODEBUILD_START_TIME":              strconv.FormatInt(b.StartTime.UnixMilli(), 10),
		"CODEBUILD_KMS_KEY_ID":              b.Config.EncryptionKey,
	} {
		env[k] = v
	}
	if entries, err := os.ReadDir(filepath.Join(r.work, "src2")); err == nil {
		for _, e := range entries {
			env["CODEBUILD_SRC_DIR_"+e.Name()] = filepath.Join(r.work, "src2", e.Name())
		}
	}
	r.env = env

	if b.Config.Cache.enabled() && len(spec.Cache.Paths) > 0 && spec.Cache.Action != "save" {
		mu := r.s.cacheLock(b.Project)
		mu.Lock()
		err := restoreCache(r.s.cacheDir(b.Project), r.src)
		mu.Unlock()
		if err != nil {
			r.log.Line("Restoring the cache failed: %v", err)
		}
	}
	r.log.Line("Processing environment variables")
	r.log.Line("Moving to directory %s", r.src)
	return StatusSucceeded, nil
}

// buildspecText returns the buildspec to run and where it came from.
func (r *run) buildspecText() (string, string, error) {
	spec := r.b.Config.Source.Buildspec
	where := "the project's buildspec"
	if r.b.Request.BuildspecOverride != "" {
		spec, where = r.b.Request.BuildspecOverride, "buildspecOverride"
	}
	if inlineBuildspec(spec) {
		return spec, where, nil
	}
	if spec == "" {
		spec = "buildspec.yml"
	}
	name := filepath.FromSlash(spec)
	if !filepath.IsLocal(name) {
		return "", "", fmt.Errorf("buildspec file %q must be a path inside the source directory", spec)
	}
	data, err := os.ReadFile(filepath.Join(r.src, name))
	if err != nil {
		return "", "", fmt.Errorf("reading the buildspec file %s: %v", spec, err)
	}
	return string(data), spec, nil
}

// fetchSource copies a project source (S3: a local directory or .zip)
// into dest.
func (r *run) fetchSource(src Source, dest string) error {
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	switch src.Type {
	case SourceNoSource:
		return nil
	case SourceCodePipeline:
		return errors.New("a CODEPIPELINE source is provided by a pipeline; start this build from a pipeline action")
	case SourceS3:
		loc := strings.TrimPrefix(src.Location, "file://")
		fi, err := os.Stat(loc)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return copyTree(loc, dest)
		}
		f, err := os.Open(loc)
		if err != nil {
			return err
		}
		defer f.Close()
		return extractZip(f, fi.Size(), dest)
	}
	return fmt.Errorf("source type %s is not supported", src.Type)
}

// extractBlob unpacks a zip from the blob store into dest.
func (r *run) extractBlob(digest, dest string) error {
	if r.s.cfg.Blobs == nil {
		return errors.New("no blob store is configured")
	}
	rc, info, err := r.s.cfg.Blobs.Open(r.ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	ra, ok := rc.(interface {
		ReadAt([]byte, int64) (int, error)
	})
	if !ok {
		tmp, err := os.CreateTemp(r.work, "artifact-*.zip")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := tmp.ReadFrom(rc); err != nil {
			return err
		}
		ra = tmp
	}
	return extractZip(ra, info.Size, dest)
}

// chooseShell picks the shell (env.shell) and the user (run-as).
func (r *run) chooseShell() error {
	switch r.spec.Env.Shell {
	case "sh", "/bin/sh":
		r.shellPath = "/bin/sh"
	default:
		p, err := exec.LookPath("bash")
		if err != nil {
			if r.spec.Env.Shell != "" {
				return fmt.Errorf("env.shell %s: bash is not installed on this server", r.spec.Env.Shell)
			}
			p = "/bin/sh"
		}
		r.shellPath = p
	}
	if r.spec.RunAs == "" {
		return nil
	}
	u, err := user.Lookup(r.spec.RunAs)
	if err != nil {
		return fmt.Errorf("run-as %s: %v", r.spec.RunAs, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == os.Geteuid() {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run-as %s: the server does not run as root, so it cannot run builds as another user", r.spec.RunAs)
	}
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	// The data directory is private to the server, so the other user's
	// workspace moves to a directory of its own under the system's
	// temporary directory, owned by that user.
	work, err := os.MkdirTemp("", "codebuild-"+r.b.UUID()+"-")
	if err != nil {
		return err
	}
	if err := copyTree(r.work, work); err != nil {
		os.RemoveAll(work)
		return err
	}
	os.RemoveAll(r.work)
	r.work, r.src, r.ctl = work, filepath.Join(work, "src"), filepath.Join(work, "ctl")
	r.log.Line("run-as %s: the workspace is %s", r.spec.RunAs, work)
	return filepath.Walk(r.work, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
