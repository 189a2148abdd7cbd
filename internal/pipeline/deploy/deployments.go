package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

// CreateInput is what CreateDeployment takes.
type CreateInput struct {
	ApplicationName, DeploymentGroupName string
	// DeploymentConfigName overrides the group's when set.
	DeploymentConfigName string
	Revision             *Revision
	Description          string
	// AutoRollback overrides the group's when set.
	AutoRollback                  *AutoRollback
	IgnoreApplicationStopFailures bool
	FileExistsBehavior            string
	Creator                       string // "user" unless set
}

// active is a deployment in flight.
type active struct {
	app, group string
	cancel     context.CancelFunc
	// stopRollback is set by StopDeployment: nil for a failure, else
	// whether the stop asked for a rollback.
	stopped      bool
	stopRollback bool
	// alarm is what fired when alarms stopped the deployment.
	alarm []traffic.Firing
	// ready is set while a blue/green deployment waits for
	// ContinueDeployment, which closes cont.
	ready bool
	cont  chan struct{}
	done  chan struct{}
}

// workDir is where a deployment's revision is fetched and unpacked.
func (s *Service) workDir(id string) string { return filepath.Join(s.opt.DataDir, "deploy-work", id) }

// CreateDeployment validates the revision (fetched and unpacked once,
// its appspec parsed and its hook scripts found, before any instance is
// touched), records the deployment and starts it.
func (s *Service) CreateDeployment(ctx context.Context, in CreateInput) (string, error) {
	g, err := s.GetDeploymentGroup(ctx, in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return "", err
	}
	cfgName := g.DeploymentConfigName
	if in.DeploymentConfigName != "" {
		cfgName = in.DeploymentConfigName
	}
	if _, err := s.GetDeploymentConfig(ctx, cfgName); err != nil {
		return "", err
	}
	if err := checkAutoRollback(in.AutoRollback); err != nil {
		return "", err
	}
	switch in.FileExistsBehavior {
	case "", "DISALLOW", "OVERWRITE", "RETAIN":
	default:
		return "", errorf(ErrInvalid, "FileExistsBehavior", "fileExistsBehavior %q is invalid", in.FileExistsBehavior)
	}
	if in.Revision == nil {
		return "", errorf(ErrRequired, "Revision", "A revision is required")
	}
	if len(in.Description) > 100 {
		return "", errorf(ErrInvalid, "DescriptionTooLong", "The description is longer than 100 characters")
	}
	s.mu.Lock()
	busy := s.groupBusy(in.ApplicationName, in.DeploymentGroupName)
	s.mu.Unlock()
	if busy != "" {
		return "", errorf(ErrConflict, "DeploymentLimit", "The deployment group %s already has an active deployment %s", in.DeploymentGroupName, busy)
	}
	id := newDeploymentID()
	rev, err := s.prepare(ctx, id, in.Revision)
	if err != nil {
		os.RemoveAll(s.workDir(id))
		return "", err
	}
	d := &Deployment{
		ApplicationName: in.ApplicationName, DeploymentGroupName: in.DeploymentGroupName, DeploymentConfigName: cfgName,
		DeploymentID: id, Revision: rev, Status: StatusCreated, CreateTime: Now(), Description: in.Description,
		Creator: in.Creator, IgnoreApplicationStopFailures: in.IgnoreApplicationStopFailures,
		AutoRollbackConfiguration: g.AutoRollbackConfiguration, DeploymentStyle: g.DeploymentStyle,
		FileExistsBehavior: in.FileExistsBehavior, ComputePlatform: "Server", GroupID: g.DeploymentGroupID,
		LoadBalancerInfo: g.LoadBalancerInfo, BlueGreen: g.BlueGreen,
	}
	if d.Creator == "" {
		d.Creator = "user"
	}
	if in.AutoRollback != nil {
		d.AutoRollbackConfiguration = in.AutoRollback
	}
	if last := g.LastSuccessfulDeployment; last != nil {
		if prev, err := s.store.deployment(ctx, last.DeploymentID); err == nil {
			d.PreviousRevision = prev.Revision
		}
	}
	if err := s.start(ctx, d, s.bundleDir(id), g.OnPremisesInstanceTagFilters); err != nil {
		os.RemoveAll(s.workDir(id))
		return "", err
	}
	return id, nil
}

func (s *Service) bundleDir(id string) string { return filepath.Join(s.workDir(id), "bundle") }

// groupBusy returns the id of the group's deployment in flight, "" if
// none; s.mu is held.
func (s *Service) groupBusy(app, group string) string {
	for id, a := range s.running {
		if a.app == app && a.group == group {
			return id
		}
	}
	return ""
}

// prepare fetches and unpacks the revision into the deployment's work
// directory and checks it; it returns the revision as recorded.
func (s *Service) prepare(ctx context.Context, id string, rev *Revision) (*Revision, error) {
	dir := s.bundleDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	out := *rev
	switch rev.RevisionType {
	case "S3":
		loc := rev.S3Location
		if loc == nil || loc.Bucket == "" || loc.Key == "" {
			return nil, errorf(ErrInvalid, "Revision", "an S3 revision needs s3Location bucket and key")
		}
		if s.opt.Bundles == nil {
			return nil, errorf(ErrNotFound, "Revision", "no bundle source is configured")
		}
		archive := filepath.Join(s.workDir(id), "bundle.archive")
		f, err := os.OpenFile(archive, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		err = s.opt.Bundles.Fetch(ctx, *loc, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, errorf(ErrNotFound, "Revision", "The revision s3://%s/%s does not exist: %v", loc.Bucket, loc.Key, err)
			}
			if errors.Is(err, ErrInvalid) {
				return nil, errorf(ErrInvalid, "Revision", "%v", err)
			}
			return nil, err
		}
		if err := Unpack(archive, loc.BundleType, dir); err != nil {
			return nil, err
		}
		os.Remove(archive)
	case "String", "AppSpecContent":
		raw := rev.String
		if rev.RevisionType == "AppSpecContent" {
			raw = rev.AppSpecContent
		}
		if raw == nil || raw.Content == "" {
			return nil, errorf(ErrInvalid, "Revision", "a %s revision needs its content", rev.RevisionType)
		}
		sum := sha256.Sum256([]byte(raw.Content))
		if raw.SHA256 != "" && !strings.EqualFold(raw.SHA256, hex.EncodeToString(sum[:])) {
			return nil, errorf(ErrInvalid, "Revision", "the content does not match its sha256")
		}
		if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(raw.Content), 0o600); err != nil {
			return nil, err
		}
		c := *raw
		c.SHA256 = hex.EncodeToString(sum[:])
		if rev.RevisionType == "String" {
			out.String = &c
		} else {
			out.AppSpecContent = &c
		}
	case "":
		return nil, errorf(ErrRequired, "Revision", "revisionType is required")
	default:
		return nil, errorf(ErrInvalid, "Revision", "revision type %s is not supported (S3, String, AppSpecContent)", rev.RevisionType)
	}
	if _, err := checkBundle(dir); err != nil {
		return nil, err
	}
	return &out, nil
}

// checkBundle parses the bundle's appspec and checks that what it names
// is in the bundle.
func checkBundle(dir string) (*AppSpec, error) {
	b, err := os.ReadFile(filepath.Join(dir, "appspec.yml"))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(dir, "appspec.yaml"))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "appspec.yml"), b, 0o600)
		}
	}
	if err != nil {
		return nil, errorf(ErrInvalid, "Revision", "The bundle has no appspec.yml at its root")
	}
	spec, err := ParseAppSpec(b)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range spec.Files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(f.Source, "/")))); err != nil {
			missing = append(missing, "files source "+f.Source)
		}
	}
	for ev, scripts := range spec.Hooks {
		for _, sc := range scripts {
			if info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(sc.Location))); err != nil || !info.Mode().IsRegular() {
				missing = append(missing, ev+" script "+sc.Location)
			}
		}
	}
	if len(missing) > 0 {
		return nil, errorf(ErrInvalid, "Revision", "appspec names what the bundle does not hold: %s", strings.Join(missing, ", "))
	}
	return spec, nil
}

// start records d Created with its targets and runs it.
func (s *Service) start(ctx context.Context, d *Deployment, bundle string, filters []TagFilter) error {
	var targets []*Target
	add := func(insts []Instance, kind string, events []string) {
		for _, in := range insts {
			t := &Target{DeploymentID: d.DeploymentID, Instance: in.InstanceName, InstanceArn: in.InstanceArn, Status: StatusPending, InstanceType: kind, LastUpdatedAt: Now()}
			for _, ev := range events {
				t.LifecycleEvents = append(t.LifecycleEvents, LifecycleEvent{LifecycleEventName: ev, Status: StatusPending})
			}
			targets = append(targets, t)
		}
	}
	if isBlueGreen(d.DeploymentStyle) {
		blue, green, err := s.fleets(ctx, filters)
		if err != nil {
			return err
		}
		for _, in := range append(append([]Instance(nil), blue...), green...) {
			if agent := InstanceAgent(in); agent != "" {
				return errorf(ErrInvalid, "DeploymentGroup", "instance %s is served by remote agent %s: blue/green deployments run on local instances only", in.InstanceName, agent)
			}
		}
		add(green, "Green", ReplacementEvents)
		add(blue, "Blue", OriginalEvents)
	} else {
		insts, err := s.groupInstances(ctx, filters)
		if err != nil {
			return err
		}
		events := InPlaceEvents
		if isInPlaceTraffic(d.DeploymentStyle) {
			events = InPlaceTrafficEvents
			for _, in := range insts {
				if agent := InstanceAgent(in); agent != "" {
					return errorf(ErrInvalid, "DeploymentGroup", "instance %s is served by remote agent %s: deployments WITH_TRAFFIC_CONTROL run on local instances only", in.InstanceName, agent)
				}
			}
		}
		add(insts, "", events)
	}
	d.DeploymentOverview = Overview{Pending: len(targets)}
	d.Bundle = bundle
	rctx, cancel := context.WithCancel(s.ctx)
	a := &active{app: d.ApplicationName, group: d.DeploymentGroupName, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	busy := s.groupBusy(d.ApplicationName, d.DeploymentGroupName)
	if busy == "" {
		s.running[d.DeploymentID] = a
	}
	s.mu.Unlock()
	if busy != "" {
		cancel()
		return errorf(ErrConflict, "DeploymentLimit", "The deployment group %s already has an active deployment %s", d.DeploymentGroupName, busy)
	}
	err := s.store.saveDeployment(ctx, d, true)
	for _, t := range targets {
		if err == nil {
			err = s.store.saveTarget(ctx, t)
		}
	}
	if err != nil {
		s.mu.Lock()
		delete(s.running, d.DeploymentID)
		s.mu.Unlock()
		cancel()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(a.done)
		r := &run{s: s, d: d, a: a, targets: targets, bundle: bundle}
		r.execute(rctx)
		s.mu.Lock()
		delete(s.running, d.DeploymentID)
		s.mu.Unlock()
		cancel()
		r.afterwards()
	}()
	return nil
}

// GetDeployment returns a deployment.
func (s *Service) GetDeployment(ctx context.Context, id string) (*Deployment, error) {
	if id == "" {
		return nil, errorf(ErrRequired, "DeploymentId", "At least one deployment ID must be specified")
	}
	if !validID(id) {
		return nil, errorf(ErrInvalid, "DeploymentId", "Specified deployment ID is invalid: %s", id)
	}
	return s.store.deployment(ctx, id)
}

// ListDeployments returns deployment ids, newest first, of a group (or
// of every group, with app and group empty), with one of statuses if any.
func (s *Service) ListDeployments(ctx context.Context, app, group string, statuses []string) ([]string, error) {
	q := `SELECT id FROM deployments WHERE 1=1`
	var args []any
	if app != "" {
		if group != "" {
			if _, err := s.GetDeploymentGroup(ctx, app, group); err != nil {
				return nil, err
			}
		} else if _, err := s.GetApplication(ctx, app); err != nil {
			return nil, err
		}
		q += ` AND application = ?`
		args = append(args, app)
	} else if group != "" {
		return nil, errorf(ErrRequired, "ApplicationName", "An application name is required with a deployment group name")
	}
	if group != "" {
		q += ` AND deployment_group = ?`
		args = append(args, group)
	}
	if len(statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(`, ?`, len(statuses)-1) + `)`
		for _, st := range statuses {
			switch st {
			case "Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready":
			default:
				return nil, errorf(ErrInvalid, "DeploymentStatus", "deployment status %q is invalid", st)
			}
			args = append(args, st)
		}
	}
	return s.store.names(ctx, q+` ORDER BY create_ms DESC, rowid DESC`, args...)
}

// Targets returns a deployment's instances with their lifecycle events.
func (s *Service) Targets(ctx context.Context, id string) ([]Target, error) {
	if _, err := s.GetDeployment(ctx, id); err != nil {
		return nil, err
	}
	return s.store.targets(ctx, id)
}

// Target returns one instance of a deployment.
func (s *Service) Target(ctx context.Context, id, instance string) (Target, error) {
	ts, err := s.Targets(ctx, id)
	if err != nil {
		return Target{}, err
	}
	for _, t := range ts {
		if t.Instance == instance {
			return t, nil
		}
	}
	return Target{}, errorf(ErrNotFound, "Instance", "The instance %s is not part of deployment %s", instance, id)
}

// StopDeployment stops a deployment in flight: instances not yet reached
// are skipped, running hooks are killed. With rollback (or the
// deployment's DEPLOYMENT_STOP_ON_REQUEST rollback event when rollback
// is nil) the last good revision is redeployed. It returns when the
// deployment has stopped.
func (s *Service) StopDeployment(ctx context.Context, id string, rollback *bool) error {
	d, err := s.GetDeployment(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	a := s.running[id]
	if a != nil {
		a.stopped = true
		a.stopRollback = d.AutoRollbackConfiguration.On("DEPLOYMENT_STOP_ON_REQUEST")
		if rollback != nil {
			a.stopRollback = *rollback
		}
	}
	s.mu.Unlock()
	if a == nil {
		return errorf(ErrConflict, "DeploymentAlreadyCompleted", "The deployment %s is already completed (%s)", id, d.Status)
	}
	a.cancel()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait returns once the deployment id is no longer running.
func (s *Service) Wait(ctx context.Context, id string) (*Deployment, error) {
	s.mu.Lock()
	a := s.running[id]
	s.mu.Unlock()
	if a != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.GetDeployment(ctx, id)
}

// lastGood returns the newest Succeeded deployment of the group, nil if
// none.
func (s *Service) lastGood(ctx context.Context, app, group string) (*Deployment, error) {
	var sd storedDeployment
	ok, err := s.store.get(ctx, &sd, `SELECT doc FROM deployments WHERE application = ? AND deployment_group = ? AND status = 'Succeeded'
		ORDER BY create_ms DESC, rowid DESC LIMIT 1`, app, group)
	if !ok || err != nil {
		return nil, err
	}
	d := sd.Deployment
	d.GroupID, d.Bundle = sd.GroupID, sd.Bundle
	return &d, nil
}

// rollback starts a new deployment of the group's last good revision for
// failed, and links the two; failed's rollbackInfo says why when there is
// nothing to roll back to.
func (s *Service) rollback(ctx context.Context, failed *Deployment) {
	good, err := s.lastGood(ctx, failed.ApplicationName, failed.DeploymentGroupName)
	if err == nil && good == nil {
		failed.RollbackInfo = &RollbackInfo{RollbackMessage: "Automatic rollback was not performed: the deployment group has no last successful deployment"}
		err = s.store.saveDeployment(ctx, failed, false)
	}
	if err != nil || good == nil {
		s.logErr("rollback", failed.DeploymentID, err)
		return
	}
	g, err := s.GetDeploymentGroup(ctx, failed.ApplicationName, failed.DeploymentGroupName)
	if err != nil {
		s.logErr("rollback", failed.DeploymentID, err)
		return
	}
	if isBlueGreen(failed.DeploymentStyle) {
		s.rollbackBlueGreen(ctx, failed, good, g)
		return
	}
	d := &Deployment{
		ApplicationName: failed.ApplicationName, DeploymentGroupName: failed.DeploymentGroupName, DeploymentConfigName: failed.DeploymentConfigName,
		DeploymentID: newDeploymentID(), Revision: good.Revision, PreviousRevision: failed.Revision, Status: StatusCreated, CreateTime: Now(),
		Creator: "codeDeployRollback", IgnoreApplicationStopFailures: true, AutoRollbackConfiguration: failed.AutoRollbackConfiguration,
		DeploymentStyle: failed.DeploymentStyle, FileExistsBehavior: "OVERWRITE", ComputePlatform: "Server", GroupID: g.DeploymentGroupID,
		RollbackInfo: &RollbackInfo{RollbackTriggeringDeploymentID: failed.DeploymentID,
			RollbackMessage: fmt.Sprintf("Rollback of deployment %s to the last successful deployment %s", failed.DeploymentID, good.DeploymentID)},
	}
	failed.RollbackInfo = &RollbackInfo{RollbackDeploymentID: d.DeploymentID,
		RollbackMessage: fmt.Sprintf("Deployment %s rolled back to %s by deployment %s", failed.DeploymentID, good.DeploymentID, d.DeploymentID)}
	if err := s.store.saveDeployment(ctx, failed, false); err != nil {
		s.logErr("rollback", failed.DeploymentID, err)
		return
	}
	if err := s.start(ctx, d, good.Bundle, g.OnPremisesInstanceTagFilters); err != nil {
		s.logErr("rollback", failed.DeploymentID, err)
	}
}

func (s *Service) logErr(what, id string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("deployment "+what, "deployment_id", id, "err", err)
	}
}

func (s *Service) emit(d *Deployment, state string) {
	if s.opt.Events == nil {
		return
	}
	s.opt.Events(Event{DetailType: "CodeDeploy Deployment State-change Notification", Application: d.ApplicationName,
		Group: d.DeploymentGroupName, DeploymentID: d.DeploymentID, State: state, DedupID: d.DeploymentID + ":" + state})
}

// run executes one deployment; mu guards d and targets while instances
// report.
type run struct {
	s       *Service
	d       *Deployment
	a       *active
	bundle  string
	mu      sync.Mutex
	targets []*Target
}

func (r *run) save(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	var o Overview
	for _, t := range r.targets {
		switch t.Status {
		case StatusPending:
			o.Pending++
		case StatusInProgress:
			o.InProgress++
		case StatusSucceeded:
			o.Succeeded++
		case StatusFailed:
			o.Failed++
		case StatusSkipped:
			o.Skipped++
		}
	}
	r.d.DeploymentOverview = o
	r.s.logErr("save", r.d.DeploymentID, r.s.store.saveDeployment(ctx, r.d, false))
}

func (r *run) finish(ctx context.Context, status, code, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.targets {
		if t.Status == StatusPending {
			t.Status = StatusSkipped
			t.LastUpdatedAt = Now()
			for i := range t.LifecycleEvents {
				t.LifecycleEvents[i].Status = StatusSkipped
			}
			r.s.logErr("save", r.d.DeploymentID, r.s.store.saveTarget(context.WithoutCancel(ctx), t))
		}
	}
	r.d.Status = status
	r.d.CompleteTime = Now()
	if code != "" {
		r.d.ErrorInformation = &ErrorInfo{Code: code, Message: msg}
	}
	r.save(ctx)
}

// execute deploys to the targets in waves sized by the deployment
// configuration's minimum healthy hosts.
func (r *run) execute(ctx context.Context) {
	d := r.d
	r.mu.Lock()
	d.Status = StatusInProgress
	d.StartTime = Now()
	r.save(ctx)
	r.mu.Unlock()
	r.s.emit(d, "START")
	if isBlueGreen(d.DeploymentStyle) {
		r.blueGreen(ctx)
		return
	}
	n := len(r.targets)
	if n == 0 {
		r.finish(ctx, StatusFailed, "NO_INSTANCES", "The deployment failed because no instances were found for your deployment group. Check your deployment group settings to make sure the tags for your EC2 instances or Auto Scaling groups correctly identify the instances you want to deploy to, and then try again.")
		return
	}
	cfg, err := r.s.GetDeploymentConfig(ctx, d.DeploymentConfigName)
	if err != nil {
		r.finish(ctx, StatusFailed, "CODEDEPLOY_RESOURCE_CANNOT_BE_FOUND", err.Error())
		return
	}
	if cfg.MinimumHealthyHosts == nil {
		r.finish(ctx, StatusFailed, "HEALTH_CONSTRAINTS_INVALID", "The deployment config "+cfg.DeploymentConfigName+" has no minimumHealthyHosts: it routes traffic for blue/green deployments only")
		return
	}
	m, err := MinHealthy(*cfg.MinimumHealthyHosts, n)
	if err != nil {
		r.finish(ctx, StatusFailed, "HEALTH_CONSTRAINTS_INVALID", "The deployment failed because the minimum number of healthy instances cannot be maintained: "+err.Error())
		return
	}
	if isInPlaceTraffic(d.DeploymentStyle) {
		p := r.s.Proxy(d.ApplicationName, d.DeploymentGroupName)
		if p == nil {
			r.finish(ctx, StatusFailed, "INTERNAL_ERROR", "The deployment group's load balancer is not running (it could not listen on its address)")
			return
		}
		if err := r.syncTargets(p); err != nil {
			r.finish(ctx, StatusFailed, "HEALTH_CONSTRAINTS_INVALID", "The load balancer cannot reach every instance: "+err.Error())
			return
		}
	}
	alarms, err := r.alarms(ctx, nil)
	if err != nil {
		r.finish(ctx, StatusFailed, "ALARM_CONFIGURATION_INVALID", err.Error())
		return
	}
	stopWatching := r.watch(ctx, alarms)
	defer stopWatching()
	tally := Tally{Total: n, Pending: n}
	next := 0
	for tally.Pending > 0 && ctx.Err() == nil {
		w := NextWave(tally, m)
		if w == 0 {
			break
		}
		wave := r.targets[next : next+w]
		next += w
		tally.Pending -= w
		var wg sync.WaitGroup
		results := make([]error, len(wave))
		for i, t := range wave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = r.deployTo(ctx, t)
			}()
		}
		wg.Wait()
		for _, err := range results {
			if err == nil {
				tally.Succeeded++
			} else {
				tally.Failed++
			}
		}
	}
	stopWatching()
	switch {
	case ctx.Err() != nil:
		r.finishCancelled(ctx)
	case tally.Pending == 0 && Succeeded(tally, m):
		r.finish(ctx, StatusSucceeded, "", "")
	default:
		r.finish(ctx, StatusFailed, "HEALTH_CONSTRAINTS", fmt.Sprintf(
			"The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems. (%d of %d instances succeeded, %d failed; at least %d must be healthy)",
			tally.Succeeded, n, tally.Failed, max(m, 1)))
	}
}

// afterwards emits the final event, starts a rollback if one is due and
// removes revisions no deployment will need.
func (r *run) afterwards() {
	d := r.d
	ctx := r.s.ctx
	defer func() {
		r.s.logErr("prune", d.DeploymentID, r.s.pruneWork(context.WithoutCancel(ctx), d.ApplicationName, d.DeploymentGroupName))
	}()
	switch d.Status {
	case StatusSucceeded:
		r.s.emit(d, "SUCCESS")
	case StatusStopped:
		r.s.emit(d, "STOP")
		r.s.mu.Lock()
		rb := r.a.stopRollback
		r.s.mu.Unlock()
		if rb && d.Creator != "codeDeployRollback" && ctx.Err() == nil {
			r.s.rollback(ctx, d)
		}
	case StatusFailed:
		r.s.emit(d, "FAILURE")
		if d.AutoRollbackConfiguration.On("DEPLOYMENT_FAILURE") && d.Creator != "codeDeployRollback" && ctx.Err() == nil {
			r.s.rollback(ctx, d)
		}
	}
}

// deployTo runs the lifecycle on one instance, recording each event.
func (r *run) deployTo(ctx context.Context, t *Target) error {
	spec, err := checkBundle(r.bundle)
	if err != nil {
		return err
	}
	record := func(name, status string, diag *Diagnostics) { r.event(ctx, t, name, status, diag) }
	if in, gerr := r.s.GetInstance(ctx, t.Instance); gerr == nil && InstanceAgent(in) != "" {
		err = r.deployRemote(ctx, t, InstanceAgent(in), record)
	} else {
		j := &job{d: r.d, groupID: r.d.GroupID, bundle: r.bundle, spec: spec, dir: r.s.InstanceDir(t.Instance), sup: &r.s.sup, event: record}
		inPlace := func(ctx context.Context) error {
			defer j.pruneInstance()
			return j.run(ctx)
		}
		if isInPlaceTraffic(r.d.DeploymentStyle) {
			err = r.deployBehindProxy(ctx, t, spec, inPlace)
		} else {
			err = inPlace(ctx)
		}
	}
	r.mu.Lock()
	if err != nil {
		t.Status = StatusFailed
	} else if t.InstanceType == "" {
		t.Status = StatusSucceeded
	}
	t.LastUpdatedAt = Now()
	r.s.logErr("save", r.d.DeploymentID, r.s.store.saveTarget(context.WithoutCancel(ctx), t))
	r.save(ctx)
	r.mu.Unlock()
	return err
}
