package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestDistTagRoutes(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "2.0.0-beta.1")
	tags := "-/package/" + escaped("@acme/ui") + "/dist-tags"
	put := func(tag, token, body string) response {
		return h.do(http.MethodPut, tags+"/"+tag, token, strings.NewReader(body), "Content-Type", "application/json")
	}
	if r := put("beta", h.root, `"2.0.0-beta.1"`); r.status != http.StatusOK {
		t.Fatalf("PUT beta: %d %s", r.status, r.body)
	}
	if r := h.get(tags, h.reader); r.status != http.StatusOK || string(r.body) != `{"beta":"2.0.0-beta.1","latest":"1.0.0","next":"2.0.0-beta.1"}` {
		t.Errorf("GET: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		tag, token, body string
		status           int
	}{
		{"beta", h.root, `"9.9.9"`, 404},
		{"beta", h.root, `"not a version"`, 400},
		{"beta", h.root, `{"v":1}`, 400},
		{"1.x", h.root, `"1.0.0"`, 400},
		{"beta", h.reader, `"1.0.0"`, 403},
		{"beta", "", `"1.0.0"`, 401},
	} {
		if r := put(tc.tag, tc.token, tc.body); r.status != tc.status || r.errorMessage() == "" {
			t.Errorf("PUT %s %s: %d %s, want %d", tc.tag, tc.body, r.status, r.body, tc.status)
		}
	}
	if r := h.do(http.MethodDelete, tags+"/next", h.publisher, nil); r.status != http.StatusOK {
		t.Errorf("DELETE next: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, tags+"/next", h.root, nil); r.status != http.StatusNotFound {
		t.Errorf("DELETE missing tag: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, tags+"/latest", h.root, nil); r.status != http.StatusBadRequest || !strings.Contains(r.errorMessage(), "latest") {
		t.Errorf("DELETE latest: %d %s", r.status, r.body)
	}
	if r := h.get(tags, h.reader); string(r.body) != `{"beta":"2.0.0-beta.1","latest":"1.0.0"}` {
		t.Errorf("after changes: %s", r.body)
	}
	if r := h.get("-/package/nope/dist-tags", h.reader); r.status != http.StatusNotFound {
		t.Errorf("unknown package: %d", r.status)
	}
}

// packument fetches the full packument as npm does before changing it.
func packument(t *testing.T, h *harness, name string) map[string]any {
	t.Helper()
	r := h.get(escaped(name)+"?write=true", h.root)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", name, r.status, r.body)
	}
	return r.json(t)
}

func TestDeprecate(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0")
	// npm deprecate: PUT /{name} with the packument, "deprecated" set.
	doc := packument(t, h, "@acme/ui")
	doc["versions"].(map[string]any)["1.0.0"].(map[string]any)["deprecated"] = "use 1.1"
	if r := h.putJSON(escaped("@acme/ui"), h.publisher, doc); r.status != http.StatusOK {
		t.Fatalf("deprecate: %d %s", r.status, r.body)
	}
	var ab struct {
		Versions map[string]map[string]any `json:"versions"`
	}
	json.Unmarshal(h.get(escaped("@acme/ui"), h.reader, "Accept", ctAbbreviated).body, &ab)
	if ab.Versions["1.0.0"]["deprecated"] != "use 1.1" || ab.Versions["1.1.0"]["deprecated"] != nil {
		t.Errorf("abbreviated after deprecate: %v", ab.Versions)
	}
	// The stale _rev of the document it was based on is a conflict.
	if r := h.putJSON(escaped("@acme/ui"), h.publisher, doc); r.status != http.StatusConflict {
		t.Errorf("stale _rev: %d %s", r.status, r.body)
	}
	if r := h.putJSON(escaped("@acme/ui"), h.reader, packument(t, h, "@acme/ui")); r.status != http.StatusForbidden {
		t.Errorf("reader PUT: %d", r.status)
	}
	// Undeprecate with an empty message.
	doc = packument(t, h, "@acme/ui")
	doc["versions"].(map[string]any)["1.0.0"].(map[string]any)["deprecated"] = ""
	if r := h.putJSON(escaped("@acme/ui"), h.root, doc); r.status != http.StatusOK {
		t.Fatalf("undeprecate: %d %s", r.status, r.body)
	}
	full := h.get(escaped("@acme/ui"), h.reader).json(t)
	if _, ok := full["versions"].(map[string]any)["1.0.0"].(map[string]any)["deprecated"]; ok {
		t.Error("deprecated still set after undeprecate")
	}
	// Without a revision (path or _rev) a document cannot unpublish.
	doc = packument(t, h, "@acme/ui")
	delete(doc, "_rev")
	delete(doc["versions"].(map[string]any), "1.1.0")
	if r := h.putJSON(escaped("@acme/ui"), h.root, doc); r.status != http.StatusOK {
		t.Fatalf("PUT without _rev: %d %s", r.status, r.body)
	}
	if _, err := h.db.GetVersion(context.Background(), dom, shared, Name{"acme", "ui"}.Ref(), "1.1.0"); err != nil {
		t.Errorf("a document without a revision unpublished 1.1.0: %v", err)
	}
	// A document may not add versions without their tarballs.
	doc = packument(t, h, "@acme/ui")
	doc["versions"].(map[string]any)["9.0.0"] = map[string]any{"name": "@acme/ui", "version": "9.0.0"}
	if r := h.putJSON(escaped("@acme/ui"), h.root, doc); r.status != http.StatusBadRequest {
		t.Errorf("version without tarball: %d %s", r.status, r.body)
	}
}

// unpublishVersion follows npm v11 (libnpmpublish/lib/unpublish.js): PUT
// the packument without the version to /-rev/{rev}, fetch it again, then
// DELETE the tarball at /-rev/{new rev}.
func unpublishVersion(t *testing.T, h *harness, token, name, version string) (response, response) {
	t.Helper()
	doc := packument(t, h, name)
	versions := doc["versions"].(map[string]any)
	dist := versions[version].(map[string]any)["dist"].(map[string]any)
	delete(versions, version)
	tags := doc["dist-tags"].(map[string]any)
	for k, v := range tags {
		if v == version {
			delete(tags, k)
		}
	}
	put := h.putJSON(escaped(name)+"/-rev/"+doc["_rev"].(string), token, doc)
	if put.status != http.StatusOK {
		return put, response{}
	}
	rev := packument(t, h, name)["_rev"].(string)
	tarball := strings.TrimPrefix(dist["tarball"].(string), h.ts.URL+"/npm/acme/shared/")
	return put, h.do(http.MethodDelete, tarball+"/-rev/"+rev, token, nil)
}

func TestUnpublishVersion(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.0.1", "1.1.0")
	// The publisher may not delete.
	if put, _ := unpublishVersion(t, h, h.publisher, "@acme/ui", "1.0.1"); put.status != http.StatusForbidden || !strings.Contains(put.errorMessage(), "DeletePackageVersions") {
		t.Errorf("publisher unpublish: %d %s", put.status, put.body)
	}
	put, del := unpublishVersion(t, h, h.root, "@acme/ui", "1.1.0")
	if put.status != http.StatusOK || del.status != http.StatusOK {
		t.Fatalf("unpublish: PUT %d %s, DELETE %d %s", put.status, put.body, del.status, del.body)
	}
	doc := h.get(escaped("@acme/ui"), h.reader).json(t)
	versions := doc["versions"].(map[string]any)
	if _, ok := versions["1.1.0"]; ok || len(versions) != 2 {
		t.Errorf("versions after unpublish: %v", versions)
	}
	if doc["dist-tags"].(map[string]any)["latest"] != "1.0.1" {
		t.Errorf("latest after unpublishing it: %v", doc["dist-tags"])
	}
	if _, err := h.db.GetVersion(context.Background(), dom, shared, Name{"acme", "ui"}.Ref(), "1.1.0"); domain.KindOf(err) != domain.ErrNotFound {
		t.Errorf("version still stored: %v", err)
	}
	if r := h.get("@acme/ui/-/ui-1.1.0.tgz", h.reader); r.status != http.StatusNotFound {
		t.Errorf("tarball of an unpublished version: %d", r.status)
	}
	// A stale revision is a conflict and changes nothing.
	old := packument(t, h, "@acme/ui")
	publishUI(h, "1.2.0")
	delete(old["versions"].(map[string]any), "1.0.0")
	if r := h.putJSON(escaped("@acme/ui")+"/-rev/"+old["_rev"].(string), h.root, old); r.status != http.StatusConflict {
		t.Errorf("stale rev: %d %s", r.status, r.body)
	}
	// Unlisted versions, invisible to npm, are not unpublished by a
	// document that cannot mention them.
	ref := Name{"acme", "ui"}.Ref()
	if _, err := h.db.UpdateStatus(context.Background(), domain.BatchInput{Domain: dom, Repository: shared, Ref: ref, Versions: []string{"1.0.0"}}, domain.StatusUnlisted); err != nil {
		t.Fatal(err)
	}
	if put, _ := unpublishVersion(t, h, h.root, "@acme/ui", "1.0.1"); put.status != http.StatusOK {
		t.Fatalf("unpublish 1.0.1: %d %s", put.status, put.body)
	}
	if v, err := h.db.GetVersion(context.Background(), dom, shared, ref, "1.0.0"); err != nil || v.Status != domain.StatusUnlisted {
		t.Errorf("Unlisted version touched: %+v %v", v, err)
	}
	// The tarball DELETE for a version already gone is answered 200.
	if r := h.do(http.MethodDelete, "@acme/ui/-/ui-7.7.7.tgz/-rev/1-x", h.root, nil); r.status != http.StatusOK {
		t.Errorf("DELETE tarball of a missing version: %d", r.status)
	}
	if r := h.do(http.MethodDelete, "@acme/ui/-/ui-1.2.0.tgz/-rev/1-x", h.reader, nil); r.status != http.StatusForbidden {
		t.Errorf("reader DELETE tarball: %d", r.status)
	}
}

func TestUnpublishPackage(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0")
	rev := packument(t, h, "@acme/ui")["_rev"].(string)
	if r := h.do(http.MethodDelete, escaped("@acme/ui")+"/-rev/0-stale", h.root, nil); r.status != http.StatusConflict {
		t.Errorf("stale rev: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, escaped("@acme/ui")+"/-rev/"+rev, h.publisher, nil); r.status != http.StatusForbidden || !strings.Contains(r.errorMessage(), "DeletePackage") {
		t.Errorf("publisher: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, escaped("@acme/ui")+"/-rev/"+rev, h.root, nil); r.status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := h.get(escaped("@acme/ui"), h.reader); r.status != http.StatusNotFound || r.errorMessage() != "package @acme/ui not found" {
		t.Errorf("after delete: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, escaped("@acme/ui")+"/-rev/"+rev, h.root, nil); r.status != http.StatusNotFound {
		t.Errorf("second DELETE: %d", r.status)
	}
}

func TestPingWhoamiLogin(t *testing.T) {
	h := newHarness(t)
	if r := h.get("-/ping", h.reader); r.status != http.StatusOK || string(bytes.TrimSpace(r.body)) != "{}" {
		t.Errorf("ping: %d %s", r.status, r.body)
	}
	if r := h.get("-/ping", ""); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous ping: %d %v", r.status, r.header)
	}
	if r := h.get("/npm/acme/nope/-/ping", h.reader); r.status != http.StatusNotFound {
		t.Errorf("ping of an unknown repository: %d", r.status)
	}
	if r := h.get("-/whoami", h.publisher); r.status != http.StatusOK || r.json(t)["username"] != "publisher" {
		t.Errorf("whoami: %d %s", r.status, r.body)
	}
	if r := h.get("-/whoami", ""); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous whoami: %d", r.status)
	}
	if r := h.do(http.MethodPut, "-/user/org.couchdb.user:bob", "", strings.NewReader(`{}`)); r.status != http.StatusBadRequest || !strings.Contains(r.errorMessage(), "aws codeartifact login") {
		t.Errorf("adduser: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPost, "-/ping", h.reader, nil); r.status != http.StatusMethodNotAllowed || r.errorMessage() == "" {
		t.Errorf("POST ping: %d %s", r.status, r.body)
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t)
	publishUI(h, "1.0.0", "1.1.0")
	h.publish(pkg{name: "left-pad", version: "1.3.0", manifest: map[string]any{"description": "String left pad", "keywords": []any{"pad", "string"}}})
	h.publish(pkg{name: "@other/tool", version: "0.1.0", manifest: map[string]any{"description": "tooling"}})
	type result struct {
		Objects []struct {
			Package struct {
				Name, Version, Description, Date, Scope string
				Maintainers                             []any
				Links                                   map[string]string
			}
		}
		Total int
		Time  string
	}
	search := func(query string) result {
		t.Helper()
		r := h.get("-/v1/search?"+query, h.reader)
		if r.status != http.StatusOK {
			t.Fatalf("search %s: %d %s", query, r.status, r.body)
		}
		var res result
		json.Unmarshal(r.body, &res)
		return res
	}
	names := func(res result) string {
		var out []string
		for _, o := range res.Objects {
			out = append(out, o.Package.Name+"@"+o.Package.Version)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ query, want string }{
		{"text=acme", "@acme/ui@1.1.0"},
		{"text=PAD", "left-pad@1.3.0"},
		{"text=string+pad", "left-pad@1.3.0"},
		{"text=keywords:pad", "left-pad@1.3.0"},
		{"text=scope:other", "@other/tool@0.1.0"},
		{"text=", "@acme/ui@1.1.0 @other/tool@0.1.0 left-pad@1.3.0"},
		{"text=&size=1&from=1", "@other/tool@0.1.0"},
		{"text=nothing-matches", ""},
	} {
		if got := names(search(tc.query)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	res := search("text=ui")
	if res.Total != 1 || res.Time == "" || res.Objects[0].Package.Description != "ACME UI kit" || res.Objects[0].Package.Date == "" ||
		res.Objects[0].Package.Maintainers == nil || res.Objects[0].Package.Links["homepage"] != "https://acme.example/ui" {
		t.Errorf("result shape: %+v", res)
	}
	if r := h.get("-/v1/search?text=x&size=-1", h.reader); r.status != http.StatusBadRequest {
		t.Errorf("bad size: %d", r.status)
	}
	if r := h.get("-/v1/search?text=x", ""); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous search: %d", r.status)
	}
}
