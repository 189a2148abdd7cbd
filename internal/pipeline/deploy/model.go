package deploy

import (
	"encoding/json"
	"strconv"
	"time"
)

// The types below carry CodeDeploy's JSON member names (botocore model
// codedeploy 2014-10-06) so the API layer can serve them as they are; the
// same JSON is what deployments.db stores.

// Epoch is a time that marshals as JSON 1.1 timestamps do: epoch seconds
// with milliseconds as the fraction.
type Epoch time.Time

// MarshalJSON writes epoch seconds.
func (e Epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*e = Epoch(time.UnixMilli(int64(f*1000 + 0.5)))
	return nil
}

// Now returns the current time as an *Epoch, truncated to milliseconds.
func Now() *Epoch {
	e := Epoch(time.Now().Truncate(time.Millisecond))
	return &e
}

// Time returns e as a time.Time; the zero time for nil.
func (e *Epoch) Time() time.Time {
	if e == nil {
		return time.Time{}
	}
	return time.Time(*e)
}

// Tag is a key and value on an instance.
type Tag struct {
	Key   string `json:"Key,omitempty"`
	Value string `json:"Value,omitempty"`
}

// TagFilter selects on-premises instances: KEY_ONLY, VALUE_ONLY or
// KEY_AND_VALUE.
type TagFilter struct {
	Key   string `json:"Key,omitempty"`
	Value string `json:"Value,omitempty"`
	Type  string `json:"Type,omitempty"`
}

// Matches reports whether an instance with tags matches f.
func (f TagFilter) Matches(tags []Tag) bool {
	for _, t := range tags {
		switch f.Type {
		case "KEY_ONLY":
			if t.Key == f.Key {
				return true
			}
		case "VALUE_ONLY":
			if t.Value == f.Value {
				return true
			}
		default: // KEY_AND_VALUE
			if t.Key == f.Key && t.Value == f.Value {
				return true
			}
		}
	}
	return false
}

// Application is ApplicationInfo.
type Application struct {
	ApplicationID   string `json:"applicationId"`
	ApplicationName string `json:"applicationName"`
	CreateTime      *Epoch `json:"createTime,omitempty"`
	LinkedToGitHub  bool   `json:"linkedToGitHub"`
	ComputePlatform string `json:"computePlatform"`
}

// AutoRollback is AutoRollbackConfiguration.
type AutoRollback struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events,omitempty"`
}

// On reports whether rollback is enabled for event.
func (a *AutoRollback) On(event string) bool {
	if a == nil || !a.Enabled {
		return false
	}
	for _, e := range a.Events {
		if e == event {
			return true
		}
	}
	return false
}

// Alarm names an alarm.
type Alarm struct {
	Name string `json:"name,omitempty"`
}

// AlarmConfiguration names the alarms watched while the group's
// deployments run; see ParseAlarmName for what a name means.
type AlarmConfiguration struct {
	Enabled                bool    `json:"enabled"`
	IgnorePollAlarmFailure bool    `json:"ignorePollAlarmFailure"`
	Alarms                 []Alarm `json:"alarms,omitempty"`
}

// DeploymentStyle is the deployment type and traffic option.
type DeploymentStyle struct {
	DeploymentType   string `json:"deploymentType,omitempty"`
	DeploymentOption string `json:"deploymentOption,omitempty"`
}

// NamedInfo is ELBInfo and TargetGroupInfo: a name.
type NamedInfo struct {
	Name string `json:"name,omitempty"`
}

// LoadBalancerInfo is the group's load balancer. There is no ELB here:
// the load balancer is the built-in HTTP reverse proxy (traffic.Proxy)
// the server runs for the group, and the name of the first target group
// (or, failing that, of the first ELB) is the address it listens on,
// "host:port" such as "127.0.0.1:8080".
type LoadBalancerInfo struct {
	ElbInfoList         []NamedInfo `json:"elbInfoList,omitempty"`
	TargetGroupInfoList []NamedInfo `json:"targetGroupInfoList,omitempty"`
}

// Address is the proxy's listen address, "" if none is named.
func (l *LoadBalancerInfo) Address() string {
	switch {
	case l == nil:
		return ""
	case len(l.TargetGroupInfoList) > 0:
		return l.TargetGroupInfoList[0].Name
	case len(l.ElbInfoList) > 0:
		return l.ElbInfoList[0].Name
	}
	return ""
}

// BlueTerminate is BlueInstanceTerminationOption.
type BlueTerminate struct {
	Action                       string `json:"action,omitempty"`
	TerminationWaitTimeInMinutes int    `json:"terminationWaitTimeInMinutes,omitempty"`
}

// ReadyOption is DeploymentReadyOption.
type ReadyOption struct {
	ActionOnTimeout   string `json:"actionOnTimeout,omitempty"`
	WaitTimeInMinutes int    `json:"waitTimeInMinutes,omitempty"`
}

// GreenFleetOption is GreenFleetProvisioningOption.
type GreenFleetOption struct {
	Action string `json:"action,omitempty"`
}

// BlueGreenConfig is BlueGreenDeploymentConfiguration.
type BlueGreenConfig struct {
	TerminateBlueInstancesOnDeploymentSuccess *BlueTerminate    `json:"terminateBlueInstancesOnDeploymentSuccess,omitempty"`
	DeploymentReadyOption                     *ReadyOption      `json:"deploymentReadyOption,omitempty"`
	GreenFleetProvisioningOption              *GreenFleetOption `json:"greenFleetProvisioningOption,omitempty"`
}

// LastDeployment is LastDeploymentInfo.
type LastDeployment struct {
	DeploymentID string `json:"deploymentId,omitempty"`
	Status       string `json:"status,omitempty"`
	EndTime      *Epoch `json:"endTime,omitempty"`
	CreateTime   *Epoch `json:"createTime,omitempty"`
}

// Group is DeploymentGroupInfo (the members this service keeps).
type Group struct {
	ApplicationName              string              `json:"applicationName"`
	DeploymentGroupID            string              `json:"deploymentGroupId"`
	DeploymentGroupName          string              `json:"deploymentGroupName"`
	DeploymentConfigName         string              `json:"deploymentConfigName"`
	OnPremisesInstanceTagFilters []TagFilter         `json:"onPremisesInstanceTagFilters,omitempty"`
	ServiceRoleArn               string              `json:"serviceRoleArn,omitempty"`
	TargetRevision               *Revision           `json:"targetRevision,omitempty"`
	AlarmConfiguration           *AlarmConfiguration `json:"alarmConfiguration,omitempty"`
	AutoRollbackConfiguration    *AutoRollback       `json:"autoRollbackConfiguration,omitempty"`
	DeploymentStyle              DeploymentStyle     `json:"deploymentStyle"`
	LoadBalancerInfo             *LoadBalancerInfo   `json:"loadBalancerInfo,omitempty"`
	BlueGreen                    *BlueGreenConfig    `json:"blueGreenDeploymentConfiguration,omitempty"`
	LastSuccessfulDeployment     *LastDeployment     `json:"lastSuccessfulDeployment,omitempty"`
	LastAttemptedDeployment      *LastDeployment     `json:"lastAttemptedDeployment,omitempty"`
	ComputePlatform              string              `json:"computePlatform"`
}

// MinimumHealthyHosts is the health constraint of a deployment config:
// HOST_COUNT or FLEET_PERCENT, or MOST_CONCURRENCY for the built-in
// OneAtATime (what GetDeploymentConfig returns for it).
type MinimumHealthyHosts struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

// Config is DeploymentConfigInfo.
type Config struct {
	DeploymentConfigID   string               `json:"deploymentConfigId"`
	DeploymentConfigName string               `json:"deploymentConfigName"`
	MinimumHealthyHosts  *MinimumHealthyHosts `json:"minimumHealthyHosts,omitempty"`
	CreateTime           *Epoch               `json:"createTime,omitempty"`
	ComputePlatform      string               `json:"computePlatform"`
	TrafficRoutingConfig json.RawMessage      `json:"trafficRoutingConfig,omitempty"`
}

// Instance is InstanceInfo.
type Instance struct {
	InstanceName   string `json:"instanceName"`
	IamSessionArn  string `json:"iamSessionArn,omitempty"`
	IamUserArn     string `json:"iamUserArn,omitempty"`
	InstanceArn    string `json:"instanceArn"`
	RegisterTime   *Epoch `json:"registerTime,omitempty"`
	DeregisterTime *Epoch `json:"deregisterTime,omitempty"`
	Tags           []Tag  `json:"tags"`
}

// S3Location is where an S3 revision lives. In this registry Bucket is
// "<domain>/<repository>" and Key "<namespace>/<package>/<version>/<asset>"
// of a generic package version (see BundleSource).
type S3Location struct {
	Bucket     string `json:"bucket,omitempty"`
	Key        string `json:"key,omitempty"`
	BundleType string `json:"bundleType,omitempty"`
	Version    string `json:"version,omitempty"`
	ETag       string `json:"eTag,omitempty"`
}

// RawString is an inline revision: the appspec itself.
type RawString struct {
	Content string `json:"content,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// Revision is RevisionLocation.
type Revision struct {
	RevisionType   string      `json:"revisionType,omitempty"`
	S3Location     *S3Location `json:"s3Location,omitempty"`
	String         *RawString  `json:"string,omitempty"`
	AppSpecContent *RawString  `json:"appSpecContent,omitempty"`
}

// ErrorInfo is ErrorInformation.
type ErrorInfo struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Overview is DeploymentOverview: instance counts by status.
type Overview struct {
	Pending    int `json:"Pending"`
	InProgress int `json:"InProgress"`
	Succeeded  int `json:"Succeeded"`
	Failed     int `json:"Failed"`
	Skipped    int `json:"Skipped"`
	Ready      int `json:"Ready"`
}

// RollbackInfo links a deployment and its rollback.
type RollbackInfo struct {
	RollbackDeploymentID           string `json:"rollbackDeploymentId,omitempty"`
	RollbackTriggeringDeploymentID string `json:"rollbackTriggeringDeploymentId,omitempty"`
	RollbackMessage                string `json:"rollbackMessage,omitempty"`
}

// Deployment statuses.
const (
	StatusCreated    = "Created"
	StatusQueued     = "Queued"
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusStopped    = "Stopped"
	StatusPending    = "Pending"
	StatusSkipped    = "Skipped"
	StatusReady      = "Ready"
)

// Deployment is DeploymentInfo.
type Deployment struct {
	ApplicationName               string            `json:"applicationName"`
	DeploymentGroupName           string            `json:"deploymentGroupName"`
	DeploymentConfigName          string            `json:"deploymentConfigName"`
	DeploymentID                  string            `json:"deploymentId"`
	PreviousRevision              *Revision         `json:"previousRevision,omitempty"`
	Revision                      *Revision         `json:"revision,omitempty"`
	Status                        string            `json:"status"`
	ErrorInformation              *ErrorInfo        `json:"errorInformation,omitempty"`
	CreateTime                    *Epoch            `json:"createTime,omitempty"`
	StartTime                     *Epoch            `json:"startTime,omitempty"`
	CompleteTime                  *Epoch            `json:"completeTime,omitempty"`
	DeploymentOverview            Overview          `json:"deploymentOverview"`
	Description                   string            `json:"description,omitempty"`
	Creator                       string            `json:"creator"`
	IgnoreApplicationStopFailures bool              `json:"ignoreApplicationStopFailures"`
	AutoRollbackConfiguration     *AutoRollback     `json:"autoRollbackConfiguration,omitempty"`
	UpdateOutdatedInstancesOnly   bool              `json:"updateOutdatedInstancesOnly"`
	RollbackInfo                  *RollbackInfo     `json:"rollbackInfo,omitempty"`
	DeploymentStyle               DeploymentStyle   `json:"deploymentStyle"`
	FileExistsBehavior            string            `json:"fileExistsBehavior,omitempty"`
	ComputePlatform               string            `json:"computePlatform"`
	LoadBalancerInfo              *LoadBalancerInfo `json:"loadBalancerInfo,omitempty"`
	BlueGreen                     *BlueGreenConfig  `json:"blueGreenDeploymentConfiguration,omitempty"`

	// GroupID is the deployment group's id (DEPLOYMENT_GROUP_ID of hooks).
	GroupID string `json:"-"`
	// Bundle is the directory holding the unpacked revision (a rollback
	// shares the one of the deployment it redeploys).
	Bundle string `json:"-"`
}

// Diagnostics tell why a lifecycle event failed.
type Diagnostics struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	ScriptName string `json:"scriptName,omitempty"`
	Message    string `json:"message,omitempty"`
	LogTail    string `json:"logTail,omitempty"`
}

// LifecycleEvent is one lifecycle event of a target.
type LifecycleEvent struct {
	LifecycleEventName string       `json:"lifecycleEventName"`
	Diagnostics        *Diagnostics `json:"diagnostics,omitempty"`
	StartTime          *Epoch       `json:"startTime,omitempty"`
	EndTime            *Epoch       `json:"endTime,omitempty"`
	Status             string       `json:"status"`
}

// Target is one instance of a deployment and its lifecycle events; the
// API shows it as InstanceSummary and InstanceTarget.
type Target struct {
	DeploymentID string `json:"deploymentId"`
	Instance     string `json:"instance"`
	InstanceArn  string `json:"instanceArn"`
	Status       string `json:"status"`
	// InstanceType is Blue (an original instance) or Green (a
	// replacement) in a blue/green deployment, "" in place.
	InstanceType    string           `json:"instanceType,omitempty"`
	LastUpdatedAt   *Epoch           `json:"lastUpdatedAt,omitempty"`
	LifecycleEvents []LifecycleEvent `json:"lifecycleEvents"`
}
