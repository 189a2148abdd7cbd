package npm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/artifactd/registry/internal/domain"
)

// collect is a sink that keeps every attachment's decoded bytes.
func collect(into map[string][]byte) func(string, io.Reader) error {
	return func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		into[name] = b
		return err
	}
}

func TestParseDocument(t *testing.T) {
	tgz := bytes.Repeat([]byte("tarball bytes "), 10_000)
	doc := pkg{name: "@acme/ui", version: "1.0.0"}.document(tgz)
	doc["readme"] = "# hi"
	body, _ := json.Marshal(doc)
	got := map[string][]byte{}
	// One byte at a time, so every read boundary is exercised.
	d, err := parseDocument(iotest.OneByteReader(bytes.NewReader(body)), collect(got))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "@acme/ui" || d.ID != "@acme/ui" || d.Readme != "# hi" || d.DistTags["latest"] != "1.0.0" {
		t.Errorf("document %+v", d)
	}
	if len(d.Versions) != 1 || d.Versions[0].Version != "1.0.0" || !json.Valid(d.Versions[0].Raw) {
		t.Errorf("versions %+v", d.Versions)
	}
	if !bytes.Equal(got["@acme/ui-1.0.0.tgz"], tgz) || len(d.Attachments) != 1 || d.Attachments[0].Size != int64(len(tgz)) {
		t.Errorf("attachment: %d bytes, %+v", len(got["@acme/ui-1.0.0.tgz"]), d.Attachments)
	}
}

func TestParseDocumentEscapedBase64(t *testing.T) {
	data := base64.StdEncoding.EncodeToString([]byte("hello, tarball???>>>"))
	wrapped := strings.ReplaceAll(data[:8]+"\\n"+data[8:], "/", "\\/")
	body := `{"name":"x","_attachments":{"x-1.0.0.tgz":{"length":20,"data":"` + wrapped + `"}}}`
	got := map[string][]byte{}
	if _, err := parseDocument(strings.NewReader(body), collect(got)); err != nil {
		t.Fatal(err)
	}
	if string(got["x-1.0.0.tgz"]) != "hello, tarball???>>>" {
		t.Errorf("decoded %q", got["x-1.0.0.tgz"])
	}
}

func TestParseDocumentErrors(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty", ``},
		{"not an object", `"x"`},
		{"truncated", `{"name":"x","versions":{"1.0.0":{"name":`},
		{"bad literal", `{"name":nope}`},
		{"missing colon", `{"name" "x"}`},
		{"trailing comma", `{"name":"x",}`},
		{"duplicate key", `{"name":"x","name":"y"}`},
		{"duplicate version", `{"versions":{"1.0.0":{},"1.0.0":{}}}`},
		{"version not object", `{"versions":{"1.0.0":[]}}`},
		{"bad nested", `{"versions":{"1.0.0":{"a":[}]}}}`},
		{"dist-tags wrong type", `{"dist-tags":["latest"]}`},
		{"data not string", `{"_attachments":{"x.tgz":{"data":5}}}`},
		{"no data", `{"_attachments":{"x.tgz":{"length":5}}}`},
		{"bad base64", `{"_attachments":{"x.tgz":{"data":"@@@@"}}}`},
		{"bad escape", `{"_attachments":{"x.tgz":{"data":"QUJD\u0041"}}}`},
		{"control char", "{\"_attachments\":{\"x.tgz\":{\"data\":\"QU\x01JD\"}}}"},
		{"unterminated data", `{"_attachments":{"x.tgz":{"data":"QUJD`},
		{"length mismatch", `{"_attachments":{"x.tgz":{"data":"QUJD","length":4}}}`},
		{"negative length", `{"_attachments":{"x.tgz":{"data":"QUJD","length":-1}}}`},
		{"trailing data", `{} {}`},
	} {
		_, err := parseDocument(strings.NewReader(tc.body), collect(map[string][]byte{}))
		if domain.KindOf(err) != domain.ErrInvalid {
			t.Errorf("%s: error %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestParseDocumentPassesReadErrors(t *testing.T) {
	limit := domain.Errorf(domain.ErrTooLarge, "too large")
	r := io.MultiReader(strings.NewReader(`{"_attachments":{"x.tgz":{"data":"QUJD`), iotest.ErrReader(limit))
	_, err := parseDocument(r, func(_ string, r io.Reader) error { _, err := io.ReadAll(r); return err })
	if !errors.Is(err, domain.ErrTooLarge) {
		t.Errorf("error %v, want the reader's ErrTooLarge", err)
	}
}

// FuzzParsePublish checks the publish document parser: it never panics,
// only fails with kinded errors, and on success every version is valid
// JSON and every attachment's size is what the sink received.
func FuzzParsePublish(f *testing.F) {
	tgz := pkg{name: "@acme/ui", version: "1.0.0"}.tarball()
	valid, _ := json.Marshal(pkg{name: "@acme/ui", version: "1.0.0", manifest: uiManifest}.document(tgz))
	f.Add(valid)
	f.Add([]byte(`{"_id":"x","_rev":"3-a","name":"x","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"deprecated":"no"}}}`))
	f.Add([]byte(`{"_attachments":{"x.tgz":{"data":"QU\/JD\n","length":3},"x.sigstore":{"data":"{\"a\":1}"}}}`))
	f.Add([]byte(`{"a":[1,{"b":"\"}"}],"c":true,"d":null,"e":-1.5e3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sizes := map[string]int64{}
		d, err := parseDocument(bytes.NewReader(body), func(name string, r io.Reader) error {
			h := sha256.New()
			n, err := io.Copy(h, r)
			sizes[name] += n
			return err
		})
		if err != nil {
			if domain.KindOf(err) == nil {
				t.Fatalf("unkinded error %v", err)
			}
			return
		}
		for _, v := range d.Versions {
			if !json.Valid(v.Raw) {
				t.Fatalf("version %q is not valid JSON: %s", v.Version, v.Raw)
			}
		}
		for _, a := range d.Attachments {
			if strings.HasSuffix(a.Name, ".tgz") && sizes[a.Name] < a.Size {
				t.Fatalf("attachment %q: sink got %d bytes, document reports %d", a.Name, sizes[a.Name], a.Size)
			}
		}
	})
}
