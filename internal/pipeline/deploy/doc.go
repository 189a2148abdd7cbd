// Package deploy is the embedded CodeDeploy: applications, deployment
// groups, deployment configurations, on-premises instances and in-place
// and blue/green deployments of appspec.yml revisions onto local
// instances, with CodeDeploy's deployment-configuration arithmetic,
// traffic shifting, alarms and automatic rollback.
//
// State lives in deployments.db (SQLite via internal/sqlitedb); a
// deployment left in flight by a previous process is failed with a reason
// when the service opens. A local instance is a directory under the data
// directory:
//
//	instances/<name>/instance.yml                   the supervised process and its health check (supervisor.go)
//	instances/<name>/logs/process.log               its output
//	instances/<name>/root/                          what appspec destinations address: "/srv/app" is root/srv/app; hooks' working directory
//	instances/<name>/deployment-root/<group-id>/<deployment-id>/bundle/   the unpacked revision
//	instances/<name>/deployment-root/<group-id>/<deployment-id>/logs/scripts.log
//	instances/<name>/deployment-root/<group-id>/last_successful_install    the deployment id whose bundle ApplicationStop runs
//	instances/<name>/deployment-root/<group-id>/cleanup                    files the last Install created, removed by the next
//
// The embedded agent (agent.go) runs the in-place lifecycle on an instance:
// ApplicationStop (the last successful revision's scripts), DownloadBundle,
// BeforeInstall, Install, AfterInstall, ApplicationStart, ValidateService.
//
// Remote instances (remote.go): an instance whose iamSessionArn is
// AgentSessionArn(account, X) is served by the agent X on another machine
// (`registry agent`, which registers its instance that way itself). Its
// in-place lifecycle runs there, in the agent's own data directory with
// the same layout, hook environment and timeouts (Agent), and the service
// hands the work to Options.Remote; the agentnats subpackage carries it
// over NATS request/reply with heartbeats, and an agent that goes silent
// fails its instance with the reason. Blue/green groups refuse remote
// instances.
//
// Blue/green (bluegreen.go): a BLUE_GREEN group's load balancer is a
// traffic.Proxy the service runs for the life of the group, listening on
// loadBalancerInfo.targetGroupInfoList[0].name ("host:port"); an
// instance's backend is the origin of its instance.yml health URL. The
// group's instances tagged fleet=blue are the original fleet, the others
// the replacement; a successful deployment swaps the tags. Replacement
// instances run the in-place events, then BeforeAllowTraffic,
// AllowTraffic (the shift along the deployment config's
// trafficRoutingConfig, in Options.Minute minutes), AfterAllowTraffic;
// then the original ones BeforeBlockTraffic, BlockTraffic,
// AfterBlockTraffic. An alarm (alarmname.go: a rule over the proxy's
// metrics written as its name, "errors>5%/60s") firing during the
// deployment stops it (ALARM_ACTIVE) with traffic back on the original
// fleet, and DEPLOYMENT_STOP_ON_ALARM auto-rollback records a rollback
// deployment of the last good revision. After a restart the proxy starts
// with all traffic on the fleet=blue instances, and the interrupted
// deployment is failed with the reason, so no split outlives its record.
//
// In place behind the load balancer (inplace_traffic.go): an IN_PLACE
// WITH_TRAFFIC_CONTROL group has the same proxy, all its instances in the
// blue set. Each instance, in the waves of the deployment config, runs
// BeforeBlockTraffic, BlockTraffic (its backend marked down in the proxy;
// the requests in flight on it finish first), AfterBlockTraffic (hooks of
// the revision last installed there), the in-place events, then
// BeforeAllowTraffic, AllowTraffic (its backend marked up),
// AfterAllowTraffic. An instance that fails stays out of traffic; a
// rollback runs the same lifecycle. Such groups refuse remote instances.
//
// Hook scripts and supervised processes get CodeDeploy's variables and a
// minimal environment, never the server's own. The server keeps, under
// deploy-work/<deployment-id>/bundle, the unpacked revision of each group's
// last successful deployment (what a rollback redeploys); an instance
// keeps its 5 newest revisions.
//
// Revisions name their bundle through a BundleSource the caller supplies
// (cmd/registry resolves S3-style locations to registry package assets
// and pipeline artifacts).
//
// The package imports the standard library, yaml.v3, internal/sqlitedb
// and its traffic subpackage;
// never the registry or the HTTP layer.
package deploy
