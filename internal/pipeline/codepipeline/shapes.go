package codepipeline

import (
	"strconv"
	"time"

	"github.com/artifactd/registry/internal/pipeline"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

// The response shapes, named as in the botocore model. Members that are
// empty are omitted, as AWS does.

// epoch is a timestamp on the wire: epoch seconds with milliseconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type pipelineMetadata struct {
	PipelineArn string `json:"pipelineArn"`
	Created     *epoch `json:"created,omitempty"`
	Updated     *epoch `json:"updated,omitempty"`
}

type pipelineSummary struct {
	Name          string `json:"name"`
	Version       int    `json:"version"`
	PipelineType  string `json:"pipelineType,omitempty"`
	ExecutionMode string `json:"executionMode,omitempty"`
	Created       *epoch `json:"created,omitempty"`
	Updated       *epoch `json:"updated,omitempty"`
}

type stageExecution struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status"`
	Type                string `json:"type,omitempty"`
}

type transitionState struct {
	Enabled        bool   `json:"enabled"`
	LastChangedBy  string `json:"lastChangedBy,omitempty"`
	LastChangedAt  *epoch `json:"lastChangedAt,omitempty"`
	DisabledReason string `json:"disabledReason,omitempty"`
}

type errorDetails struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type actionExecution struct {
	ActionExecutionID    string        `json:"actionExecutionId,omitempty"`
	Status               string        `json:"status,omitempty"`
	Summary              string        `json:"summary,omitempty"`
	LastStatusChange     *epoch        `json:"lastStatusChange,omitempty"`
	Token                string        `json:"token,omitempty"`
	LastUpdatedBy        string        `json:"lastUpdatedBy,omitempty"`
	ExternalExecutionID  string        `json:"externalExecutionId,omitempty"`
	ExternalExecutionURL string        `json:"externalExecutionUrl,omitempty"`
	ErrorDetails         *errorDetails `json:"errorDetails,omitempty"`
}

type actionRevision struct {
	RevisionID       string `json:"revisionId"`
	RevisionChangeID string `json:"revisionChangeId"`
	Created          *epoch `json:"created"`
}

type actionState struct {
	ActionName      string           `json:"actionName"`
	CurrentRevision *actionRevision  `json:"currentRevision,omitempty"`
	LatestExecution *actionExecution `json:"latestExecution,omitempty"`
}

type retryStageMetadata struct {
	ManualStageRetryAttempt int    `json:"manualStageRetryAttempt,omitempty"`
	LatestRetryTrigger      string `json:"latestRetryTrigger,omitempty"`
}

type stageState struct {
	StageName              string              `json:"stageName"`
	InboundExecution       *stageExecution     `json:"inboundExecution,omitempty"`
	InboundExecutions      []stageExecution    `json:"inboundExecutions,omitempty"`
	InboundTransitionState transitionState     `json:"inboundTransitionState"`
	ActionStates           []actionState       `json:"actionStates"`
	LatestExecution        *stageExecution     `json:"latestExecution,omitempty"`
	RetryStageMetadata     *retryStageMetadata `json:"retryStageMetadata,omitempty"`
}

func stateOut(s engine.PipelineState) any {
	out := struct {
		PipelineName    string       `json:"pipelineName"`
		PipelineVersion int          `json:"pipelineVersion"`
		StageStates     []stageState `json:"stageStates"`
		Created         *epoch       `json:"created,omitempty"`
		Updated         *epoch       `json:"updated,omitempty"`
	}{PipelineName: s.Name, PipelineVersion: s.Version, StageStates: []stageState{}, Created: ts(s.Created), Updated: ts(s.Updated)}
	for _, st := range s.Stages {
		ss := stageState{StageName: st.Name, ActionStates: []actionState{},
			InboundTransitionState: transitionState{Enabled: st.Transition.Enabled, LastChangedBy: st.Transition.LastChangedBy,
				LastChangedAt: ts(st.Transition.LastChangedAt), DisabledReason: st.Transition.DisabledReason}}
		for _, in := range st.Inbound {
			ss.InboundExecutions = append(ss.InboundExecutions, stageExecution{in.ExecutionID, in.Status, "STANDARD"})
		}
		if n := len(ss.InboundExecutions); n > 0 {
			last := ss.InboundExecutions[n-1]
			ss.InboundExecution = &last
		}
		if st.Latest != nil {
			ss.LatestExecution = &stageExecution{st.Latest.ExecutionID, st.Latest.Status, "STANDARD"}
		}
		if st.RetryAttempt > 0 {
			ss.RetryStageMetadata = &retryStageMetadata{ManualStageRetryAttempt: st.RetryAttempt, LatestRetryTrigger: "ManualStageRetry"}
		}
		for _, a := range st.Actions {
			as := actionState{ActionName: a.Name}
			if r := a.Latest; r != nil {
				as.LatestExecution = &actionExecution{ActionExecutionID: r.ID, Status: r.Status, Summary: r.Summary,
					LastStatusChange: ts(r.LastStatusChange), Token: r.Token, LastUpdatedBy: r.LastUpdatedBy,
					ExternalExecutionID: r.ExternalID, ExternalExecutionURL: r.ExternalURL}
				if r.ErrorCode != "" || r.ErrorMessage != "" {
					as.LatestExecution.ErrorDetails = &errorDetails{r.ErrorCode, truncate(r.ErrorMessage, 5000)}
				}
			}
			if rv := a.Revision; rv != nil {
				change := rv.ChangeID
				if change == "" {
					change = rv.ID
				}
				as.CurrentRevision = &actionRevision{RevisionID: truncate(rv.ID, 1500), RevisionChangeID: truncate(change, 100), Created: ts(rv.Created)}
			}
			ss.ActionStates = append(ss.ActionStates, as)
		}
		out.StageStates = append(out.StageStates, ss)
	}
	return out
}

type executionTrigger struct {
	TriggerType   string `json:"triggerType,omitempty"`
	TriggerDetail string `json:"triggerDetail,omitempty"`
}

type resolvedVariable struct {
	Name          string `json:"name"`
	ResolvedValue string `json:"resolvedValue"`
}

type artifactRevision struct {
	Name                     string `json:"name,omitempty"`
	RevisionID               string `json:"revisionId,omitempty"`
	RevisionChangeIdentifier string `json:"revisionChangeIdentifier,omitempty"`
	RevisionSummary          string `json:"revisionSummary,omitempty"`
	Created                  *epoch `json:"created,omitempty"`
	RevisionURL              string `json:"revisionUrl,omitempty"`
}

type pipelineExecution struct {
	PipelineName      string             `json:"pipelineName"`
	PipelineVersion   int                `json:"pipelineVersion"`
	ExecutionID       string             `json:"pipelineExecutionId"`
	Status            string             `json:"status"`
	StatusSummary     string             `json:"statusSummary,omitempty"`
	ArtifactRevisions []artifactRevision `json:"artifactRevisions"`
	Variables         []resolvedVariable `json:"variables,omitempty"`
	Trigger           executionTrigger   `json:"trigger"`
	ExecutionMode     string             `json:"executionMode,omitempty"`
	ExecutionType     string             `json:"executionType"`
}

func executionOut(x engine.Execution) pipelineExecution {
	out := pipelineExecution{PipelineName: x.Pipeline, PipelineVersion: x.Version, ExecutionID: x.ID, Status: x.Status,
		StatusSummary: x.Summary, ArtifactRevisions: []artifactRevision{}, Trigger: executionTrigger{x.TriggerType, truncate(x.TriggerDetail, 1024)},
		ExecutionMode: x.Mode, ExecutionType: "STANDARD"}
	for _, v := range x.Variables {
		out.Variables = append(out.Variables, resolvedVariable{v.Name, v.Value})
	}
	for _, r := range x.ArtifactRevisions {
		out.ArtifactRevisions = append(out.ArtifactRevisions, artifactRevision{Name: r.Name, RevisionID: truncate(r.ID, 1500),
			RevisionChangeIdentifier: truncate(r.ChangeID, 100), RevisionSummary: truncate(r.Summary, 2048), Created: ts(r.Created), RevisionURL: r.URL})
	}
	return out
}

type sourceRevision struct {
	ActionName      string `json:"actionName"`
	RevisionID      string `json:"revisionId,omitempty"`
	RevisionSummary string `json:"revisionSummary,omitempty"`
	RevisionURL     string `json:"revisionUrl,omitempty"`
}

type stopTrigger struct {
	Reason string `json:"reason,omitempty"`
}

type executionSummary struct {
	ExecutionID     string           `json:"pipelineExecutionId"`
	Status          string           `json:"status"`
	StatusSummary   string           `json:"statusSummary,omitempty"`
	StartTime       *epoch           `json:"startTime,omitempty"`
	LastUpdateTime  *epoch           `json:"lastUpdateTime,omitempty"`
	SourceRevisions []sourceRevision `json:"sourceRevisions"`
	Trigger         executionTrigger `json:"trigger"`
	StopTrigger     *stopTrigger     `json:"stopTrigger,omitempty"`
	ExecutionMode   string           `json:"executionMode,omitempty"`
	ExecutionType   string           `json:"executionType"`
}

func summaryOut(x engine.Execution) executionSummary {
	out := executionSummary{ExecutionID: x.ID, Status: x.Status, StatusSummary: x.Summary, StartTime: ts(x.Started), LastUpdateTime: ts(x.Updated),
		SourceRevisions: []sourceRevision{}, Trigger: executionTrigger{x.TriggerType, truncate(x.TriggerDetail, 1024)}, ExecutionMode: x.Mode,
		ExecutionType: "STANDARD"}
	for _, r := range x.SourceRevisions {
		out.SourceRevisions = append(out.SourceRevisions, sourceRevision{ActionName: r.Action, RevisionID: truncate(r.ID, 1500),
			RevisionSummary: truncate(r.Summary, 2048), RevisionURL: r.URL})
	}
	if x.Status == pipeline.StatusStopped || x.Status == pipeline.StatusStopping {
		out.StopTrigger = &stopTrigger{Reason: x.StopReason}
	}
	return out
}

type s3Location struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

type artifactDetail struct {
	Name       string     `json:"name"`
	S3Location s3Location `json:"s3location"`
}

func artifactsOut(as []engine.Artifact, bucket string) []artifactDetail {
	out := []artifactDetail{}
	for _, a := range as {
		out = append(out, artifactDetail{a.Name, s3Location{bucket, a.SHA256}})
	}
	return out
}

type actionExecutionDetail struct {
	ExecutionID       string `json:"pipelineExecutionId"`
	ActionExecutionID string `json:"actionExecutionId"`
	PipelineVersion   int    `json:"pipelineVersion"`
	StageName         string `json:"stageName"`
	ActionName        string `json:"actionName"`
	StartTime         *epoch `json:"startTime,omitempty"`
	LastUpdateTime    *epoch `json:"lastUpdateTime,omitempty"`
	UpdatedBy         string `json:"updatedBy,omitempty"`
	Status            string `json:"status"`
	Input             struct {
		ActionTypeID          pipeline.ActionTypeID `json:"actionTypeId"`
		Configuration         map[string]string     `json:"configuration,omitempty"`
		ResolvedConfiguration map[string]string     `json:"resolvedConfiguration,omitempty"`
		RoleArn               string                `json:"roleArn,omitempty"`
		Region                string                `json:"region,omitempty"`
		InputArtifacts        []artifactDetail      `json:"inputArtifacts"`
		Namespace             string                `json:"namespace,omitempty"`
	} `json:"input"`
	Output struct {
		OutputArtifacts []artifactDetail `json:"outputArtifacts"`
		ExecutionResult *struct {
			ExternalExecutionID      string        `json:"externalExecutionId,omitempty"`
			ExternalExecutionSummary string        `json:"externalExecutionSummary,omitempty"`
			ExternalExecutionURL     string        `json:"externalExecutionUrl,omitempty"`
			ErrorDetails             *errorDetails `json:"errorDetails,omitempty"`
		} `json:"executionResult,omitempty"`
		OutputVariables map[string]string `json:"outputVariables,omitempty"`
	} `json:"output"`
}

func actionDetailOut(a engine.ActionExecution, bucket string) actionExecutionDetail {
	var d actionExecutionDetail
	d.ExecutionID, d.ActionExecutionID, d.PipelineVersion, d.StageName, d.ActionName = a.ExecutionID, a.ID, a.Version, a.Stage, a.Action
	d.StartTime, d.LastUpdateTime, d.UpdatedBy, d.Status = ts(a.Started), ts(a.Updated), a.UpdatedBy, a.Status
	d.Input.ActionTypeID, d.Input.Configuration, d.Input.ResolvedConfiguration = a.Type, a.Configuration, a.ResolvedConfiguration
	d.Input.RoleArn, d.Input.Region, d.Input.Namespace = a.RoleArn, a.Region, a.Namespace
	d.Input.InputArtifacts = artifactsOut(a.InputArtifacts, bucket)
	d.Output.OutputArtifacts = artifactsOut(a.OutputArtifacts, bucket)
	d.Output.OutputVariables = a.OutputVariables
	if a.Status != pipeline.StatusInProgress || a.ExternalID != "" {
		r := &struct {
			ExternalExecutionID      string        `json:"externalExecutionId,omitempty"`
			ExternalExecutionSummary string        `json:"externalExecutionSummary,omitempty"`
			ExternalExecutionURL     string        `json:"externalExecutionUrl,omitempty"`
			ErrorDetails             *errorDetails `json:"errorDetails,omitempty"`
		}{ExternalExecutionID: a.ExternalID, ExternalExecutionSummary: a.Summary, ExternalExecutionURL: a.ExternalURL}
		if a.ErrorCode != "" || a.ErrorMessage != "" {
			r.ErrorDetails = &errorDetails{a.ErrorCode, truncate(a.ErrorMessage, 5000)}
		}
		d.Output.ExecutionResult = r
	}
	return d
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
