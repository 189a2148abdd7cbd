package build

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// run is one build in progress. Its goroutine (Service.execute) owns
// everything but b, which mu guards because readers (StartBuild's
// concurrentBuildLimit check) look at it.
type run struct {
	s       *Service
	mu      sync.Mutex
	b       *Build
	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    chan struct{}
	log     *logWriter
	timeout time.Duration

	work, src, ctl string
	spec           *Spec
	env            envSet
	shellPath      string
	cred           *syscall.Credential
	sh             *shell
	succeeding     bool // CODEBUILD_BUILD_SUCCEEDING
	told           bool // the shell has been told CODEBUILD_BUILD_SUCCEEDING=0
	projectVars    []EnvVar
	overrideVars   []EnvVar
}

// execute runs a build from QUEUED to COMPLETED.
func (s *Service) execute(r *run) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.running, r.b.ID)
		s.mu.Unlock()
	}()
	defer close(r.done)

	phase := PhaseProvisioning
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
		r.endPhase(StatusSucceeded, nil)
	case <-r.ctx.Done():
		st, cs := r.interrupted()
		r.endPhase(st, cs)
		phase = PhaseFinalizing
	}
	timer := time.AfterFunc(r.timeout, func() { r.cancel(errTimedOut) })
	defer timer.Stop()
	for phase != PhaseCompleted {
		r.beginPhase(phase)
		st, cs := r.exec(phase)
		r.endPhase(st, cs)
		next := Next(phase, st, r.onFailure(phase))
		if r.ctx.Err() != nil && phase.index() < PhaseFinalizing.index() {
			next = PhaseFinalizing
		}
		if phase.commands() && !next.commands() {
			r.captureExports()
		}
		phase = next
	}
	r.complete()
	r.autoRetry()
}

// onFailure returns the buildspec's on-failure setting of phase p.
func (r *run) onFailure(p Phase) string {
	if r.spec != nil && r.spec.Phases[p] != nil {
		return r.spec.Phases[p].OnFailure
	}
	return ""
}

// update changes the build under its lock and writes it to builds.db.
func (r *run) update(fn func(b *Build)) { r.updateEmit(fn, nil) }

// updateEmit is update that also writes the events emit returns for the
// changed build (a snapshot) in the same transaction.
func (r *run) updateEmit(fn func(b *Build), emit func(snap *Build) []Event) {
	r.mu.Lock()
	fn(r.b)
	snap := r.b.clone()
	r.mu.Unlock()
	var evs []Event
	if emit != nil {
		evs = emit(&snap)
	}
	if err := r.s.st.saveBuild(context.Background(), &snap, evs); err != nil {
		r.s.cfg.Log.Error("saving build state", "build", snap.ID, "err", err)
		return
	}
	r.s.delivered(evs)
}

// beginPhase records (durably) that the build enters phase p.
func (r *run) beginPhase(p Phase) {
	r.update(func(b *Build) {
		b.CurrentPhase = p
		b.Phases = append(b.Phases, PhaseRecord{Type: p, StartTime: r.s.now().UTC()})
	})
	if p != PhaseCompleted {
		r.log.Line("Entering phase %s", p)
	}
}

// endPhase records how the current phase ended, logs it and emits its
// phase-change event.
func (r *run) endPhase(st Status, cs []PhaseContext) {
	for i := range cs {
		cs[i].Message = r.log.maskString(cs[i].Message)
	}
	var ph PhaseRecord
	r.updateEmit(func(b *Build) {
		last := &b.Phases[len(b.Phases)-1]
		last.Status, last.EndTime, last.Contexts = st, r.s.now().UTC(), cs
		ph = *last
	}, func(snap *Build) []Event {
		return []Event{r.s.phaseEvent(snap, *lastPhase(snap))}
	})
	if ph.Type != PhaseSubmitted && ph.Type != PhaseQueued {
		r.log.Line("Phase complete: %s State: %s", ph.Type, st)
		code, msg := "", ""
		if len(cs) > 0 {
			code, msg = cs[0].StatusCode, cs[0].Message
		}
		r.log.Line("Phase context status code: %s Message: %s", code, msg)
	}
}

func lastPhase(b *Build) *PhaseRecord { return &b.Phases[len(b.Phases)-1] }

// complete records the end of the build. The log is closed first, so a
// reader that sees the build complete finds the whole log.
func (r *run) complete() {
	if err := r.log.Close(); err != nil {
		r.s.cfg.Log.Error("closing build log", "build", r.b.ID, "err", err)
	}
	r.updateEmit(func(b *Build) {
		now := r.s.now().UTC()
		b.Phases = append(b.Phases, PhaseRecord{Type: PhaseCompleted, StartTime: now})
		b.CurrentPhase, b.Status, b.Complete, b.EndTime, b.PGID = PhaseCompleted, buildStatus(b.Phases), true, now, 0
	}, func(snap *Build) []Event { return []Event{r.s.stateEvent(snap)} })
}

// interrupted returns the status and context of a phase cut short by the
// run's cancellation.
func (r *run) interrupted() (Status, []PhaseContext) {
	switch context.Cause(r.ctx) {
	case errStopped:
		return StatusStopped, []PhaseContext{{StatusCode: "BUILD_STOPPED", Message: "The build was stopped by StopBuild"}}
	case errTimedOut:
		return StatusTimedOut, []PhaseContext{{StatusCode: "BUILD_TIMED_OUT", Message: fmt.Sprintf("Build has timed out (limit %s)", r.timeout)}}
	default:
		return StatusFailed, []PhaseContext{{StatusCode: "SERVER_SHUTDOWN", Message: "The registry server shut down while the build was in progress"}}
	}
}

// failed is a FAILED phase result with one context.
func failed(code, format string, args ...any) (Status, []PhaseContext) {
	return StatusFailed, []PhaseContext{{StatusCode: code, Message: fmt.Sprintf(format, args...)}}
}

// exec does the work of one phase.
func (r *run) exec(p Phase) (Status, []PhaseContext) {
	if p != PhaseFinalizing && r.ctx.Err() != nil {
		return r.interrupted()
	}
	switch p {
	case PhaseProvisioning:
		return r.provision()
	case PhaseDownloadSource:
		return r.downloadSource()
	case PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild:
		return r.commands(p)
	case PhaseUploadArtifacts:
		return r.upload()
	case PhaseFinalizing:
		r.finalize()
	}
	return StatusSucceeded, nil
}

// finalize ends the shell session (killing what the build left running)
// and removes the workspace.
func (r *run) finalize() {
	if r.sh != nil {
		r.sh.close()
		r.sh = nil
	}
	if r.work != "" {
		if err := os.RemoveAll(r.work); err != nil {
			r.s.cfg.Log.Warn("removing a build workspace", "dir", r.work, "err", err)
		}
	}
}
