package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/events/outbox"
)

// Config configures a Service.
type Config struct {
	// DataDir holds builds.db and builds/ (see the package comment).
	DataDir string
	// Blobs stores artifact zips (input and output).
	Blobs blob.Store
	// Secrets resolves parameter-store and secrets-manager references;
	// nil makes such references fail the build.
	Secrets Secrets
	// Region and Account go into ARNs and AWS_REGION.
	Region, Account string
	// BaseURL is the server's public base URL; logs.deepLink and artifact
	// locations are built from it.
	BaseURL string
	// MaxConcurrent bounds builds running at once; the others wait in
	// QUEUED. Default: the number of CPUs.
	MaxConcurrent int
	// MaxLogBytes bounds each build log; output beyond it is dropped (and
	// counted). Default 8 MiB.
	MaxLogBytes int64
	// Environ is the environment builds start from; nil means the
	// server's own. REGISTRY_*, AWS_* and CODEBUILD_* are removed.
	Environ []string
	// ExtraEnv is added to every build's environment (e.g.
	// AWS_ENDPOINT_URL pointing at this server).
	ExtraEnv map[string]string
	// Credentials, when set, is called as a build's environment is
	// assembled (DOWNLOAD_SOURCE) with the build and a private directory
	// inside its workspace where it may write configuration files. The
	// variables it returns are set for the build (the project's, the
	// buildspec's and the override variables win); the secret values it
	// returns are masked in the log. An error fails the build.
	Credentials func(ctx context.Context, b *Build, dir string) (env map[string]string, secrets []string, err error)
	// Events receives every build event (an Event value). It is called
	// from the build's goroutine and must not block.
	Events func(event any)
	// Log receives operational messages.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs CodeBuild projects. Its methods are safe for concurrent
// use. Lock order: Service.mu before run.mu; neither is held across I/O
// except the in-memory log writer's own lock.
type Service struct {
	cfg     Config
	st      *store
	outbox  *outbox.Table
	now     func() time.Time
	slots   chan struct{}
	ctx     context.Context
	cancel  context.CancelCauseFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]*run
	caches  map[string]*sync.Mutex
	closed  bool
}

// Errors that end a build early; they are the causes of a run's context.
var (
	errStopped  = errors.New("the build was stopped")
	errTimedOut = errors.New("the build timed out")
	errShutdown = errors.New("the server shut down during the build")
)

// Open opens the service: builds.db and the build directories under
// cfg.DataDir. Builds that were in progress when the server last stopped
// are marked FAILED (their leftover processes killed) before it returns.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.NumCPU()
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = 8 << 20
	}
	if cfg.Environ == nil {
		cfg.Environ = os.Environ()
	}
	cfg.Environ = hostEnv(cfg.Environ)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	for _, d := range []string{"work", "logs", "cache"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, "builds", d), 0o700); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	st, err := openStore(ctx, filepath.Join(cfg.DataDir, "builds.db"))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, st: st, outbox: outbox.New(st.db), now: cfg.Now, slots: make(chan struct{}, cfg.MaxConcurrent),
		running: map[string]*run{}, caches: map[string]*sync.Mutex{}}
	if s.now == nil {
		s.now = time.Now
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	if err := s.recover(ctx); err != nil {
		st.close()
		return nil, err
	}
	return s, nil
}

// Close stops every running build (each ends FAILED with the reason in
// its phase contexts), waits for them to finish, and closes the database.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel(errShutdown)
	s.wg.Wait()
	return s.st.close()
}

func (s *Service) workDir(uuid string) string {
	return filepath.Join(s.cfg.DataDir, "builds", "work", uuid)
}
func (s *Service) logPath(uuid string) string {
	return filepath.Join(s.cfg.DataDir, "builds", "logs", uuid+".log")
}
func (s *Service) cacheDir(project string) string {
	return filepath.Join(s.cfg.DataDir, "builds", "cache", project)
}

// cacheLock returns the lock of a project's cache directory.
func (s *Service) cacheLock(project string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.caches[project]
	if !ok {
		m = &sync.Mutex{}
		s.caches[project] = m
	}
	return m
}

// ProjectARN returns the ARN of a project.
func (s *Service) ProjectARN(name string) string {
	return "arn:aws:codebuild:" + s.cfg.Region + ":" + s.cfg.Account + ":project/" + name
}

// BuildARN returns the ARN of a build.
func (s *Service) BuildARN(id string) string {
	return "arn:aws:codebuild:" + s.cfg.Region + ":" + s.cfg.Account + ":build/" + id
}

// LogURL returns the URL that serves a build's log (logs.deepLink).
func (s *Service) LogURL(id string) string {
	return s.cfg.BaseURL + "/builds/" + url.PathEscape(id) + "/log"
}

// ArtifactURL returns the URL that serves one of a build's artifact zips.
func (s *Service) ArtifactURL(id, identifier string) string {
	if identifier == "" {
		identifier = PrimaryArtifact
	}
	return s.cfg.BaseURL + "/builds/" + url.PathEscape(id) + "/artifacts/" + url.PathEscape(identifier)
}

// PrimaryArtifact names, in artifact URLs and OpenArtifact, the primary
// artifact of a build whose project gives it no identifier.
const PrimaryArtifact = "primary"

// Builds returns the builds with the given ids that exist, in the order
// asked, and the ids that do not.
func (s *Service) Builds(ctx context.Context, ids []string) (found []Build, missing []string, err error) {
	for _, id := range ids {
		b, err := s.st.build(ctx, id)
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = append(found, b)
	}
	return found, missing, nil
}

// Build returns one build; a missing one is ErrNotFound.
func (s *Service) Build(ctx context.Context, id string) (Build, error) { return s.st.build(ctx, id) }

// ListBuildIDs returns build ids, newest first unless ascending, of one
// project, or of every project when project is "".
func (s *Service) ListBuildIDs(ctx context.Context, project string, ascending bool) ([]string, error) {
	return s.st.buildIDs(ctx, project, ascending)
}

// Wait blocks until the build completes (or ctx ends) and returns it.
func (s *Service) Wait(ctx context.Context, id string) (Build, error) {
	s.mu.Lock()
	r := s.running[id]
	s.mu.Unlock()
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return Build{}, ctx.Err()
		}
	}
	return s.st.build(ctx, id)
}

// StopBuild stops a running build: its process group is killed, the
// current phase ends STOPPED and the build goes to FINALIZING. It waits
// (up to 10 seconds) for the build to complete and returns its state. A
// completed build is returned unchanged.
func (s *Service) StopBuild(ctx context.Context, id string) (Build, error) {
	s.mu.Lock()
	r := s.running[id]
	s.mu.Unlock()
	if r != nil {
		r.cancel(errStopped)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
	}
	return s.st.build(ctx, id)
}

// RetryBuild starts a new build with the settings of a completed one
// (its project configuration and start request). initiator, when set,
// replaces the original initiator.
func (s *Service) RetryBuild(ctx context.Context, id, initiator string) (Build, error) {
	b, err := s.st.build(ctx, id)
	if err != nil {
		return Build{}, err
	}
	if !b.Complete {
		return Build{}, errorf(ErrInvalid, "Build %s is still in progress; only a completed build can be retried", id)
	}
	req := b.Request
	cfg := b.Config
	req.Project, req.Inline = b.Project, &cfg
	if initiator != "" {
		req.Initiator = initiator
	}
	return s.StartBuild(ctx, req)
}

// FollowLog writes a build's log to w: all of it for a completed build;
// for a running one, what is there and then whatever is appended until
// the build completes or ctx ends. flush (optional) is called after each
// chunk.
func (s *Service) FollowLog(ctx context.Context, id string, w io.Writer, flush func()) error {
	b, err := s.st.build(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var lw *logWriter
	if r := s.running[id]; r != nil {
		lw = r.log
	}
	s.mu.Unlock()
	err = follow(ctx, s.logPath(b.UUID()), lw, w, flush)
	if os.IsNotExist(err) {
		return nil // a build recovered before it had a log
	}
	return err
}

// OpenArtifact opens one of a build's artifact zips by identifier (the
// primary one also as PrimaryArtifact).
func (s *Service) OpenArtifact(ctx context.Context, id, identifier string) (blob.ReadSeekCloser, OutputArtifact, error) {
	b, err := s.st.build(ctx, id)
	if err != nil {
		return nil, OutputArtifact{}, err
	}
	var a *OutputArtifact
	if b.Artifacts != nil && (identifier == b.Artifacts.Identifier || identifier == PrimaryArtifact) {
		a = b.Artifacts
	}
	for i := range b.SecondaryArtifacts {
		if a == nil && b.SecondaryArtifacts[i].Identifier == identifier {
			a = &b.SecondaryArtifacts[i]
		}
	}
	if a == nil {
		return nil, OutputArtifact{}, errorf(ErrNotFound, "Build %s has no artifact %s", id, identifier)
	}
	rc, _, err := s.cfg.Blobs.Open(ctx, a.Digest)
	return rc, *a, err
}
