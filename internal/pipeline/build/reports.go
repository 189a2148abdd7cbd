package build

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"time"
)

// Test statuses of a report's statusCounts (CodeBuild's names).
const (
	TestSucceeded = "SUCCEEDED"
	TestFailed    = "FAILED"
	TestError     = "ERROR"
	TestSkipped   = "SKIPPED"
)

// junitResult is what a JUnit XML file says.
type junitResult struct {
	Counts   map[string]int
	Total    int
	Duration time.Duration
}

func (r *junitResult) add(o junitResult) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	for k, v := range o.Counts {
		r.Counts[k] += v
	}
	r.Total += o.Total
	r.Duration += o.Duration
}

// parseJUnit counts the test cases of a JUnit XML report (a <testsuites>
// or <testsuite> root, suites nested at any depth): a <testcase> with a
// <failure> child failed, with <error> errored, with <skipped> was
// skipped, and otherwise succeeded. Durations are the sum of the cases'
// time attributes (seconds).
func parseJUnit(r io.Reader) (junitResult, error) {
	res := junitResult{Counts: map[string]int{TestSucceeded: 0, TestFailed: 0, TestError: 0, TestSkipped: 0}}
	d := xml.NewDecoder(r)
	var inCase bool
	var status string
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !sawRoot {
				sawRoot = true
				if t.Name.Local != "testsuites" && t.Name.Local != "testsuite" {
					return res, errors.New("the root element is <" + t.Name.Local + ">, not <testsuites> or <testsuite>")
				}
			}
			switch t.Name.Local {
			case "testcase":
				inCase, status = true, TestSucceeded
				for _, a := range t.Attr {
					if a.Name.Local == "time" {
						if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
							res.Duration += time.Duration(f * float64(time.Second))
						}
					}
				}
			case "failure":
				if inCase && status == TestSucceeded {
					status = TestFailed
				}
			case "error":
				if inCase && status == TestSucceeded {
					status = TestError
				}
			case "skipped":
				if inCase && status == TestSucceeded {
					status = TestSkipped
				}
			}
		case xml.EndElement:
			if t.Name.Local == "testcase" && inCase {
				res.Counts[status]++
				res.Total++
				inCase = false
			}
		}
	}
	if !sawRoot {
		return res, errors.New("no XML element found")
	}
	return res, nil
}
