package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

// In-place deployments behind the load balancer (deploymentStyle IN_PLACE,
// WITH_TRAFFIC_CONTROL).
//
// The group's built-in proxy (the same one a blue/green group has) serves
// all the group's instances as its blue set. Each instance, in the waves
// the deployment config's minimum healthy hosts allows, runs CodeDeploy's
// in-place lifecycle with a load balancer:
//
//	BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic   hooks of the revision last installed on it
//	ApplicationStop … ValidateService                      the in-place events
//	BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic   hooks of the new revision
//
// BlockTraffic marks the instance's backend down in the proxy, so it gets
// no new request, and waits (up to DrainTimeout) for the requests already
// on it to finish; AllowTraffic marks it up again. BlockTraffic and
// AllowTraffic run no scripts. An instance that fails after BlockTraffic
// stays out of traffic until a later deployment (a rollback, say) allows
// it again.

// InPlaceTrafficEvents are the lifecycle events of an instance of an
// IN_PLACE WITH_TRAFFIC_CONTROL deployment, in order.
var InPlaceTrafficEvents = append(append(append([]string(nil), OriginalEvents...), InPlaceEvents...), ReplacementEvents[len(InPlaceEvents):]...)

// DrainTimeout bounds how long BlockTraffic waits for the requests in
// flight to a blocked instance to finish (ELB's deregistration delay).
var DrainTimeout = 5 * time.Minute

// isInPlaceTraffic reports whether st deploys in place behind the load
// balancer.
func isInPlaceTraffic(st DeploymentStyle) bool {
	return st.DeploymentType == "IN_PLACE" && st.DeploymentOption == "WITH_TRAFFIC_CONTROL"
}

// hasProxy reports whether a group of style st has a load balancer.
func hasProxy(st DeploymentStyle) bool { return isBlueGreen(st) || isInPlaceTraffic(st) }

// syncTargets makes the proxy's blue set the backends of the deployment's
// instances when it differs (an instance added since the proxy started);
// marks of instances already there are kept.
func (r *run) syncTargets(p *traffic.Proxy) error {
	var urls []string
	for _, t := range r.targets {
		u, err := r.s.backendURL(t.Instance)
		if err != nil {
			return err
		}
		urls = append(urls, u)
	}
	have := p.Targets(traffic.Blue)
	want := slices.Clone(urls)
	slices.Sort(have)
	slices.Sort(want)
	if slices.Equal(slices.Compact(have), slices.Compact(want)) {
		return nil
	}
	return p.SetTargets(traffic.Blue, urls)
}

// deployBehindProxy runs the in-place lifecycle with traffic control on
// one instance; inPlace runs the seven in-place events.
func (r *run) deployBehindProxy(ctx context.Context, t *Target, spec *AppSpec, inPlace func(context.Context) error) error {
	p := r.s.Proxy(r.d.ApplicationName, r.d.DeploymentGroupName)
	skipFrom := func(ev string) {
		i := slices.Index(InPlaceTrafficEvents, ev)
		for _, rest := range InPlaceTrafficEvents[i+1:] {
			r.event(ctx, t, rest, StatusSkipped, nil)
		}
	}
	fail := func(ev string, err error) error {
		r.event(ctx, t, ev, StatusFailed, &Diagnostics{ErrorCode: codeUnknown, Message: err.Error()})
		skipFrom(ev)
		return err
	}
	backend, err := r.s.backendURL(t.Instance)
	if err == nil && p == nil {
		err = errors.New("the deployment group's load balancer is not running")
	}
	if err != nil {
		r.event(ctx, t, "BeforeBlockTraffic", StatusInProgress, nil)
		return fail("BeforeBlockTraffic", err)
	}
	oldDir, oldSpec := r.installed(t)
	for _, ev := range []string{"BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"} {
		if ev == "BlockTraffic" {
			r.event(ctx, t, ev, StatusInProgress, nil)
			if err := r.block(ctx, p, backend); err != nil {
				return fail(ev, err)
			}
			r.event(ctx, t, ev, StatusSucceeded, nil)
			continue
		}
		if err := r.hookStep(ctx, t, ev, oldDir, oldSpec); err != nil {
			skipFrom(ev)
			return err
		}
	}
	if err := inPlace(ctx); err != nil {
		skipFrom("ValidateService")
		return err
	}
	newDir := r.job(t, spec).myBundle()
	for _, ev := range []string{"BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"} {
		if ctx.Err() != nil {
			r.event(ctx, t, ev, StatusInProgress, nil)
			return fail(ev, errors.New("the deployment was stopped"))
		}
		if ev == "AllowTraffic" {
			r.event(ctx, t, ev, StatusInProgress, nil)
			if err := p.MarkBackend(traffic.Blue, backend, true); err != nil {
				return fail(ev, fmt.Errorf("allowing traffic to %s: %w", backend, err))
			}
			r.event(ctx, t, ev, StatusSucceeded, nil)
			continue
		}
		if err := r.hookStep(ctx, t, ev, newDir, spec); err != nil {
			skipFrom(ev)
			return err
		}
	}
	return nil
}

// block takes backend out of the proxy and waits for its requests in
// flight to finish.
func (r *run) block(ctx context.Context, p *traffic.Proxy, backend string) error {
	if err := p.MarkBackend(traffic.Blue, backend, false); err != nil {
		return fmt.Errorf("blocking traffic to %s: %w", backend, err)
	}
	deadline := time.NewTimer(DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for p.InFlight(traffic.Blue, backend) > 0 {
		select {
		case <-ctx.Done():
			return errors.New("the deployment was stopped")
		case <-deadline.C:
			r.s.log.Warn("requests still in flight after the drain timeout", "backend", backend, "in_flight", p.InFlight(traffic.Blue, backend))
			return nil
		case <-tick.C:
		}
	}
	return nil
}
