package pipeline

// Statuses as the CodePipeline API spells them. Pipeline executions use
// Cancelled, InProgress, Stopped, Stopping, Succeeded, Superseded and
// Failed; stage executions the same without Superseded (plus Skipped,
// which this server never produces); action executions InProgress,
// Abandoned, Succeeded and Failed.
const (
	StatusCancelled  = "Cancelled"
	StatusInProgress = "InProgress"
	StatusStopped    = "Stopped"
	StatusStopping   = "Stopping"
	StatusSucceeded  = "Succeeded"
	StatusSuperseded = "Superseded"
	StatusFailed     = "Failed"
	StatusAbandoned  = "Abandoned"
)

// Trigger types of an execution (ExecutionTrigger.triggerType).
const (
	TriggerStartPipelineExecution = "StartPipelineExecution"
	TriggerCloudWatchEvent        = "CloudWatchEvent"
)

// Retry modes of RetryStageExecution.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
)

// Approval results of PutApprovalResult.
const (
	Approved = "Approved"
	Rejected = "Rejected"
)

// Terminal reports whether an execution status is final.
func Terminal(status string) bool {
	switch status {
	case StatusInProgress, StatusStopping:
		return false
	}
	return true
}
