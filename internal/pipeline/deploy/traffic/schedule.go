package traffic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Routing types, as CodeDeploy's TrafficRoutingConfig.type spells them.
// https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_TrafficRoutingConfig.html
const (
	TypeAllAtOnce       = "AllAtOnce"
	TypeTimeBasedCanary = "TimeBasedCanary"
	TypeTimeBasedLinear = "TimeBasedLinear"
)

// Limits this package enforces on a routing configuration. Percentages are
// whole percent of traffic; intervals are whole minutes, as in CodeDeploy.
const (
	MinPercent  = 1
	MaxPercent  = 99
	MinInterval = 1
	MaxInterval = 2880 // two days, CodeDeploy's longest wait anywhere
)

// RoutingConfig is CodeDeploy's TrafficRoutingConfig:
//
//	{"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}
//	{"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1}}
//	{"type": "AllAtOnce"}
type RoutingConfig struct {
	Type            string  `json:"type"`
	TimeBasedCanary *Canary `json:"timeBasedCanary,omitempty"`
	TimeBasedLinear *Linear `json:"timeBasedLinear,omitempty"`
}

// Canary is TimeBasedCanary: CanaryPercentage of the traffic first, the rest
// CanaryInterval minutes later.
type Canary struct {
	CanaryPercentage int `json:"canaryPercentage"`
	CanaryInterval   int `json:"canaryInterval"`
}

// Linear is TimeBasedLinear: LinearPercentage more of the traffic every
// LinearInterval minutes until all of it has moved.
type Linear struct {
	LinearPercentage int `json:"linearPercentage"`
	LinearInterval   int `json:"linearInterval"`
}

// FieldError is a routing configuration problem. Field is the JSON path of
// the offending member ("trafficRoutingConfig.timeBasedCanary.canaryPercentage");
// it wraps domain.ErrInvalid.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns domain.ErrInvalid.
func (e *FieldError) Unwrap() error { return domain.ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: "trafficRoutingConfig" + field, Msg: fmt.Sprintf(format, args...)}
}

// maxConfigBytes bounds what ParseRoutingConfig reads; a real config is
// under 200 bytes.
const maxConfigBytes = 64 << 10

// ParseRoutingConfig decodes and validates a trafficRoutingConfig JSON
// object. Unknown members are rejected, so a misspelt field is reported
// rather than silently defaulted. Every error is a *FieldError.
func ParseRoutingConfig(data []byte) (RoutingConfig, error) {
	var c RoutingConfig
	if len(data) > maxConfigBytes {
		return c, fieldErr("", "longer than %d bytes", maxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return RoutingConfig{}, jsonFieldErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return RoutingConfig{}, fieldErr("", "unexpected data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return RoutingConfig{}, err
	}
	return c, nil
}

func jsonFieldErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fieldErr("."+te.Field, "must be a %s, not a JSON %s", te.Type.Kind(), te.Value)
	}
	return fieldErr("", "malformed JSON: %v", err)
}

// Validate reports the first problem with c, naming the field.
func (c RoutingConfig) Validate() error {
	switch c.Type {
	case TypeAllAtOnce:
		if c.TimeBasedCanary != nil || c.TimeBasedLinear != nil {
			return fieldErr(".type", "AllAtOnce takes neither timeBasedCanary nor timeBasedLinear")
		}
	case TypeTimeBasedCanary:
		if c.TimeBasedLinear != nil {
			return fieldErr(".timeBasedLinear", "not allowed with type TimeBasedCanary")
		}
		if c.TimeBasedCanary == nil {
			return fieldErr(".timeBasedCanary", "required with type TimeBasedCanary")
		}
		if err := checkRange(".timeBasedCanary.canaryPercentage", c.TimeBasedCanary.CanaryPercentage, MinPercent, MaxPercent); err != nil {
			return err
		}
		return checkRange(".timeBasedCanary.canaryInterval", c.TimeBasedCanary.CanaryInterval, MinInterval, MaxInterval)
	case TypeTimeBasedLinear:
		if c.TimeBasedCanary != nil {
			return fieldErr(".timeBasedCanary", "not allowed with type TimeBasedLinear")
		}
		if c.TimeBasedLinear == nil {
			return fieldErr(".timeBasedLinear", "required with type TimeBasedLinear")
		}
		if err := checkRange(".timeBasedLinear.linearPercentage", c.TimeBasedLinear.LinearPercentage, MinPercent, MaxPercent); err != nil {
			return err
		}
		return checkRange(".timeBasedLinear.linearInterval", c.TimeBasedLinear.LinearInterval, MinInterval, MaxInterval)
	case "":
		return fieldErr(".type", "required: one of AllAtOnce, TimeBasedCanary, TimeBasedLinear")
	default:
		return fieldErr(".type", "%q is not one of AllAtOnce, TimeBasedCanary, TimeBasedLinear", c.Type)
	}
	return nil
}

func checkRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fieldErr(field, "%d is outside %d..%d", v, lo, hi)
	}
	return nil
}

// Step is one traffic shift: at offset At from the start of the shift, the
// replacement (green) set gets Percent of the traffic.
type Step struct {
	At      time.Duration
	Percent int
}

// Schedule is a list of steps in time order; the last one is at 100.
type Schedule []Step

// Schedule returns c's steps. minute is the length of one configured
// minute: time.Minute in production, shorter in tests and demos so a
// Canary10Percent5Minutes deployment takes seconds.
//
// CodeDeploy's arithmetic: AllAtOnce is one step to 100. TimeBasedCanary
// is two steps, canaryPercentage at once and 100 after canaryInterval.
// TimeBasedLinear moves linearPercentage at once and again every
// linearInterval, the last step capped at 100: 10% every minute is
// 10, 20, ..., 100, the last at 9 minutes; 30% is 30, 60, 90, 100.
func (c RoutingConfig) Schedule(minute time.Duration) (Schedule, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if minute <= 0 {
		return nil, fieldErr("", "a minute must be positive, got %v", minute)
	}
	switch c.Type {
	case TypeTimeBasedCanary:
		p := c.TimeBasedCanary
		return Schedule{{0, p.CanaryPercentage}, {time.Duration(p.CanaryInterval) * minute, 100}}, nil
	case TypeTimeBasedLinear:
		p := c.TimeBasedLinear
		var s Schedule
		for i := 0; ; i++ {
			pct := min((i+1)*p.LinearPercentage, 100)
			s = append(s, Step{time.Duration(i*p.LinearInterval) * minute, pct})
			if pct == 100 {
				return s, nil
			}
		}
	default:
		return Schedule{{0, 100}}, nil
	}
}

// Duration is how long the schedule takes from its first step to its last.
func (s Schedule) Duration() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].At
}

// Predefined configurations CodeDeploy ships for Lambda and ECS, by name.
// https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
var builtins = map[string]RoutingConfig{
	"CodeDeployDefault.LambdaAllAtOnce":                     {Type: TypeAllAtOnce},
	"CodeDeployDefault.LambdaCanary10Percent5Minutes":       canary(10, 5),
	"CodeDeployDefault.LambdaCanary10Percent10Minutes":      canary(10, 10),
	"CodeDeployDefault.LambdaCanary10Percent15Minutes":      canary(10, 15),
	"CodeDeployDefault.LambdaCanary10Percent30Minutes":      canary(10, 30),
	"CodeDeployDefault.LambdaLinear10PercentEvery1Minute":   linear(10, 1),
	"CodeDeployDefault.LambdaLinear10PercentEvery2Minutes":  linear(10, 2),
	"CodeDeployDefault.LambdaLinear10PercentEvery3Minutes":  linear(10, 3),
	"CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": linear(10, 10),
	"CodeDeployDefault.ECSAllAtOnce":                        {Type: TypeAllAtOnce},
	"CodeDeployDefault.ECSCanary10Percent5Minutes":          canary(10, 5),
	"CodeDeployDefault.ECSCanary10Percent15Minutes":         canary(10, 15),
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes":     linear(10, 1),
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes":     linear(10, 3),
}

func canary(pct, interval int) RoutingConfig {
	return RoutingConfig{Type: TypeTimeBasedCanary, TimeBasedCanary: &Canary{pct, interval}}
}

func linear(pct, interval int) RoutingConfig {
	return RoutingConfig{Type: TypeTimeBasedLinear, TimeBasedLinear: &Linear{pct, interval}}
}

// Builtin returns the routing configuration of a predefined CodeDeploy
// deployment configuration name, and false for any other name.
func Builtin(name string) (RoutingConfig, bool) {
	c, ok := builtins[name]
	if !ok {
		return RoutingConfig{}, false
	}
	// Copy the pointed-to member so callers cannot change the table.
	if c.TimeBasedCanary != nil {
		v := *c.TimeBasedCanary
		c.TimeBasedCanary = &v
	}
	if c.TimeBasedLinear != nil {
		v := *c.TimeBasedLinear
		c.TimeBasedLinear = &v
	}
	return c, true
}

// BuiltinNames lists the predefined names Builtin knows, unsorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	return names
}
