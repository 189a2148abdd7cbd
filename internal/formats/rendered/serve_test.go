package rendered

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// weight returns a Weight that reads a lone "q=" parameter and weighs
// one that does not parse as onError.
func weight(onError float64) func(string) float64 {
	return func(params string) float64 {
		v, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return 1
		}
		q, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return onError
		}
		return q
	}
}

func serve(t *testing.T, d *Doc, r Rep, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	if err := d.Serve(echo.New().NewContext(req, rec), r); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestETag(t *testing.T) {
	d := NewDoc([]byte("hello"))
	tag := `"` + d.tag
	for name, tc := range map[string]struct {
		variant string
		gz      bool
		want    string
	}{
		"identity":         {"", false, tag + `"`},
		"gzip":             {"", true, tag + `-gz"`},
		"variant":          {"2", false, tag + `-2"`},
		"variant and gzip": {"2", true, tag + `-2-gz"`},
	} {
		if got := d.ETag(tc.variant, tc.gz); got != tc.want {
			t.Errorf("%s: ETag = %s, want %s", name, got, tc.want)
		}
	}
	if len(d.tag) != 32 {
		t.Errorf("tag %q is not 32 hex digits", d.tag)
	}
	if NewDoc([]byte("hello!")).ETag("", false) == d.ETag("", false) {
		t.Error("different bodies share an entity tag")
	}
}

func TestServe(t *testing.T) {
	body := []byte(strings.Repeat(`{"name":"left-pad"}`, 50))
	d := NewDoc(body)
	plain, gz := d.ETag("1", false), d.ETag("1", true)
	strict := Rep{ContentType: "application/json", Variant: "1", Weight: weight(0)}
	lenient := strict
	lenient.Weight = weight(1)
	anyCoding := strict
	anyCoding.AnyCoding = true
	for name, tc := range map[string]struct {
		rep      Rep
		header   []string
		status   int
		wantGzip bool
	}{
		"no Accept-Encoding":         {strict, nil, 200, false},
		"gzip":                       {strict, []string{"Accept-Encoding", "gzip, deflate, br"}, 200, true},
		"x-gzip":                     {strict, []string{"Accept-Encoding", "X-GZIP"}, 200, true},
		"wildcard":                   {strict, []string{"Accept-Encoding", "*"}, 200, true},
		"other codings only":         {strict, []string{"Accept-Encoding", "br, deflate"}, 200, false},
		"gzip q=0":                   {strict, []string{"Accept-Encoding", "gzip;q=0, br"}, 200, false},
		"gzip q=0.5":                 {strict, []string{"Accept-Encoding", "gzip;q=0.5"}, 200, true},
		"first gzip element decides": {strict, []string{"Accept-Encoding", "gzip;q=0, *"}, 200, false},
		"malformed q, strict":        {strict, []string{"Accept-Encoding", "gzip;q=abc"}, 200, false},
		"malformed q, lenient":       {lenient, []string{"Accept-Encoding", "gzip;q=abc"}, 200, true},
		"If-None-Match plain":        {strict, []string{"If-None-Match", plain}, 304, false},
		"If-None-Match weak":         {strict, []string{"If-None-Match", "W/" + plain}, 304, false},
		"If-None-Match in a list":    {strict, []string{"If-None-Match", `"x", ` + plain}, 304, false},
		"If-None-Match star":         {strict, []string{"If-None-Match", "*"}, 304, false},
		"If-None-Match other":        {strict, []string{"If-None-Match", `"x"`}, 200, false},
		"If-None-Match gzip tag":     {strict, []string{"Accept-Encoding", "gzip", "If-None-Match", gz}, 304, true},
		"gzip tag, identity served":  {strict, []string{"If-None-Match", gz}, 200, false},
		"plain tag, gzip served":     {strict, []string{"Accept-Encoding", "gzip", "If-None-Match", plain}, 200, true},
		"AnyCoding, gzip tag":        {anyCoding, []string{"If-None-Match", gz}, 304, false},
		"AnyCoding, plain tag":       {anyCoding, []string{"Accept-Encoding", "gzip", "If-None-Match", plain}, 304, true},
		"other variant's tag":        {strict, []string{"If-None-Match", d.ETag("2", false)}, 200, false},
	} {
		t.Run(name, func(t *testing.T) {
			rec := serve(t, d, tc.rep, tc.header...)
			h := rec.Header()
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			wantTag := plain
			if tc.wantGzip {
				wantTag = gz
			}
			if h.Get("ETag") != wantTag || h.Get("Vary") != "Accept, Accept-Encoding" || h.Get("Cache-Control") != "no-cache" {
				t.Errorf("headers %v, want ETag %s", h, wantTag)
			}
			if tc.status == http.StatusNotModified {
				if rec.Body.Len() != 0 || h.Get("Content-Encoding") != "" {
					t.Errorf("304 with body %q, Content-Encoding %q", rec.Body, h.Get("Content-Encoding"))
				}
				return
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if h.Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", h.Get("Content-Length"), rec.Body.Len())
			}
			got := rec.Body.Bytes()
			if tc.wantGzip {
				if h.Get("Content-Encoding") != "gzip" {
					t.Fatalf("Content-Encoding %q, want gzip", h.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				if got, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			} else if h.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding %q, want none", h.Get("Content-Encoding"))
			}
			if !bytes.Equal(got, body) {
				t.Errorf("body %q, want %q", got, body)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	for name, tc := range map[string]struct {
		inm   string
		etags []string
		want  bool
	}{
		"exact":          {`"a"`, []string{`"a"`}, true},
		"weak":           {`W/"a"`, []string{`"a"`}, true},
		"second of list": {` "b" , W/"a" `, []string{`"a"`}, true},
		"second tag":     {`"b"`, []string{`"a"`, `"b"`}, true},
		"star":           {`*`, nil, true},
		"none":           {`"b"`, []string{`"a"`}, false},
		"unquoted":       {`a`, []string{`"a"`}, false},
		"empty":          {``, []string{`"a"`}, false},
	} {
		if got := Matches(tc.inm, tc.etags...); got != tc.want {
			t.Errorf("%s: Matches(%q, %q) = %v", name, tc.inm, tc.etags, got)
		}
	}
}
