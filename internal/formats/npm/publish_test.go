package npm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestPublishStoresMetadata(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0")
	ctx := context.Background()
	ref := Name{"acme", "ui"}.Ref()
	if ref.Namespace != "acme" || ref.Name != "ui" {
		t.Fatalf("ref %+v", ref)
	}
	v, err := h.db.GetVersion(ctx, dom, shared, ref, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != domain.StatusPublished || v.Summary != "ACME UI kit" || v.HomePage != "https://acme.example/ui" ||
		v.SourceCodeRepository != "git+https://git.example/acme/ui.git" || len(v.Licenses) != 1 || v.Licenses[0].Name != "MIT" {
		t.Errorf("version %+v", v)
	}
	deps, _, err := h.db.Dependencies(ctx, dom, shared, ref, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range deps {
		got[d.Namespace+"/"+d.Name] = d.Type + " " + d.VersionRequirement
	}
	want := map[string]string{"/left-pad": "regular ^1.3.0", "acme/core": "regular ~2.0.0", "/jest": "dev ^29", "/react": "peer >=18", "/fsevents": "optional *"}
	if len(got) != len(want) {
		t.Errorf("dependencies %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("dependency %s = %q, want %q", k, got[k], w)
		}
	}
	readme, _, err := h.db.Readme(ctx, dom, shared, ref, "1.0.0")
	if err != nil || readme != "# UI 1.0.0" {
		t.Errorf("readme %q %v", readme, err)
	}
	as, _, _, err := h.db.ListAssets(ctx, dom, shared, ref, "1.0.0", domain.Page{})
	if err != nil || len(as) != 1 || as[0].Name != "package.tgz" {
		t.Errorf("assets %+v %v", as, err)
	}
	// A second version merges into the package; republishing is a 409
	// with npm's wording.
	publishUI(h, "1.1.0")
	r := h.publishAs(h.root, pkg{name: "@acme/ui", version: "1.1.0", manifest: uiManifest})
	if r.status != http.StatusConflict || r.errorMessage() != "cannot publish over the previously published versions: 1.1.0." {
		t.Errorf("republish: %d %s", r.status, r.body)
	}
}

func TestPublishDistTagsAndUnscoped(t *testing.T) {
	h := newHarness(t)
	h.publish(pkg{name: "left-pad", version: "1.0.0"})
	h.publish(pkg{name: "left-pad", version: "2.0.0-rc.1", tag: "next"})
	r := h.get("-/package/left-pad/dist-tags", h.reader)
	if r.status != http.StatusOK || string(r.body) != `{"latest":"1.0.0","next":"2.0.0-rc.1"}` {
		t.Errorf("dist-tags: %d %s", r.status, r.body)
	}
}

// publishDoc returns a publish body for p after edit changed its document.
func publishDoc(p pkg, edit func(doc map[string]any, version map[string]any)) []byte {
	doc := p.document(p.tarball())
	edit(doc, doc["versions"].(map[string]any)[p.version].(map[string]any))
	b, _ := json.Marshal(doc)
	return b
}

func TestPublishBadInput(t *testing.T) {
	base := pkg{name: "left-pad", version: "1.0.0"}
	attachment := func(doc map[string]any) map[string]any {
		return doc["_attachments"].(map[string]any)["left-pad-1.0.0.tgz"].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		status int
		msg    string
	}{
		{"malformed JSON", "left-pad", []byte(`{"name": "left-pad", "versions": {`), 400, "malformed"},
		{"not an object", "left-pad", []byte(`["left-pad"]`), 400, "malformed"},
		{"trailing data", "left-pad", append(publishDoc(base, func(map[string]any, map[string]any) {}), []byte(` {}`)...), 400, "after the end"},
		{"bad name", "Left-Pad", publishDoc(pkg{name: "Left-Pad", version: "1.0.0"}, func(map[string]any, map[string]any) {}), 400, "capital letters"},
		{"name mismatch", "right-pad", publishDoc(base, func(map[string]any, map[string]any) {}), 400, "names package"},
		{"manifest name mismatch", "left-pad", publishDoc(base, func(_, v map[string]any) { v["name"] = "right-pad" }), 400, "name is"},
		{"not semver", "left-pad", publishDoc(pkg{name: "left-pad", version: "1.0"}, func(map[string]any, map[string]any) {}), 400, "semantic version"},
		{"two versions", "left-pad", publishDoc(base, func(d, v map[string]any) { d["versions"].(map[string]any)["1.0.1"] = v }), 400, "exactly one version"},
		{"integrity mismatch", "left-pad", publishDoc(base, func(_, v map[string]any) {
			v["dist"].(map[string]any)["integrity"] = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
		}), 400, "integrity"},
		{"shasum mismatch", "left-pad", publishDoc(base, func(_, v map[string]any) {
			v["dist"].(map[string]any)["shasum"] = strings.Repeat("0", 40)
		}), 400, "shasum"},
		{"no digest", "left-pad", publishDoc(base, func(_, v map[string]any) { v["dist"] = map[string]any{} }), 400, "integrity"},
		{"tarball version mismatch", "left-pad", func() []byte {
			other := pkg{name: "left-pad", version: "9.9.9"}.tarball()
			doc := pkg{name: "left-pad", version: "1.0.0"}.document(other)
			b, _ := json.Marshal(doc)
			return b
		}(), 400, "version"},
		{"tarball name mismatch", "left-pad", func() []byte {
			other := pkg{name: "right-pad", version: "1.0.0"}.tarball()
			b, _ := json.Marshal(base.document(other))
			return b
		}(), 400, "names"},
		{"not a tarball", "left-pad", func() []byte {
			b, _ := json.Marshal(base.document([]byte("just text")))
			return b
		}(), 400, "gzip"},
		{"bad base64", "left-pad", publishDoc(base, func(d, _ map[string]any) { attachment(d)["data"] = "!!!notbase64" }), 400, "base64"},
		{"length mismatch", "left-pad", publishDoc(base, func(d, _ map[string]any) { attachment(d)["length"] = 1 }), 400, "length"},
		{"attachment name", "left-pad", publishDoc(base, func(d, _ map[string]any) {
			a := d["_attachments"].(map[string]any)
			a["other-1.0.0.tgz"] = a["left-pad-1.0.0.tgz"]
			delete(a, "left-pad-1.0.0.tgz")
		}), 400, "not the tarball"},
		{"tag elsewhere", "left-pad", publishDoc(base, func(d, _ map[string]any) { d["dist-tags"] = map[string]any{"latest": "0.9.0"} }), 400, "dist-tag"},
		{"tag is a range", "left-pad", publishDoc(base, func(d, _ map[string]any) { d["dist-tags"] = map[string]any{"^1.0.0": "1.0.0"} }), 400, "dist-tag"},
		{"traversal", "..%2fleft-pad", publishDoc(base, func(map[string]any, map[string]any) {}), 400, ""},
		{"too large", "left-pad", func() []byte {
			b, _ := json.Marshal(base.document(bytes.Repeat([]byte{1}, 1<<20)))
			return b
		}(), 413, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.do(http.MethodPut, tc.path, h.root, bytes.NewReader(tc.body), "Content-Type", "application/json")
			if r.status != tc.status || !strings.Contains(r.errorMessage(), tc.msg) || r.errorMessage() == "" {
				t.Errorf("%d %s, want %d mentioning %q", r.status, r.body, tc.status, tc.msg)
			}
			pkgs, _, err := h.db.ListPackages(context.Background(), dom, shared, domain.PackageFilter{}, domain.Page{})
			if err != nil || len(pkgs) != 0 {
				t.Errorf("a failed publish left packages behind: %+v %v", pkgs, err)
			}
		})
	}
}

// TestPublishLimitWithoutContentLength checks that a chunked body over
// the limit is refused while streaming, not after buffering it.
func TestPublishLimitWithoutContentLength(t *testing.T) {
	h := newHarness(t)
	doc := pkg{name: "left-pad", version: "1.0.0"}.document(bytes.Repeat([]byte{7}, 2<<20))
	b, _ := json.Marshal(doc)
	r := h.do(http.MethodPut, "left-pad", h.root, io.MultiReader(bytes.NewReader(b)), "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized publish: %d %s", r.status, r.body)
	}
}

func TestPublishPermissions(t *testing.T) {
	h := newHarness(t)
	p := pkg{name: "left-pad", version: "1.0.0"}
	if r := h.publishAs(h.reader, p); r.status != http.StatusForbidden || !strings.Contains(r.errorMessage(), "PublishPackageVersion") {
		t.Errorf("reader publish: %d %s", r.status, r.body)
	}
	r := h.publishAs("", p)
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous publish: %d %v %s", r.status, r.header, r.body)
	}
	if r := h.publishAs(h.publisher, p); r.status != http.StatusOK {
		t.Errorf("publisher publish: %d %s", r.status, r.body)
	}
	// Publishing keeps old-style names of existing packages readable but
	// not creatable.
	var doc struct {
		Versions map[string]struct {
			NPMUser struct{ Name string } `json:"_npmUser"`
		}
	}
	json.Unmarshal(h.get("left-pad", h.reader).body, &doc)
	if doc.Versions["1.0.0"].NPMUser.Name != "publisher" {
		t.Errorf("_npmUser %+v", doc.Versions["1.0.0"])
	}
}

func TestProvenanceAttachmentIgnored(t *testing.T) {
	h := newHarness(t)
	p := pkg{name: "left-pad", version: "1.0.0"}
	body := publishDoc(p, func(d, _ map[string]any) {
		d["_attachments"].(map[string]any)["left-pad-1.0.0.sigstore"] = map[string]any{
			"content_type": "application/vnd.dev.sigstore.bundle+json;version=0.2", "data": `{"bundle": true}`}
	})
	if r := h.do(http.MethodPut, "left-pad", h.root, bytes.NewReader(body)); r.status != http.StatusOK {
		t.Errorf("publish with provenance: %d %s", r.status, r.body)
	}
}
