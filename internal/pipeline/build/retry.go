package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// A phase's on-failure may ask CodeBuild to retry the whole build when
// the phase fails (buildspec reference, phases/*/on-failure):
//
//	RETRY                retry up to 3 times, whatever the error
//	RETRY-<count>        retry up to count (0..100) times
//	RETRY-<regex>        retry up to 3 times when the error matches regex
//	RETRY-<count>-<regex>
//
// Within the failing build the phase fails as with no on-failure set (the
// usual transitions). When the build completes FAILED, a new build of the
// same request starts (as RetryBuild would) and the two are linked through
// autoRetryConfig; the error matched is the failed phase's context message
// followed by the tail of the build's log.

// Retry is a parsed RETRY on-failure.
type Retry struct {
	Count int
	Match *regexp.Regexp // nil: any error
}

// defaultRetries is the count of a RETRY without one.
const defaultRetries = 3

// retryLogTail is how much of the log's end a RETRY regex is matched
// against.
const retryLogTail = 64 << 10

// ParseRetry parses a RETRY on-failure value; ok is false for values that
// are not of the RETRY family (ABORT, CONTINUE).
func ParseRetry(v string) (r Retry, ok bool, err error) {
	if len(v) < 5 || !strings.EqualFold(v[:5], "RETRY") {
		return Retry{}, false, nil
	}
	rest := v[5:]
	r.Count = defaultRetries
	if rest == "" {
		return r, true, nil
	}
	if rest[0] != '-' {
		return Retry{}, true, fmt.Errorf("%q is not RETRY, RETRY-count, RETRY-regex or RETRY-count-regex", v)
	}
	rest = rest[1:]
	count, regex, hasRegex := strings.Cut(rest, "-")
	if n, err := strconv.Atoi(count); err == nil {
		if n < 0 || n > 100 {
			return Retry{}, true, fmt.Errorf("%q: the retry count must be between 0 and 100", v)
		}
		r.Count = n
		if !hasRegex {
			return r, true, nil
		}
	} else {
		regex = rest
	}
	if regex == "" {
		return Retry{}, true, fmt.Errorf("%q: an empty regular expression", v)
	}
	re, err := regexp.Compile(regex)
	if err != nil {
		return Retry{}, true, fmt.Errorf("%q: %v", v, err)
	}
	r.Match = re
	return r, true, nil
}

// AutoRetry is a build's autoRetryConfig.
type AutoRetry struct {
	Limit    int    `json:"autoRetryLimit"`
	Number   int    `json:"autoRetryNumber"`
	Next     string `json:"nextAutoRetry,omitempty"`     // build ARN
	Previous string `json:"previousAutoRetry,omitempty"` // build ARN
	// NextID is the id of the next build (not part of CodeBuild's shape).
	NextID string `json:"nextId,omitempty"`
}

// retryPolicy returns the RETRY setting of the first failed command
// phase of a finished build, with the error to match.
func (r *run) retryPolicy(b *Build) (Retry, string, bool) {
	if r.spec == nil || b.Status != StatusFailed {
		return Retry{}, "", false
	}
	for _, ph := range b.Phases {
		if ph.Status != StatusFailed || !ph.Type.commands() {
			continue
		}
		sp := r.spec.Phases[ph.Type]
		if sp == nil {
			return Retry{}, "", false
		}
		rt, ok, err := ParseRetry(sp.OnFailure)
		if !ok || err != nil {
			return Retry{}, "", false
		}
		msg := ""
		for _, c := range ph.Contexts {
			msg += c.Message + "\n"
		}
		return rt, msg, true
	}
	return Retry{}, "", false
}

// autoRetry starts the next build of a failed build whose failed phase
// asks for retries, when the retry limit allows and the error matches,
// and links both builds. It runs before the build's waiters are woken, so
// they see the link.
func (r *run) autoRetry() {
	r.mu.Lock()
	b := r.b.clone()
	r.mu.Unlock()
	rt, msg, ok := r.retryPolicy(&b)
	if !ok {
		return
	}
	n := b.Request.AutoRetryNumber
	if n >= rt.Count {
		return
	}
	if rt.Match != nil {
		tail, _ := logTail(r.s.logPath(b.UUID()), retryLogTail)
		if !rt.Match.MatchString(msg) && !rt.Match.MatchString(tail) {
			return
		}
	}
	req := b.Request
	cfg := b.Config
	req.Project, req.Inline = b.Project, &cfg // as RetryBuild: the configuration the build ran with
	req.AutoRetryNumber, req.PreviousAutoRetry, req.AutoRetryLimit = n+1, b.ARN, rt.Count
	next, err := r.s.StartBuild(context.Background(), req)
	if err != nil {
		r.s.cfg.Log.Warn("auto-retrying a failed build", "build", b.ID, "err", err)
		return
	}
	r.update(func(b *Build) {
		if b.AutoRetry == nil {
			b.AutoRetry = &AutoRetry{Limit: rt.Count, Number: n, Previous: b.Request.PreviousAutoRetry}
		}
		b.AutoRetry.Next, b.AutoRetry.NextID = next.ARN, next.ID
	})
}

// logTail returns up to max bytes of the end of a log file.
func logTail(path string, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if fi.Size() > max {
		if _, err := f.Seek(fi.Size()-max, io.SeekStart); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	return string(b), err
}
