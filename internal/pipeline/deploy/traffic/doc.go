// Package traffic is the blue/green traffic layer of the embedded
// CodeDeploy: a load balancer per deployment group (Proxy), its request
// metrics over a sliding window (Metrics), alarms over those metrics and
// over health probes (Alarms, Watcher), CodeDeploy's traffic-routing
// configurations turned into timed steps (RoutingConfig, Schedule), and
// the loop that walks a proxy along a schedule and rolls back when an
// alarm fires (Shifter).
//
// It imports the standard library and internal/domain (error kinds) only;
// the deploy engine imports it, never the other way round.
//
// # How the deploy engine uses it
//
// One Proxy per deployment group that has a load balancer, created when
// the group is loaded and kept for the life of the server:
//
//	p := traffic.NewProxy(traffic.Options{})
//	addr, err := p.Listen("127.0.0.1:8080")        // the group's service address
//	p.SetTargets(traffic.Blue, urlsOfCurrentInstances)
//	defer p.Close(ctx)
//
// A blue/green deployment, in CodeDeploy's lifecycle order:
//
//	p.SetTargets(traffic.Green, urlsOfReplacementInstances)
//	// replacement instances: ApplicationStop ... ValidateService, then
//	// BeforeAllowTraffic hooks, then the AllowTraffic event:
//	p.AllowTraffic(traffic.Green)                     // green takes traffic only as its weight says
//	cfg, err := traffic.ParseRoutingConfig(raw)       // or traffic.Builtin(configName)
//	sched, err := cfg.Schedule(time.Minute)           // a shorter "minute" in tests
//	alarms, err := traffic.NewAlarms(p.Metrics(), rules, healthChecks)
//	sh := &traffic.Shifter{Proxy: p, Schedule: sched, Alarms: alarms,
//		OnProgress: recordProgress}
//	switch err := sh.Run(ctx); {                      // ctx ends on StopDeployment
//	case err == nil:
//		// AfterAllowTraffic hooks; originals: BeforeBlockTraffic,
//		p.BlockTraffic(traffic.Blue)                  // the BlockTraffic event
//		// AfterBlockTraffic; then make green the new original:
//		p.Promote()
//	case errors.As(err, new(*traffic.AlarmError)):
//		// traffic is already back on blue (p.Rollback() was called):
//		// stop the deployment (DEPLOYMENT_STOP_ON_ALARM) and roll back.
//	default:
//		// stopped: p.Rollback() if auto-rollback is on, else leave the split
//		// and record it, so a restart never finds an unrecorded split.
//	}
//
// The instance supervisor may call p.MarkBackend(set, url, false) when an
// instance's process dies, and true when it is back, so no request is sent
// to a backend known to be down.
//
// An in-place deployment behind the load balancer uses only
// BlockTraffic/AllowTraffic around each instance's lifecycle, or
// SetTargets to take one instance out of its set and put it back.
//
// Alarms outside a shift (for an in-place deployment, or after the last
// step) run on a Watcher fed by a time.Ticker's channel; its OnFire
// callback stops the deployment.
//
// # Routing
//
// Each request goes to blue or green by smooth weighted round-robin over
// (100-weight, weight), so the split is exact over every 100 requests
// while a weight stands, then round-robin over the set's backends. A
// blocked or empty set takes nothing; if the weights would send traffic
// nowhere, the other set takes it all, and only with no usable set does
// the proxy answer 503. Responses carry X-Deployment-Target: blue|green.
// Backend failures (connection refused, reset) are answered 502 and
// counted as errors.
//
// # Metrics
//
// Per set, a ring of one-second slots covering five minutes (configurable)
// of request counts, 5xx counts and log-linear latency histograms; memory
// is fixed when the proxy is made. Snapshot(window) reports requests,
// error rate and p99 latency per set and in total. The slot a request
// lands in comes from the injected clock; latency from the monotonic one.
//
// # Schedules
//
// CodeDeploy's arithmetic, in whole percent and whole minutes:
// AllAtOnce is [100 at 0]; TimeBasedCanary{p, n} is [p at 0, 100 at n];
// TimeBasedLinear{p, n} is [p at 0, 2p at n, 3p at 2n, ... 100], the last
// step capped at 100 (10% every minute reaches 100 at 9 minutes).
package traffic
