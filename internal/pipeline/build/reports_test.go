package build

import (
	"strings"
	"testing"
	"time"
)

func TestParseJUnit(t *testing.T) {
	for _, tc := range []struct {
		name, xml string
		want      map[string]int
		total     int
		bad       bool
	}{
		{"suites", `<?xml version="1.0"?>
<testsuites>
  <testsuite name="a">
    <testcase name="ok" time="0.5"/>
    <testcase name="fails" time="0.25"><failure message="boom">trace</failure></testcase>
    <testcase name="errs"><error/></testcase>
    <testcase name="skip"><skipped/></testcase>
  </testsuite>
  <testsuite name="b"><testsuite name="nested"><testcase name="ok2"/></testsuite></testsuite>
</testsuites>`, map[string]int{TestSucceeded: 2, TestFailed: 1, TestError: 1, TestSkipped: 1}, 5, false},
		{"single suite", `<testsuite><testcase name="x"/></testsuite>`, map[string]int{TestSucceeded: 1, TestFailed: 0, TestError: 0, TestSkipped: 0}, 1, false},
		{"not junit", `<html><body/></html>`, nil, 0, true},
		{"broken", `<testsuite><testcase>`, nil, 0, true},
		{"empty", ``, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parseJUnit(strings.NewReader(tc.xml))
			if tc.bad {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != tc.total {
				t.Errorf("total %d, want %d", res.Total, tc.total)
			}
			for k, v := range tc.want {
				if res.Counts[k] != v {
					t.Errorf("%s = %d, want %d", k, res.Counts[k], v)
				}
			}
			if tc.name == "suites" && res.Duration != 750*time.Millisecond {
				t.Errorf("duration %v", res.Duration)
			}
		})
	}
}

func FuzzParseJUnit(f *testing.F) {
	f.Add(`<testsuite><testcase name="x"><failure/></testcase></testsuite>`)
	f.Fuzz(func(t *testing.T, s string) {
		res, err := parseJUnit(strings.NewReader(s))
		if err != nil {
			return
		}
		n := 0
		for _, v := range res.Counts {
			n += v
		}
		if n != res.Total {
			t.Fatalf("counts %v do not add up to %d", res.Counts, res.Total)
		}
	})
}
