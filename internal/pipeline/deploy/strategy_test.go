package deploy

import "testing"

var (
	allAtOnce   = MinimumHealthyHosts{"HOST_COUNT", 0}
	halfAtATime = MinimumHealthyHosts{"FLEET_PERCENT", 50}
	oneAtATime  = MinimumHealthyHosts{"MOST_CONCURRENCY", 1}
)

func TestMinHealthy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		h         MinimumHealthyHosts
		n         int
		min, wave int // minimum healthy, first wave
		invalid   bool
	}{
		{"AllAtOnce 4", allAtOnce, 4, 0, 4, false},
		{"AllAtOnce 1", allAtOnce, 1, 0, 1, false},
		{"HalfAtATime 4", halfAtATime, 4, 2, 2, false},
		{"HalfAtATime 9: 4 at a time, 5 to succeed", halfAtATime, 9, 5, 4, false},
		{"HalfAtATime 2", halfAtATime, 2, 1, 1, false},
		{"HalfAtATime 1 cannot deploy", halfAtATime, 1, 1, 0, true},
		{"OneAtATime 4", oneAtATime, 4, 3, 1, false},
		{"OneAtATime 1", oneAtATime, 1, 0, 1, false},
		{"HOST_COUNT 6 of 9: 3 at a time", MinimumHealthyHosts{"HOST_COUNT", 6}, 9, 6, 3, false},
		{"HOST_COUNT 3 of 3", MinimumHealthyHosts{"HOST_COUNT", 3}, 3, 3, 0, true},
		{"FLEET_PERCENT 40 of 9: 5 at a time, 4 to succeed", MinimumHealthyHosts{"FLEET_PERCENT", 40}, 9, 4, 5, false},
		{"FLEET_PERCENT 75 of 4", MinimumHealthyHosts{"FLEET_PERCENT", 75}, 4, 3, 1, false},
		{"FLEET_PERCENT 99 of 4", MinimumHealthyHosts{"FLEET_PERCENT", 99}, 4, 4, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MinHealthy(tc.h, tc.n)
			if (err != nil) != tc.invalid {
				t.Fatalf("error %v, want invalid=%v", err, tc.invalid)
			}
			if m != tc.min {
				t.Errorf("minimum healthy %d, want %d", m, tc.min)
			}
			if tc.invalid {
				return
			}
			if w := NextWave(Tally{Total: tc.n, Pending: tc.n}, m); w != tc.wave {
				t.Errorf("first wave %d, want %d", w, tc.wave)
			}
		})
	}
}

// TestSimulate runs the scheduler's arithmetic over instance outcomes.
func TestSimulate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		h        MinimumHealthyHosts
		outcome  []bool // per instance, in deployment order
		deployed int    // instances attempted
		ok       bool
	}{
		{"AllAtOnce: one success is enough", allAtOnce, []bool{false, false, true, false}, 4, true},
		{"AllAtOnce: none succeeds", allAtOnce, []bool{false, false}, 2, false},
		{"HalfAtATime all good", halfAtATime, []bool{true, true, true, true}, 4, true},
		{"HalfAtATime first wave fails", halfAtATime, []bool{false, false, true, true}, 2, false},
		{"HalfAtATime one failure: 3 of 4", halfAtATime, []bool{true, false, true, true}, 4, true},
		{"HalfAtATime two failures stop before the last instance", halfAtATime, []bool{true, false, false, true}, 3, false},
		{"HalfAtATime 9: four failures still succeed", halfAtATime, []bool{true, true, true, true, true, false, false, false, false}, 9, true},
		{"OneAtATime: the last may fail", oneAtATime, []bool{true, true, true, false}, 4, true},
		{"OneAtATime: the first may not", oneAtATime, []bool{false, true, true, true}, 1, false},
		{"OneAtATime: single instance fails", oneAtATime, []bool{false}, 1, false},
		{"HOST_COUNT 6 of 9: three fail first, none healthy to spare", MinimumHealthyHosts{"HOST_COUNT", 6}, []bool{false, false, false, true, true, true, true, true, true}, 3, false},
		{"HOST_COUNT 6 of 9: three fail last", MinimumHealthyHosts{"HOST_COUNT", 6}, []bool{true, true, true, true, true, true, false, false, false}, 9, true},
		{"HOST_COUNT 6 of 9: four fail", MinimumHealthyHosts{"HOST_COUNT", 6}, []bool{false, false, false, false, true, true, true, true, true}, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.outcome)
			m, err := MinHealthy(tc.h, n)
			if err != nil {
				t.Fatal(err)
			}
			tl := Tally{Total: n, Pending: n}
			next := 0
			for tl.Pending > 0 {
				w := NextWave(tl, m)
				if w == 0 {
					break
				}
				for i := 0; i < w; i++ {
					if tc.outcome[next] {
						tl.Succeeded++
					} else {
						tl.Failed++
					}
					next++
					tl.Pending--
				}
			}
			if next != tc.deployed {
				t.Errorf("deployed to %d instances, want %d", next, tc.deployed)
			}
			if got := tl.Pending == 0 && Succeeded(tl, m); got != tc.ok {
				t.Errorf("succeeded %v, want %v (tally %+v, min %d)", got, tc.ok, tl, m)
			}
		})
	}
}
