package npm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

var uiManifest = map[string]any{
	"description": "ACME UI kit", "license": "MIT", "homepage": "https://acme.example/ui",
	"repository":           map[string]any{"type": "git", "url": "git+https://git.example/acme/ui.git"},
	"keywords":             []any{"acme", "ui"},
	"scripts":              map[string]any{"postinstall": "node setup.js", "test": "true"},
	"bin":                  map[string]any{"ui": "cli.js"},
	"engines":              map[string]any{"node": ">=18"},
	"dependencies":         map[string]any{"left-pad": "^1.3.0", "@acme/core": "~2.0.0"},
	"devDependencies":      map[string]any{"jest": "^29"},
	"peerDependencies":     map[string]any{"react": ">=18"},
	"optionalDependencies": map[string]any{"fsevents": "*"},
	"author":               "ACME <dev@acme.example>",
}

func publishUI(h *harness, versions ...string) {
	for _, v := range versions {
		p := pkg{name: "@acme/ui", version: v, manifest: uiManifest, files: map[string]string{"README.md": "# UI " + v}}
		if strings.Contains(v, "-") {
			p.tag = "next"
		}
		h.publish(p)
	}
}

func TestPackumentFull(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0", "2.0.0-beta.1")
	r := h.get(escaped("@acme/ui"), h.reader)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var doc struct {
		ID       string                    `json:"_id"`
		Rev      string                    `json:"_rev"`
		Name     string                    `json:"name"`
		Desc     string                    `json:"description"`
		DistTags map[string]string         `json:"dist-tags"`
		Versions map[string]map[string]any `json:"versions"`
		Time     map[string]string         `json:"time"`
		Readme   string                    `json:"readme"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != "@acme/ui" || doc.Name != "@acme/ui" || doc.Desc != "ACME UI kit" || !strings.Contains(doc.Rev, "-") {
		t.Errorf("header fields: %+v", doc)
	}
	if doc.DistTags["latest"] != "1.1.0" || doc.DistTags["next"] != "2.0.0-beta.1" {
		t.Errorf("dist-tags %v", doc.DistTags)
	}
	if len(doc.Versions) != 3 || doc.Time["created"] == "" || doc.Time["modified"] == "" || doc.Time["1.0.0"] == "" {
		t.Errorf("versions %d, time %v", len(doc.Versions), doc.Time)
	}
	if doc.Readme != "# UI 1.1.0" {
		t.Errorf("readme %q, want the latest version's", doc.Readme)
	}
	v := doc.Versions["1.1.0"]
	if v["_id"] != "@acme/ui@1.1.0" || v["description"] != "ACME UI kit" || v["readme"] != nil || v["_npmUser"] == nil {
		t.Errorf("version manifest: %v", v)
	}
	tgz := pkg{name: "@acme/ui", version: "1.1.0", manifest: uiManifest, files: map[string]string{"README.md": "# UI 1.1.0"}}.tarball()
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	dist := v["dist"].(map[string]any)
	want := map[string]any{
		"tarball":   h.ts.URL + "/npm/acme/shared/@acme/ui/-/ui-1.1.0.tgz",
		"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		"shasum":    hex.EncodeToString(s1[:]),
	}
	for k, w := range want {
		if dist[k] != w {
			t.Errorf("dist.%s = %v, want %v", k, dist[k], w)
		}
	}
	// The tarball URL names the repository the client asked.
	r = h.get("/npm/acme/other/"+escaped("@acme/ui"), h.reader)
	if r.status != http.StatusNotFound {
		t.Errorf("other repository: %d", r.status)
	}
}

func TestPackumentAbbreviated(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0")
	r := h.get(escaped("@acme/ui"), h.reader, "Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != ctAbbreviated {
		t.Fatalf("GET: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc map[string]json.RawMessage
	json.Unmarshal(r.body, &doc)
	if got := sortedJSONKeys(doc); strings.Join(got, ",") != "dist-tags,modified,name,versions" {
		t.Errorf("top-level keys %v", got)
	}
	var versions map[string]map[string]json.RawMessage
	json.Unmarshal(doc["versions"], &versions)
	allowed := map[string]bool{}
	for _, k := range abbreviatedFields {
		allowed[k] = true
	}
	v := versions["1.0.0"]
	for k := range v {
		if !allowed[k] {
			t.Errorf("abbreviated version has %q", k)
		}
	}
	for _, k := range []string{"name", "version", "dependencies", "optionalDependencies", "devDependencies", "peerDependencies", "bin", "engines", "dist", "hasInstallScript"} {
		if _, ok := v[k]; !ok {
			t.Errorf("abbreviated version lacks %q: %s", k, r.body)
		}
	}
	if string(v["hasInstallScript"]) != "true" {
		t.Errorf("hasInstallScript = %s", v["hasInstallScript"])
	}
}

func sortedJSONKeys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestScopedNameSpellings(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0")
	want := h.get("@acme/ui", h.reader)
	if want.status != http.StatusOK {
		t.Fatalf("@acme/ui: %d %s", want.status, want.body)
	}
	for _, p := range []string{"@acme%2fui", "@acme%2Fui", "%40acme%2Fui", "%40acme%2fui", "%40acme/ui"} {
		r := h.get(p, h.reader)
		if r.status != http.StatusOK || !bytes.Equal(r.body, want.body) {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

func TestBadPaths(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0")
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"..", 400},
		{"foo/../@acme%2fui", 400},
		{"%2e%2e", 400},
		{"@acme%2f..", 400},
		{"@acme/ui/-/%2e%2e", 400},
		{"foo%2fbar", 400},
		{"@acme%2fui%2fx", 400},
		{"@acme/ui%2fx", 400},
		{".hidden", 400},
		{"_under", 400},
		{"has%20space", 400},
		{"node_modules", 400},
		{"@acme", 400},
		{"@acme/ui/-/ui-1.0.0.tgz%2f..%2fx", 400},
		{"foo//bar", 400},
		{"Uppercase", 404}, // valid for existing packages, just absent
		{"@acme/ui/1.0.0", 404},
		{"-/nothing", 404},
		{"-/npm/v1/security/advisories/bulk", 404},
		{"", 404},
	} {
		r := h.get(tc.path, h.reader)
		if r.status != tc.status || r.errorMessage() == "" {
			t.Errorf("%q: %d %s, want %d with an npm error", tc.path, r.status, r.body, tc.status)
		}
	}
}

func TestETagGzipAndRenderOnce(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0")
	before := h.f.renders.Load()
	plain := h.get(escaped("@acme/ui"), h.reader)
	for i := 0; i < 5; i++ {
		h.get(escaped("@acme/ui"), h.reader)
	}
	if n := h.f.renders.Load() - before; n != 1 {
		t.Errorf("rendered %d times for 6 identical reads, want 1", n)
	}
	etag := plain.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Fatalf("ETag %q is not strong", etag)
	}
	gz := h.get(escaped("@acme/ui"), h.reader, "Accept-Encoding", "gzip, deflate")
	if gz.header.Get("Content-Encoding") != "gzip" || gz.header.Get("ETag") == etag {
		t.Fatalf("gzip: encoding %q etag %q", gz.header.Get("Content-Encoding"), gz.header.Get("ETag"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain.body) {
		t.Error("gzip body differs from the identity body")
	}
	if r := h.get(escaped("@acme/ui"), h.reader, "Accept-Encoding", "gzip;q=0"); r.header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	for _, inm := range []string{etag, gz.header.Get("ETag"), `"x", ` + etag, "W/" + etag} {
		if r := h.get(escaped("@acme/ui"), h.reader, "If-None-Match", inm); r.status != http.StatusNotModified || len(r.body) != 0 {
			t.Errorf("If-None-Match %s: %d", inm, r.status)
		}
	}
	if r := h.get(escaped("@acme/ui"), h.reader, "If-None-Match", `"other"`); r.status != http.StatusOK {
		t.Errorf("stale If-None-Match: %d", r.status)
	}
	publishUI(h, "1.2.0")
	r := h.get(escaped("@acme/ui"), h.reader, "If-None-Match", etag)
	if r.status != http.StatusOK || r.header.Get("ETag") == etag {
		t.Errorf("after a publish: %d, etag %s", r.status, r.header.Get("ETag"))
	}
}

func TestDeletedAndRecreatedPackageIsNotServedFromCache(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0")
	first := h.get(escaped("@acme/ui"), h.reader)
	if _, err := h.db.DeletePackage(context.Background(), dom, shared, Name{"acme", "ui"}.Ref()); err != nil {
		t.Fatal(err)
	}
	publishUI(h, "3.0.0")
	r := h.get(escaped("@acme/ui"), h.reader)
	if bytes.Equal(r.body, first.body) || !strings.Contains(string(r.body), `"3.0.0"`) || strings.Contains(string(r.body), `"1.0.0"`) {
		t.Errorf("recreated package served stale: %s", r.body)
	}
}

func TestUnlistedHiddenButDownloadable(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0", "2.0.0-beta.1")
	ctx := context.Background()
	ref := Name{"acme", "ui"}.Ref()
	if _, err := h.db.UpdateStatus(ctx, domain.BatchInput{Domain: dom, Repository: shared, Ref: ref, Versions: []string{"1.1.0", "2.0.0-beta.1"}}, domain.StatusUnlisted); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.UpdateStatus(ctx, domain.BatchInput{Domain: dom, Repository: shared, Ref: ref, Versions: []string{"1.0.0"}}, domain.StatusArchived); err != nil {
		t.Fatal(err)
	}
	publishUI(h, "1.2.0")
	var doc struct {
		DistTags map[string]string         `json:"dist-tags"`
		Versions map[string]map[string]any `json:"versions"`
	}
	json.Unmarshal(h.get(escaped("@acme/ui"), h.reader).body, &doc)
	if len(doc.Versions) != 1 || doc.Versions["1.2.0"] == nil {
		t.Errorf("versions %v", doc.Versions)
	}
	if len(doc.DistTags) != 1 || doc.DistTags["latest"] != "1.2.0" {
		t.Errorf("dist-tags %v: the tag of the hidden version must go", doc.DistTags)
	}
	if r := h.get("@acme/ui/-/ui-1.1.0.tgz", h.reader); r.status != http.StatusOK {
		t.Errorf("Unlisted tarball: %d %s", r.status, r.body)
	}
	if r := h.get("@acme/ui/-/ui-1.0.0.tgz", h.reader); r.status != http.StatusNotFound {
		t.Errorf("Archived tarball: %d", r.status)
	}
	// latest pointing at a hidden version falls back to the highest release.
	if _, err := h.db.UpdateStatus(ctx, domain.BatchInput{Domain: dom, Repository: shared, Ref: ref, Versions: []string{"1.1.0"}}, domain.StatusPublished); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.UpdateStatus(ctx, domain.BatchInput{Domain: dom, Repository: shared, Ref: ref, Versions: []string{"1.2.0"}}, domain.StatusUnlisted); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(h.get(escaped("@acme/ui"), h.reader).body, &doc)
	if doc.DistTags["latest"] != "1.1.0" {
		t.Errorf("fallback latest = %q", doc.DistTags["latest"])
	}
}

func TestTarball(t *testing.T) {
	h := newHarness(t)
	p := pkg{name: "left-pad", version: "1.3.0", manifest: map[string]any{"description": "pads"}}
	h.publish(p)
	tgz := p.tarball()
	r := h.get("left-pad/-/left-pad-1.3.0.tgz", h.reader)
	if r.status != http.StatusOK || !bytes.Equal(r.body, tgz) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("GET: %d %s", r.status, r.header.Get("Content-Type"))
	}
	etag := r.header.Get("ETag")
	if len(etag) != 66 {
		t.Errorf("ETag %q, want the quoted sha256", etag)
	}
	if r := h.do(http.MethodHead, "left-pad/-/left-pad-1.3.0.tgz", h.reader, nil); r.status != http.StatusOK || len(r.body) != 0 || r.header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}
	if r := h.get("left-pad/-/left-pad-1.3.0.tgz", h.reader, "Range", "bytes=0-9"); r.status != http.StatusPartialContent || !bytes.Equal(r.body, tgz[:10]) {
		t.Errorf("Range: %d %d bytes", r.status, len(r.body))
	}
	if r := h.get("left-pad/-/left-pad-1.3.0.tgz", h.reader, "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.status)
	}
	for _, path := range []string{"left-pad/-/left-pad-9.9.9.tgz", "left-pad/-/other-1.3.0.tgz", "left-pad/-/left-pad-1.3.0.zip", "nope/-/nope-1.0.0.tgz"} {
		if r := h.get(path, h.reader); r.status != http.StatusNotFound || r.errorMessage() == "" {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := h.get("left-pad/-/left-pad-1.3.0.tgz", ""); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous tarball: %d", r.status)
	}
}
