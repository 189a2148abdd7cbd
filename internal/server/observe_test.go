package server_test

import (
	"bufio"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// metric returns the value of the sample of name whose labels are exactly
// labels (in Prometheus text order), or -1 if there is none.
func metric(t *testing.T, h *harness, name, labels string) float64 {
	t.Helper()
	r := h.get(t, "/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.status)
	}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+"{"+labels+"} "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("bad sample %q", line)
			}
			return v
		}
	}
	return -1
}

// TestMetrics: every request is counted by route pattern, method and
// status, and timed by route and method.
func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		if r := h.signedPost(t, "/v1/domain", []byte("{}")); r.status != http.StatusOK || !strings.Contains(r.body, `"service":"codeartifact"`) {
			t.Fatalf("signed POST: %d %s", r.status, r.body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/v1/domain", nil)
	if r := h.do(t, req); r.status != http.StatusForbidden || r.header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("unsigned POST: %d %v", r.status, r.header)
	}
	h.get(t, "/npm/acme/main/some-package-9f8e7d", "")
	h.get(t, "/no-such-path-5a4b3c", "")

	for _, tc := range []struct {
		name, labels string
		want         float64
	}{
		{"registry_http_requests_total", `code="200",method="POST",route="/v1/domain"`, 3},
		{"registry_http_requests_total", `code="403",method="POST",route="/v1/domain"`, 1},
		{"registry_http_request_duration_seconds_count", `method="POST",route="/v1/domain"`, 4},
		{"registry_http_request_duration_seconds_bucket", `method="POST",route="/v1/domain",le="+Inf"`, 4},
	} {
		if got := metric(t, h, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if got := metric(t, h, "registry_http_request_duration_seconds_sum", `method="POST",route="/v1/domain"`); got <= 0 {
		t.Errorf("latency sum %v", got)
	}
	// The earlier /metrics scrapes were counted under their route.
	if got := metric(t, h, "registry_http_requests_total", `code="200",method="GET",route="/metrics"`); got < 4 {
		t.Errorf("/metrics counted %v times", got)
	}
	// Labels are route patterns, never raw paths (whose number is unbounded).
	body := h.get(t, "/metrics", "").body
	for _, raw := range []string{"some-package-9f8e7d", "no-such-path-5a4b3c"} {
		if strings.Contains(body, raw) {
			t.Errorf("a raw path %q became a label", raw)
		}
	}
	if !regexp.MustCompile(`registry_http_requests_total\{code="404",method="GET",route="/npm/:domain/:repo/\*"\} 1`).MatchString(body) {
		t.Errorf("the unmatched npm request is not counted under its group's pattern:\n%s", grep(body, "registry_http_requests_total"))
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHealth: /healthz is always 200; /readyz follows the Ready function.
func TestHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.get(t, "/healthz", ""); r.status != http.StatusOK || r.body != "ok\n" {
		t.Errorf("/healthz: %d %q", r.status, r.body)
	}
	if r := h.get(t, "/readyz", ""); r.status != http.StatusOK {
		t.Errorf("/readyz while ready: %d %q", r.status, r.body)
	}
	h.setReady(errNotReady)
	r := h.get(t, "/readyz", "")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, errNotReady.Error()) {
		t.Errorf("/readyz while not ready: %d %q", r.status, r.body)
	}
	if r := h.get(t, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("/healthz while not ready: %d", r.status)
	}
	h.setReady(nil)
	if r := h.get(t, "/readyz", ""); r.status != http.StatusOK {
		t.Errorf("/readyz after recovering: %d %q", r.status, r.body)
	}
}

// TestRequestLogSaysWhy: a refused request's log line carries the reason
// the client was told, never the credential it sent.
func TestRequestLogSaysWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const secret = "tok-3c2b1a-not-issued"
	if r := h.get(t, "/npm/acme/main/whoami", "Bearer "+secret); r.status != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d %s", r.status, r.body)
	}
	logs := h.logs.String()
	line := grep(logs, "path=/npm/acme/main/whoami")
	if !strings.Contains(line, "status=401") || !strings.Contains(line, `error="the authorization token is not valid"`) {
		t.Errorf("request log line: %q", line)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the token is in the log:\n%s", logs)
	}
	if r := h.get(t, "/npm/acme/main/whoami", ""); r.status != http.StatusOK {
		t.Fatalf("anonymous: %d", r.status)
	}
	if line := grep(h.logs.String(), "status=200"); strings.Contains(line, "error=") {
		t.Errorf("a served request logged an error: %q", line)
	}
}
