package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Remote instances. An instance whose IAM session ARN is
// AgentSessionArn(account, X) ("arn:aws:sts::<account>:assumed-role/
// registry-agent/X") is served by the agent named X on another machine:
// its lifecycle runs there, in that agent's data directory, and the
// service hands the work to Options.Remote (the NATS transport in the
// agentnats subpackage). An agent registers its instances that way
// itself; RegisterOnPremisesInstance with such an iamSessionArn does the
// same through the API. Remote instances take part in in-place
// deployments; blue/green deployments refuse them.

const agentRolePath = ":assumed-role/registry-agent/"

var agentNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidAgentName reports whether name can name an agent: letters,
// digits, '-' and '_', at most 64 (it is a NATS subject token).
func ValidAgentName(name string) bool { return len(name) <= 64 && agentNameRe.MatchString(name) }

// AgentSessionArn is the IAM session ARN that marks an instance as served
// by the agent named agent.
func AgentSessionArn(account, agent string) string {
	return "arn:aws:sts::" + account + agentRolePath + agent
}

// InstanceAgent returns the name of the agent serving in, "" for a local
// instance.
func InstanceAgent(in Instance) string {
	_, agent, ok := strings.Cut(in.IamSessionArn, agentRolePath)
	if !ok || !strings.HasPrefix(in.IamSessionArn, "arn:aws:sts::") || !ValidAgentName(agent) {
		return ""
	}
	return agent
}

// Work is one deployment's in-place lifecycle on one remote instance, as
// sent to its agent.
type Work struct {
	ApplicationName               string `json:"applicationName"`
	DeploymentGroupName           string `json:"deploymentGroupName"`
	DeploymentGroupID             string `json:"deploymentGroupId"`
	DeploymentID                  string `json:"deploymentId"`
	Instance                      string `json:"instance"`
	IgnoreApplicationStopFailures bool   `json:"ignoreApplicationStopFailures,omitempty"`
	FileExistsBehavior            string `json:"fileExistsBehavior,omitempty"`
	// Bundle is the server's unpacked revision; never sent.
	Bundle string `json:"-"`
}

// Check validates work received from outside.
func (w *Work) Check() error {
	switch {
	case !validID(w.DeploymentID):
		return fmt.Errorf("deployment id %q is invalid", w.DeploymentID)
	case checkName("InstanceName", "Instance", w.Instance) != nil:
		return fmt.Errorf("instance name %q is invalid", w.Instance)
	case w.DeploymentGroupID == "" || strings.ContainsAny(w.DeploymentGroupID, `/\`) || strings.HasPrefix(w.DeploymentGroupID, "."):
		return fmt.Errorf("deployment group id %q is invalid", w.DeploymentGroupID)
	}
	switch w.FileExistsBehavior {
	case "", "DISALLOW", "OVERWRITE", "RETAIN":
	default:
		return fmt.Errorf("fileExistsBehavior %q is invalid", w.FileExistsBehavior)
	}
	return nil
}

// Remote runs work on the agents of remote instances.
type Remote interface {
	// Run runs w on agent, reporting each lifecycle event through event,
	// and returns when the instance's lifecycle has ended: nil when it
	// succeeded. It must return (with an error) when the agent stops
	// answering, and when ctx ends, having asked the agent to stop.
	Run(ctx context.Context, agent string, w Work, event func(name, status string, diag *Diagnostics)) error
}

// Agent runs the in-place lifecycle of remote instances in its own data
// directory, laid out as the service's (instances/<name>/...), with the
// same hook environment, timeouts and supervised processes.
type Agent struct {
	DataDir string
	sup     supervisor

	mu      sync.Mutex
	running map[string]bool // instance -> a lifecycle is running
}

// InstanceDir is the directory of the agent's instance name.
func (a *Agent) InstanceDir(name string) string { return filepath.Join(a.DataDir, "instances", name) }

// Run runs w on its instance; fetch writes the revision's unpacked bundle
// into an empty directory at DownloadBundle.
func (a *Agent) Run(ctx context.Context, w Work, fetch func(ctx context.Context, dst string) error, event func(name, status string, diag *Diagnostics)) error {
	if err := w.Check(); err != nil {
		return err
	}
	a.mu.Lock()
	if a.running == nil {
		a.running = map[string]bool{}
	}
	busy := a.running[w.Instance]
	a.running[w.Instance] = true
	a.mu.Unlock()
	if busy {
		return fmt.Errorf("instance %s is already running a deployment", w.Instance)
	}
	defer func() {
		a.mu.Lock()
		delete(a.running, w.Instance)
		a.mu.Unlock()
	}()
	d := &Deployment{ApplicationName: w.ApplicationName, DeploymentGroupName: w.DeploymentGroupName, DeploymentID: w.DeploymentID,
		IgnoreApplicationStopFailures: w.IgnoreApplicationStopFailures, FileExistsBehavior: w.FileExistsBehavior}
	j := &job{d: d, groupID: w.DeploymentGroupID, dir: a.InstanceDir(w.Instance), sup: &a.sup, event: event, fetch: fetch}
	err := j.run(ctx)
	j.pruneInstance()
	return err
}

// Close stops the processes the agent supervises.
func (a *Agent) Close() { a.sup.stopAll() }

// RegisterAgentInstance registers (or, when already registered by the
// same agent, re-tags) the instance name served by agent.
func (s *Service) RegisterAgentInstance(ctx context.Context, agent, name string, tags []Tag) error {
	if !ValidAgentName(agent) {
		return errorf(ErrInvalid, "AgentName", "agent name %q is invalid: letters, digits, '-' and '_', at most 64", agent)
	}
	in, err := s.GetInstance(ctx, name)
	switch {
	case err == nil && in.DeregisterTime == nil:
		if got := InstanceAgent(in); got != agent {
			return errorf(ErrExists, "InstanceName", "The on-premises instance name %s is already registered (not by agent %s)", name, agent)
		}
	case err == nil || errors.Is(err, ErrNotFound):
		if err := s.RegisterInstance(ctx, name, AgentSessionArn(s.opt.Account, agent), ""); err != nil {
			return err
		}
	default:
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	return s.AddTags(ctx, []string{name}, tags)
}

// deployRemote runs t's lifecycle on its agent. An event the agent left
// InProgress when it failed (it went away, or was never reached) is
// failed with the error, the events after it skipped.
func (r *run) deployRemote(ctx context.Context, t *Target, agent string, record func(name, status string, diag *Diagnostics)) error {
	seen := map[string]string{}
	var mu sync.Mutex
	rec := func(name, status string, diag *Diagnostics) {
		mu.Lock()
		seen[name] = status
		mu.Unlock()
		record(name, status, diag)
	}
	var err error
	if r.s.opt.Remote == nil {
		err = fmt.Errorf("instance %s is served by agent %s, and this server has no agent transport (NATS) configured", t.Instance, agent)
	} else {
		err = r.s.opt.Remote.Run(ctx, agent, Work{ApplicationName: r.d.ApplicationName, DeploymentGroupName: r.d.DeploymentGroupName,
			DeploymentGroupID: r.d.GroupID, DeploymentID: r.d.DeploymentID, Instance: t.Instance,
			IgnoreApplicationStopFailures: r.d.IgnoreApplicationStopFailures, FileExistsBehavior: r.d.FileExistsBehavior, Bundle: r.bundle}, rec)
	}
	if err == nil {
		return nil
	}
	mu.Lock()
	failed := false
	for _, st := range seen {
		failed = failed || st == StatusFailed
	}
	mu.Unlock()
	if failed {
		return err
	}
	diag := &Diagnostics{ErrorCode: codeUnknown, Message: err.Error()}
	blamed := false
	for _, ev := range InPlaceEvents {
		mu.Lock()
		st := seen[ev]
		mu.Unlock()
		switch {
		case st == StatusSucceeded || st == StatusSkipped:
		case !blamed:
			record(ev, StatusFailed, diag)
			blamed = true
		default:
			record(ev, StatusSkipped, nil)
		}
	}
	return err
}
