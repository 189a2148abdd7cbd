package deploy

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

// There is no CloudWatch: an alarm of a deployment group's
// alarmConfiguration is a rule over the group's load balancer (the
// built-in proxy) metrics, written as its name:
//
//	[set:]metric>threshold/window[#minRequests]
//
//	errors>5%/60s          more than 5% of responses 5xx over the last 60 seconds
//	green:errors>5%/10s    the same, counting only the replacement set
//	p99>500ms/60s          99th percentile latency above 500 ms over a minute
//	blue:p99>1.5s/2m#50    ... over two minutes, once at least 50 requests were seen
//
// set is blue, green or any (the default); metric errors (threshold a
// percentage) or p99 (threshold in ms or s); window in s or m, at most
// five minutes (what the proxy keeps). An alarm fires only once the
// window holds minRequests requests (DefaultAlarmMinRequests when not
// given), so one failed request does not stop a deployment.
//
// An alarm may instead be a health check, on any group:
//
//	health:http://127.0.0.1:8080/healthz      fires after 3 consecutive failed probes
//	health:http://127.0.0.1:8080/healthz#5    ... after 5
//
// a GET that must answer 2xx within five seconds, probed every alarm
// interval while a deployment runs.
var alarmNameRe = regexp.MustCompile(`^(?:(blue|green|any):)?(errors|p99)>([0-9]{1,6}(?:\.[0-9]{1,6})?)(%|ms|s)/([0-9]{1,4})(s|m)(?:#([0-9]{1,6}))?$`)

// DefaultAlarmMinRequests is the minimum number of requests in an alarm's
// window before it can fire, when its name does not say.
const DefaultAlarmMinRequests = 10

// maxAlarmWindow is how far back the proxy's metrics reach.
const maxAlarmWindow = 5 * time.Minute

// ParseAlarmName parses an alarm name into a rule over the proxy's
// metrics.
func ParseAlarmName(name string) (traffic.Rule, error) {
	bad := func(why string) (traffic.Rule, error) {
		return traffic.Rule{}, errorf(ErrInvalid, "AlarmConfig", "alarm %q %s: an alarm is a rule over the load balancer's metrics named [blue:|green:|any:](errors>N%%|p99>Nms|p99>Ns)/N(s|m)[#minRequests], e.g. errors>5%%/60s", truncate(name, 80), why)
	}
	m := alarmNameRe.FindStringSubmatch(name)
	if m == nil {
		return bad("is not understood")
	}
	r := traffic.Rule{Name: name, Set: traffic.Any, MinRequests: DefaultAlarmMinRequests}
	switch m[1] {
	case "blue":
		r.Set = traffic.Blue
	case "green":
		r.Set = traffic.Green
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return bad("has a bad threshold")
	}
	switch {
	case m[2] == "errors" && m[4] == "%":
		if v >= 100 {
			return bad("has an error rate threshold of 100% or more, which can never be exceeded")
		}
		r.Metric, r.Threshold = traffic.ErrorRate, v/100
	case m[2] == "p99" && m[4] == "ms":
		r.Metric, r.Threshold = traffic.P99Latency, v/1000
	case m[2] == "p99" && m[4] == "s":
		r.Metric, r.Threshold = traffic.P99Latency, v
	default:
		return bad("has a threshold unit that does not fit the metric (errors take %, p99 ms or s)")
	}
	n, _ := strconv.Atoi(m[5])
	r.Window = time.Duration(n) * time.Second
	if m[6] == "m" {
		r.Window = time.Duration(n) * time.Minute
	}
	if r.Window <= 0 || r.Window > maxAlarmWindow {
		return bad("has a window outside 1s-5m")
	}
	if m[7] != "" {
		r.MinRequests, _ = strconv.Atoi(m[7])
	}
	if err := r.Validate(); err != nil {
		return bad(err.Error())
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// DefaultHealthFailures is how many consecutive failed probes fire a
// health alarm when its name does not say.
const DefaultHealthFailures = 3

var healthNameRe = regexp.MustCompile(`^health:(https?://[^#\s]+)(?:#([0-9]{1,3}))?$`)

// ParseHealthAlarmName parses "health:URL[#failures]" into a health check.
func ParseHealthAlarmName(name string) (traffic.HealthCheck, error) {
	m := healthNameRe.FindStringSubmatch(name)
	if m == nil || len(name) > 2048 {
		return traffic.HealthCheck{}, errorf(ErrInvalid, "AlarmConfig", "alarm %q is not a health check: health:http(s)://host[:port]/path[#failures]", truncate(name, 80))
	}
	h := traffic.HealthCheck{Name: name, URL: m[1], FailureThreshold: DefaultHealthFailures}
	if m[2] != "" {
		h.FailureThreshold, _ = strconv.Atoi(m[2])
	}
	if err := h.Validate(); err != nil {
		return traffic.HealthCheck{}, errorf(ErrInvalid, "AlarmConfig", "alarm %q: %v", truncate(name, 80), err)
	}
	return h, nil
}

// alarmRules parses the enabled alarms of c into rules over the load
// balancer's metrics and health checks.
func alarmRules(c *AlarmConfiguration) ([]traffic.Rule, []traffic.HealthCheck, error) {
	if c == nil || !c.Enabled {
		return nil, nil, nil
	}
	var rules []traffic.Rule
	var checks []traffic.HealthCheck
	seen := map[string]bool{}
	for _, a := range c.Alarms {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		if strings.HasPrefix(a.Name, "health:") {
			h, err := ParseHealthAlarmName(a.Name)
			if err != nil {
				return nil, nil, err
			}
			checks = append(checks, h)
			continue
		}
		r, err := ParseAlarmName(a.Name)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, r)
	}
	return rules, checks, nil
}
