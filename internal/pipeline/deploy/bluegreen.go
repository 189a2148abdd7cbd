package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

// Blue/green deployments (deploymentStyle BLUE_GREEN, WITH_TRAFFIC_CONTROL).
//
// The load balancer is the built-in proxy the server runs for the group,
// listening on loadBalancerInfo.targetGroupInfoList[0].name ("host:port").
// An instance's backend URL is the origin (scheme://host:port) of the
// health URL of its instance.yml.
//
// The fleets (greenFleetProvisioningOption DISCOVER_EXISTING, the only
// option): of the instances the group's tag filters select, those tagged
// FleetTag=blue are the original (blue) fleet, serving now, and all the
// others the replacement (green) fleet. A successful deployment swaps the
// tags (the green instances become FleetTag=blue, the blue ones
// FleetTag=green), so the next deployment goes to the other half.
//
// Lifecycle: the in-place events on each green instance (all at once; each
// must succeed), then — after ContinueDeployment when deploymentReadyOption
// is STOP_DEPLOYMENT — BeforeAllowTraffic, AllowTraffic (green is allowed
// and takes the weights the deployment config's trafficRoutingConfig gives
// over time), AfterAllowTraffic; then on each blue instance
// BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic (hooks of the
// revision last installed on it). Then green becomes the proxy's blue set.
// terminateBlueInstancesOnDeploymentSuccess TERMINATE stops the blue
// instances' processes after the wait time; KEEP_ALIVE leaves them.
//
// A failure, a stop or an alarm before the end puts all traffic back on
// blue. Minutes of routing configs and wait times are Options.Minute long.

// FleetTag is the instance tag whose value, blue or green, says which
// fleet of a blue/green group an instance is in.
const FleetTag = "fleet"

// ReplacementEvents and OriginalEvents are the lifecycle events of the
// green and blue instances of a blue/green deployment, in order.
var (
	ReplacementEvents = append(append([]string(nil), InPlaceEvents...), "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
	OriginalEvents    = []string{"BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"}
)

func isBlueGreen(st DeploymentStyle) bool { return st.DeploymentType == "BLUE_GREEN" }

func groupKey(app, group string) string { return app + "\x00" + group }

// checkTrafficStyle validates and completes a group's deployment style,
// load balancer and blue/green configuration.
func checkTrafficStyle(g *Group) error {
	st := &g.DeploymentStyle
	if st.DeploymentType == "" {
		st.DeploymentType = "IN_PLACE"
	}
	switch {
	case st.DeploymentType == "IN_PLACE" && (st.DeploymentOption == "" || st.DeploymentOption == "WITHOUT_TRAFFIC_CONTROL"):
		st.DeploymentOption = "WITHOUT_TRAFFIC_CONTROL"
		if g.LoadBalancerInfo.Address() != "" {
			return errorf(ErrInvalid, "LoadBalancerInfo", "a load balancer serves deployments WITH_TRAFFIC_CONTROL only; set deploymentStyle deploymentOption WITH_TRAFFIC_CONTROL to deploy in place behind it")
		}
		g.BlueGreen = nil
		return nil
	case st.DeploymentType == "BLUE_GREEN" && (st.DeploymentOption == "" || st.DeploymentOption == "WITH_TRAFFIC_CONTROL"):
		st.DeploymentOption = "WITH_TRAFFIC_CONTROL"
	case st.DeploymentType == "IN_PLACE" && st.DeploymentOption == "WITH_TRAFFIC_CONTROL":
		if g.LoadBalancerInfo.Address() == "" {
			return errorf(ErrInvalid, "LoadBalancerInfo", "an IN_PLACE deployment group WITH_TRAFFIC_CONTROL needs loadBalancerInfo.targetGroupInfoList[0].name: the address (host:port) its built-in load balancer listens on")
		}
		g.BlueGreen = nil
		return checkListenAddress(g.LoadBalancerInfo.Address())
	default:
		return errorf(ErrInvalid, "DeploymentStyle", "deployment style %s %s is invalid: BLUE_GREEN needs WITH_TRAFFIC_CONTROL", st.DeploymentType, st.DeploymentOption)
	}
	if err := checkListenAddress(g.LoadBalancerInfo.Address()); err != nil {
		return err
	}
	if g.BlueGreen == nil {
		g.BlueGreen = &BlueGreenConfig{}
	}
	bg := g.BlueGreen
	if bg.TerminateBlueInstancesOnDeploymentSuccess == nil {
		bg.TerminateBlueInstancesOnDeploymentSuccess = &BlueTerminate{Action: "TERMINATE", TerminationWaitTimeInMinutes: 60}
	}
	if bg.DeploymentReadyOption == nil {
		bg.DeploymentReadyOption = &ReadyOption{ActionOnTimeout: "CONTINUE_DEPLOYMENT"}
	}
	if bg.GreenFleetProvisioningOption == nil {
		bg.GreenFleetProvisioningOption = &GreenFleetOption{Action: "DISCOVER_EXISTING"}
	}
	switch t := bg.TerminateBlueInstancesOnDeploymentSuccess; {
	case t.Action == "":
		t.Action = "TERMINATE"
	case t.Action != "TERMINATE" && t.Action != "KEEP_ALIVE":
		return errorf(ErrInvalid, "BlueGreenDeploymentConfiguration", "terminateBlueInstancesOnDeploymentSuccess action %q is invalid: TERMINATE or KEEP_ALIVE", t.Action)
	}
	if w := bg.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes; w < 0 || w > 2880 {
		return errorf(ErrInvalid, "BlueGreenDeploymentConfiguration", "terminationWaitTimeInMinutes %d is out of 0-2880", w)
	}
	switch r := bg.DeploymentReadyOption; {
	case r.ActionOnTimeout == "":
		r.ActionOnTimeout = "CONTINUE_DEPLOYMENT"
	case r.ActionOnTimeout != "CONTINUE_DEPLOYMENT" && r.ActionOnTimeout != "STOP_DEPLOYMENT":
		return errorf(ErrInvalid, "BlueGreenDeploymentConfiguration", "deploymentReadyOption actionOnTimeout %q is invalid: CONTINUE_DEPLOYMENT or STOP_DEPLOYMENT", r.ActionOnTimeout)
	}
	if w := bg.DeploymentReadyOption.WaitTimeInMinutes; w < 0 || w > 2880 {
		return errorf(ErrInvalid, "BlueGreenDeploymentConfiguration", "deploymentReadyOption waitTimeInMinutes %d is out of 0-2880", w)
	}
	switch a := bg.GreenFleetProvisioningOption; a.Action {
	case "":
		a.Action = "DISCOVER_EXISTING"
	case "DISCOVER_EXISTING":
	default:
		return errorf(ErrInvalid, "BlueGreenDeploymentConfiguration", "greenFleetProvisioningOption %q is not supported: the replacement instances are discovered (DISCOVER_EXISTING) by the tag %s", a.Action, FleetTag)
	}
	return nil
}

// checkListenAddress accepts "host:port" with a port 1-65535.
func checkListenAddress(addr string) error {
	if addr == "" {
		return errorf(ErrInvalid, "LoadBalancerInfo", "a BLUE_GREEN deployment group needs loadBalancerInfo.targetGroupInfoList[0].name: the address (host:port) its built-in load balancer listens on")
	}
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, "/ ") {
		return errorf(ErrInvalid, "LoadBalancerInfo", "load balancer address %q is not host:port with a port 1-65535", truncate(addr, 100))
	}
	return nil
}

// Proxy returns the load balancer of a group, nil if it has none running.
func (s *Service) Proxy(app, group string) *traffic.Proxy {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.proxies[groupKey(app, group)]
}

// startProxy starts g's load balancer, its blue set the instances tagged
// FleetTag=blue (all the group's instances for IN_PLACE
// WITH_TRAFFIC_CONTROL).
func (s *Service) startProxy(ctx context.Context, g Group) error {
	if !hasProxy(g.DeploymentStyle) {
		return nil
	}
	key := groupKey(g.ApplicationName, g.DeploymentGroupName)
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.proxies[key] != nil {
		return nil
	}
	p := traffic.NewProxy(traffic.Options{})
	if _, err := p.Listen(g.LoadBalancerInfo.Address()); err != nil {
		return errorf(ErrInvalid, "LoadBalancerInfo", "the load balancer cannot listen on %s: %v", g.LoadBalancerInfo.Address(), err)
	}
	if isInPlaceTraffic(g.DeploymentStyle) {
		if insts, err := s.groupInstances(ctx, g.OnPremisesInstanceTagFilters); err == nil {
			p.SetTargets(traffic.Blue, s.backendURLs(insts))
		}
	} else if blue, _, err := s.fleets(ctx, g.OnPremisesInstanceTagFilters); err == nil {
		p.SetTargets(traffic.Blue, s.backendURLs(blue))
	}
	s.proxies[key] = p
	return nil
}

// stopProxy closes a group's load balancer.
func (s *Service) stopProxy(app, group string) {
	s.pmu.Lock()
	p := s.proxies[groupKey(app, group)]
	delete(s.proxies, groupKey(app, group))
	s.pmu.Unlock()
	if p != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	}
}

// startProxies starts the load balancers of the stored blue/green groups;
// one that cannot listen is logged and left off.
func (s *Service) startProxies(ctx context.Context) error {
	var groups []Group
	err := s.store.list(ctx, func(b []byte) error {
		var g Group
		if err := json.Unmarshal(b, &g); err != nil {
			return err
		}
		groups = append(groups, g)
		return nil
	}, `SELECT doc FROM deployment_groups`)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := s.startProxy(ctx, g); err != nil {
			s.log.Error("starting a deployment group's load balancer", "application", g.ApplicationName, "group", g.DeploymentGroupName, "err", err)
		}
	}
	return nil
}

func (s *Service) stopProxies() {
	s.pmu.Lock()
	var keys [][2]string
	for k := range s.proxies {
		app, group, _ := strings.Cut(k, "\x00")
		keys = append(keys, [2]string{app, group})
	}
	s.pmu.Unlock()
	for _, k := range keys {
		s.stopProxy(k[0], k[1])
	}
}

// fleets splits the instances the filters select into blue (tagged
// FleetTag=blue) and green (the others).
func (s *Service) fleets(ctx context.Context, filters []TagFilter) (blue, green []Instance, err error) {
	insts, err := s.groupInstances(ctx, filters)
	for _, in := range insts {
		if (TagFilter{Key: FleetTag, Value: "blue"}).Matches(in.Tags) {
			blue = append(blue, in)
		} else {
			green = append(green, in)
		}
	}
	return blue, green, err
}

// backendURL is the origin of an instance's health URL.
func (s *Service) backendURL(name string) (string, error) {
	spec, err := readProcessSpec(s.InstanceDir(name))
	if err != nil {
		return "", err
	}
	if spec == nil || spec.Health.URL == "" {
		return "", fmt.Errorf("instance %s has no health url in its %s, so the load balancer cannot reach it", name, ProcessFile)
	}
	u, err := url.Parse(spec.Health.URL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("instance %s: health url %q is not an absolute URL", name, spec.Health.URL)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (s *Service) backendURLs(insts []Instance) []string {
	var out []string
	for _, in := range insts {
		if u, err := s.backendURL(in.InstanceName); err == nil {
			out = append(out, u)
		} else {
			s.log.Warn("instance left out of the load balancer", "instance", in.InstanceName, "err", err)
		}
	}
	return out
}

// setFleet tags instances with FleetTag=value.
func (s *Service) setFleet(ctx context.Context, names []string, value string) error {
	if len(names) == 0 {
		return nil
	}
	return s.AddTags(ctx, names, []Tag{{Key: FleetTag, Value: value}})
}

// ContinueDeployment lets a blue/green deployment waiting in the Ready
// state (deploymentReadyOption STOP_DEPLOYMENT) reroute traffic.
func (s *Service) ContinueDeployment(ctx context.Context, id string) error {
	d, err := s.GetDeployment(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	a := s.running[id]
	ready := a != nil && a.ready
	if ready {
		a.ready = false
		close(a.cont)
	}
	s.mu.Unlock()
	switch {
	case a == nil:
		return errorf(ErrConflict, "DeploymentAlreadyCompleted", "The deployment %s is already completed (%s)", id, d.Status)
	case !ready:
		return errorf(ErrConflict, "DeploymentIsNotInReadyState", "The deployment %s is not waiting in the Ready state", id)
	}
	return nil
}

// alarms returns the deployment group's enabled alarms, nil if none; p
// is its load balancer, nil for an in-place group. A rollback deployment
// is not watched: the alarm that caused it may well still be firing.
func (r *run) alarms(ctx context.Context, p *traffic.Proxy) (*traffic.Alarms, error) {
	if r.d.Creator == "codeDeployRollback" {
		return nil, nil
	}
	g, err := r.s.GetDeploymentGroup(ctx, r.d.ApplicationName, r.d.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	rules, checks, err := alarmRules(g.AlarmConfiguration)
	if err != nil || len(rules)+len(checks) == 0 {
		return nil, err
	}
	var m *traffic.Metrics
	if p != nil {
		m = p.Metrics()
	}
	return traffic.NewAlarms(m, rules, checks)
}

// watch evaluates alarms every alarm interval until the returned function
// is called; the first firing stops the deployment.
func (r *run) watch(ctx context.Context, alarms *traffic.Alarms) (stop func()) {
	if alarms == nil {
		return func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	tick := time.NewTicker(r.s.alarmInterval())
	w := &traffic.Watcher{Alarms: alarms, Ticks: tick.C, OnFire: r.stopOnAlarm}
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		w.Run(wctx)
	}()
	return func() {
		cancel()
		<-watching
		tick.Stop()
	}
}

// stopOnAlarm stops a running deployment because alarms fired: the
// deployment ends Stopped (ALARM_ACTIVE) and is rolled back when its
// auto-rollback has DEPLOYMENT_STOP_ON_ALARM.
func (r *run) stopOnAlarm(f []traffic.Firing) {
	r.s.mu.Lock()
	if r.a.alarm == nil && !r.a.stopped {
		r.a.alarm = f
		r.a.stopped = true
		r.a.stopRollback = r.d.AutoRollbackConfiguration.On("DEPLOYMENT_STOP_ON_ALARM")
	}
	r.s.mu.Unlock()
	r.a.cancel()
}

// stoppedReason finishes a deployment whose context ended.
func (r *run) finishCancelled(ctx context.Context) {
	r.s.mu.Lock()
	stopped, alarm := r.a.stopped, r.a.alarm
	r.s.mu.Unlock()
	switch {
	case alarm != nil:
		var names []string
		for _, f := range alarm {
			names = append(names, f.String())
		}
		r.finish(ctx, StatusStopped, "ALARM_ACTIVE", "The deployment was stopped because CloudWatch alarms were activated: "+strings.Join(names, "; "))
	case stopped:
		r.finish(ctx, StatusStopped, "MANUAL_STOP", "The deployment was stopped by a StopDeployment request")
	default:
		r.finish(ctx, StatusFailed, "INTERNAL_ERROR", "The server shut down while the deployment was in progress")
	}
}

// event records a lifecycle event of t.
func (r *run) event(ctx context.Context, t *Target, name, status string, diag *Diagnostics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range t.LifecycleEvents {
		ev := &t.LifecycleEvents[i]
		if ev.LifecycleEventName != name {
			continue
		}
		ev.Status = status
		ev.Diagnostics = diag
		switch status {
		case StatusInProgress:
			ev.StartTime = Now()
			t.Status = StatusInProgress
		case StatusSucceeded, StatusFailed:
			ev.EndTime = Now()
			if diag == nil && status == StatusSucceeded {
				ev.Diagnostics = &Diagnostics{ErrorCode: "Success", Message: "Succeeded"}
			}
		}
	}
	t.LastUpdatedAt = Now()
	r.s.logErr("save", r.d.DeploymentID, r.s.store.saveTarget(context.WithoutCancel(ctx), t))
	r.save(ctx)
}

// settle ends targets: the Pending events of every target are skipped and
// a target still InProgress takes status.
func (r *run) settle(ctx context.Context, targets []*Target, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range targets {
		for i := range t.LifecycleEvents {
			if t.LifecycleEvents[i].Status == StatusPending || t.LifecycleEvents[i].Status == StatusInProgress {
				t.LifecycleEvents[i].Status = StatusSkipped
			}
		}
		if t.Status == StatusInProgress || (t.Status == StatusPending && status != StatusSkipped) {
			t.Status = status
		}
		t.LastUpdatedAt = Now()
		r.s.logErr("save", r.d.DeploymentID, r.s.store.saveTarget(context.WithoutCancel(ctx), t))
	}
}

// hookStep runs event's hooks of the revision in bundle on t's instance
// and records the event; a nil spec (nothing installed) skips it.
func (r *run) hookStep(ctx context.Context, t *Target, event, bundle string, spec *AppSpec) error {
	if spec == nil {
		r.event(ctx, t, event, StatusSkipped, nil)
		return nil
	}
	r.event(ctx, t, event, StatusInProgress, nil)
	j := r.job(t, spec)
	if err := j.hooks(ctx, event, bundle, spec); err != nil {
		var he *hookError
		if !errors.As(err, &he) {
			he = &hookError{Diagnostics{ErrorCode: codeUnknown, Message: err.Error()}}
		}
		r.event(ctx, t, event, StatusFailed, &he.diag)
		return err
	}
	r.event(ctx, t, event, StatusSucceeded, nil)
	return nil
}

func (r *run) job(t *Target, spec *AppSpec) *job {
	return &job{d: r.d, groupID: r.d.GroupID, bundle: r.bundle, spec: spec, dir: r.s.InstanceDir(t.Instance), sup: &r.s.sup,
		event: func(string, string, *Diagnostics) {}}
}

// installed returns the bundle directory and appspec of the revision last
// installed on t's instance by this group, nil if none.
func (r *run) installed(t *Target) (string, *AppSpec) {
	j := r.job(t, nil)
	prev := j.previous()
	if prev == "" {
		return "", nil
	}
	dir := filepath.Join(j.deployRoot(), prev, "bundle")
	b, err := os.ReadFile(filepath.Join(dir, "appspec.yml"))
	if err != nil {
		return "", nil
	}
	spec, err := ParseAppSpec(b)
	if err != nil {
		return "", nil
	}
	return dir, spec
}

// eachParallel runs f on every target at once and returns the first error.
func eachParallel(ts []*Target, f func(*Target) error) error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// routing returns the traffic routing of a deployment config: its own
// trafficRoutingConfig, a built-in's, or AllAtOnce.
func routing(cfg Config) (traffic.RoutingConfig, error) {
	if len(cfg.TrafficRoutingConfig) > 0 && string(cfg.TrafficRoutingConfig) != "null" {
		return traffic.ParseRoutingConfig(cfg.TrafficRoutingConfig)
	}
	if rc, ok := traffic.Builtin(cfg.DeploymentConfigName); ok {
		return rc, nil
	}
	return traffic.ParseRoutingConfig([]byte(`{"type":"AllAtOnce"}`))
}

// blueGreen runs a blue/green deployment.
func (r *run) blueGreen(ctx context.Context) {
	d := r.d
	s := r.s
	p := s.Proxy(d.ApplicationName, d.DeploymentGroupName)
	var green, blue []*Target
	for _, t := range r.targets {
		if t.InstanceType == "Green" {
			green = append(green, t)
		} else {
			blue = append(blue, t)
		}
	}
	fail := func(code, msg string) {
		if p != nil {
			p.Rollback()
		}
		r.settle(ctx, r.targets, StatusFailed)
		r.finish(ctx, StatusFailed, code, msg)
	}
	cancelled := func() {
		if p != nil {
			p.Rollback()
		}
		r.settle(ctx, r.targets, StatusSkipped)
		r.finishCancelled(ctx)
	}
	if p == nil {
		fail("INTERNAL_ERROR", "The deployment group's load balancer is not running (see the server log)")
		return
	}
	if len(green) == 0 {
		fail("NO_INSTANCES", fmt.Sprintf("The deployment failed because no replacement instances were found: the group's instances not tagged %s=blue are its replacement (green) fleet", FleetTag))
		return
	}
	cfg, err := s.GetDeploymentConfig(ctx, d.DeploymentConfigName)
	if err != nil {
		fail("CODEDEPLOY_RESOURCE_CANNOT_BE_FOUND", err.Error())
		return
	}
	rc, err := routing(cfg)
	var sched traffic.Schedule
	if err == nil {
		sched, err = rc.Schedule(s.minute())
	}
	if err != nil {
		fail("INVALID_TRAFFIC_ROUTING", "The deployment config's traffic routing is invalid: "+err.Error())
		return
	}
	g, err := s.GetDeploymentGroup(ctx, d.ApplicationName, d.DeploymentGroupName)
	if err != nil {
		fail("CODEDEPLOY_RESOURCE_CANNOT_BE_FOUND", err.Error())
		return
	}
	alarms, err := r.alarms(ctx, p)
	if err != nil {
		fail("ALARM_CONFIGURATION_INVALID", err.Error())
		return
	}
	defer r.watch(ctx, alarms)()

	// The replacement fleet: the in-place lifecycle.
	spec, err := checkBundle(r.bundle)
	if err != nil {
		fail("REVISION_MISSING", err.Error())
		return
	}
	err = eachParallel(green, func(t *Target) error { return r.deployTo(ctx, t) })
	if ctx.Err() != nil {
		cancelled()
		return
	}
	if err != nil {
		fail("HEALTH_CONSTRAINTS", "The deployment failed because a replacement instance failed its lifecycle events: "+err.Error())
		return
	}

	// Ready: wait for ContinueDeployment when asked to.
	if g.BlueGreen == nil {
		g.BlueGreen = &BlueGreenConfig{}
	}
	if ro := g.BlueGreen.DeploymentReadyOption; ro != nil && ro.ActionOnTimeout == "STOP_DEPLOYMENT" {
		cont := make(chan struct{})
		s.mu.Lock()
		r.a.ready, r.a.cont = true, cont
		s.mu.Unlock()
		r.mu.Lock()
		d.Status = StatusReady
		r.save(ctx)
		r.mu.Unlock()
		var timeout <-chan time.Time
		if ro.WaitTimeInMinutes > 0 {
			tm := time.NewTimer(time.Duration(ro.WaitTimeInMinutes) * s.minute())
			defer tm.Stop()
			timeout = tm.C
		}
		select {
		case <-cont:
		case <-timeout:
			s.mu.Lock()
			r.a.ready = false
			s.mu.Unlock()
			fail("TIMEOUT", fmt.Sprintf("The deployment was not continued within %d minutes of its replacement instances being ready (deploymentReadyOption STOP_DEPLOYMENT)", ro.WaitTimeInMinutes))
			return
		case <-ctx.Done():
			cancelled()
			return
		}
		r.mu.Lock()
		d.Status = StatusInProgress
		r.save(ctx)
		r.mu.Unlock()
	}

	// Allow traffic to the replacement fleet.
	bundleOf := func(t *Target) string { return r.job(t, spec).myBundle() }
	if err := eachParallel(green, func(t *Target) error { return r.hookStep(ctx, t, "BeforeAllowTraffic", bundleOf(t), spec) }); err != nil || ctx.Err() != nil {
		if ctx.Err() != nil {
			cancelled()
		} else {
			fail("HEALTH_CONSTRAINTS", "BeforeAllowTraffic failed: "+err.Error())
		}
		return
	}
	var urls []string
	for _, t := range green {
		u, err := s.backendURL(t.Instance)
		if err != nil {
			r.event(ctx, t, "AllowTraffic", StatusFailed, &Diagnostics{ErrorCode: codeUnknown, Message: err.Error()})
			fail("HEALTH_CONSTRAINTS", err.Error())
			return
		}
		urls = append(urls, u)
	}
	for _, t := range green {
		r.event(ctx, t, "AllowTraffic", StatusInProgress, nil)
	}
	p.SetWeight(0)
	err = p.SetTargets(traffic.Green, urls)
	if err == nil {
		err = p.AllowTraffic(traffic.Green)
	}
	if err == nil {
		sh := &traffic.Shifter{Proxy: p, Schedule: sched, Alarms: alarms, AlarmInterval: s.alarmInterval(),
			OnAbort: func(e *traffic.AlarmError) { r.stopOnAlarm(e.Firings) }}
		err = sh.Run(ctx)
	}
	if err != nil || ctx.Err() != nil {
		p.Rollback()
		msg := "the deployment was stopped"
		if err != nil {
			msg = err.Error()
		}
		for _, t := range green {
			r.event(ctx, t, "AllowTraffic", StatusFailed, &Diagnostics{ErrorCode: codeUnknown, Message: msg})
		}
		if ctx.Err() != nil {
			cancelled()
		} else {
			fail("HEALTH_CONSTRAINTS", "AllowTraffic failed: "+msg)
		}
		return
	}
	for _, t := range green {
		r.event(ctx, t, "AllowTraffic", StatusSucceeded, nil)
	}
	if err := eachParallel(green, func(t *Target) error { return r.hookStep(ctx, t, "AfterAllowTraffic", bundleOf(t), spec) }); err != nil || ctx.Err() != nil {
		if ctx.Err() != nil {
			cancelled()
		} else {
			fail("HEALTH_CONSTRAINTS", "AfterAllowTraffic failed: "+err.Error())
		}
		return
	}

	// Block traffic to the original fleet.
	step := func(event string) error {
		return eachParallel(blue, func(t *Target) error {
			dir, spec := r.installed(t)
			return r.hookStep(ctx, t, event, dir, spec)
		})
	}
	err = step("BeforeBlockTraffic")
	if err == nil && ctx.Err() == nil {
		for _, t := range blue {
			r.event(ctx, t, "BlockTraffic", StatusInProgress, nil)
		}
		p.BlockTraffic(traffic.Blue)
		for _, t := range blue {
			r.event(ctx, t, "BlockTraffic", StatusSucceeded, nil)
		}
		err = step("AfterBlockTraffic")
	}
	if err != nil || ctx.Err() != nil {
		if ctx.Err() != nil {
			cancelled()
		} else {
			fail("HEALTH_CONSTRAINTS", "blocking traffic to the original instances failed: "+err.Error())
		}
		return
	}
	p.Promote()
	var greenNames, blueNames []string
	for _, t := range green {
		greenNames = append(greenNames, t.Instance)
	}
	for _, t := range blue {
		blueNames = append(blueNames, t.Instance)
	}
	wctx := context.WithoutCancel(ctx)
	if err := s.setFleet(wctx, greenNames, "blue"); err != nil {
		fail("INTERNAL_ERROR", "recording the new original fleet: "+err.Error())
		return
	}
	s.logErr("fleet", d.DeploymentID, s.setFleet(wctx, blueNames, "green"))
	r.settle(ctx, r.targets, StatusSucceeded)
	r.finish(ctx, StatusSucceeded, "", "")
	if term := g.BlueGreen.TerminateBlueInstancesOnDeploymentSuccess; term != nil && term.Action == "TERMINATE" {
		s.terminateLater(d.ApplicationName, d.DeploymentGroupName, blueNames, time.Duration(term.TerminationWaitTimeInMinutes)*s.minute())
	}
}

// terminateLater stops the supervised processes of the named instances
// after wait, unless the group has a deployment in flight by then. An
// instance a later deployment has made the original (blue) fleet again
// meanwhile is serving and is left running.
func (s *Service) terminateLater(app, group string, names []string, wait time.Duration) {
	if len(names) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.groupBusy(app, group) != "" {
			return
		}
		for _, n := range names {
			in, err := s.GetInstance(s.ctx, n)
			if err == nil && (TagFilter{Key: FleetTag, Value: "blue"}).Matches(in.Tags) {
				continue
			}
			s.sup.stopProcess(s.InstanceDir(n))
		}
	}()
}

// rollbackBlueGreen records the rollback of a blue/green deployment: the
// load balancer already sends all traffic to the original fleet, which
// still runs the last good revision, so the rollback deployment is that
// rerouting, recorded as a deployment of the last good revision to the
// original instances.
func (s *Service) rollbackBlueGreen(ctx context.Context, failed *Deployment, good *Deployment, g Group) {
	if p := s.Proxy(failed.ApplicationName, failed.DeploymentGroupName); p != nil {
		p.Rollback()
	}
	blue, _, err := s.fleets(ctx, g.OnPremisesInstanceTagFilters)
	if err != nil {
		s.logErr("rollback", failed.DeploymentID, err)
		return
	}
	now := Now()
	d := &Deployment{
		ApplicationName: failed.ApplicationName, DeploymentGroupName: failed.DeploymentGroupName, DeploymentConfigName: failed.DeploymentConfigName,
		DeploymentID: newDeploymentID(), Revision: good.Revision, PreviousRevision: failed.Revision, Status: StatusSucceeded, CreateTime: now,
		StartTime: now, CompleteTime: now, Creator: "codeDeployRollback", IgnoreApplicationStopFailures: true,
		AutoRollbackConfiguration: failed.AutoRollbackConfiguration, DeploymentStyle: failed.DeploymentStyle, ComputePlatform: "Server",
		GroupID: g.DeploymentGroupID, Bundle: good.Bundle, LoadBalancerInfo: failed.LoadBalancerInfo, BlueGreen: failed.BlueGreen,
		DeploymentOverview: Overview{Succeeded: len(blue)},
		RollbackInfo: &RollbackInfo{RollbackTriggeringDeploymentID: failed.DeploymentID,
			RollbackMessage: fmt.Sprintf("Rollback of deployment %s: traffic rerouted to the original instances, which run the revision of %s", failed.DeploymentID, good.DeploymentID)},
	}
	failed.RollbackInfo = &RollbackInfo{RollbackDeploymentID: d.DeploymentID,
		RollbackMessage: fmt.Sprintf("Deployment %s rolled back to %s by deployment %s", failed.DeploymentID, good.DeploymentID, d.DeploymentID)}
	if err := s.store.saveDeployment(ctx, d, true); err != nil {
		s.logErr("rollback", failed.DeploymentID, err)
		return
	}
	for _, in := range blue {
		t := &Target{DeploymentID: d.DeploymentID, Instance: in.InstanceName, InstanceArn: in.InstanceArn, Status: StatusSucceeded,
			InstanceType: "Blue", LastUpdatedAt: now, LifecycleEvents: []LifecycleEvent{{LifecycleEventName: "AllowTraffic", Status: StatusSucceeded,
				StartTime: now, EndTime: now, Diagnostics: &Diagnostics{ErrorCode: "Success", Message: "Traffic rerouted to the original instance"}}}}
		s.logErr("rollback", failed.DeploymentID, s.store.saveTarget(ctx, t))
	}
	s.logErr("rollback", failed.DeploymentID, s.store.saveDeployment(ctx, failed, false))
	s.emit(d, "START")
	s.emit(d, "SUCCESS")
}

func (s *Service) minute() time.Duration {
	if s.opt.Minute > 0 {
		return s.opt.Minute
	}
	return time.Minute
}

func (s *Service) alarmInterval() time.Duration {
	if s.opt.AlarmInterval > 0 {
		return s.opt.AlarmInterval
	}
	return traffic.DefaultAlarmInterval
}
