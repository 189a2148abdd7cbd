package traffic

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Clock is the time a Shifter reads and waits on. SystemClock is the real
// one; tests pass a clock they advance by hand.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed, like time.After.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the wall clock.
var SystemClock Clock = systemClock{}

// Progress is reported after each step of a shift is applied.
type Progress struct {
	Step    int // 0-based index of the step just applied
	Steps   int // number of steps in the schedule
	Percent int // green's share of traffic now
	At      time.Time
}

// AlarmError is returned by Shifter.Run when an alarm stopped the shift;
// traffic has been moved back to blue by then.
type AlarmError struct {
	Firings []Firing
	Percent int // green's share when the alarm fired
}

func (e *AlarmError) Error() string {
	s := make([]string, len(e.Firings))
	for i, f := range e.Firings {
		s[i] = f.String()
	}
	return fmt.Sprintf("traffic: shift stopped at %d%% by alarm: %s", e.Percent, strings.Join(s, "; "))
}

// DefaultAlarmInterval is how often a Shifter evaluates alarms between
// steps when AlarmInterval is zero.
const DefaultAlarmInterval = time.Second

// Shifter moves a Proxy's traffic from blue to green along a Schedule,
// watching alarms as it goes. It changes only the weight: the caller runs
// AllowTraffic on green before and BlockTraffic on blue after, as
// CodeDeploy's lifecycle orders them.
type Shifter struct {
	Proxy    *Proxy
	Schedule Schedule
	// Alarms, if set, are evaluated before every step and every
	// AlarmInterval while waiting for the next one.
	Alarms        *Alarms
	AlarmInterval time.Duration
	// Bake keeps watching the alarms this long after the last step
	// before Run reports success.
	Bake  time.Duration
	Clock Clock // SystemClock when nil
	// OnProgress, if set, is called after each step is applied.
	OnProgress func(Progress)
	// OnAbort, if set, is called after an alarm fired and traffic was
	// moved back to blue (Proxy.Rollback), before Run returns.
	OnAbort func(*AlarmError)
}

// Run applies the schedule, step i at start+Schedule[i].At, where start is
// when Run is called. It returns nil once the last step (and Bake) is
// done; an *AlarmError after an alarm fired and traffic went back to blue;
// or, when ctx ends, an error wrapping ctx.Err() with the weights left as
// they were, for the caller to roll back or keep (StopDeployment).
func (s *Shifter) Run(ctx context.Context) error {
	if len(s.Schedule) == 0 {
		return fmt.Errorf("traffic: empty schedule")
	}
	clock := s.Clock
	if clock == nil {
		clock = SystemClock
	}
	interval := s.AlarmInterval
	if interval <= 0 {
		interval = DefaultAlarmInterval
	}
	start := clock.Now()
	for i, step := range s.Schedule {
		if err := s.wait(ctx, clock, interval, start.Add(step.At)); err != nil {
			return err
		}
		if err := s.Proxy.SetWeight(step.Percent); err != nil {
			return err
		}
		if s.OnProgress != nil {
			s.OnProgress(Progress{Step: i, Steps: len(s.Schedule), Percent: step.Percent, At: clock.Now()})
		}
	}
	if s.Bake > 0 {
		return s.wait(ctx, clock, interval, start.Add(s.Schedule.Duration()+s.Bake))
	}
	return nil
}

// wait returns at deadline, evaluating alarms on the way.
func (s *Shifter) wait(ctx context.Context, clock Clock, interval time.Duration, deadline time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("traffic: shift stopped at %d%%: %w", s.Proxy.Weight(), err)
		}
		now := clock.Now()
		if s.Alarms != nil {
			if f := s.Alarms.Evaluate(ctx, now); len(f) > 0 {
				return s.abort(f)
			}
		}
		if !now.Before(deadline) {
			return nil
		}
		d := deadline.Sub(now)
		if s.Alarms != nil {
			d = min(d, interval)
		}
		select {
		case <-ctx.Done():
		case <-clock.After(d):
		}
	}
}

func (s *Shifter) abort(f []Firing) error {
	e := &AlarmError{Firings: f, Percent: s.Proxy.Weight()}
	s.Proxy.Rollback()
	if s.OnAbort != nil {
		s.OnAbort(e)
	}
	return e
}
