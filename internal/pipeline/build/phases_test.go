package build

import "testing"

// TestNext is CodeBuild's transition table.
func TestNext(t *testing.T) {
	for _, tc := range []struct {
		phase     Phase
		status    Status
		onFailure string
		want      Phase
	}{
		{PhaseSubmitted, StatusSucceeded, "", PhaseQueued},
		{PhaseQueued, StatusSucceeded, "", PhaseProvisioning},
		{PhaseProvisioning, StatusSucceeded, "", PhaseDownloadSource},
		{PhaseDownloadSource, StatusSucceeded, "", PhaseInstall},
		{PhaseInstall, StatusSucceeded, "", PhasePreBuild},
		{PhasePreBuild, StatusSucceeded, "", PhaseBuild},
		{PhaseBuild, StatusSucceeded, "", PhasePostBuild},
		{PhasePostBuild, StatusSucceeded, "", PhaseUploadArtifacts},
		{PhaseUploadArtifacts, StatusSucceeded, "", PhaseFinalizing},
		{PhaseFinalizing, StatusSucceeded, "", PhaseCompleted},

		// Failures before the build proper skip to FINALIZING.
		{PhaseProvisioning, StatusFailed, "", PhaseFinalizing},
		{PhaseDownloadSource, StatusFailed, "", PhaseFinalizing},
		{PhaseInstall, StatusFailed, "", PhaseFinalizing},
		{PhasePreBuild, StatusFailed, "", PhaseFinalizing},
		// A build failure still runs POST_BUILD; POST_BUILD still uploads.
		{PhaseBuild, StatusFailed, "", PhasePostBuild},
		{PhasePostBuild, StatusFailed, "", PhaseUploadArtifacts},
		{PhaseUploadArtifacts, StatusFailed, "", PhaseFinalizing},
		{PhaseFinalizing, StatusFailed, "", PhaseCompleted},

		// on-failure overrides the default for command phases.
		{PhaseInstall, StatusFailed, OnFailureContinue, PhasePreBuild},
		{PhasePreBuild, StatusFailed, OnFailureContinue, PhaseBuild},
		{PhaseBuild, StatusFailed, OnFailureContinue, PhasePostBuild},
		{PhasePostBuild, StatusFailed, OnFailureContinue, PhaseUploadArtifacts},
		{PhaseBuild, StatusFailed, OnFailureAbort, PhaseFinalizing},
		{PhasePostBuild, StatusFailed, OnFailureAbort, PhaseFinalizing},
		{PhaseInstall, StatusFailed, OnFailureAbort, PhaseFinalizing},
		// ... and means nothing for the others.
		{PhaseDownloadSource, StatusFailed, OnFailureContinue, PhaseFinalizing},

		// Interruptions go straight to FINALIZING.
		{PhaseBuild, StatusStopped, "", PhaseFinalizing},
		{PhaseBuild, StatusTimedOut, OnFailureContinue, PhaseFinalizing},
		{PhaseQueued, StatusStopped, "", PhaseFinalizing},
		{PhaseUploadArtifacts, StatusFault, "", PhaseFinalizing},
	} {
		if got := Next(tc.phase, tc.status, tc.onFailure); got != tc.want {
			t.Errorf("Next(%s, %s, %q) = %s, want %s", tc.phase, tc.status, tc.onFailure, got, tc.want)
		}
	}
}

func TestBuildStatus(t *testing.T) {
	ph := func(ss ...Status) []PhaseRecord {
		var out []PhaseRecord
		for _, s := range ss {
			out = append(out, PhaseRecord{Status: s})
		}
		return out
	}
	for _, tc := range []struct {
		phases []PhaseRecord
		want   Status
	}{
		{ph(StatusSucceeded, StatusSucceeded), StatusSucceeded},
		{ph(StatusSucceeded, StatusFailed, StatusSucceeded), StatusFailed},
		{ph(StatusFailed, StatusStopped), StatusStopped},
		{ph(StatusSucceeded, StatusTimedOut, StatusSucceeded), StatusTimedOut},
		{ph(StatusSucceeded, ""), StatusSucceeded}, // COMPLETED has no status
	} {
		if got := buildStatus(tc.phases); got != tc.want {
			t.Errorf("buildStatus(%v) = %s, want %s", tc.phases, got, tc.want)
		}
	}
}
