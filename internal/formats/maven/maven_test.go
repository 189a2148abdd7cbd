package maven

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// TestDeployRelease follows a release through mvn deploy's requests: files
// are readable by exact path while the version is Unfinished, it is not
// listed until the artifact-level metadata arrives, and then the
// registry's own metadata lists it.
func TestDeployRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	jar := []byte("PK\x03\x04 not really a jar")
	pom := lib.pom("1.0.0", `<packaging>jar</packaging><name>Acme lib</name><description>A library</description>
<url>https://acme.example/lib</url><licenses><license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0</url></license></licenses>
<scm><url>https://git.example/acme</url></scm>
<parent><groupId>com.acme</groupId><artifactId>acme-parent</artifactId><version>1.0.0</version></parent>
<properties><guava.version>33.0</guava.version></properties>
<dependencies>
  <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId><version>${guava.version}</version></dependency>
  <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  <dependency><groupId>javax.servlet</groupId><artifactId>servlet-api</artifactId><version>2.5</version><scope>provided</scope></dependency>
  <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>2.0.9</version><scope>runtime</scope></dependency>
  <dependency><groupId>com.acme</groupId><artifactId>acme-extra</artifactId><version>${project.version}</version><optional>true</optional></dependency>
</dependencies>`)

	// The resolver asks for the metadata before uploading: not there yet.
	if r := h.get(lib.dir() + MetadataFile); r.status != http.StatusNotFound {
		t.Fatalf("metadata of an unknown artifact: %s", r)
	}
	base := lib.dir() + "1.0.0/"
	h.mustPut(base+"acme-lib-1.0.0.jar", jar)
	h.mustPut(base+"acme-lib-1.0.0.jar.sha1", []byte(sha1Hex(jar)))
	h.mustPut(base+"acme-lib-1.0.0.pom", pom)
	if v := h.version(lib, "1.0.0"); v.Status != domain.StatusUnfinished {
		t.Fatalf("status before metadata: %s", v.Status)
	}
	if r := h.get(base + "acme-lib-1.0.0.jar"); r.status != http.StatusOK || string(r.body) != string(jar) {
		t.Fatalf("Unfinished file by exact path: %s", r)
	}
	if r := h.get(lib.dir() + MetadataFile); r.status != http.StatusNotFound {
		t.Fatalf("metadata lists an Unfinished version: %s", r)
	}
	h.mustPut(lib.dir()+MetadataFile, lib.metadata("1.0.0"))
	h.mustPut(lib.dir()+MetadataFile+".sha1", []byte(sha1Hex(lib.metadata("1.0.0"))))
	v := h.version(lib, "1.0.0")
	if v.Status != domain.StatusPublished {
		t.Fatalf("status after metadata: %s", v.Status)
	}
	if v.DisplayName != "Acme lib" || v.Summary != "A library" || v.HomePage != "https://acme.example/lib" ||
		v.SourceCodeRepository != "https://git.example/acme" || len(v.Licenses) != 1 || v.Licenses[0].Name != "Apache-2.0" {
		t.Errorf("POM metadata not recorded: %+v", v)
	}
	deps, _, err := h.db.Dependencies(context.Background(), dom, repo, lib.ref(), "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, fmt.Sprintf("%s:%s:%s:%s", d.Type, d.Namespace, d.Name, d.VersionRequirement))
	}
	want := "parent:com.acme:acme-parent:1.0.0 compile:com.google.guava:guava:33.0 test:junit:junit:4.13.2 " +
		"provided:javax.servlet:servlet-api:2.5 runtime:org.slf4j:slf4j-simple:2.0.9 optional:com.acme:acme-extra:1.0.0"
	if strings.Join(got, " ") != want {
		t.Errorf("dependencies:\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	r := h.get(lib.dir() + MetadataFile)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "<version>1.0.0</version>") ||
		!strings.Contains(string(r.body), "<release>1.0.0</release>") || !strings.Contains(string(r.body), "<latest>1.0.0</latest>") {
		t.Fatalf("metadata: %s", r)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("metadata content type %q", ct)
	}
	// Checksums of the metadata are those of the served bytes.
	if c := h.get(lib.dir() + MetadataFile + ".sha1"); string(c.body) != sha1Hex(r.body) {
		t.Errorf("metadata sha1 %q, want %q", c.body, sha1Hex(r.body))
	}
	// Strong ETag, 304.
	etag := r.header.Get("ETag")
	if r2 := h.get(lib.dir()+MetadataFile, "If-None-Match", etag); r2.status != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d", etag, r2.status)
	}

	// Every checksum of every file, lowercase hex.
	for algo, sum := range map[string]string{
		"md5": fmt.Sprintf("%x", md5.Sum(jar)), "sha1": sha1Hex(jar),
		"sha256": fmt.Sprintf("%x", sha256.Sum256(jar)), "sha512": fmt.Sprintf("%x", sha512.Sum512(jar)),
	} {
		if r := h.get(base + "acme-lib-1.0.0.jar." + algo); r.status != http.StatusOK || string(r.body) != sum {
			t.Errorf("%s: %s, want %s", algo, r, sum)
		}
	}
	// HEAD, Range and conditional requests on files.
	if r := h.do(http.MethodHead, base+"acme-lib-1.0.0.jar", h.reader, nil); r.status != http.StatusOK || r.header.Get("Content-Length") != fmt.Sprint(len(jar)) {
		t.Errorf("HEAD: %s %v", r, r.header)
	}
	if r := h.get(base+"acme-lib-1.0.0.jar", "Range", "bytes=0-3"); r.status != http.StatusPartialContent || string(r.body) != "PK\x03\x04" {
		t.Errorf("Range: %s", r)
	}
	fileTag := fmt.Sprintf(`"%x"`, sha256.Sum256(jar))
	if r := h.get(base+"acme-lib-1.0.0.jar", "If-None-Match", fileTag); r.status != http.StatusNotModified {
		t.Errorf("file If-None-Match: %d", r.status)
	}

	// Maven allows files to be added to a published version.
	h.mustPut(base+"acme-lib-1.0.0-sources.jar", []byte("sources"))
	if v := h.version(lib, "1.0.0"); v.Status != domain.StatusPublished {
		t.Errorf("adding a file changed the status to %s", v.Status)
	}
}

// TestRepublish: the same path with identical bytes is accepted, with
// different bytes it is a 409 and the stored file is unchanged.
func TestRepublish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.deploy(lib, "1.0.0", map[string][]byte{"acme-lib-1.0.0.jar": []byte("one"), "acme-lib-1.0.0.pom": lib.pom("1.0.0", "")})
	path := lib.dir() + "1.0.0/acme-lib-1.0.0.jar"
	if r := h.put(path, []byte("one")); r.status != http.StatusOK {
		t.Errorf("identical re-upload: %s", r)
	}
	r := h.put(path, []byte("two"))
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "different content") {
		t.Errorf("different bytes: %s", r)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("error content type %q", r.header.Get("Content-Type"))
	}
	if r := h.get(path); string(r.body) != "one" {
		t.Errorf("file after refused overwrite: %q", r.body)
	}
}

// TestChecksumUploads: uploaded checksums are verified against the
// computed digests and never stored.
func TestChecksumUploads(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	jar := []byte("jar bytes")
	base := lib.dir() + "2.0/"
	if r := h.put(base+"acme-lib-2.0.jar.sha1", []byte(sha1Hex(jar))); r.status != http.StatusNotFound {
		t.Errorf("checksum before its file: %s", r)
	}
	h.mustPut(base+"acme-lib-2.0.jar", jar)
	for _, tc := range []struct {
		name, file, body string
		want             int
	}{
		{"sha1", "acme-lib-2.0.jar.sha1", sha1Hex(jar), http.StatusCreated},
		{"sha1 with file name", "acme-lib-2.0.jar.sha1", sha1Hex(jar) + "  acme-lib-2.0.jar\n", http.StatusCreated},
		{"md5", "acme-lib-2.0.jar.md5", fmt.Sprintf("%x", md5.Sum(jar)), http.StatusCreated},
		{"sha512", "acme-lib-2.0.jar.sha512", fmt.Sprintf("%x", sha512.Sum512(jar)), http.StatusCreated},
		{"mismatch", "acme-lib-2.0.jar.sha1", sha1Hex([]byte("other")), http.StatusBadRequest},
		{"uppercase", "acme-lib-2.0.jar.sha1", strings.ToUpper(sha1Hex(jar)), http.StatusBadRequest},
		{"empty", "acme-lib-2.0.jar.sha1", "", http.StatusBadRequest},
		{"absent file", "acme-lib-2.0-sources.jar.sha1", sha1Hex(jar), http.StatusNotFound},
	} {
		if r := h.put(base+tc.file, []byte(tc.body)); r.status != tc.want {
			t.Errorf("%s: %s, want %d", tc.name, r, tc.want)
		}
	}
	assets, _, _, err := h.db.ListAssets(context.Background(), dom, repo, lib.ref(), "2.0", domain.Page{})
	if err != nil || len(assets) != 1 {
		t.Fatalf("assets %v %v: checksums must not be stored", assets, err)
	}
	// Metadata checksums are compared with the uploaded document.
	md := lib.metadata("2.0")
	h.mustPut(lib.dir()+MetadataFile, md)
	if r := h.put(lib.dir()+MetadataFile+".sha1", []byte(sha1Hex(md))); r.status != http.StatusCreated {
		t.Errorf("metadata sha1: %s", r)
	}
	if r := h.put(lib.dir()+MetadataFile+".md5", []byte(sha1Hex(md)[:32])); r.status != http.StatusBadRequest {
		t.Errorf("metadata md5 mismatch: %s", r)
	}
	if r := h.put("org/unknown/thing/"+MetadataFile+".sha1", []byte(sha1Hex(md))); r.status != http.StatusNotFound {
		t.Errorf("checksum of unknown metadata: %s", r)
	}
}

// TestSnapshots deploys two timestamped builds of a snapshot as Maven 3
// does: the newest is Published, the older Unlisted, the snapshot-level
// metadata names the newest, and -SNAPSHOT file names resolve to it.
func TestSnapshots(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	snapDir := lib.dir() + "1.1-SNAPSHOT/"
	if r := h.get(snapDir + MetadataFile); r.status != http.StatusNotFound {
		t.Fatalf("snapshot metadata before any build: %s", r)
	}
	builds := []string{"1.1-20261121.101530-1", "1.1-20261121.111530-2"}
	for i, b := range builds {
		jar := []byte("build " + b)
		h.mustPut(snapDir+"acme-lib-"+b+".jar", jar)
		h.mustPut(snapDir+"acme-lib-"+b+".pom", lib.pom("1.1-SNAPSHOT", ""))
		h.mustPut(snapDir+"acme-lib-"+b+"-sources.jar", []byte("src"))
		ts := strings.Split(b, "-")[1]
		h.mustPut(snapDir+MetadataFile, []byte(fmt.Sprintf(`<metadata modelVersion="1.1.0"><groupId>com.acme</groupId><artifactId>acme-lib</artifactId>
<version>1.1-SNAPSHOT</version><versioning><snapshot><timestamp>%s</timestamp><buildNumber>%d</buildNumber></snapshot></versioning></metadata>`, ts, i+1)))
		h.mustPut(lib.dir()+MetadataFile, lib.metadata("1.1-SNAPSHOT"))
	}
	if v := h.version(lib, builds[0]); v.Status != domain.StatusUnlisted {
		t.Errorf("older build: %s", v.Status)
	}
	if v := h.version(lib, builds[1]); v.Status != domain.StatusPublished {
		t.Errorf("newer build: %s", v.Status)
	}
	r := h.get(snapDir + MetadataFile)
	for _, want := range []string{"<version>1.1-SNAPSHOT</version>", "<timestamp>20261121.111530</timestamp>", "<buildNumber>2</buildNumber>",
		"<classifier>sources</classifier>", "<extension>pom</extension>", "<value>1.1-20261121.111530-2</value>"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("snapshot metadata lacks %s:\n%s", want, r.body)
		}
	}
	if a := h.get(lib.dir() + MetadataFile); !strings.Contains(string(a.body), "<version>1.1-SNAPSHOT</version>") || strings.Contains(string(a.body), "<release>") {
		t.Errorf("artifact metadata:\n%s", a.body)
	}
	if r := h.get(snapDir + "acme-lib-1.1-SNAPSHOT.jar"); string(r.body) != "build "+builds[1] {
		t.Errorf("-SNAPSHOT name: %s", r)
	}
	if r := h.get(snapDir + "acme-lib-" + builds[0] + ".jar"); string(r.body) != "build "+builds[0] {
		t.Errorf("an Unlisted build by exact path: %s", r)
	}
	r = h.put(snapDir+"acme-lib-1.1-SNAPSHOT.jar", []byte("maven 2"))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "non-unique") {
		t.Errorf("non-unique snapshot upload: %s", r)
	}
	if r := h.put(snapDir+"acme-lib-1.1-20261121.121530-3.pom", lib.pom("1.1", "")); r.status != http.StatusBadRequest {
		t.Errorf("a snapshot POM saying a release version: %s", r)
	}
}

// TestMetadataOrder: versions are listed in Maven's order, latest is the
// highest, release the highest non-snapshot; Unfinished and Unlisted
// versions are left out.
func TestMetadataOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	versions := []string{"1.10", "1.2", "1.0-beta-1", "1.0", "1.0-rc1", "2.0-alpha1", "1.0-sp1"}
	for _, v := range versions {
		h.mustPut(lib.dir()+v+"/acme-lib-"+v+".pom", lib.pom(v, ""))
	}
	h.mustPut(lib.dir()+MetadataFile, lib.metadata(versions...))
	h.mustPut(lib.dir()+"3.0/acme-lib-3.0.pom", lib.pom("3.0", "")) // stays Unfinished
	if _, err := h.db.UpdateStatus(context.Background(), domain.BatchInput{Domain: dom, Repository: repo, Ref: lib.ref(), Versions: []string{"1.2"}}, domain.StatusUnlisted); err != nil {
		t.Fatal(err)
	}
	r := h.get(lib.dir() + MetadataFile)
	want := "<latest>2.0-alpha1</latest>\n    <release>2.0-alpha1</release>\n    <versions>\n" +
		"      <version>1.0-beta-1</version>\n      <version>1.0-rc1</version>\n      <version>1.0</version>\n" +
		"      <version>1.0-sp1</version>\n      <version>1.10</version>\n      <version>2.0-alpha1</version>\n    </versions>"
	if !strings.Contains(string(r.body), want) {
		t.Errorf("metadata:\n%s\nwant\n%s", r.body, want)
	}
	// Publishing through the control plane lists a version too.
	if _, err := h.db.UpdateStatus(context.Background(), domain.BatchInput{Domain: dom, Repository: repo, Ref: lib.ref(), Versions: []string{"3.0"}}, domain.StatusPublished); err != nil {
		t.Fatal(err)
	}
	if r := h.get(lib.dir() + MetadataFile); !strings.Contains(string(r.body), "<latest>3.0</latest>") {
		t.Errorf("after publishing 3.0 through the control plane:\n%s", r.body)
	}
}

// TestMetadataCache: metadata is rendered once per package state.
func TestMetadataCache(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.deploy(lib, "1.0", map[string][]byte{"acme-lib-1.0.pom": lib.pom("1.0", "")})
	before := h.f.renders.Load()
	for i := 0; i < 5; i++ {
		h.get(lib.dir() + MetadataFile)
		h.get(lib.dir() + MetadataFile + ".sha1")
	}
	if n := h.f.renders.Load() - before; n != 1 {
		t.Errorf("rendered %d times for one state", n)
	}
	h.deploy(lib, "1.1", map[string][]byte{"acme-lib-1.1.pom": lib.pom("1.1", "")})
	if r := h.get(lib.dir() + MetadataFile); !strings.Contains(string(r.body), "<latest>1.1</latest>") {
		t.Errorf("stale metadata after a change:\n%s", r.body)
	}
}

// TestBadInput: unsafe paths, mismatched coordinates, malformed or hostile
// XML and oversize files get a clear plain-text error and store nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	billion := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`
	external := `<?xml version="1.0"?><!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`
	for _, tc := range []struct {
		name, path string
		body       []byte
		want       int
		msg        string
	}{
		{"dot-dot", "com/acme/../acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, ".."},
		{"encoded dot-dot", "com/acme/%2e%2e/acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, ".."},
		{"encoded slash", "com%2Facme/acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, "separator"},
		{"encoded backslash", "com/acme%5cx/acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, "separator"},
		{"absolute", "/maven/acme/shared//etc/acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, "absolute"},
		{"empty segment", "com//acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, "empty"},
		{"file of another artifact", "com/acme/acme-lib/1.0/other-1.0.jar", []byte("x"), 400, "does not start with"},
		{"file of another version", "com/acme/acme-lib/1.0/acme-lib-1.1.jar", []byte("x"), 400, "does not belong"},
		{"no extension", "com/acme/acme-lib/1.0/acme-lib-1.0", []byte("x"), 400, ""},
		{"POM of another artifact", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", artifact{"com.acme", "other"}.pom("1.0", ""), 400, "artifactId"},
		{"POM of another group", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", artifact{"org.acme", "acme-lib"}.pom("1.0", ""), 400, "groupId"},
		{"POM of another version", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", lib.pom("1.1", ""), 400, "version"},
		{"malformed POM", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", []byte("<project><groupId>com.acme</groupId>"), 400, "malformed"},
		{"not a POM", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", []byte("PK\x03\x04"), 400, "malformed"},
		{"entity expansion POM", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", []byte(billion + `<project><artifactId>&lol2;</artifactId></project>`), 400, "DOCTYPE"},
		{"external entity POM", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", []byte(external + `<project><artifactId>&xxe;</artifactId></project>`), 400, "DOCTYPE"},
		{"undefined entity POM", "com/acme/acme-lib/1.0/acme-lib-1.0.pom", []byte(`<project><artifactId>&xxe;</artifactId></project>`), 400, "malformed"},
		{"metadata of another artifact", "com/acme/acme-lib/" + MetadataFile, artifact{"com.acme", "other"}.metadata("1.0"), 400, "artifactId"},
		{"metadata of another group", "com/acme/acme-lib/" + MetadataFile, artifact{"com.other", "acme-lib"}.metadata("1.0"), 400, "groupId"},
		{"malformed metadata", "com/acme/acme-lib/" + MetadataFile, []byte("<metadata><versioning>"), 400, "malformed"},
		{"entity expansion metadata", "com/acme/acme-lib/" + MetadataFile, []byte(billion + `<metadata><groupId>&lol2;</groupId></metadata>`), 400, "DOCTYPE"},
		{"snapshot metadata of another version", "com/acme/acme-lib/1.0-SNAPSHOT/" + MetadataFile,
			[]byte(`<metadata><groupId>com.acme</groupId><artifactId>acme-lib</artifactId><version>2.0-SNAPSHOT</version></metadata>`), 400, "version"},
		{"oversize file", "com/acme/acme-lib/1.0/acme-lib-1.0.jar", make([]byte, 1<<20+1), 413, "larger"},
		{"version with a colon", "com/acme/acme-lib/1:0/acme-lib-1:0.jar", []byte("x"), 400, "version"},
		{"bad groupId", "com/ac$me/acme-lib/1.0/acme-lib-1.0.jar", []byte("x"), 400, "groupId"},
	} {
		r := h.put(tc.path, tc.body)
		if r.status != tc.want || !strings.Contains(string(r.body), tc.msg) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %s (%s), want %d containing %q", tc.name, r, r.header.Get("Content-Type"), tc.want, tc.msg)
		}
	}
	pkgs, _, err := h.db.ListPackages(context.Background(), dom, repo, domain.PackageFilter{}, domain.Page{})
	if err != nil || len(pkgs) != 0 {
		t.Errorf("bad input stored packages: %v %v", pkgs, err)
	}
	// Reads of unsafe paths are refused the same way; odd but safe paths
	// are simply not found.
	if r := h.get("com/acme/%2e%2e/x/1.0/x-1.0.jar"); r.status != http.StatusBadRequest {
		t.Errorf("GET of an unsafe path: %s", r)
	}
	if r := h.get("archetype-catalog.xml"); r.status != http.StatusNotFound {
		t.Errorf("GET of a non-layout path: %s", r)
	}
	if r := h.do(http.MethodDelete, lib.dir()+MetadataFile, h.root, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %s", r)
	}
}

// TestAuthorization: anonymous callers are asked for Basic credentials;
// the token works as Basic password and as Bearer; reading, publishing
// files and publishing metadata are separate permissions.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.deploy(lib, "1.0", map[string][]byte{"acme-lib-1.0.jar": []byte("jar")})
	jar := lib.dir() + "1.0/acme-lib-1.0.jar"
	r := h.do(http.MethodGet, jar, "", nil)
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("anonymous GET: %s %v", r, r.header)
	}
	if r := h.do(http.MethodPut, lib.dir()+"1.1/acme-lib-1.1.jar", "", []byte("x")); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous PUT: %s", r)
	}
	if r := h.do(http.MethodGet, jar, "", nil, "Authorization", "Bearer "+h.reader); r.status != http.StatusOK {
		t.Errorf("Bearer: %s", r)
	}
	if r := h.do(http.MethodGet, jar, "", nil, "Authorization", basic("wrong")); r.status != http.StatusUnauthorized {
		t.Errorf("bad token: %s", r)
	}
	if r := h.do(http.MethodPut, lib.dir()+"1.1/acme-lib-1.1.jar", h.reader, []byte("x")); r.status != http.StatusForbidden {
		t.Errorf("reader PUT: %s", r)
	}
	if r := h.do(http.MethodPut, lib.dir()+"1.1/acme-lib-1.1.jar", h.publisher, []byte("x")); r.status != http.StatusCreated {
		t.Errorf("publisher PUT file: %s", r)
	}
	if r := h.do(http.MethodPut, lib.dir()+MetadataFile, h.publisher, lib.metadata("1.1")); r.status != http.StatusForbidden {
		t.Errorf("publisher PUT metadata without PutPackageMetadata: %s", r)
	}
	if v := h.version(lib, "1.1"); v.Status != domain.StatusUnfinished {
		t.Errorf("refused metadata changed the status to %s", v.Status)
	}
	if r := h.do(http.MethodGet, "/maven/acme/nope/"+jar, h.root, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown repository: %s", r)
	}
}

// TestParallelPut uploads many files at once, as Maven 3.9's parallel PUT
// does (several per version, several artifacts): none is refused or lost.
func TestParallelPut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const artifacts, files = 8, 6
	var wg sync.WaitGroup
	errs := make(chan string, artifacts*files*2)
	for a := 0; a < artifacts; a++ {
		art := artifact{"com.acme.par", fmt.Sprintf("lib%d", a)}
		for f := 0; f < files; f++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("%s-1.0-c%d.jar", art.id, f)
				body := []byte(name)
				if r := h.put(art.dir()+"1.0/"+name, body); r.status != http.StatusCreated {
					errs <- name + ": " + r.String()
					return
				}
				if r := h.put(art.dir()+"1.0/"+name+".sha1", []byte(sha1Hex(body))); r.status != http.StatusCreated {
					errs <- name + ".sha1: " + r.String()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for a := 0; a < artifacts; a++ {
		art := artifact{"com.acme.par", fmt.Sprintf("lib%d", a)}
		assets, _, _, err := h.db.ListAssets(context.Background(), dom, repo, art.ref(), "1.0", domain.Page{})
		if err != nil || len(assets) != files {
			t.Errorf("%s: %d files, %v", art.id, len(assets), err)
		}
	}
}

// TestUnknownFiles: files and checksums of what was never uploaded are 404s.
func TestUnknownFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.deploy(lib, "1.0", map[string][]byte{"acme-lib-1.0.jar": []byte("jar")})
	for _, path := range []string{
		lib.dir() + "9.9/acme-lib-9.9.jar.sha1", lib.dir() + "9.9/acme-lib-9.9.jar", lib.dir() + "1.0/acme-lib-1.0-sources.jar",
		lib.dir() + "1.0-SNAPSHOT/acme-lib-1.0-SNAPSHOT.jar", lib.dir() + "1.0-SNAPSHOT/" + MetadataFile, "org/other/thing/" + MetadataFile,
	} {
		if r := h.get(path); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "not found") {
			t.Errorf("%s: %s", path, r)
		}
	}
}
