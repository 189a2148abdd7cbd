package iam

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rule is a string constraint of the botocore iam model: a member name as
// AWS's validation messages spell it, a length range in characters and a
// pattern (shown to clients as the model writes it).
type rule struct {
	member   string
	min, max int
	pattern  string
	re       *regexp.Regexp
}

func newRule(member string, min, max int, pattern, goPattern string) *rule {
	return &rule{member, min, max, pattern, regexp.MustCompile(`^(?:` + goPattern + `)$`)}
}

// Constraints from botocore/data/iam/2010-05-08/service-2.json.
var (
	userNameRule         = newRule("userName", 1, 64, `[\w+=,.@-]+`, `[\w+=,.@-]+`)
	existingUserNameRule = newRule("userName", 1, 128, `[\w+=,.@-]+`, `[\w+=,.@-]+`)
	pathRule             = newRule("path", 1, 512, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, `/|/[\x21-\x7E]+/`)
	pathPrefixRule       = newRule("pathPrefix", 1, 512, `\u002F[\u0021-\u007F]*`, `/[\x21-\x7F]*`)
	markerRule           = newRule("marker", 1, 320, `[\u0020-\u00FF]+`, `[\x{20}-\x{FF}]+`)
	accessKeyIDRule      = newRule("accessKeyId", 16, 128, `[\w]+`, `\w+`)
	policyNameRule       = newRule("policyName", 1, 128, `[\w+=,.@-]+`, `[\w+=,.@-]+`)
	policyDocumentRule   = newRule("policyDocument", 1, 131072, `[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\t\n\r\x{20}-\x{FF}]+`)
)

// params reads an action's parameters from the form, remembering the first
// constraint violation; an operation checks err once after reading them all.
type params struct {
	form url.Values
	err  error
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = validationError("1 validation error detected: " + fmt.Sprintf(format, args...))
	}
}

// get returns the parameter name, checked against r; "" when absent.
func (p *params) get(name string, r *rule, required bool) string {
	vs, ok := p.form[name]
	if !ok || len(vs) == 0 {
		if required {
			p.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", r.member)
		}
		return ""
	}
	v := vs[0]
	switch n := utf8.RuneCountInString(v); {
	case n < r.min:
		p.fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", short(v), r.member, r.min)
	case n > r.max:
		p.fail("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", r.member, r.max)
	case !utf8.ValidString(v) || !r.re.MatchString(v):
		p.fail("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", short(v), r.member, r.pattern)
	}
	return v
}

// short abbreviates a value quoted back in a message.
func short(v string) string {
	if utf8.RuneCountInString(v) <= 100 {
		return v
	}
	return string([]rune(v)[:100]) + "..."
}

// unsupported rejects parameters (by prefix) this server does not implement,
// rather than silently ignoring them.
func (p *params) unsupported(prefixes ...string) {
	for name := range p.form {
		for _, pre := range prefixes {
			if strings.HasPrefix(name, pre) {
				p.fail("Parameter '%s' is not supported by this server", name)
			}
		}
	}
}

// pager reads Marker and MaxItems (1-1000, default 100).
type pager struct {
	after string // sort key of the last item already returned; "" for the first page
	max   int
}

func (p *params) pager() pager {
	pg := pager{max: 100}
	if m := p.get("Marker", markerRule, false); m != "" && p.err == nil {
		after, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			p.fail("Value '%s' at 'marker' is not a marker this server issued", m)
		}
		pg.after = string(after)
	}
	if s, ok := p.form["MaxItems"]; ok && len(s) > 0 {
		n, err := strconv.Atoi(s[0])
		switch {
		case err != nil:
			p.fail("Value '%s' at 'maxItems' failed to satisfy constraint: Member must be an integer", s[0])
		case n < 1:
			p.fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		case n > 1000:
			p.fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000", n)
		}
		pg.max = n
	}
	return pg
}

// cut selects one page of n items sorted strictly ascending by non-empty
// keys key(i). It
// returns the range [from, to) and, when more items follow, the marker for
// the next page. Items added or removed between pages do not shift others.
func (pg pager) cut(n int, key func(i int) string) (from, to int, next string) {
	from = sort.Search(n, func(i int) bool { return key(i) > pg.after })
	to = min(from+pg.max, n)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(to - 1)))
	}
	return from, to, next
}
