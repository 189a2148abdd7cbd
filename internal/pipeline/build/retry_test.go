package build

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestParseRetry(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		count  int
		regex  string
		hasErr bool
	}{
		{in: "ABORT"},
		{in: "CONTINUE"},
		{in: "RETRY", ok: true, count: 3},
		{in: "retry", ok: true, count: 3},
		{in: "RETRY-4", ok: true, count: 4},
		{in: "RETRY-0", ok: true, count: 0},
		{in: "RETRY-100", ok: true, count: 100},
		{in: "RETRY-101", ok: true, hasErr: true},
		{in: "RETRY--1", ok: true, count: 3, regex: "-1"},
		{in: "RETRY-invalid+", ok: true, count: 3, regex: "invalid+"},
		{in: "Retry-.*Error: Unable to connect to database.*", ok: true, count: 3, regex: ".*Error: Unable to connect to database.*"},
		{in: "RETRY-3-.*connection timed out.*", ok: true, count: 3, regex: ".*connection timed out.*"},
		{in: "RETRY-8-invalid+", ok: true, count: 8, regex: "invalid+"},
		{in: "RETRY-2-", ok: true, hasErr: true},
		{in: "RETRY-(", ok: true, hasErr: true},
		{in: "RETRYX", ok: true, hasErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, ok, err := ParseRetry(tc.in)
			if ok != tc.ok || (err != nil) != tc.hasErr {
				t.Fatalf("ParseRetry(%q) = %+v, %v, %v", tc.in, r, ok, err)
			}
			if err != nil || !ok {
				return
			}
			re := ""
			if r.Match != nil {
				re = r.Match.String()
			}
			if r.Count != tc.count || re != tc.regex {
				t.Errorf("ParseRetry(%q) = count %d regex %q", tc.in, r.Count, re)
			}
		})
	}
}

func FuzzParseRetry(f *testing.F) {
	for _, s := range []string{"RETRY", "RETRY-4", "RETRY-a+", "RETRY-3-.*x", "RETRY-(", "ABORT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok, err := ParseRetry(s)
		if ok && err == nil && (r.Count < 0 || r.Count > 100) {
			t.Fatalf("ParseRetry(%q): count %d", s, r.Count)
		}
	})
}

// TestOnFailureRetry: a phase with on-failure RETRY-2 that fails twice
// makes two automatic retries, linked by autoRetryConfig; the third
// build succeeds. A RETRY-regex whose expression matches nothing in the
// error does not retry.
func TestOnFailureRetry(t *testing.T) {
	h := newHarness(t, nil)
	counter := filepath.Join(t.TempDir(), "attempts")
	spec := fmt.Sprintf("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2\n    commands:\n      - echo x >> %s\n      - test $(wc -l < %s) -ge 3\n", counter, counter)
	h.project(testProject("flaky", spec))
	first := h.wait(h.start(StartRequest{Project: "flaky"}).ID)
	if first.Status != StatusFailed || first.AutoRetry == nil || first.AutoRetry.NextID == "" || first.AutoRetry.Number != 0 {
		t.Fatalf("first build: %s %+v", first.Status, first.AutoRetry)
	}
	second := h.wait(first.AutoRetry.NextID)
	if second.Status != StatusFailed || second.AutoRetry == nil || second.AutoRetry.Number != 1 || second.AutoRetry.Previous != first.ARN ||
		second.AutoRetry.Limit != 2 || second.AutoRetry.NextID == "" {
		t.Fatalf("second build: %s %+v", second.Status, second.AutoRetry)
	}
	third := h.wait(second.AutoRetry.NextID)
	if third.Status != StatusSucceeded || third.AutoRetry == nil || third.AutoRetry.Number != 2 || third.AutoRetry.NextID != "" {
		t.Fatalf("third build: %s %+v", third.Status, third.AutoRetry)
	}
	ids, err := h.svc.ListBuildIDs(context.Background(), "flaky", false)
	if err != nil || len(ids) != 3 {
		t.Errorf("builds of the project: %v %v", ids, err)
	}

	h.project(testProject("nomatch", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-5-connection timed out\n    commands:\n      - echo disk full; exit 1\n"))
	b := h.wait(h.start(StartRequest{Project: "nomatch"}).ID)
	if b.Status != StatusFailed || b.AutoRetry != nil {
		t.Fatalf("a non-matching error was retried: %s %+v", b.Status, b.AutoRetry)
	}
	h.project(testProject("match", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-1-disk (full|gone)\n    commands:\n      - echo disk full; exit 1\n"))
	b = h.wait(h.start(StartRequest{Project: "match"}).ID)
	if b.AutoRetry == nil || b.AutoRetry.NextID == "" {
		t.Fatalf("a matching error was not retried: %+v", b.AutoRetry)
	}
	if last := h.wait(b.AutoRetry.NextID); last.Status != StatusFailed || last.AutoRetry.NextID != "" {
		t.Fatalf("retry beyond the limit: %+v", last.AutoRetry)
	}
}
