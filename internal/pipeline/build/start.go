package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StartBuild validates req, records a new build (numbered, with the
// SUBMITTED and QUEUED phases) and starts running it; it returns the
// build as recorded. A missing project is ErrNotFound; a bad override is
// ErrInvalid; a full concurrentBuildLimit is ErrLimit.
func (s *Service) StartBuild(ctx context.Context, req StartRequest) (Build, error) {
	var p Project
	if req.Inline != nil {
		p = *req.Inline
		p.Name = req.Project
		if err := s.validate(&p); err != nil {
			return Build{}, err
		}
		p.ARN = s.ProjectARN(p.Name)
	} else {
		var err error
		if p, err = s.st.project(ctx, req.Project); err != nil {
			return Build{}, err
		}
	}
	if err := checkEnvVars("environmentVariablesOverride", req.EnvironmentVariables); err != nil {
		return Build{}, err
	}
	if inlineBuildspec(req.BuildspecOverride) {
		if _, err := ParseSpec(req.BuildspecOverride); err != nil {
			return Build{}, errorf(ErrInvalid, "buildspecOverride: %v", err)
		}
	}
	for _, in := range req.InputArtifacts {
		if in.Name == "" || len(in.Digest) != 64 {
			return Build{}, errorf(ErrInvalid, "input artifact %q: a name and the sha256 of its zip are required", in.Name)
		}
	}
	if req.Timeout < 0 {
		return Build{}, errorf(ErrInvalid, "timeout must not be negative")
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = time.Duration(p.TimeoutInMinutes) * time.Minute
	}
	if req.SourceVersion == "" {
		req.SourceVersion = p.SourceVersion
	}
	uuid := newUUID()
	now := s.now().UTC()
	b := &Build{ID: p.Name + ":" + uuid, Project: p.Name, StartTime: now, CurrentPhase: PhaseQueued, Status: StatusInProgress,
		Phases: []PhaseRecord{
			{Type: PhaseSubmitted, Status: StatusSucceeded, StartTime: now, EndTime: now},
			{Type: PhaseQueued, StartTime: now},
		},
		SourceVersion: req.SourceVersion, Initiator: req.Initiator, TimeoutInMinutes: int((timeout + time.Minute - 1) / time.Minute),
		Config: p, Request: req}
	b.ARN = s.BuildARN(b.ID)
	if req.AutoRetryNumber > 0 {
		b.AutoRetry = &AutoRetry{Limit: req.AutoRetryLimit, Number: req.AutoRetryNumber, Previous: req.PreviousAutoRetry}
	}
	lw, err := createLog(s.logPath(uuid), s.cfg.MaxLogBytes, s.now)
	if err != nil {
		return Build{}, err
	}
	r := &run{s: s, b: b, log: lw, done: make(chan struct{}), timeout: timeout, succeeding: true}
	r.ctx, r.cancel = context.WithCancelCause(s.ctx)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		lw.Close()
		return Build{}, errors.New("build: the service is shut down")
	}
	if lim := p.ConcurrentBuildLimit; lim != nil {
		n := 0
		for _, o := range s.running {
			if o.b.Project == p.Name {
				n++
			}
		}
		if n >= *lim {
			s.mu.Unlock()
			lw.Close()
			os.Remove(s.logPath(uuid))
			return Build{}, errorf(ErrLimit, "Project %s already runs %d builds, its concurrentBuildLimit", p.Name, n)
		}
	}
	s.running[b.ID] = r
	s.mu.Unlock()

	var started []Event
	if err := s.st.insertBuild(ctx, b, func(b *Build) []Event {
		snap := b.clone()
		started = []Event{s.stateEvent(&snap)}
		return started
	}); err != nil {
		s.mu.Lock()
		delete(s.running, b.ID)
		s.mu.Unlock()
		lw.Close()
		os.Remove(s.logPath(uuid))
		return Build{}, err
	}
	out := b.clone()
	s.wg.Add(1)
	s.delivered(started)
	go s.execute(r)
	return out, nil
}

// clone returns a deep copy of b's mutable parts.
func (b *Build) clone() Build {
	c := *b
	c.Phases = append([]PhaseRecord(nil), b.Phases...)
	for i := range c.Phases {
		c.Phases[i].Contexts = append([]PhaseContext(nil), c.Phases[i].Contexts...)
	}
	if b.Artifacts != nil {
		a := *b.Artifacts
		c.Artifacts = &a
	}
	c.SecondaryArtifacts = append([]OutputArtifact(nil), b.SecondaryArtifacts...)
	c.ExportedVariables = append([]EnvVar(nil), b.ExportedVariables...)
	c.Reports = append([]Report(nil), b.Reports...)
	return c
}

// recover marks builds left in progress by a previous server process as
// FAILED: their process groups are killed (when their processes still
// carry the build's CODEBUILD_BUILD_ID), the phase they were in ends
// FAILED with the reason, FINALIZING and COMPLETED follow, and their
// workspaces are removed.
func (s *Service) recover(ctx context.Context) error {
	builds, err := s.st.incomplete(ctx)
	if err != nil {
		return err
	}
	for i := range builds {
		b := &builds[i]
		killOrphans(b.PGID, b.ID)
		was := b.CurrentPhase
		now := s.now().UTC()
		msg := "The registry server stopped while this build was in progress (it was in phase " + string(b.CurrentPhase) + "); the build was marked failed when the server started again"
		if n := len(b.Phases); n > 0 && b.Phases[n-1].EndTime.IsZero() {
			last := &b.Phases[n-1]
			last.Status, last.EndTime = StatusFailed, now
			last.Contexts = append(last.Contexts, PhaseContext{StatusCode: "SERVER_RESTARTED", Message: msg})
		}
		if b.phase(PhaseFinalizing) == nil {
			b.Phases = append(b.Phases, PhaseRecord{Type: PhaseFinalizing, Status: StatusSucceeded, StartTime: now, EndTime: now})
		}
		b.Phases = append(b.Phases, PhaseRecord{Type: PhaseCompleted, StartTime: now})
		b.CurrentPhase, b.Status, b.Complete, b.EndTime, b.PGID = PhaseCompleted, StatusFailed, true, now, 0
		if lw, err := createLog(s.logPath(b.UUID()), s.cfg.MaxLogBytes, s.now); err == nil {
			lw.Line("%s", msg)
			lw.Close()
		}
		os.RemoveAll(s.workDir(b.UUID()))
		if moved, _ := filepath.Glob(filepath.Join(os.TempDir(), "codebuild-"+b.UUID()+"-*")); len(moved) > 0 {
			os.RemoveAll(moved[0]) // a run-as workspace
		}
		evs := []Event{s.stateEvent(b)}
		if err := s.st.saveBuild(ctx, b, evs); err != nil {
			return err
		}
		s.cfg.Log.Warn("build interrupted by a server restart marked failed", "build", b.ID, "phase", string(was))
		s.delivered(evs)
	}
	return nil
}

// killOrphans kills process group pgid if one of its processes still
// carries CODEBUILD_BUILD_ID=id in its environment (so a reused pid never
// leads to killing an unrelated process).
func killOrphans(pgid int, id string) {
	if pgid <= 0 {
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	want := []byte("CODEBUILD_BUILD_ID=" + id + "\x00")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[2] != itoa(pgid) {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && containsBytes(env, want) {
			killGroup(pgid)
			return
		}
	}
}
