package deploy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

// BundleSource fetches the bundle an S3-style revision location names.
type BundleSource interface {
	// Fetch writes the bundle's bytes to w. An error wrapping ErrNotFound
	// means the location names nothing; ErrInvalid that it is malformed.
	Fetch(ctx context.Context, loc S3Location, w io.Writer) error
}

// Event is a deployment state change, in EventBridge's CodeDeploy
// vocabulary: DetailType "CodeDeploy Deployment State-change
// Notification", State START, SUCCESS, FAILURE, STOP.
type Event struct {
	DetailType   string
	Application  string
	Group        string
	DeploymentID string
	State        string
	// DedupID is unique per state change of a deployment.
	DedupID string
}

// Options configure the service.
type Options struct {
	// DataDir holds deployments.db, instances/ and deploy-work/.
	DataDir string
	Region  string
	Account string
	Bundles BundleSource
	// Events receives state changes; nil drops them.
	Events func(Event)
	Log    *slog.Logger
	// Minute is how long a minute of traffic routing configs and
	// blue/green wait times lasts: time.Minute when zero; tests shorten it.
	Minute time.Duration
	// AlarmInterval is how often alarms are evaluated during a
	// deployment: a second when zero.
	AlarmInterval time.Duration
	// Remote runs the lifecycle of instances served by remote agents
	// (remote.go); nil fails such instances with the reason.
	Remote Remote
}

// Service is the embedded CodeDeploy.
type Service struct {
	opt   Options
	store *store
	log   *slog.Logger

	ctx    context.Context // ends at Close; deployments run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex         // guards running
	running map[string]*active // deployment id -> run in flight

	sup supervisor // the instances' processes

	pmu     sync.Mutex                // guards proxies
	proxies map[string]*traffic.Proxy // groupKey -> the group's load balancer
}

// Open opens deployments.db under opt.DataDir and fails the deployments a
// previous process left in flight.
func Open(ctx context.Context, opt Options) (*Service, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, d := range []string{opt.DataDir, filepath.Join(opt.DataDir, "instances"), filepath.Join(opt.DataDir, "deploy-work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("deploy: %w", err)
		}
	}
	st, err := openStore(ctx, filepath.Join(opt.DataDir, "deployments.db"))
	if err != nil {
		return nil, err
	}
	s := &Service{opt: opt, store: st, log: opt.Log, running: map[string]*active{}, proxies: map[string]*traffic.Proxy{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.failInterrupted(ctx); err != nil {
		st.close()
		return nil, err
	}
	s.sup.resume(filepath.Join(opt.DataDir, "instances"))
	if err := s.startProxies(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the deployments in flight (they end Failed with the reason)
// and closes the store.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	s.stopProxies()
	s.sup.stopAll()
	return s.store.close()
}

// failInterrupted fails what a previous process left Created or
// InProgress: its processes are gone, so the outcome is unknown.
func (s *Service) failInterrupted(ctx context.Context) error {
	ids, err := s.store.names(ctx, `SELECT id FROM deployments WHERE status IN ('Created', 'Queued', 'InProgress', 'Ready')`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		d, err := s.store.deployment(ctx, id)
		if err != nil {
			return err
		}
		ts, err := s.store.targets(ctx, id)
		if err != nil {
			return err
		}
		for i := range ts {
			if ts[i].Status == StatusPending || ts[i].Status == StatusInProgress {
				ts[i].Status = "Unknown"
				ts[i].LastUpdatedAt = Now()
				if err := s.store.saveTarget(ctx, &ts[i]); err != nil {
					return err
				}
			}
		}
		d.Status = StatusFailed
		d.CompleteTime = Now()
		d.ErrorInformation = &ErrorInfo{Code: "INTERNAL_ERROR", Message: "The server restarted while the deployment was in progress; its outcome on the instances is unknown."}
		if err := s.store.saveDeployment(ctx, d, false); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:codedeploy:%s:%s:%s:%s", s.opt.Region, s.opt.Account, kind, name)
}

// InstanceDir is the directory of a local instance.
func (s *Service) InstanceDir(name string) string {
	return filepath.Join(s.opt.DataDir, "instances", name)
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newDeploymentID returns "d-" and nine characters, as CodeDeploy does.
func newDeploymentID() string {
	var b [9]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return "d-" + string(b[:])
}

var deploymentIDRe = regexp.MustCompile(`^d-[A-Z0-9]{9}$`)

func validID(id string) bool { return deploymentIDRe.MatchString(id) }

// nameRe is what this service accepts as an application, group, config
// or instance name: CodeDeploy allows 1-100 characters; instance names
// also name a directory, so all are kept to a safe alphabet.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+=,@-]*$`)

func checkName(subject, what, name string) error {
	if name == "" {
		return errorf(ErrRequired, subject, "%s name is missing", what)
	}
	if len(name) > 100 || !nameRe.MatchString(name) || name == "." || name == ".." {
		return errorf(ErrInvalid, subject, "%s name %q is invalid: 1-100 letters, digits and ._+=,@- starting with a letter or digit", what, name)
	}
	return nil
}

// --- applications ---

// CreateApplication creates an application for the Server (EC2/on-premises)
// platform.
func (s *Service) CreateApplication(ctx context.Context, name, platform string) (Application, error) {
	if err := checkName("ApplicationName", "Application", name); err != nil {
		return Application{}, err
	}
	if platform == "" {
		platform = "Server"
	}
	if platform != "Server" {
		return Application{}, errorf(ErrInvalid, "ComputePlatform", "compute platform %s is not supported; only Server", platform)
	}
	a := Application{ApplicationID: uuid(), ApplicationName: name, CreateTime: Now(), ComputePlatform: platform}
	_, err := s.store.exec(ctx, `INSERT INTO applications(name, doc) VALUES (?, ?)`, name, doc(a))
	if isUnique(err) {
		return a, errorf(ErrExists, "Application", "The application %s already exists with the IAM user or AWS account", name)
	}
	return a, err
}

// GetApplication returns the application called name.
func (s *Service) GetApplication(ctx context.Context, name string) (Application, error) {
	if err := checkName("ApplicationName", "Application", name); err != nil {
		return Application{}, err
	}
	var a Application
	ok, err := s.store.get(ctx, &a, `SELECT doc FROM applications WHERE name = ?`, name)
	if err == nil && !ok {
		err = errorf(ErrNotFound, "Application", "No application found for name: %s", name)
	}
	return a, err
}

// ListApplications returns the application names in order.
func (s *Service) ListApplications(ctx context.Context) ([]string, error) {
	return s.store.names(ctx, `SELECT name FROM applications ORDER BY name`)
}

// DeleteApplication deletes an application with its deployment groups;
// deleting one that does not exist succeeds, as in CodeDeploy.
func (s *Service) DeleteApplication(ctx context.Context, name string) error {
	if err := checkName("ApplicationName", "Application", name); err != nil {
		return err
	}
	groups, err := s.store.names(ctx, `SELECT name FROM deployment_groups WHERE application = ?`, name)
	if err != nil {
		return err
	}
	if _, err := s.store.exec(ctx, `DELETE FROM deployment_groups WHERE application = ?`, name); err != nil {
		return err
	}
	for _, g := range groups {
		s.stopProxy(name, g)
	}
	_, err = s.store.exec(ctx, `DELETE FROM applications WHERE name = ?`, name)
	return err
}

// --- deployment groups ---

// CreateDeploymentGroup creates g in its application.
func (s *Service) CreateDeploymentGroup(ctx context.Context, g Group) (Group, error) {
	if _, err := s.GetApplication(ctx, g.ApplicationName); err != nil {
		return g, err
	}
	if err := checkName("DeploymentGroupName", "Deployment group", g.DeploymentGroupName); err != nil {
		return g, err
	}
	if g.DeploymentConfigName == "" {
		g.DeploymentConfigName = DefaultConfig
	}
	if _, err := s.GetDeploymentConfig(ctx, g.DeploymentConfigName); err != nil {
		return g, err
	}
	if err := checkTagFilters(g.OnPremisesInstanceTagFilters); err != nil {
		return g, err
	}
	if err := checkAutoRollback(g.AutoRollbackConfiguration); err != nil {
		return g, err
	}
	if a := g.AlarmConfiguration; a != nil && len(a.Alarms) > 10 {
		return g, errorf(ErrInvalid, "AlarmConfig", "a deployment group can have at most 10 alarms")
	}
	if err := checkTrafficStyle(&g); err != nil {
		return g, err
	}
	if rules, _, err := alarmRules(g.AlarmConfiguration); err != nil {
		return g, err
	} else if len(rules) > 0 && !isBlueGreen(g.DeploymentStyle) {
		return g, errorf(ErrInvalid, "AlarmConfig", "alarms over the load balancer's metrics need a BLUE_GREEN deployment group WITH_TRAFFIC_CONTROL; an in-place group's alarms are health checks (health:http://host:port/path)")
	}
	g.DeploymentGroupID = uuid()
	g.ComputePlatform = "Server"
	g.LastAttemptedDeployment, g.LastSuccessfulDeployment, g.TargetRevision = nil, nil, nil
	_, err := s.store.exec(ctx, `INSERT INTO deployment_groups(application, name, doc) VALUES (?, ?, ?)`, g.ApplicationName, g.DeploymentGroupName, doc(g))
	if isUnique(err) {
		return g, errorf(ErrExists, "DeploymentGroup", "Deployment group %s already exists for application %s", g.DeploymentGroupName, g.ApplicationName)
	}
	if err != nil {
		return g, err
	}
	if err := s.startProxy(ctx, g); err != nil {
		s.store.exec(context.WithoutCancel(ctx), `DELETE FROM deployment_groups WHERE application = ? AND name = ?`, g.ApplicationName, g.DeploymentGroupName)
		return g, err
	}
	return g, nil
}

func checkTagFilters(fs []TagFilter) error {
	for _, f := range fs {
		ok := false
		switch f.Type {
		case "KEY_ONLY":
			ok = f.Key != ""
		case "VALUE_ONLY":
			ok = f.Value != ""
		case "KEY_AND_VALUE", "":
			ok = f.Key != ""
		}
		if !ok {
			return errorf(ErrInvalid, "Tag", "tag filter %+v is invalid: Type KEY_ONLY needs Key, VALUE_ONLY Value, KEY_AND_VALUE Key and Value", f)
		}
	}
	return nil
}

func checkAutoRollback(a *AutoRollback) error {
	if a == nil {
		return nil
	}
	for _, e := range a.Events {
		switch e {
		case "DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST":
		default:
			return errorf(ErrInvalid, "AutoRollbackConfig", "auto rollback event %q is invalid", e)
		}
	}
	return nil
}

// GetDeploymentGroup returns a group with its last deployments.
func (s *Service) GetDeploymentGroup(ctx context.Context, app, name string) (Group, error) {
	if _, err := s.GetApplication(ctx, app); err != nil {
		return Group{}, err
	}
	if err := checkName("DeploymentGroupName", "Deployment group", name); err != nil {
		return Group{}, err
	}
	var g Group
	ok, err := s.store.get(ctx, &g, `SELECT doc FROM deployment_groups WHERE application = ? AND name = ?`, app, name)
	if err != nil {
		return g, err
	}
	if !ok {
		return g, errorf(ErrNotFound, "DeploymentGroup", "No Deployment Group found for name: %s", name)
	}
	last := func(q string) (*Deployment, error) {
		var sd storedDeployment
		ok, err := s.store.get(ctx, &sd, q, app, name)
		if !ok || err != nil {
			return nil, err
		}
		return &sd.Deployment, nil
	}
	if d, err := last(`SELECT doc FROM deployments WHERE application = ? AND deployment_group = ? ORDER BY create_ms DESC, rowid DESC LIMIT 1`); err != nil {
		return g, err
	} else if d != nil {
		g.LastAttemptedDeployment = &LastDeployment{DeploymentID: d.DeploymentID, Status: d.Status, EndTime: d.CompleteTime, CreateTime: d.CreateTime}
		g.TargetRevision = d.Revision
	}
	if d, err := last(`SELECT doc FROM deployments WHERE application = ? AND deployment_group = ? AND status = 'Succeeded' ORDER BY create_ms DESC, rowid DESC LIMIT 1`); err != nil {
		return g, err
	} else if d != nil {
		g.LastSuccessfulDeployment = &LastDeployment{DeploymentID: d.DeploymentID, Status: d.Status, EndTime: d.CompleteTime, CreateTime: d.CreateTime}
	}
	return g, nil
}

// ListDeploymentGroups returns the group names of an application.
func (s *Service) ListDeploymentGroups(ctx context.Context, app string) ([]string, error) {
	if _, err := s.GetApplication(ctx, app); err != nil {
		return nil, err
	}
	return s.store.names(ctx, `SELECT name FROM deployment_groups WHERE application = ? ORDER BY name`, app)
}

// DeleteDeploymentGroup deletes a group; a missing one is not an error.
func (s *Service) DeleteDeploymentGroup(ctx context.Context, app, name string) error {
	if err := checkName("ApplicationName", "Application", app); err != nil {
		return err
	}
	if err := checkName("DeploymentGroupName", "Deployment group", name); err != nil {
		return err
	}
	_, err := s.store.exec(ctx, `DELETE FROM deployment_groups WHERE application = ? AND name = ?`, app, name)
	if err == nil {
		s.stopProxy(app, name)
	}
	return err
}

// --- deployment configs ---

// CreateDeploymentConfig creates a custom Server configuration with a
// minimum healthy hosts constraint.
func (s *Service) CreateDeploymentConfig(ctx context.Context, c Config) (Config, error) {
	if err := checkName("DeploymentConfigName", "Deployment config", c.DeploymentConfigName); err != nil {
		return c, err
	}
	if c.ComputePlatform == "" {
		c.ComputePlatform = "Server"
	}
	if c.ComputePlatform != "Server" {
		return c, errorf(ErrInvalid, "ComputePlatform", "compute platform %s is not supported; only Server", c.ComputePlatform)
	}
	if len(c.TrafficRoutingConfig) > 0 && string(c.TrafficRoutingConfig) != "null" {
		rc, err := traffic.ParseRoutingConfig(c.TrafficRoutingConfig)
		if err != nil {
			return c, errorf(ErrInvalid, "TrafficRoutingConfiguration", "trafficRoutingConfig is invalid: %v", err)
		}
		if _, err := rc.Schedule(time.Minute); err != nil {
			return c, errorf(ErrInvalid, "TrafficRoutingConfiguration", "trafficRoutingConfig is invalid: %v", err)
		}
	} else {
		c.TrafficRoutingConfig = nil
	}
	h := c.MinimumHealthyHosts
	switch {
	case h == nil && len(c.TrafficRoutingConfig) > 0:
	case h == nil:
		return c, errorf(ErrInvalid, "MinimumHealthyHostValue", "minimumHealthyHosts is required for the Server platform")
	case h.Type == "HOST_COUNT" && h.Value >= 0:
	case h.Type == "FLEET_PERCENT" && h.Value >= 0 && h.Value <= 99:
	default:
		return c, errorf(ErrInvalid, "MinimumHealthyHostValue", "minimumHealthyHosts %s %d is invalid: HOST_COUNT >= 0 or FLEET_PERCENT 0-99", h.Type, h.Value)
	}
	for _, b := range builtinConfigs {
		if b.DeploymentConfigName == c.DeploymentConfigName {
			return c, errorf(ErrExists, "DeploymentConfig", "Deployment Configuration already exists: %s", c.DeploymentConfigName)
		}
	}
	c.DeploymentConfigID = uuid()
	c.CreateTime = Now()
	_, err := s.store.exec(ctx, `INSERT INTO deployment_configs(name, doc) VALUES (?, ?)`, c.DeploymentConfigName, doc(c))
	if isUnique(err) {
		return c, errorf(ErrExists, "DeploymentConfig", "Deployment Configuration already exists: %s", c.DeploymentConfigName)
	}
	return c, err
}

// GetDeploymentConfig returns a built-in or custom configuration.
func (s *Service) GetDeploymentConfig(ctx context.Context, name string) (Config, error) {
	if name == "" {
		return Config{}, errorf(ErrRequired, "DeploymentConfigName", "Deployment config name is missing")
	}
	for _, b := range builtinConfigs {
		if b.DeploymentConfigName == name {
			b.DeploymentConfigID = name
			b.ComputePlatform = "Server"
			return b, nil
		}
	}
	var c Config
	ok, err := s.store.get(ctx, &c, `SELECT doc FROM deployment_configs WHERE name = ?`, name)
	if err == nil && !ok {
		err = errorf(ErrNotFound, "DeploymentConfig", "Deployment Configuration not found for name: %s", name)
	}
	return c, err
}

// ListDeploymentConfigs returns the built-in then the custom names.
func (s *Service) ListDeploymentConfigs(ctx context.Context) ([]string, error) {
	custom, err := s.store.names(ctx, `SELECT name FROM deployment_configs ORDER BY name`)
	var out []string
	for _, b := range builtinConfigs {
		out = append(out, b.DeploymentConfigName)
	}
	return append(out, custom...), err
}

// --- instances ---

// RegisterInstance registers a local instance and creates its directory.
func (s *Service) RegisterInstance(ctx context.Context, name, iamSessionArn, iamUserArn string) error {
	if err := checkName("InstanceName", "Instance", name); err != nil {
		return err
	}
	switch {
	case iamSessionArn == "" && iamUserArn == "":
		return errorf(ErrRequired, "IamArn", "An IAM session ARN or IAM user ARN is required")
	case iamSessionArn != "" && iamUserArn != "":
		return errorf(ErrInvalid, "MultipleIamArns", "Both an IAM session ARN and an IAM user ARN were provided; give one")
	}
	in := Instance{InstanceName: name, IamSessionArn: iamSessionArn, IamUserArn: iamUserArn, InstanceArn: s.arn("instance", name), RegisterTime: Now(), Tags: []Tag{}}
	var old Instance
	ok, err := s.store.get(ctx, &old, `SELECT doc FROM instances WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if ok && old.DeregisterTime == nil {
		return errorf(ErrExists, "InstanceName", "The on-premises instance name %s is already registered", name)
	}
	if err := os.MkdirAll(filepath.Join(s.InstanceDir(name), "root"), 0o755); err != nil {
		return err
	}
	_, err = s.store.exec(ctx, `INSERT INTO instances(name, doc) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc`, name, doc(in))
	return err
}

// GetInstance returns a registered (or deregistered) instance.
func (s *Service) GetInstance(ctx context.Context, name string) (Instance, error) {
	if err := checkName("InstanceName", "Instance", name); err != nil {
		return Instance{}, err
	}
	var in Instance
	ok, err := s.store.get(ctx, &in, `SELECT doc FROM instances WHERE name = ?`, name)
	if err == nil && !ok {
		err = errorf(ErrNotFound, "Instance", "The on-premises instance %s is not registered", name)
	}
	return in, err
}

// AddTags adds (or replaces the values of) tags on registered instances.
func (s *Service) AddTags(ctx context.Context, names []string, tags []Tag) error {
	if len(names) == 0 {
		return errorf(ErrRequired, "InstanceName", "instance names are required")
	}
	if len(tags) == 0 {
		return errorf(ErrRequired, "Tag", "tags are required")
	}
	for _, t := range tags {
		if t.Key == "" {
			return errorf(ErrInvalid, "Tag", "a tag needs a key")
		}
	}
	for _, n := range names {
		in, err := s.GetInstance(ctx, n)
		if err != nil {
			return err
		}
		if in.DeregisterTime != nil {
			return errorf(ErrNotFound, "Instance", "The on-premises instance %s is not registered", n)
		}
		for _, t := range tags {
			replaced := false
			for i := range in.Tags {
				if in.Tags[i].Key == t.Key {
					in.Tags[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				in.Tags = append(in.Tags, t)
			}
		}
		if len(in.Tags) > 10 {
			return errorf(ErrInvalid, "TagLimit", "an instance can have at most 10 tags")
		}
		if _, err := s.store.exec(ctx, `UPDATE instances SET doc = ? WHERE name = ?`, doc(in), n); err != nil {
			return err
		}
	}
	return nil
}

// DeregisterInstance marks an instance deregistered; its directory stays.
func (s *Service) DeregisterInstance(ctx context.Context, name string) error {
	in, err := s.GetInstance(ctx, name)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == ErrNotFound {
			return nil
		}
		return err
	}
	in.DeregisterTime = Now()
	_, err = s.store.exec(ctx, `UPDATE instances SET doc = ? WHERE name = ?`, doc(in), name)
	return err
}

// ListInstances returns instance names with the registration status
// ("" for any) that match every tag filter.
func (s *Service) ListInstances(ctx context.Context, status string, filters []TagFilter) ([]string, error) {
	switch status {
	case "", "Registered", "Deregistered":
	default:
		return nil, errorf(ErrInvalid, "RegistrationStatus", "registration status %q is invalid", status)
	}
	if err := checkTagFilters(filters); err != nil {
		return nil, errorf(ErrInvalid, "TagFilter", "%s", err.Error())
	}
	var out []string
	err := s.store.list(ctx, func(b []byte) error {
		var in Instance
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		if (status == "Registered" && in.DeregisterTime != nil) || (status == "Deregistered" && in.DeregisterTime == nil) {
			return nil
		}
		for _, f := range filters {
			if !f.Matches(in.Tags) {
				return nil
			}
		}
		out = append(out, in.InstanceName)
		return nil
	}, `SELECT doc FROM instances ORDER BY name`)
	return out, err
}

// groupInstances returns the registered instances any of the group's tag
// filters select, by name.
func (s *Service) groupInstances(ctx context.Context, filters []TagFilter) ([]Instance, error) {
	var out []Instance
	err := s.store.list(ctx, func(b []byte) error {
		var in Instance
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		if in.DeregisterTime != nil {
			return nil
		}
		for _, f := range filters {
			if f.Matches(in.Tags) {
				out = append(out, in)
				return nil
			}
		}
		return nil
	}, `SELECT doc FROM instances`)
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceName < out[j].InstanceName })
	return out, err
}
