package build

// Phase is a build phase, named as CodeBuild names it. A build passes
// through them in this order; failures skip ahead as Next describes:
//
//	SUBMITTED → QUEUED → PROVISIONING → DOWNLOAD_SOURCE → INSTALL → PRE_BUILD
//	  → BUILD → POST_BUILD → UPLOAD_ARTIFACTS → FINALIZING → COMPLETED
type Phase string

// The phases of a build.
const (
	PhaseSubmitted       Phase = "SUBMITTED"
	PhaseQueued          Phase = "QUEUED"
	PhaseProvisioning    Phase = "PROVISIONING"
	PhaseDownloadSource  Phase = "DOWNLOAD_SOURCE"
	PhaseInstall         Phase = "INSTALL"
	PhasePreBuild        Phase = "PRE_BUILD"
	PhaseBuild           Phase = "BUILD"
	PhasePostBuild       Phase = "POST_BUILD"
	PhaseUploadArtifacts Phase = "UPLOAD_ARTIFACTS"
	PhaseFinalizing      Phase = "FINALIZING"
	PhaseCompleted       Phase = "COMPLETED"
)

// Phases lists every phase in order.
var Phases = []Phase{PhaseSubmitted, PhaseQueued, PhaseProvisioning, PhaseDownloadSource, PhaseInstall,
	PhasePreBuild, PhaseBuild, PhasePostBuild, PhaseUploadArtifacts, PhaseFinalizing, PhaseCompleted}

// Status is the status of a phase or a build (CodeBuild's StatusType).
type Status string

// Statuses.
const (
	StatusSucceeded  Status = "SUCCEEDED"
	StatusFailed     Status = "FAILED"
	StatusFault      Status = "FAULT"
	StatusTimedOut   Status = "TIMED_OUT"
	StatusInProgress Status = "IN_PROGRESS"
	StatusStopped    Status = "STOPPED"
)

// On-failure values of a buildspec phase.
const (
	OnFailureAbort    = "ABORT"
	OnFailureContinue = "CONTINUE"
)

// specKey returns the buildspec key of a command phase ("" for others).
func (p Phase) specKey() string {
	switch p {
	case PhaseInstall:
		return "install"
	case PhasePreBuild:
		return "pre_build"
	case PhaseBuild:
		return "build"
	case PhasePostBuild:
		return "post_build"
	}
	return ""
}

// commands reports whether p runs buildspec commands in the shell.
func (p Phase) commands() bool { return p.specKey() != "" }

func (p Phase) index() int {
	for i, q := range Phases {
		if q == p {
			return i
		}
	}
	return -1
}

// Next returns the phase that follows p when p ended with status s.
// onFailure is the buildspec's on-failure setting of p ("" when unset).
// These are CodeBuild's transition rules:
//
//	status       phase                                   next
//	SUCCEEDED    any                                     the following phase
//	FAILED       INSTALL..POST_BUILD, on-failure CONTINUE the following phase
//	FAILED       INSTALL..POST_BUILD, on-failure ABORT    FINALIZING
//	FAILED       PROVISIONING, DOWNLOAD_SOURCE,
//	             INSTALL, PRE_BUILD                      FINALIZING
//	FAILED       BUILD                                   POST_BUILD
//	FAILED       POST_BUILD                              UPLOAD_ARTIFACTS
//	FAILED       UPLOAD_ARTIFACTS                        FINALIZING
//	STOPPED, TIMED_OUT, FAULT  before FINALIZING         FINALIZING
//	any          FINALIZING                              COMPLETED
func Next(p Phase, s Status, onFailure string) Phase {
	if p == PhaseFinalizing || p == PhaseCompleted {
		return PhaseCompleted
	}
	follow := Phases[p.index()+1]
	switch s {
	case StatusSucceeded:
		return follow
	case StatusFailed:
		if p.commands() {
			switch onFailure {
			case OnFailureContinue:
				return follow
			case OnFailureAbort:
				return PhaseFinalizing
			}
		}
		switch p {
		case PhaseBuild:
			return PhasePostBuild
		case PhasePostBuild:
			return PhaseUploadArtifacts
		}
		return PhaseFinalizing
	}
	return PhaseFinalizing
}

// buildStatus is the status of a finished build given the statuses its
// phases ended with: an interruption (STOPPED, TIMED_OUT, FAULT) wins,
// then any FAILED phase; else SUCCEEDED.
func buildStatus(phases []PhaseRecord) Status {
	worst := StatusSucceeded
	for _, ph := range phases {
		switch ph.Status {
		case StatusStopped, StatusTimedOut, StatusFault:
			return ph.Status
		case StatusFailed:
			worst = StatusFailed
		}
	}
	return worst
}
