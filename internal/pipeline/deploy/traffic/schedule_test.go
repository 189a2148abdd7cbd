package traffic

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

func TestScheduleArithmetic(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name string
		json string
		want Schedule
	}{
		{"all at once", `{"type":"AllAtOnce"}`, Schedule{{0, 100}}},
		{"canary 10% 5 min", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":5}}`,
			Schedule{{0, 10}, {5 * m, 100}}},
		{"canary 99% 1 min", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":99,"canaryInterval":1}}`,
			Schedule{{0, 99}, {m, 100}}},
		{"linear 10% every 1 min", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":10,"linearInterval":1}}`,
			Schedule{{0, 10}, {m, 20}, {2 * m, 30}, {3 * m, 40}, {4 * m, 50}, {5 * m, 60}, {6 * m, 70}, {7 * m, 80}, {8 * m, 90}, {9 * m, 100}}},
		{"linear 30% every 3 min", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":30,"linearInterval":3}}`,
			Schedule{{0, 30}, {3 * m, 60}, {6 * m, 90}, {9 * m, 100}}},
		{"linear 50% every 2 min", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":50,"linearInterval":2}}`,
			Schedule{{0, 50}, {2 * m, 100}}},
		{"linear 99% every 1 min", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":99,"linearInterval":1}}`,
			Schedule{{0, 99}, {m, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseRoutingConfig([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Schedule(time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("schedule = %v, want %v", got, tt.want)
			}
			if got.Duration() != tt.want[len(tt.want)-1].At {
				t.Fatalf("duration = %v", got.Duration())
			}
		})
	}
}

func TestScheduleLinearOnePercent(t *testing.T) {
	c := linear(1, 2)
	s, err := c.Schedule(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 100 || s[99] != (Step{198 * time.Second, 100}) || s[0] != (Step{0, 1}) {
		t.Fatalf("1%% every 2: %d steps, first %v, last %v", len(s), s[0], s[len(s)-1])
	}
}

func TestScheduleShortMinute(t *testing.T) {
	s, err := canary(10, 5).Schedule(100 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Schedule{{0, 10}, {500 * time.Millisecond, 100}}); !reflect.DeepEqual(s, want) {
		t.Fatalf("got %v, want %v", s, want)
	}
	if _, err := canary(10, 5).Schedule(0); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("zero minute: %v", err)
	}
}

func TestParseRoutingConfigErrors(t *testing.T) {
	tests := []struct {
		name, json, field string
	}{
		{"empty", ``, "trafficRoutingConfig"},
		{"not an object", `[1]`, "trafficRoutingConfig"},
		{"no type", `{}`, "trafficRoutingConfig.type"},
		{"unknown type", `{"type":"Blue"}`, "trafficRoutingConfig.type"},
		{"unknown field", `{"type":"AllAtOnce","canary":1}`, "trafficRoutingConfig"},
		{"trailing data", `{"type":"AllAtOnce"} {}`, "trafficRoutingConfig"},
		{"canary missing", `{"type":"TimeBasedCanary"}`, "trafficRoutingConfig.timeBasedCanary"},
		{"canary percentage 0", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":0,"canaryInterval":5}}`, "trafficRoutingConfig.timeBasedCanary.canaryPercentage"},
		{"canary percentage 100", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":100,"canaryInterval":5}}`, "trafficRoutingConfig.timeBasedCanary.canaryPercentage"},
		{"canary interval missing", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10}}`, "trafficRoutingConfig.timeBasedCanary.canaryInterval"},
		{"canary interval huge", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":99999999999}}`, "trafficRoutingConfig.timeBasedCanary.canaryInterval"},
		{"canary percentage string", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":"10","canaryInterval":5}}`, "trafficRoutingConfig.timeBasedCanary.canaryPercentage"},
		{"canary percentage fraction", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10.5,"canaryInterval":5}}`, "trafficRoutingConfig.timeBasedCanary.canaryPercentage"},
		{"canary with linear", `{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":5},"timeBasedLinear":{"linearPercentage":10,"linearInterval":1}}`, "trafficRoutingConfig.timeBasedLinear"},
		{"linear missing", `{"type":"TimeBasedLinear"}`, "trafficRoutingConfig.timeBasedLinear"},
		{"linear negative", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":-10,"linearInterval":1}}`, "trafficRoutingConfig.timeBasedLinear.linearPercentage"},
		{"linear interval 0", `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":10,"linearInterval":0}}`, "trafficRoutingConfig.timeBasedLinear.linearInterval"},
		{"linear with canary", `{"type":"TimeBasedLinear","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":5}}`, "trafficRoutingConfig.timeBasedCanary"},
		{"all at once with canary", `{"type":"AllAtOnce","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":5}}`, "trafficRoutingConfig.type"},
		{"type number", `{"type":1}`, "trafficRoutingConfig.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoutingConfig([]byte(tt.json))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tt.field {
				t.Fatalf("field = %q, want %q (%v)", fe.Field, tt.field, err)
			}
			if !errors.Is(err, domain.ErrInvalid) || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Fatalf("error %q: want ErrInvalid naming %s", err, tt.field)
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	tests := []struct {
		name  string
		steps int
		first Step
		last  Step
	}{
		{"CodeDeployDefault.LambdaCanary10Percent5Minutes", 2, Step{0, 10}, Step{5 * time.Minute, 100}},
		{"CodeDeployDefault.LambdaCanary10Percent30Minutes", 2, Step{0, 10}, Step{30 * time.Minute, 100}},
		{"CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 10, Step{0, 10}, Step{9 * time.Minute, 100}},
		{"CodeDeployDefault.LambdaLinear10PercentEvery10Minutes", 10, Step{0, 10}, Step{90 * time.Minute, 100}},
		{"CodeDeployDefault.LambdaAllAtOnce", 1, Step{0, 100}, Step{0, 100}},
		{"CodeDeployDefault.ECSCanary10Percent15Minutes", 2, Step{0, 10}, Step{15 * time.Minute, 100}},
		{"CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 10, Step{0, 10}, Step{27 * time.Minute, 100}},
		{"CodeDeployDefault.ECSAllAtOnce", 1, Step{0, 100}, Step{0, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Builtin(tt.name)
			if !ok {
				t.Fatal("not found")
			}
			s, err := c.Schedule(time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) != tt.steps || s[0] != tt.first || s[len(s)-1] != tt.last {
				t.Fatalf("got %v", s)
			}
		})
	}
	if _, ok := Builtin("CodeDeployDefault.HalfAtATime"); ok {
		t.Fatal("an in-place config has no traffic routing")
	}
	c, _ := Builtin("CodeDeployDefault.LambdaCanary10Percent5Minutes")
	c.TimeBasedCanary.CanaryPercentage = 50
	if c2, _ := Builtin("CodeDeployDefault.LambdaCanary10Percent5Minutes"); c2.TimeBasedCanary.CanaryPercentage != 10 {
		t.Fatal("Builtin handed out its table")
	}
	for _, n := range BuiltinNames() {
		c, _ := Builtin(n)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestRoutingConfigJSONRoundTrip(t *testing.T) {
	c := linear(20, 4)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":20,"linearInterval":4}}` {
		t.Fatalf("marshal = %s", b)
	}
	back, err := ParseRoutingConfig(b)
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func FuzzParseRoutingConfig(f *testing.F) {
	for _, s := range []string{
		`{"type":"AllAtOnce"}`,
		`{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":5}}`,
		`{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":7,"linearInterval":3}}`,
		`{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":1e2,"linearInterval":-1}}`,
		`{"type":"TimeBasedCanary","timeBasedCanary":null}`,
		`null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseRoutingConfig(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "trafficRoutingConfig") {
				t.Fatalf("error %v (%T) does not name a field", err, err)
			}
			return
		}
		s, err := c.Schedule(time.Minute)
		if err != nil {
			t.Fatalf("valid config %+v: %v", c, err)
		}
		if len(s) == 0 || len(s) > 100 || s[len(s)-1].Percent != 100 {
			t.Fatalf("schedule %v", s)
		}
		for i := range s {
			if s[i].Percent < 1 || s[i].Percent > 100 || s[i].At < 0 {
				t.Fatalf("step %d: %v", i, s[i])
			}
			if i > 0 && (s[i].Percent <= s[i-1].Percent || s[i].At <= s[i-1].At) {
				t.Fatalf("steps %d..%d not increasing: %v", i-1, i, s)
			}
		}
	})
}
