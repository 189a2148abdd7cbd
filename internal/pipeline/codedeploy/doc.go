// Package codedeploy serves the CodeDeploy control plane over its wire
// protocol, AWS JSON 1.1 (botocore model codedeploy 2014-10-06): POST /
// with X-Amz-Target "CodeDeploy_20141006.<Op>", SigV4 signing name
// "codedeploy". The operations:
//
//	CreateApplication, GetApplication, ListApplications, DeleteApplication
//	CreateDeploymentGroup, GetDeploymentGroup, ListDeploymentGroups, DeleteDeploymentGroup
//	CreateDeploymentConfig, GetDeploymentConfig, ListDeploymentConfigs
//	RegisterOnPremisesInstance, AddTagsToOnPremisesInstances, ListOnPremisesInstances,
//	  GetOnPremisesInstance, DeregisterOnPremisesInstance
//	CreateDeployment, GetDeployment, ListDeployments, StopDeployment, ContinueDeployment
//	ListDeploymentInstances, GetDeploymentInstance, ListDeploymentTargets,
//	  BatchGetDeploymentTargets, GetDeploymentTarget
//	PutLifecycleEventHookExecutionStatus
//
// A revision of revisionType S3 names a generic package version's asset
// in the registry: bucket "<domain>/<repository>", key
// "<namespace>/<package>/<version>/<asset>" (bundleType zip, tar or tgz);
// bucket "codepipeline-artifacts" with key "<sha256>" names a pipeline
// artifact (what CodePipeline's CodeDeploy action deploys).
// String and AppSpecContent revisions carry the appspec itself.
//
// Deployment groups may be IN_PLACE WITH_TRAFFIC_CONTROL with a
// loadBalancerInfo as below: each instance is taken out of the built-in
// load balancer (BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic)
// before the in-place events and put back after them (BeforeAllowTraffic,
// AllowTraffic, AfterAllowTraffic).
// Deployment groups may be BLUE_GREEN WITH_TRAFFIC_CONTROL with a
// loadBalancerInfo whose first target group's name is the "host:port"
// the group's built-in load balancer listens on, a
// blueGreenDeploymentConfiguration (TERMINATE|KEEP_ALIVE,
// CONTINUE_DEPLOYMENT|STOP_DEPLOYMENT then ContinueDeployment,
// DISCOVER_EXISTING: the instances tagged fleet=blue are the original
// fleet, the others the replacement) and an alarmConfiguration whose
// alarm names are rules over the load balancer's metrics
// ("green:errors>5%/60s", "p99>500ms/60s"; see deploy.ParseAlarmName).
// CreateDeploymentConfig takes trafficRoutingConfig TimeBasedCanary,
// TimeBasedLinear or AllAtOnce. Instance summaries carry instanceType
// Blue|Green (targets instanceLabel).
//
// Authorization asks for "codedeploy:<Op>" on the resource's ARN (the
// deployment group's for deployments). Errors are deploy's kinds turned
// into CodeDeploy's exceptions (ApplicationDoesNotExistException,
// InvalidRevisionException, ...) and rendered by internal/server with
// x-amzn-ErrorType.
//
// It imports internal/pipeline/deploy, internal/server and echo; never the
// registry.
package codedeploy
