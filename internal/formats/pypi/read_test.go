package pypi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// publishSample uploads my-lib 1.0 (sdist + wheel), 1.1 and 1.10 (wheels)
// and 2.0rc1 (sdist), and other-pkg 0.1.
func publishSample(h *harness) {
	h.t.Helper()
	for _, d := range []dist{
		{name: "My_Lib", version: "1.0", kind: Sdist, requires: []string{"requests>=2"}},
		{name: "My_Lib", version: "1.0", kind: Wheel, requires: []string{"requests>=2"}},
		{name: "My_Lib", version: "1.1", kind: Wheel},
		{name: "My_Lib", version: "1.10", kind: Wheel},
		{name: "My_Lib", version: "2.0rc1", kind: Sdist},
		{name: "other.pkg", version: "0.1", kind: Wheel},
	} {
		h.upload(d)
	}
}

func (h *harness) setStatus(name, version string, s domain.Status) {
	h.t.Helper()
	in := domain.BatchInput{Domain: testDom, Repository: testRepo, Ref: ref(name), Versions: []string{version}}
	res, err := h.db.UpdateStatus(context.Background(), in, s)
	if err != nil || len(res.Failed) > 0 {
		h.t.Fatalf("set %s %s to %s: %v %v", name, version, s, res.Failed, err)
	}
}

var anchorRE = regexp.MustCompile(`<a href="([^"]*)"([^>]*)>([^<]*)</a>`)
var attrRE = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// htmlLinks parses the anchors of a simple page: file name -> href and
// attributes (unescaped).
func htmlLinks(t *testing.T, body []byte) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, m := range anchorRE.FindAllStringSubmatch(string(body), -1) {
		attrs := map[string]string{"href": html.UnescapeString(m[1])}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		out[html.UnescapeString(m[3])] = attrs
	}
	return out
}

// TestProjectPage checks the JSON form in detail and the HTML form
// against it, file by file.
func TestProjectPage(t *testing.T) {
	h := newHarness(t)
	publishSample(h)
	h.setStatus("my-lib", "1.1", domain.StatusUnlisted) // yanked
	p := h.projectJSON("my-lib")
	if p.Meta["api-version"] != "1.1" || p.Name != "my-lib" {
		t.Fatalf("meta/name: %+v %q", p.Meta, p.Name)
	}
	if got := strings.Join(p.Versions, " "); got != "1.0 1.1 1.10 2.0rc1" {
		t.Fatalf("versions %q", got)
	}
	var names []string
	for _, f := range p.Files {
		names = append(names, f.Filename)
	}
	if got := strings.Join(names, " "); got != "My_Lib-1.0-py3-none-any.whl My_Lib-1.0.tar.gz My_Lib-1.1-py3-none-any.whl My_Lib-1.10-py3-none-any.whl My_Lib-2.0rc1.tar.gz" {
		t.Fatalf("files %q", got)
	}
	links := htmlLinks(t, h.get("simple/my-lib/", h.reader).body)
	if len(links) != len(p.Files) {
		t.Fatalf("HTML has %d links, JSON %d files", len(links), len(p.Files))
	}
	for _, f := range p.Files {
		version := strings.Split(f.URL, "/")[0]
		if f.URL != version+"/"+f.Filename || f.Size <= 0 || f.UploadTime != "2024-05-06T07:08:09.123456Z" || f.RequiresPython != ">=3.8" {
			t.Errorf("%s: %+v", f.Filename, f)
		}
		// The file behind the URL has the size and hash the page states.
		body := h.get("simple/my-lib/"+f.URL, h.reader)
		sum := sha256.Sum256(body.body)
		if body.status != http.StatusOK || int64(len(body.body)) != f.Size || hex.EncodeToString(sum[:]) != f.Hashes["sha256"] {
			t.Errorf("%s: fetched %d bytes, status %d", f.Filename, len(body.body), body.status)
		}
		wantYanked := any(false)
		if version == "1.1" {
			wantYanked = true
		}
		if f.Yanked != wantYanked {
			t.Errorf("%s: yanked %v", f.Filename, f.Yanked)
		}
		isWheel := strings.HasSuffix(f.Filename, ".whl")
		if cm, ok := f.CoreMetadata.(map[string]any); isWheel != ok || (ok && cm["sha256"] == "") {
			t.Errorf("%s: core-metadata %v", f.Filename, f.CoreMetadata)
		}
		if isWheel {
			// The metadata file is the wheel's METADATA, with the advertised hash.
			cm := f.CoreMetadata.(map[string]any)["sha256"].(string)
			if dm := f.DistInfoMetadata.(map[string]any)["sha256"]; dm != cm {
				t.Errorf("%s: dist-info-metadata %v, core-metadata %v", f.Filename, dm, cm)
			}
			md := h.get("simple/my-lib/"+f.URL+".metadata", h.reader)
			sum := sha256.Sum256(md.body)
			if md.status != http.StatusOK || hex.EncodeToString(sum[:]) != cm || !bytes.HasPrefix(md.body, []byte("Metadata-Version: 2.1\nName: My_Lib\n")) {
				t.Errorf("%s.metadata: %s", f.Filename, md)
			}
		}
		// The HTML form says the same.
		l := links[f.Filename]
		if l["href"] != f.URL+"#sha256="+f.Hashes["sha256"] || l["data-requires-python"] != f.RequiresPython {
			t.Errorf("%s: HTML link %v", f.Filename, l)
		}
		if _, y := l["data-yanked"]; y != (f.Yanked == true) {
			t.Errorf("%s: HTML data-yanked %v, JSON %v", f.Filename, l, f.Yanked)
		}
		if cm, ok := f.CoreMetadata.(map[string]any); ok {
			if l["data-core-metadata"] != "sha256="+cm["sha256"].(string) || l["data-dist-info-metadata"] != l["data-core-metadata"] {
				t.Errorf("%s: HTML core metadata %v", f.Filename, l)
			}
		} else if _, has := l["data-core-metadata"]; has {
			t.Errorf("%s: HTML advertises core metadata for an sdist", f.Filename)
		}
	}
	raw := string(h.get("simple/my-lib/", h.reader).body)
	for _, want := range []string{`<meta name="pypi:repository-version" content="1.1">`, "<title>Links for my-lib</title>", `data-requires-python="&gt;=3.8"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("HTML lacks %q:\n%s", want, raw)
		}
	}

	// A reason, when the version's metadata carries one, shows in both forms.
	ctx := context.Background()
	pv, _ := h.db.View(ctx, testDom, testRepo, ref("my-lib"))
	for _, v := range pv.Versions {
		if v.Version == "1.1" {
			var m map[string]any
			json.Unmarshal(v.Metadata, &m)
			m["yanked_reason"] = "broken <build>"
			b, _ := json.Marshal(m)
			if _, err := h.db.UpdateMetadata(ctx, testDom, testRepo, ref("my-lib"), "1.1", b); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range h.projectJSON("my-lib").Files {
		if strings.Contains(f.Filename, "-1.1-") && f.Yanked != "broken <build>" {
			t.Errorf("yank reason in JSON: %v", f.Yanked)
		}
	}
	if l := htmlLinks(t, h.get("simple/my-lib/", h.reader).body)["My_Lib-1.1-py3-none-any.whl"]; l["data-yanked"] != "broken <build>" {
		t.Errorf("yank reason in HTML: %v", l)
	}

	// Archived versions disappear and their files are not served; a
	// project with nothing left is not found.
	h.setStatus("my-lib", "1.10", domain.StatusArchived)
	for _, v := range h.projectJSON("my-lib").Versions {
		if v == "1.10" {
			t.Error("archived 1.10 still listed")
		}
	}
	if r := h.get("simple/my-lib/1.10/My_Lib-1.10-py3-none-any.whl", h.reader); r.status != http.StatusNotFound {
		t.Errorf("archived file: %s", r)
	}
	if r := h.get("simple/my-lib/1.1/My_Lib-1.1-py3-none-any.whl", h.reader); r.status != http.StatusOK {
		t.Errorf("yanked file: %s", r)
	}
	h.setStatus("other-pkg", "0.1", domain.StatusArchived)
	if r := h.get("simple/other-pkg/", h.reader); r.status != http.StatusNotFound {
		t.Errorf("project with only archived versions: %s", r)
	}
	if r := h.get("simple/nope/", h.reader); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "nope") {
		t.Errorf("unknown project: %s", r)
	}
}

func TestRootIndex(t *testing.T) {
	h := newHarness(t)
	publishSample(h)
	h.setStatus("other-pkg", "0.1", domain.StatusArchived)
	r := h.get("simple/", h.reader)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != ctHTML || !strings.Contains(string(r.body), `<a href="my-lib/">my-lib</a>`) ||
		strings.Contains(string(r.body), "other-pkg") {
		t.Fatalf("root HTML: %s", r)
	}
	r = h.get("simple/", h.reader, "Accept", ctJSON)
	var root struct {
		Meta     map[string]string
		Projects []map[string]string
	}
	if err := json.Unmarshal(r.body, &root); err != nil || root.Meta["api-version"] != "1.1" || len(root.Projects) != 1 || root.Projects[0]["name"] != "my-lib" {
		t.Fatalf("root JSON: %s %v", r, err)
	}
	if again := h.get("simple/", h.reader, "Accept", ctJSON, "If-None-Match", r.header.Get("ETag")); again.status != http.StatusNotModified {
		t.Fatalf("root revalidation: %s", again)
	}
	if other := h.get("/pypi/acme/other/simple/", h.reader, "Accept", ctJSON); !strings.Contains(string(other.body), `"projects":[]`) {
		t.Fatalf("empty repository: %s", other)
	}
}

func TestNegotiationAndCaching(t *testing.T) {
	h := newHarness(t)
	h.upload(dist{name: "my-lib", version: "1.0", kind: Wheel})
	for accept, ct := range map[string]string{
		"":                                    ctHTML,
		"*/*":                                 ctHTML,
		"text/html":                           ctHTML,
		"application/vnd.pypi.simple.v1+html": ctHTMLv1,
		"application/vnd.pypi.simple.latest+json": ctJSON,
	} {
		r := h.get("simple/my-lib/", h.reader, "Accept", accept)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != ct || !strings.Contains(r.header.Get("Vary"), "Accept") {
			t.Errorf("Accept %q: %d %s", accept, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := h.get("simple/my-lib/", h.reader, "Accept", "application/json"); r.status != http.StatusNotAcceptable {
		t.Errorf("Accept application/json: %s", r)
	}
	if r := h.get("simple/", h.reader, "Accept", "image/png"); r.status != http.StatusNotAcceptable {
		t.Errorf("root with Accept image/png: %s", r)
	}

	before := h.f.renders.Load()
	j := h.get("simple/my-lib/", h.reader, "Accept", ctJSON)
	html1 := h.get("simple/my-lib/", h.reader, "Accept", "text/html")
	htmlv1 := h.get("simple/my-lib/", h.reader, "Accept", ctHTMLv1)
	if h.f.renders.Load() != before {
		t.Errorf("cached pages were rendered again")
	}
	tags := map[string]bool{j.header.Get("ETag"): true, html1.header.Get("ETag"): true, htmlv1.header.Get("ETag"): true}
	if len(tags) != 3 || !bytes.Equal(html1.body, htmlv1.body) {
		t.Errorf("entity tags %v", tags)
	}
	if r := h.get("simple/my-lib/", h.reader, "Accept", ctJSON, "If-None-Match", j.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", r)
	}
	if r := h.get("simple/my-lib/", h.reader, "Accept", "text/html", "If-None-Match", htmlv1.header.Get("ETag")); r.status != http.StatusOK {
		t.Errorf("If-None-Match of another media type: %s", r)
	}
	gz := h.get("simple/my-lib/", h.reader, "Accept", ctJSON, "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil || gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v %v", err, gz.header)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, j.body) || gz.header.Get("ETag") == j.header.Get("ETag") {
		t.Errorf("gzip body or tag")
	}

	// A new file changes the page: rendered once more per form asked.
	h.upload(dist{name: "my-lib", version: "1.0", kind: Sdist})
	j2 := h.get("simple/my-lib/", h.reader, "Accept", ctJSON)
	if j2.header.Get("ETag") == j.header.Get("ETag") || !strings.Contains(string(j2.body), "my_lib-1.0.tar.gz") {
		t.Errorf("page after upload: %s", j2)
	}
	if got := h.f.renders.Load() - before; got != 1 {
		t.Errorf("renders after change: %d", got)
	}
}

func TestRedirectsAndPaths(t *testing.T) {
	h := newHarness(t)
	h.upload(dist{name: "My_Lib", version: "1.0", kind: Wheel})
	for path, loc := range map[string]string{
		"simple":         "/pypi/acme/shared/simple/",
		"simple/my-lib":  "/pypi/acme/shared/simple/my-lib/",
		"simple/My_Lib/": "/pypi/acme/shared/simple/my-lib/",
		"simple/my.lib":  "/pypi/acme/shared/simple/my-lib/",
		"simple/My_Lib/1.0/My_Lib-1.0-py3-none-any.whl": "/pypi/acme/shared/simple/my-lib/1.0/My_Lib-1.0-py3-none-any.whl",
	} {
		r := h.get(path, h.reader)
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != loc {
			t.Errorf("GET %s: %d %q, want 301 %q", path, r.status, r.header.Get("Location"), loc)
		}
	}
	for path, status := range map[string]int{
		"simple/my-lib/%2e%2e/":       http.StatusBadRequest,
		"simple/my-lib/1.0/..":        http.StatusBadRequest,
		"simple/my-lib/1.0/a%2fb.whl": http.StatusBadRequest,
		"simple//":                    http.StatusBadRequest,
		"other/":                      http.StatusNotFound,
		"simple/my-lib/1.0/":          http.StatusNotFound,
		"simple/my-lib/1.0/x.whl":     http.StatusNotFound,
		"simple/my-lib/9.9/My_Lib-1.0-py3-none-any.whl": http.StatusNotFound,
		"":                        http.StatusNotFound,
		"/pypi/acme/nope/simple/": http.StatusNotFound,
	} {
		if r := h.get(path, h.reader); r.status != status {
			t.Errorf("GET %q: %s, want %d", path, r, status)
		}
	}
	if r := h.do(http.MethodDelete, "simple/my-lib/", h.root, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %s", r)
	}
	// Files: HEAD, ranges and revalidation.
	file := "simple/my-lib/1.0/My_Lib-1.0-py3-none-any.whl"
	full := h.get(file, h.reader)
	if head := h.do(http.MethodHead, file, h.reader, nil); head.status != http.StatusOK || head.header.Get("Content-Length") != full.header.Get("Content-Length") || len(head.body) != 0 {
		t.Errorf("HEAD: %s %v", head, head.header)
	}
	if part := h.get(file, h.reader, "Range", "bytes=0-3"); part.status != http.StatusPartialContent || string(part.body) != "PK\x03\x04" {
		t.Errorf("range: %s", part)
	}
	if r := h.get(file, h.reader, "If-None-Match", full.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("file revalidation: %s", r)
	}
}

func TestReadAuthorization(t *testing.T) {
	h := newHarness(t)
	h.upload(dist{name: "my-lib", version: "1.0", kind: Wheel})
	for _, path := range []string{"simple/", "simple/my-lib/", "simple/my-lib/1.0/my_lib-1.0-py3-none-any.whl", "simple/my-lib/1.0/my_lib-1.0-py3-none-any.whl.metadata"} {
		r := h.get(path, "")
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("anonymous GET %s: %s %v", path, r, r.header)
		}
		if r := h.get(path, "tok-wrong"); r.status != http.StatusUnauthorized {
			t.Errorf("bad token GET %s: %s", path, r)
		}
		if r := h.get(path, h.reader); r.status != http.StatusOK {
			t.Errorf("reader GET %s: %s", path, r)
		}
	}
	// Bearer works too.
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/pypi/acme/shared/simple/my-lib/", nil)
	req.Header.Set("Authorization", "Bearer "+h.reader)
	res, err := h.ts.Client().Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("Bearer: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	// A user without read permission is forbidden, not asked to log in.
	nobody := h.user("nobody", "codeartifact:GetAuthorizationToken")
	if r := h.get("simple/my-lib/", nobody); r.status != http.StatusForbidden {
		t.Errorf("no read permission: %s", r)
	}
}
