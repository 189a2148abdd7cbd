package domain

import (
	"slices"
	"testing"
)

func TestStatuses(t *testing.T) {
	got := make([]string, len(Statuses))
	for i, s := range Statuses {
		got[i] = string(s)
	}
	if !slices.Equal(got, statusShape.enum) {
		t.Fatalf("Statuses = %q, the model's PackageVersionStatus is %q", got, statusShape.enum)
	}
	for _, s := range Statuses {
		if !ValidStatus(s) {
			t.Errorf("ValidStatus(%q) = false", s)
		}
	}
	for _, s := range []Status{"", "published", "PUBLISHED", "Removed"} {
		if ValidStatus(s) {
			t.Errorf("ValidStatus(%q) = true", s)
		}
	}
}

func TestStatusVisibility(t *testing.T) {
	cases := []struct {
		status               Status
		listed, downloadable bool
	}{
		{StatusPublished, true, true},
		{StatusUnlisted, false, true},
		{StatusUnfinished, false, false},
		{StatusArchived, false, false},
		{StatusDisposed, false, false},
		{StatusDeleted, false, false},
		{"", false, false},
		{"published", false, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.status), func(t *testing.T) {
			if got := tc.status.Listed(); got != tc.listed {
				t.Errorf("Listed() = %v, want %v", got, tc.listed)
			}
			if got := tc.status.Downloadable(); got != tc.downloadable {
				t.Errorf("Downloadable() = %v, want %v", got, tc.downloadable)
			}
		})
	}
}

// TestCanTransition covers every pair of statuses: UpdatePackageVersionsStatus
// may set Published, Unlisted or Archived
// (https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_UpdatePackageVersionsStatus.html),
// never Unfinished, Disposed or Deleted, and nothing leaves Disposed or
// Deleted that way.
func TestCanTransition(t *testing.T) {
	targets := map[Status]bool{StatusPublished: true, StatusUnlisted: true, StatusArchived: true}
	terminal := map[Status]bool{StatusDisposed: true, StatusDeleted: true}
	for _, from := range Statuses {
		for _, to := range append(slices.Clone(Statuses), "", "published") {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				want := targets[to] && !terminal[from]
				ok, code := CanTransition(from, to)
				if ok != want {
					t.Fatalf("ok = %v, want %v", ok, want)
				}
				if wantCode := map[bool]string{true: "", false: CodeNotAllowed}[want]; code != wantCode {
					t.Fatalf("code = %q, want %q", code, wantCode)
				}
				if ValidTargetStatus(to) != targets[to] {
					t.Fatalf("ValidTargetStatus(%q) = %v", to, !targets[to])
				}
			})
		}
	}
}

func TestCanDispose(t *testing.T) {
	cases := []struct {
		from Status
		ok   bool
		code string
	}{
		{StatusPublished, true, ""},
		{StatusUnfinished, true, ""},
		{StatusUnlisted, true, ""},
		{StatusArchived, true, ""},
		{StatusDisposed, true, ""},
		{StatusDeleted, false, CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(string(tc.from), func(t *testing.T) {
			ok, code := CanDispose(tc.from)
			if ok != tc.ok || code != tc.code {
				t.Fatalf("CanDispose(%q) = %v, %q; want %v, %q", tc.from, ok, code, tc.ok, tc.code)
			}
		})
	}
}
