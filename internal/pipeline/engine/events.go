package engine

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
)

// Event is a state change in CodePipeline's EventBridge shape, handed to
// Options.Events. Pipeline is the pipeline's name, for the subject
// (registry.codepipeline.<pipeline>); DedupID is stable across redelivery
// of the same change.
type Event struct {
	Pipeline string
	DedupID  string
	Envelope Envelope
}

// Envelope is the EventBridge envelope.
type Envelope struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     EventDetail `json:"detail"`
}

// Detail types.
const (
	DetailPipeline = "CodePipeline Pipeline Execution State Change"
	DetailStage    = "CodePipeline Stage Execution State Change"
	DetailAction   = "CodePipeline Action Execution State Change"
)

// EventDetail is the detail of the three CodePipeline state-change events;
// stage events add Stage, action events Stage, Action and Type.
// https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
type EventDetail struct {
	Pipeline         string                 `json:"pipeline"`
	Version          float64                `json:"version"`
	ExecutionID      string                 `json:"execution-id"`
	StartTime        string                 `json:"start-time,omitempty"`
	ExecutionTrigger *EventTrigger          `json:"execution-trigger,omitempty"`
	Stage            string                 `json:"stage,omitempty"`
	Action           string                 `json:"action,omitempty"`
	State            string                 `json:"state"`
	Region           string                 `json:"region,omitempty"`
	Type             *pipeline.ActionTypeID `json:"type,omitempty"`
	InputArtifacts   []EventArtifact        `json:"input-artifacts,omitempty"`
	OutputArtifacts  []EventArtifact        `json:"output-artifacts,omitempty"`
	ExecutionResult  *EventResult           `json:"execution-result,omitempty"`
	Attempt          float64                `json:"pipeline-execution-attempt"`
}

// EventTrigger says what started the execution.
type EventTrigger struct {
	TriggerType   string `json:"trigger-type"`
	TriggerDetail string `json:"trigger-detail,omitempty"`
}

// EventArtifact names an artifact of an action event.
type EventArtifact struct {
	Name       string            `json:"name"`
	S3Location map[string]string `json:"s3location"`
}

// EventResult is the outcome of a finished action.
type EventResult struct {
	ExternalExecutionID      string `json:"external-execution-id,omitempty"`
	ExternalExecutionSummary string `json:"external-execution-summary,omitempty"`
	ExternalExecutionURL     string `json:"external-execution-url,omitempty"`
	ErrorCode                string `json:"error-code,omitempty"`
}

// Event states.
const (
	StateStarted    = "STARTED"
	StateSucceeded  = "SUCCEEDED"
	StateFailed     = "FAILED"
	StateResumed    = "RESUMED"
	StateCanceled   = "CANCELED"
	StateSuperseded = "SUPERSEDED"
	StateStopping   = "STOPPING"
	StateStopped    = "STOPPED"
	StateAbandoned  = "ABANDONED"
)

// eventState maps a status to the state an event reports.
func eventState(status string) string {
	switch status {
	case pipeline.StatusInProgress:
		return StateStarted
	case pipeline.StatusSucceeded:
		return StateSucceeded
	case pipeline.StatusFailed:
		return StateFailed
	case pipeline.StatusCancelled:
		return StateCanceled
	case pipeline.StatusSuperseded:
		return StateSuperseded
	case pipeline.StatusStopping:
		return StateStopping
	case pipeline.StatusStopped:
		return StateStopped
	case pipeline.StatusAbandoned:
		return StateAbandoned
	}
	return status
}

func (e *Engine) pipelineARN(name string) string {
	return fmt.Sprintf("arn:aws:codepipeline:%s:%s:%s", e.opts.Region, e.opts.Account, name)
}

// event builds an event; dedup distinguishes changes of the same object.
func (e *Engine) event(x *execRow, detailType, state string, d EventDetail, dedup string) Event {
	d.Pipeline = x.Pipeline
	d.Version = float64(x.Version)
	d.ExecutionID = x.ID
	d.State = state
	d.StartTime = time.UnixMilli(x.Started).UTC().Format(time.RFC3339)
	d.ExecutionTrigger = &EventTrigger{TriggerType: x.TriggerType, TriggerDetail: x.TriggerDetail}
	if d.Attempt == 0 {
		d.Attempt = 1
	}
	return Event{
		Pipeline: x.Pipeline,
		DedupID:  dedup,
		Envelope: Envelope{
			Version: "0", ID: newUUID(), DetailType: detailType, Source: "aws.codepipeline", Account: e.opts.Account,
			Time: e.now().UTC().Format(time.RFC3339), Region: e.opts.Region, Resources: []string{e.pipelineARN(x.Pipeline)}, Detail: d,
		},
	}
}

func (e *Engine) pipelineEvent(x *execRow, state string) Event {
	return e.event(x, DetailPipeline, state, EventDetail{}, fmt.Sprintf("%s:%s:%d", x.ID, state, x.Updated))
}

func (e *Engine) stageEvent(x *execRow, s *stageRow, state string) Event {
	return e.event(x, DetailStage, state, EventDetail{Stage: s.Stage, Attempt: float64(s.Attempt)},
		fmt.Sprintf("%s:%s:%d:%s", x.ID, s.Stage, s.Attempt, state))
}

func (e *Engine) actionEvent(x *execRow, a *actionRow, state string) Event {
	t := a.Input.ActionTypeID
	d := EventDetail{Stage: a.Stage, Action: a.Action, Type: &t, Region: e.opts.Region, Attempt: float64(a.Attempt)}
	for _, in := range a.Input.InputArtifacts {
		d.InputArtifacts = append(d.InputArtifacts, EventArtifact{Name: in.Name, S3Location: map[string]string{"bucket": artifactBucket, "key": in.SHA256}})
	}
	for _, o := range a.Output.OutputArtifacts {
		d.OutputArtifacts = append(d.OutputArtifacts, EventArtifact{Name: o.Name, S3Location: map[string]string{"bucket": artifactBucket, "key": o.SHA256}})
	}
	if state != StateStarted {
		d.ExecutionResult = &EventResult{ExternalExecutionID: a.ExternalID, ExternalExecutionSummary: a.Summary, ExternalExecutionURL: a.ExternalURL, ErrorCode: a.ErrorCode}
	}
	return e.event(x, DetailAction, state, d, a.ID+":"+state)
}

// artifactBucket is the bucket name artifact locations report; the key is
// the blob digest.
const artifactBucket = "registry-artifacts"

// newUUID returns a random version-4 UUID, the form of execution ids and
// approval tokens.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
