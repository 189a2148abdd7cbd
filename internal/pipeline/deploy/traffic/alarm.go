package traffic

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Metric names what a Rule watches.
type Metric string

// The metrics a Rule can watch.
const (
	// ErrorRate is the share of responses with status >= 500, 0..1.
	ErrorRate Metric = "ErrorRate"
	// P99Latency is the 99th-percentile response time, in seconds.
	P99Latency Metric = "P99Latency"
)

// Rule is an alarm over a proxy's own metrics: it fires when Metric of Set
// over the last Window is above Threshold and at least MinRequests
// requests were seen in that window (so one failed request out of two
// does not roll a deployment back).
type Rule struct {
	Name        string
	Metric      Metric
	Set         Set           // Blue, Green or Any
	Threshold   float64       // ErrorRate: a fraction (0.05 = 5%); P99Latency: seconds
	Window      time.Duration // how far back to look
	MinRequests int
}

// Validate reports the first problem with r.
func (r Rule) Validate() error {
	switch {
	case r.Name == "":
		return domain.Invalid("alarm rule: name is required")
	case r.Metric != ErrorRate && r.Metric != P99Latency:
		return domain.Invalid("alarm %s: metric %q is not one of ErrorRate, P99Latency", r.Name, r.Metric)
	case r.Set > Any:
		return domain.Invalid("alarm %s: set must be blue, green or any", r.Name)
	case r.Threshold < 0 || (r.Metric == ErrorRate && r.Threshold >= 1):
		return domain.Invalid("alarm %s: threshold %g is out of range", r.Name, r.Threshold)
	case r.Window <= 0:
		return domain.Invalid("alarm %s: window must be positive", r.Name)
	case r.MinRequests < 0:
		return domain.Invalid("alarm %s: minRequests must not be negative", r.Name)
	}
	return nil
}

// HealthCheck is an alarm over a probe: an HTTP GET of URL that must answer
// 2xx, or a Command (argv, no shell) that must exit 0, each within Timeout.
// It fires after FailureThreshold consecutive failed probes; a success
// resets the count.
type HealthCheck struct {
	Name             string
	URL              string
	Command          []string
	Dir              string // working directory of Command
	Timeout          time.Duration
	FailureThreshold int
}

// Validate reports the first problem with h.
func (h HealthCheck) Validate() error {
	switch {
	case h.Name == "":
		return domain.Invalid("health check: name is required")
	case (h.URL == "") == (len(h.Command) == 0):
		return domain.Invalid("health check %s: exactly one of url and command is required", h.Name)
	case h.FailureThreshold < 1:
		return domain.Invalid("health check %s: failureThreshold must be at least 1", h.Name)
	case h.Timeout < 0:
		return domain.Invalid("health check %s: timeout must not be negative", h.Name)
	}
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return domain.Invalid("health check %s: url %q is not an absolute http(s) URL", h.Name, h.URL)
		}
	}
	return nil
}

// Firing is an alarm that went off.
type Firing struct {
	Name   string
	Reason string // for people: what was seen against what was allowed
}

func (f Firing) String() string { return f.Name + ": " + f.Reason }

// DefaultProbeTimeout bounds a health probe whose Timeout is zero.
const DefaultProbeTimeout = 5 * time.Second

// Alarms is a deployment group's set of alarms: rules over one Metrics and
// health checks. Evaluate is safe for concurrent use.
type Alarms struct {
	metrics *Metrics
	rules   []Rule
	checks  []HealthCheck
	client  *http.Client

	mu       sync.Mutex
	failures []int // consecutive failures per check
}

// NewAlarms validates rules and checks and returns them as one alarm set.
// metrics may be nil only when there are no rules.
func NewAlarms(metrics *Metrics, rules []Rule, checks []HealthCheck) (*Alarms, error) {
	names := map[string]bool{}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if names[r.Name] {
			return nil, domain.Invalid("alarm %s: name used twice", r.Name)
		}
		names[r.Name] = true
		if metrics != nil && r.Window > metrics.MaxWindow() {
			return nil, domain.Invalid("alarm %s: window %v is longer than the %v the proxy keeps", r.Name, r.Window, metrics.MaxWindow())
		}
	}
	for _, h := range checks {
		if err := h.Validate(); err != nil {
			return nil, err
		}
		if names[h.Name] {
			return nil, domain.Invalid("alarm %s: name used twice", h.Name)
		}
		names[h.Name] = true
	}
	if metrics == nil && len(rules) > 0 {
		return nil, domain.Invalid("alarm rules need the proxy's metrics")
	}
	return &Alarms{
		metrics:  metrics,
		rules:    append([]Rule(nil), rules...),
		checks:   append([]HealthCheck(nil), checks...),
		client:   &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		failures: make([]int, len(checks)),
	}, nil
}

// Evaluate checks every alarm as of now and returns those firing, rules
// first, in the order given. Health checks probe once per call, so the
// caller's polling rate sets how fast consecutive failures add up.
func (a *Alarms) Evaluate(ctx context.Context, now time.Time) []Firing {
	var out []Firing
	for _, r := range a.rules {
		st := a.metrics.SnapshotAt(now, r.Window).Of(r.Set)
		if st.Requests == 0 || st.Requests < r.MinRequests {
			continue
		}
		switch r.Metric {
		case ErrorRate:
			if st.ErrorRate > r.Threshold {
				out = append(out, Firing{r.Name, fmt.Sprintf("error rate of %s is %.1f%% (%d of %d requests in %v), above %.1f%%",
					r.Set, st.ErrorRate*100, st.Errors, st.Requests, r.Window, r.Threshold*100)})
			}
		case P99Latency:
			if st.P99.Seconds() > r.Threshold {
				out = append(out, Firing{r.Name, fmt.Sprintf("p99 latency of %s is %v over %d requests in %v, above %gs",
					r.Set, st.P99, st.Requests, r.Window, r.Threshold)})
			}
		}
	}
	if len(a.checks) == 0 {
		return out
	}
	errs := make([]error, len(a.checks))
	var wg sync.WaitGroup
	for i := range a.checks {
		wg.Go(func() { errs[i] = a.probe(ctx, &a.checks[i]) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return out // probes cut short by the caller say nothing about health
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, h := range a.checks {
		if errs[i] == nil {
			a.failures[i] = 0
			continue
		}
		a.failures[i]++
		if a.failures[i] >= h.FailureThreshold {
			out = append(out, Firing{h.Name, fmt.Sprintf("%d consecutive failed health checks, last: %v", a.failures[i], errs[i])})
		}
	}
	return out
}

func (a *Alarms) probe(ctx context.Context, h *HealthCheck) error {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if h.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
		if err != nil {
			return err
		}
		resp, err := a.client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: status %d", h.URL, resp.StatusCode)
		}
		return nil
	}
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.Dir
	cmd.WaitDelay = time.Second // a child holding the output open must not outlive the timeout by much
	var tail tailBuffer
	cmd.Stdout, cmd.Stderr = &tail, &tail
	if err := cmd.Run(); err != nil {
		if s := strings.TrimSpace(tail.String()); s != "" {
			return fmt.Errorf("%s: %w: %s", h.Command[0], err, s)
		}
		return fmt.Errorf("%s: %w", h.Command[0], err)
	}
	return nil
}

// tailBuffer keeps the last 512 bytes written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 512 {
		t.b = append(t.b[:0], t.b[len(t.b)-512:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// Watcher polls alarms on a schedule and reports the first time any fire.
type Watcher struct {
	Alarms *Alarms
	// Ticks delivers the times to evaluate at: a time.Ticker's C in
	// production, a channel the test feeds otherwise.
	Ticks <-chan time.Time
	// OnFire is called once, with what fired, before Run returns.
	OnFire func([]Firing)
}

// Run evaluates the alarms at every tick until one fires (it then calls
// OnFire and returns the firings), the tick channel closes or ctx ends
// (it returns nil).
func (w *Watcher) Run(ctx context.Context) []Firing {
	for {
		select {
		case <-ctx.Done():
			return nil
		case t, ok := <-w.Ticks:
			if !ok {
				return nil
			}
			if f := w.Alarms.Evaluate(ctx, t); len(f) > 0 {
				if w.OnFire != nil {
					w.OnFire(f)
				}
				return f
			}
		}
	}
}
