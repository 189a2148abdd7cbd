package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy/traffic"
)

func TestParseAlarmName(t *testing.T) {
	for _, c := range []struct {
		name string
		want traffic.Rule
	}{
		{"errors>5%/60s", traffic.Rule{Metric: traffic.ErrorRate, Set: traffic.Any, Threshold: 0.05, Window: time.Minute, MinRequests: DefaultAlarmMinRequests}},
		{"green:errors>0.5%/10s#3", traffic.Rule{Metric: traffic.ErrorRate, Set: traffic.Green, Threshold: 0.005, Window: 10 * time.Second, MinRequests: 3}},
		{"p99>500ms/60s", traffic.Rule{Metric: traffic.P99Latency, Set: traffic.Any, Threshold: 0.5, Window: time.Minute, MinRequests: DefaultAlarmMinRequests}},
		{"blue:p99>1.5s/2m#50", traffic.Rule{Metric: traffic.P99Latency, Set: traffic.Blue, Threshold: 1.5, Window: 2 * time.Minute, MinRequests: 50}},
	} {
		got, err := ParseAlarmName(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		c.want.Name = c.name
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"", "cpu>5%/60s", "errors>5ms/60s", "p99>5%/60s", "errors>100%/60s", "errors>5%/0s", "errors>5%/6m", "red:errors>5%/60s", "errors>5%/60s#", "errors > 5%/60s"} {
		_, err := ParseAlarmName(bad)
		if err == nil || !strings.Contains(err.Error(), "errors>5%/60s") {
			t.Errorf("%q: got %v, want an error showing the form", bad, err)
		}
	}
}

func TestParseHealthAlarmName(t *testing.T) {
	h, err := ParseHealthAlarmName("health:http://127.0.0.1:8080/healthz#5")
	if err != nil || h.URL != "http://127.0.0.1:8080/healthz" || h.FailureThreshold != 5 || h.Name != "health:http://127.0.0.1:8080/healthz#5" {
		t.Errorf("%+v %v", h, err)
	}
	if h, err := ParseHealthAlarmName("health:https://svc.example/ready"); err != nil || h.FailureThreshold != DefaultHealthFailures {
		t.Errorf("%+v %v", h, err)
	}
	for _, bad := range []string{"health:", "health:ftp://x/", "health:http://", "health:http://x/#0", "health:/etc/passwd"} {
		if _, err := ParseHealthAlarmName(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	rules, checks, err := alarmRules(&AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: "errors>5%/60s"}, {Name: "health:http://h/x"}, {Name: "errors>5%/60s"}}})
	if err != nil || len(rules) != 1 || len(checks) != 1 {
		t.Errorf("%v %v %v", rules, checks, err)
	}
	if rules, checks, err := alarmRules(&AlarmConfiguration{Enabled: false, Alarms: []Alarm{{Name: "anything"}}}); err != nil || rules != nil || checks != nil {
		t.Errorf("disabled alarms: %v %v %v", rules, checks, err)
	}
}

func FuzzParseAlarmName(f *testing.F) {
	for _, s := range []string{"errors>5%/60s", "green:p99>500ms/2m#20", "p99>1s/1s", "x", "health:http://127.0.0.1:1/h#2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rules, checks, err := alarmRules(&AlarmConfiguration{Enabled: true, Alarms: []Alarm{{Name: s}}}); err == nil {
			for _, h := range checks {
				if err := h.Validate(); err != nil {
					t.Fatalf("%q parsed into an invalid check %+v: %v", s, h, err)
				}
			}
			if len(rules)+len(checks) != 1 {
				t.Fatalf("%q: %d rules, %d checks", s, len(rules), len(checks))
			}
		}
		r, err := ParseAlarmName(s)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("%q parsed into an invalid rule %+v: %v", s, r, err)
		}
		if r.Window > maxAlarmWindow || r.Name != s {
			t.Fatalf("%q: %+v", s, r)
		}
	})
}
