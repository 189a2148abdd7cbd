package deploy

import "fmt"

// The built-in deployment configurations for EC2/on-premises
// (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
// GetDeploymentConfig returns OneAtATime as MOST_CONCURRENCY 1, a type
// callers cannot create.
var builtinConfigs = []Config{
	{DeploymentConfigName: "CodeDeployDefault.AllAtOnce", MinimumHealthyHosts: &MinimumHealthyHosts{Type: "HOST_COUNT", Value: 0}},
	{DeploymentConfigName: "CodeDeployDefault.HalfAtATime", MinimumHealthyHosts: &MinimumHealthyHosts{Type: "FLEET_PERCENT", Value: 50}},
	{DeploymentConfigName: "CodeDeployDefault.OneAtATime", MinimumHealthyHosts: &MinimumHealthyHosts{Type: "MOST_CONCURRENCY", Value: 1}},
}

// DefaultConfig is the deployment configuration of a group that names none.
const DefaultConfig = "CodeDeployDefault.OneAtATime"

// MinHealthy is how many of n instances must stay healthy under h
// (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_MinimumHealthyHosts.html):
//
//	HOST_COUNT v        v
//	FLEET_PERCENT p     ceil(n*p/100)      (HalfAtATime: 9 -> 5)
//	MOST_CONCURRENCY    n-1                (all but one; so the last instance may fail)
//
// An error (HEALTH_CONSTRAINTS_INVALID) when that leaves no instance to
// deploy to: n instances with a minimum of n or more, other than zero.
func MinHealthy(h MinimumHealthyHosts, n int) (int, error) {
	var m int
	switch h.Type {
	case "HOST_COUNT":
		m = h.Value
	case "FLEET_PERCENT":
		m = (n*h.Value + 99) / 100
	case "MOST_CONCURRENCY":
		m = max(n-1, 0)
	default:
		return 0, fmt.Errorf("unknown minimum healthy hosts type %q", h.Type)
	}
	if m > 0 && m >= n {
		return m, fmt.Errorf("the deployment needs %d healthy instances of %d: none can be taken down to deploy to", m, n)
	}
	return m, nil
}

// Tally is the state of a deployment's instances between waves.
type Tally struct {
	Total, Succeeded, Failed, Pending int
}

// NextWave is how many pending instances may be deployed to at once now:
// the healthy instances (not failed; pending ones still run the old
// revision) beyond the minimum m. Zero with instances pending means the
// deployment cannot go on without breaking the constraint.
func NextWave(t Tally, m int) int {
	healthy := t.Total - t.Failed
	return max(0, min(healthy-m, t.Pending))
}

// Succeeded reports whether a finished deployment succeeded: at least m
// instances succeeded, and at least one (AllAtOnce's rule).
func Succeeded(t Tally, m int) bool {
	return t.Succeeded >= max(m, 1)
}
