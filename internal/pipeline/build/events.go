package build

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"

	"github.com/artifactd/registry/internal/events/outbox"
)

// Event is a build event in EventBridge's envelope with CodeBuild's
// detail types: "CodeBuild Build State Change" (when a build starts and
// when it completes) and "CodeBuild Build Phase Change" (when a phase
// completes). The Service writes every event to its outbox (Outbox) in
// the transaction of the change, and hands it to Config.Events after the
// commit.
type Event struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
	// Project is the build's project.
	Project string `json:"-"`
	// DedupID is stable for one transition of one build (build id +
	// status or phase), for consumers that must de-duplicate.
	DedupID string `json:"-"`
}

// Subject returns the NATS subject of the event under prefix (e.g.
// "registry"): <prefix>.codebuild.<project>.
func (e Event) Subject(prefix string) string { return prefix + ".codebuild." + e.Project }

// StateChangeDetail is the detail of "CodeBuild Build State Change".
type StateChangeDetail struct {
	BuildStatus           string         `json:"build-status"`
	ProjectName           string         `json:"project-name"`
	BuildID               string         `json:"build-id"` // the build ARN
	CurrentPhase          string         `json:"current-phase"`
	CurrentPhaseContext   string         `json:"current-phase-context"`
	Version               string         `json:"version"`
	AdditionalInformation AdditionalInfo `json:"additional-information"`
}

// PhaseChangeDetail is the detail of "CodeBuild Build Phase Change".
type PhaseChangeDetail struct {
	CompletedPhaseStatus   string         `json:"completed-phase-status"`
	ProjectName            string         `json:"project-name"`
	BuildID                string         `json:"build-id"`
	CompletedPhaseContext  string         `json:"completed-phase-context"`
	CompletedPhase         string         `json:"completed-phase"`
	CompletedPhaseDuration int64          `json:"completed-phase-duration-seconds"`
	CompletedPhaseStart    string         `json:"completed-phase-start"`
	CompletedPhaseEnd      string         `json:"completed-phase-end"`
	Version                string         `json:"version"`
	AdditionalInformation  AdditionalInfo `json:"additional-information"`
}

// AdditionalInfo is the additional-information of build events.
type AdditionalInfo struct {
	BuildComplete    bool   `json:"build-complete"`
	Initiator        string `json:"initiator"`
	BuildStartTime   string `json:"build-start-time"`
	BuildNumber      int64  `json:"build-number"`
	TimeoutInMinutes int    `json:"timeout-in-minutes"`
	SourceVersion    string `json:"source-version,omitempty"`
	Logs             struct {
		DeepLink string `json:"deep-link"`
	} `json:"logs"`
	ExportedEnvironmentVariables []EnvVar `json:"exported-environment-variables,omitempty"`
}

const eventTime = "2006-01-02T15:04:05Z"

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Service) info(b *Build) AdditionalInfo {
	ai := AdditionalInfo{BuildComplete: b.Complete, Initiator: b.Initiator, BuildStartTime: b.StartTime.UTC().Format(eventTime),
		BuildNumber: b.Number, TimeoutInMinutes: b.TimeoutInMinutes, SourceVersion: b.SourceVersion, ExportedEnvironmentVariables: b.ExportedVariables}
	ai.Logs.DeepLink = s.LogURL(b.ID)
	return ai
}

func (s *Service) envelope(b *Build, detailType, dedup string, detail any) Event {
	return Event{Version: "0", ID: newUUID(), DetailType: detailType, Source: "aws.codebuild", Account: s.cfg.Account,
		Time: s.now().UTC().Format(eventTime), Region: s.cfg.Region, Resources: []string{b.ARN}, Detail: detail,
		Project: b.Project, DedupID: dedup}
}

// stateEvent is the "CodeBuild Build State Change" of b's status.
func (s *Service) stateEvent(b *Build) Event {
	cur := ""
	if n := len(b.Phases); n > 0 {
		cur = string(b.Phases[n-1].Type)
	}
	return s.envelope(b, "CodeBuild Build State Change", b.ID+"/"+string(b.Status), StateChangeDetail{
		BuildStatus: string(b.Status), ProjectName: b.Project, BuildID: b.ARN, CurrentPhase: cur, CurrentPhaseContext: "[]",
		Version: "1", AdditionalInformation: s.info(b)})
}

// phaseEvent is the "CodeBuild Build Phase Change" of a completed phase.
func (s *Service) phaseEvent(b *Build, ph PhaseRecord) Event {
	return s.envelope(b, "CodeBuild Build Phase Change", b.ID+"/"+string(ph.Type), PhaseChangeDetail{
		CompletedPhaseStatus: string(ph.Status), ProjectName: b.Project, BuildID: b.ARN, CompletedPhaseContext: contextString(ph.Contexts),
		CompletedPhase: string(ph.Type), CompletedPhaseDuration: ph.Duration(), CompletedPhaseStart: ph.StartTime.UTC().Format(eventTime),
		CompletedPhaseEnd: ph.EndTime.UTC().Format(eventTime), Version: "1", AdditionalInformation: s.info(b)})
}

// record writes events to the outbox in tx, the transaction of the
// change they describe.
func record(ctx context.Context, tx *sql.Tx, evs []Event) error {
	for _, ev := range evs {
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := outbox.Insert(ctx, tx, "codebuild."+ev.Project, ev.DedupID, body); err != nil {
			return err
		}
	}
	return nil
}

// delivered runs after events committed: it wakes the relay and hands
// them to Config.Events.
func (s *Service) delivered(evs []Event) {
	if len(evs) == 0 {
		return
	}
	s.outbox.Notify()
	if s.cfg.Events != nil {
		for _, ev := range evs {
			s.cfg.Events(ev)
		}
	}
}

// Outbox returns the table of build events waiting to be published;
// relay it with events.Forwarder. Each message's subject is
// "codebuild.<project>", its body the Event, its dedup id Event.DedupID.
func (s *Service) Outbox() *outbox.Table { return s.outbox }

func contextString(cs []PhaseContext) string {
	if len(cs) == 0 {
		return "[]"
	}
	out := "["
	for i, c := range cs {
		if i > 0 {
			out += ", "
		}
		out += ": " + c.StatusCode + " " + c.Message
	}
	return out + "]"
}
