package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestUploadRecordsVersion(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	wheel := dist{name: "My_Lib", version: "1.0.0-alpha1", kind: Wheel, filename: "My_Lib-1.0.0a1-py3-none-any.whl",
		requires: []string{"requests (>=2.0)", `idna; python_version<"3.12"`},
		extra:    "Project-URL: Source, https://git.example.com/my-lib\nClassifier: License :: OSI Approved :: MIT License\n"}
	if r := h.uploadAs(h.publisher, wheel); r.status != http.StatusOK {
		t.Fatalf("upload: %s", r)
	}
	v, err := h.db.GetVersion(ctx, testDom, testRepo, ref("my-lib"), "1.0.0a1")
	if err != nil {
		t.Fatal(err)
	}
	if v.DisplayName != "My_Lib" || v.Summary != "My_Lib summary" || v.HomePage != "https://example.com/My_Lib" || v.SourceCodeRepository != "https://git.example.com/my-lib" ||
		len(v.Licenses) != 1 || v.Licenses[0].Name != "MIT" || v.Status != domain.StatusPublished || v.Origin.Type != domain.OriginInternal {
		t.Fatalf("version: %+v", v)
	}
	readme, _, _ := h.db.Readme(ctx, testDom, testRepo, ref("my-lib"), "1.0.0a1")
	if readme != "# My_Lib\n" {
		t.Errorf("readme %q", readme)
	}
	deps, _, err := h.db.Dependencies(ctx, testDom, testRepo, ref("my-lib"), "1.0.0a1")
	if err != nil || len(deps) != 2 || deps[0].Name != "requests" || deps[0].VersionRequirement != ">=2.0" || deps[0].Type != "Requires-Dist" ||
		deps[1].Name != "idna" || deps[1].VersionRequirement != `; python_version<"3.12"` {
		t.Fatalf("dependencies: %+v %v", deps, err)
	}
	content := wheel.bytes()
	sum := sha256.Sum256(content)
	assets, _, _, err := h.db.ListAssets(ctx, testDom, testRepo, ref("my-lib"), "1.0.0a1", domain.Page{})
	if err != nil || len(assets) != 2 || assets[0].Name != "My_Lib-1.0.0a1-py3-none-any.whl" || assets[0].Hashes.SHA256 != hex.EncodeToString(sum[:]) ||
		assets[0].Hashes.MD5 == "" || assets[0].Hashes.SHA1 == "" || assets[0].Hashes.SHA512 == "" || assets[1].Name != assets[0].Name+".metadata" {
		t.Fatalf("assets: %+v %v", assets, err)
	}

	// The sdist attaches to the same version; the first file's metadata
	// stays the version's.
	sdist := dist{name: "my-lib", version: "1.0.0a1", kind: Sdist, filename: "my_lib-1.0.0a1.tar.gz"}
	if r := h.uploadAs(h.publisher, sdist); r.status != http.StatusOK {
		t.Fatalf("sdist: %s", r)
	}
	v2, _ := h.db.GetVersion(ctx, testDom, testRepo, ref("my-lib"), "1.0.0a1")
	if v2.DisplayName != "My_Lib" || v2.Revision == v.Revision {
		t.Errorf("after the sdist: %+v", v2)
	}
	if p := h.projectJSON("my-lib"); len(p.Files) != 2 {
		t.Errorf("files: %+v", p.Files)
	}

	// The same bytes again: accepted, nothing changes. Other bytes under
	// the same name: 409, nothing changes.
	stamp, _ := h.db.PackageStamp(ctx, testDom, testRepo, ref("my-lib"))
	if r := h.uploadAs(h.publisher, sdist); r.status != http.StatusOK {
		t.Fatalf("identical re-upload: %s", r)
	}
	changed := sdist
	changed.payload = "other bytes"
	r := h.uploadAs(h.publisher, changed)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "File already exists") {
		t.Fatalf("different bytes: %s", r)
	}
	if again, _ := h.db.PackageStamp(ctx, testDom, testRepo, ref("my-lib")); again != stamp {
		t.Errorf("package changed: %s -> %s", stamp, again)
	}
}

// TestUploadRefusals sends bad uploads; each gets a clear 4xx and leaves
// nothing behind in the metadata store.
func TestUploadRefusals(t *testing.T) {
	h := newHarness(t)
	good := dist{name: "bad-lib", version: "1.0", kind: Wheel}
	content := good.bytes()
	fields := good.form(content)
	without := func(name string) [][2]string {
		var out [][2]string
		for _, f := range fields {
			if f[0] != name {
				out = append(out, f)
			}
		}
		return out
	}
	with := func(name, value string) [][2]string {
		return append(without(name), [2]string{name, value})
	}
	notWheel := []byte("PK\x03\x04 this is not a zip")
	noMetadata := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("bad_lib-1.0.dist-info/WHEEL")
		w.Write([]byte("Wheel-Version: 1.0\n"))
		zw.Close()
		return buf.Bytes()
	}()
	badMetadata := dist{name: "bad-lib", version: "1.0", kind: Wheel, extra: "not a field line\n"}
	otherName := dist{name: "bad-lib", metaName: "other-lib", version: "1.0", kind: Wheel}
	otherVersion := dist{name: "bad-lib", version: "2.0", kind: Wheel, filename: "bad_lib-1.0-py3-none-any.whl"}
	sdistNoPKGInfo := dist{name: "bad-lib", version: "1.0", kind: Sdist}

	var noDigest [][2]string
	for _, f := range fields {
		if !strings.HasSuffix(f[0], "_digest") {
			noDigest = append(noDigest, f)
		}
	}
	type upload struct {
		fields   [][2]string
		filename string
		content  []byte
		after    [][2]string // fields sent after the file
	}
	for name, tc := range map[string]struct {
		up     upload
		status int
		msg    string
	}{
		"no :action":             {upload{without(":action"), good.fileName(), content, nil}, 400, ":action"},
		"other :action":          {upload{with(":action", "submit"), good.fileName(), content, nil}, 400, ":action"},
		"protocol 2":             {upload{with("protocol_version", "2"), good.fileName(), content, nil}, 400, "protocol_version"},
		"no name":                {upload{without("name"), good.fileName(), content, nil}, 400, "name"},
		"bad name":               {upload{with("name", "../x"), good.fileName(), content, nil}, 400, "not a valid project name"},
		"no version":             {upload{without("version"), good.fileName(), content, nil}, 400, "version"},
		"no filetype":            {upload{without("filetype"), good.fileName(), content, nil}, 400, "filetype"},
		"no metadata_version":    {upload{without("metadata_version"), good.fileName(), content, nil}, 400, "metadata_version"},
		"egg":                    {upload{with("filetype", "bdist_egg"), good.fileName(), content, nil}, 400, "bdist_egg"},
		"filetype mismatch":      {upload{with("filetype", "sdist"), good.fileName(), content, nil}, 400, "does not match"},
		"no digest":              {upload{noDigest, good.fileName(), content, nil}, 400, "no digest"},
		"md5 mismatch":           {upload{with("md5_digest", strings.Repeat("0", 32)), good.fileName(), content, nil}, 400, "md5_digest does not match"},
		"sha256 mismatch":        {upload{with("sha256_digest", strings.Repeat("0", 64)), good.fileName(), content, nil}, 400, "sha256_digest does not match"},
		"blake2 mismatch":        {upload{with("blake2_256_digest", strings.Repeat("0", 64)), good.fileName(), content, nil}, 400, "blake2_256_digest does not match"},
		"malformed digest":       {upload{with("md5_digest", "xyz"), good.fileName(), content, nil}, 400, "hex"},
		"no file":                {upload{fields, "", nil, nil}, 400, "no file"},
		"file name unparseable":  {upload{fields, "bad_lib.whl", content, nil}, 400, "invalid distribution file name"},
		"traversal":              {upload{fields, "../bad_lib-1.0-py3-none-any.whl", content, nil}, 400, "path"},
		"directory":              {upload{fields, "dist/bad_lib-1.0-py3-none-any.whl", content, nil}, 400, "path"},
		"other project's file":   {upload{fields, "evil-1.0-py3-none-any.whl", content, nil}, 400, "not a distribution of"},
		"other version's file":   {upload{fields, "bad_lib-2.0-py3-none-any.whl", content, nil}, 400, "not for version"},
		"zip not a wheel":        {upload{digests(fields, notWheel), good.fileName(), notWheel, nil}, 400, "not a wheel"},
		"wheel without METADATA": {upload{digests(fields, noMetadata), good.fileName(), noMetadata, nil}, 400, "METADATA"},
		"METADATA unparseable":   {upload{badMetadata.form(badMetadata.bytes()), good.fileName(), badMetadata.bytes(), nil}, 400, "core metadata"},
		"METADATA other name":    {upload{digests(fields, otherName.bytes()), otherName.fileName(), otherName.bytes(), nil}, 400, "metadata in bad_lib-1.0.whl is for other-lib"},
		"METADATA other version": {upload{digests(fields, otherVersion.bytes()), otherVersion.fileName(), otherVersion.bytes(), nil}, 400, "is for bad-lib 2.0"},
		"sdist not gzip":         {upload{digests(with("filetype", "sdist"), content), "bad_lib-1.0.tar.gz", content, nil}, 400, "gzip"},
		"sdist without PKG-INFO": {upload{digests(with("filetype", "sdist"), tarGz("bad_lib-1.0/setup.py")), sdistNoPKGInfo.fileName(), tarGz("bad_lib-1.0/setup.py"), nil}, 400, "PKG-INFO"},
		"name after content":     {upload{without("name"), good.fileName(), content, [][2]string{{"name", "bad-lib"}}}, 400, "name the project before the file"},
		"too large":              {upload{fields, good.fileName(), bytes.Repeat([]byte("x"), 9<<20), nil}, 413, "limit"},
	} {
		t.Run(name, func(t *testing.T) {
			body, ct := multipartBody(tc.up.fields, tc.up.filename, tc.up.content, tc.up.after...)
			r := h.do(http.MethodPost, "", h.root, body, "Content-Type", ct)
			if r.status != tc.status || !strings.Contains(string(r.body), tc.msg) {
				t.Fatalf("got %s, want %d with %q", r, tc.status, tc.msg)
			}
			if _, err := h.db.PackageStamp(context.Background(), testDom, testRepo, ref("bad-lib")); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("something was stored: %v", err)
			}
		})
	}
	for name, req := range map[string][2]string{
		"not multipart": {"application/x-www-form-urlencoded", ":action=file_upload&name=bad-lib"},
		"no boundary":   {"multipart/form-data", "x"},
		"truncated":     {"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbad-lib"},
	} {
		if r := h.do(http.MethodPost, "", h.root, strings.NewReader(req[1]), "Content-Type", req[0]); r.status != http.StatusBadRequest {
			t.Errorf("%s: %s", name, r)
		}
	}
	// A declared length over the limit is refused before the body is read.
	req := httptest.NewRequest(http.MethodPost, "/pypi/acme/shared/", strings.NewReader("x"))
	req.ContentLength = 1 << 30
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Authorization", "Bearer "+h.root)
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared oversize: %d %s", w.Code, w.Body)
	}
}

// digests replaces the digest fields with those of content.
func digests(fields [][2]string, content []byte) [][2]string {
	fresh := dist{}.form(content)
	var out [][2]string
	for _, f := range fields {
		if !strings.HasSuffix(f[0], "_digest") {
			out = append(out, f)
		}
	}
	for _, f := range fresh {
		if strings.HasSuffix(f[0], "_digest") {
			out = append(out, f)
		}
	}
	return out
}

// tarGz builds a gzip-compressed tar with empty files.
func tarGz(names ...string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg})
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUploadAuthorization(t *testing.T) {
	h := newHarness(t)
	d := dist{name: "my-lib", version: "1.0", kind: Wheel}
	r := h.uploadAs("", d)
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous upload: %s %v", r, r.header)
	}
	if r := h.uploadAs(h.reader, d); r.status != http.StatusForbidden {
		t.Fatalf("reader upload: %s", r)
	}
	// The publish permission is per package: a policy allowing only
	// another package refuses this one.
	ctx := context.Background()
	p, _ := h.db.CreateUser(ctx, "narrow", "/")
	h.db.PutUserPolicy(ctx, "narrow", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codeartifact:*",
		"Resource":"arn:aws:codeartifact:us-east-1:123456789012:package/acme/shared/pypi//other-lib"}]}`)
	narrow := h.token(p.ID, "narrow")
	if r := h.uploadAs(narrow, d); r.status != http.StatusForbidden {
		t.Fatalf("upload to a package the policy does not name: %s", r)
	}
	if r := h.uploadAs(narrow, dist{name: "Other.Lib", version: "1.0", kind: Wheel}); r.status != http.StatusOK {
		t.Fatalf("upload to the package the policy names: %s", r)
	}
	// Uploading to the repository URL without its trailing slash works too.
	content := d.bytes()
	body, ct := multipartBody(d.form(content), d.fileName(), content)
	if r := h.do(http.MethodPost, "/pypi/acme/shared", h.root, body, "Content-Type", ct); r.status != http.StatusOK {
		t.Fatalf("upload without trailing slash: %s", r)
	}
}

// TestConcurrentUploads uploads many files of one new version at once:
// one creates the version, the others attach to it, none is lost.
func TestConcurrentUploads(t *testing.T) {
	h := newHarness(t)
	plats := []string{"any", "linux_x86_64", "win32", "win_amd64", "macosx_11_0_arm64", "manylinux_2_28_aarch64"}
	var wg sync.WaitGroup
	statuses := make(chan response, len(plats)*2)
	for _, p := range plats {
		for i := 0; i < 2; i++ { // each file twice: identical bytes are fine
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := dist{name: "my-lib", version: "3.0", kind: Wheel, filename: "my_lib-3.0-py3-none-" + p + ".whl"}
				content := d.bytes()
				body, ct := multipartBody(d.form(content), d.fileName(), content)
				statuses <- h.do(http.MethodPost, "", h.root, body, "Content-Type", ct)
			}()
		}
	}
	wg.Wait()
	close(statuses)
	for r := range statuses {
		if r.status != http.StatusOK {
			t.Fatalf("upload: %s", r)
		}
	}
	if p := h.projectJSON("my-lib"); len(p.Files) != len(plats) {
		t.Fatalf("files %d, want %d", len(p.Files), len(plats))
	}
}
