package npm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func record(version, meta string) domain.VersionRecord {
	return domain.VersionRecord{
		PackageVersion: domain.PackageVersion{Version: version, Status: domain.StatusPublished},
		Metadata:       json.RawMessage(meta),
		Assets: []domain.Asset{{Name: assetName, Hashes: domain.Hashes{SHA1: strings.Repeat("a", 40),
			SHA512: strings.Repeat("00", 64)}}},
	}
}

func TestWriteVersion(t *testing.T) {
	n := Name{Scope: "acme", Pkg: "ui"}
	for _, tc := range []struct {
		name, meta  string
		abbreviated bool
		want        map[string]any // fields that must have these values; nil = absent
	}{
		{"registry fields win", `{"name":"evil","version":"6.6.6","_id":"x","dist":{"tarball":"http://elsewhere/x.tgz","integrity":"sha1-x","fileCount":3}}`, false,
			map[string]any{"name": "@acme/ui", "version": "1.0.0", "_id": "@acme/ui@1.0.0",
				"dist": map[string]any{"tarball": "http://r/npm/acme/shared/@acme/ui/-/ui-1.0.0.tgz", "fileCount": 3.0,
					"shasum": strings.Repeat("a", 40), "integrity": "sha512-" + strings.Repeat("A", 86) + "=="}}},
		{"abbreviated keeps installer fields", `{"description":"d","scripts":{"install":"x"},"deprecated":"old","bundledDependencies":["a"],"readmeFilename":"README.md"}`, true,
			map[string]any{"description": nil, "scripts": nil, "readmeFilename": nil, "deprecated": "old", "hasInstallScript": true,
				"bundleDependencies": []any{"a"}, "_id": nil}},
		{"declared hasInstallScript kept", `{"hasInstallScript":false,"scripts":{"postinstall":"x"}}`, true,
			map[string]any{"hasInstallScript": false}},
		{"whitespace and escapes", "{ \"a\\\"b\" : [ 1 , {\"}\":\"]\"} ] ,\n\"c\":null }", false,
			map[string]any{"a\"b": []any{1.0, map[string]any{"}": "]"}}}},
		{"not an object", `[1,2]`, false, map[string]any{"name": "@acme/ui"}},
		{"empty", ``, true, map[string]any{"version": "1.0.0"}},
	} {
		var b bytes.Buffer
		writeVersion(&b, record("1.0.0", tc.meta), n, "http://r/npm/acme/shared/", tc.abbreviated)
		var got map[string]any
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Errorf("%s: invalid JSON %v: %s", tc.name, err, b.Bytes())
			continue
		}
		for k, want := range tc.want {
			have, present := got[k]
			if want == nil {
				if present {
					t.Errorf("%s: %s = %v, want it absent", tc.name, k, have)
				}
				continue
			}
			gb, _ := json.Marshal(have)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("%s: %s = %s, want %s", tc.name, k, gb, wb)
			}
		}
	}
}

func TestVisible(t *testing.T) {
	pv := domain.PackageView{
		Package:  domain.Package{PackageRef: Name{Pkg: "x"}.Ref()},
		DistTags: map[string]string{"latest": "3.0.0", "beta": "2.0.0-b.1", "gone": "9.9.9"},
		Versions: []domain.VersionRecord{record("1.0.0", `{}`), record("1.10.0", `{}`), record("1.9.0", `{}`), record("2.0.0-b.1", `{}`), record("3.0.0", `{}`)},
	}
	pv.Versions[4].Status = domain.StatusUnlisted
	pv.Versions[0].Assets = nil // no tarball: not installable, not listed
	v, ok := visible(pv)
	if !ok || len(v.versions) != 3 {
		t.Fatalf("visible: %v %d", ok, len(v.versions))
	}
	if v.latest != "1.10.0" || v.tags["beta"] != "2.0.0-b.1" || len(v.tags) != 2 {
		t.Errorf("tags %v latest %s", v.tags, v.latest)
	}
	pv.Versions = pv.Versions[3:4]
	if v, _ := visible(pv); v.latest != "2.0.0-b.1" {
		t.Errorf("only a prerelease: latest %s", v.latest)
	}
	pv.Versions[0].Status = domain.StatusArchived
	if _, ok := visible(pv); ok {
		t.Error("nothing listed, still visible")
	}
}

// FuzzWriteVersion checks that any valid JSON stored as a manifest renders
// to a valid JSON version object in both forms.
func FuzzWriteVersion(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"dist":{"x":[1,{"y":"}"}]},"scripts":{"install":""}}`, `"s"`, `{"\u00e9":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		if !json.Valid(meta) {
			return
		}
		for _, abbreviated := range []bool{false, true} {
			var b bytes.Buffer
			writeVersion(&b, record("1.0.0", string(meta)), Name{Pkg: "x"}, "http://r/", abbreviated)
			if !json.Valid(b.Bytes()) {
				t.Fatalf("manifest %s rendered (abbreviated=%v) to invalid JSON %s", meta, abbreviated, b.Bytes())
			}
		}
	})
}

// FuzzParseUpstreamPackument checks that any document an upstream sends
// either is refused or yields versions whose full and abbreviated
// packuments are valid JSON (the manifests are spliced, not decoded).
func FuzzParseUpstreamPackument(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"x","version":"1.0.0","readme":"r","_from":"y","dist":{"tarball":"http://u/x/-/x-1.0.0.tgz","shasum":"0123456789abcdef0123456789abcdef01234567"}}},"time":{"1.0.0":"2020-01-01T00:00:00.000Z"}}`,
		`{"versions":{"1.0.0":{"dist":{"tarball":"t","integrity":"sha512-AAAA"}},"1.0.0":{}}}`,
		`{"versions":{"a\"b":{"dist":{"tarball":"t","shasum":"0123456789abcdef0123456789abcdef01234567"}}}}`,
		`{"dist-tags":[],"versions":{}}`, `[]`, `{"versions":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		up, err := parseUpstreamPackumentAt(bytes.NewReader(body), int64(len(body)), Name{Pkg: "x"}, "public:npmjs")
		if err != nil {
			return
		}
		v, ok := up.view()
		if !ok {
			return
		}
		var full, abbr bytes.Buffer
		renderFull(&full, v, up.readme, "http://r/", "1-a")
		renderAbbreviated(&abbr, v, "http://r/")
		if !json.Valid(full.Bytes()) || !json.Valid(abbr.Bytes()) {
			t.Fatalf("document %s rendered to invalid JSON:\n%s\n%s", body, full.Bytes(), abbr.Bytes())
		}
	})
}

func TestUpstreamManifestServedWithoutUnstoredFields(t *testing.T) {
	body := `{"name":"x","dist-tags":{"latest":"1.0.0"},"readme":"top","versions":{"1.0.0":{"name":"x","version":"1.0.0","readme":"per-version","_from":"y","_npmUser":{"name":"u"},"description":"d \u00e9","dist":{"tarball":"http://u/x/-/x-1.0.0.tgz","shasum":"0123456789abcdef0123456789abcdef01234567","fileCount":3}}},"time":{"1.0.0":"2020-01-01T00:00:00.000Z"}}`
	up, err := parseUpstreamPackumentAt(strings.NewReader(body), int64(len(body)), Name{Pkg: "x"}, "public:npmjs")
	if err != nil || len(up.versions) != 1 {
		t.Fatalf("%v %d", err, len(up.versions))
	}
	v, _ := up.view()
	r := v.record(0)
	if r.PublishedAt.Year() != 2020 || up.readme != "top" || r.Origin.ExternalConnection != "public:npmjs" || r.Status != domain.StatusPublished {
		t.Fatalf("record %+v, readme %q", r, up.readme)
	}
	var full bytes.Buffer
	renderFull(&full, v, up.readme, "http://r/", "1-a")
	if !strings.Contains(full.String(), `"description":"d é"`) {
		t.Errorf("the packument lacks the latest's description: %s", full.Bytes())
	}
	r = v.record(0)
	var b bytes.Buffer
	writeVersion(&b, r, Name{Pkg: "x"}, "http://r/npm/acme/app/", false)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"readme", "_from"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s served: %s", k, b.Bytes())
		}
	}
	if _, ok := m["_npmUser"]; !ok || !strings.Contains(string(m["dist"]), `"tarball":"http://r/npm/acme/app/x/-/x-1.0.0.tgz"`) || !strings.Contains(string(m["dist"]), `"fileCount":3`) ||
		!strings.Contains(string(m["dist"]), `"shasum":"0123456789abcdef0123456789abcdef01234567"`) {
		t.Errorf("served manifest %s", b.Bytes())
	}
}
