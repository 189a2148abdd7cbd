package pypi

import (
	"strconv"
	"strings"
)

// Content negotiation for the simple API
// (https://packaging.python.org/en/latest/specifications/simple-repository-api/#version-format-selection,
// PEP 691): the client lists media types with q-values; the server answers
// in one of
//
//	application/vnd.pypi.simple.v1+json   (also asked for as ...latest+json)
//	application/vnd.pypi.simple.v1+html   (also asked for as ...latest+html)
//	text/html                             (also what no Accept header, */* or text/* get)
//
// and 406 when none is acceptable. Ties go to JSON among explicit types
// and to text/html among wildcards, as CodeArtifact answers.

// media is a representation of an index page.
type media uint8

const (
	mediaJSON   media = iota + 1 // application/vnd.pypi.simple.v1+json
	mediaHTMLv1                  // application/vnd.pypi.simple.v1+html
	mediaHTML                    // text/html
)

// Content types of the representations.
const (
	ctJSON   = "application/vnd.pypi.simple.v1+json"
	ctHTMLv1 = "application/vnd.pypi.simple.v1+html"
	ctHTML   = "text/html; charset=utf-8"
)

func (m media) contentType() string {
	switch m {
	case mediaJSON:
		return ctJSON
	case mediaHTMLv1:
		return ctHTMLv1
	}
	return ctHTML
}

// isJSON reports whether m is the JSON form.
func (m media) isJSON() bool { return m == mediaJSON }

// matchers lists, per representation, the media ranges that select it
// and how specific each is (2 exact, 1 type wildcard, 0 */*).
var matchers = []struct {
	m      media
	ranges map[string]int
}{
	{mediaJSON, map[string]int{ctJSON: 2, "application/vnd.pypi.simple.latest+json": 2, "application/*": 1, "*/*": 0}},
	{mediaHTMLv1, map[string]int{ctHTMLv1: 2, "application/vnd.pypi.simple.latest+html": 2, "application/*": 1, "*/*": 0}},
	{mediaHTML, map[string]int{"text/html": 2, "text/*": 1, "*/*": 0}},
}

// negotiate picks the representation for an Accept header; ok is false
// when the client accepts none (406).
func negotiate(accept string) (media, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaHTML, true
	}
	type score struct {
		q    float64
		spec int
	}
	best, bestScore := media(0), score{q: 0, spec: -1}
	for _, mt := range matchers {
		s := score{q: -1, spec: -1}
		for _, part := range strings.Split(accept, ",") {
			typ, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			spec, ok := mt.ranges[strings.ToLower(strings.TrimSpace(typ))]
			if !ok || spec < s.spec {
				continue
			}
			q := qValue(params)
			if spec > s.spec || q > s.q {
				s = score{q, spec}
			}
		}
		if s.q <= 0 {
			continue
		}
		better := s.q > bestScore.q || (s.q == bestScore.q && s.spec > bestScore.spec) ||
			(s.q == bestScore.q && s.spec == 0 && bestScore.spec == 0) // among wildcards the last (text/html) wins
		if best == 0 || better {
			best, bestScore = mt.m, s
		}
	}
	return best, best != 0
}

// qValue returns the q parameter of a media range (1 when absent, 0 when
// malformed).
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				return 0
			}
			return q
		}
	}
	return 1
}
