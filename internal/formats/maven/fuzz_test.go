package maven

import (
	"net/url"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

// Run each for a while with, e.g.:
//
//	go test -run '^$' -fuzz FuzzParsePath -fuzztime 20s ./internal/formats/maven/

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"com/acme/lib/1.0/lib-1.0.jar", "com/acme/lib/1.0/lib-1.0-sources.jar.sha1", "com/acme/lib/maven-metadata.xml",
		"com/acme/lib/1.0-SNAPSHOT/maven-metadata.xml.md5", "com/acme/lib/1.0-SNAPSHOT/lib-1.0-20261121.101530-3-tests.jar",
		"com/acme/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.pom", "com/acme/%2e%2e/x", "a%2Fb/c/1/c-1.jar", "/abs/x/1/x-1.jar", "x//y",
		"org/apache/apache./debian/apache.-debian-site.xml", "g/a/1%2B0/a-1+0.jar",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParsePath(raw)
		if err != nil {
			return
		}
		for _, s := range []string{p.GroupID, p.ArtifactID, p.Dir, p.Version, p.File, p.Classifier, p.Extension} {
			if strings.ContainsAny(s, "/\\") || s == ".." || s == "." {
				t.Fatalf("%q parsed to an unsafe part %q: %+v", raw, s, p)
			}
		}
		if p.GroupID == "" || p.ArtifactID == "" {
			t.Fatalf("%q: empty coordinates %+v", raw, p)
		}
		if p.Kind != KindFile {
			if p.File != MetadataFile {
				t.Fatalf("%q: metadata path with file %q", raw, p.File)
			}
			return
		}
		version := p.Version
		if p.NonUnique {
			version = p.Dir
		}
		if got := FileName(p.ArtifactID, version, p.Classifier, p.Extension); got != p.File {
			t.Fatalf("%q: file %q is not rebuilt from its parts (%q): %+v", raw, p.File, got, p)
		}
		if p.Timestamp != "" {
			b, ok := ParseBuild(p.Dir, p.Version)
			if !ok || b.Version() != p.Version || b.Number != p.Build {
				t.Fatalf("%q: build %+v %v does not match %+v", raw, b, ok, p)
			}
		}
		// The same path, encoded canonically, parses the same.
		segs := append(strings.Split(p.GroupID, "."), p.ArtifactID, p.Dir, p.File)
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		canon := strings.Join(segs, "/")
		if p.Checksum != "" {
			canon += "." + p.Checksum
		}
		q, err := ParsePath(canon)
		if err != nil || q != p {
			t.Fatalf("%q parsed to %+v, its canonical form %q to %+v (%v)", raw, p, canon, q, err)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(lib.metadata("1.0", "1.1-SNAPSHOT")))
	f.Add([]byte(`<metadata modelVersion="1.1.0"><groupId>g</groupId><artifactId>a</artifactId><version>1-SNAPSHOT</version>` +
		`<versioning><snapshot><timestamp>20261121.101530</timestamp><buildNumber>3</buildNumber></snapshot></versioning></metadata>`))
	f.Add([]byte(`<!DOCTYPE metadata [<!ENTITY a "aa">]><metadata>&a;</metadata>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><metadata><plugins><plugin><prefix>x</prefix></plugin></plugins></metadata>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := ParseMetadata(doc)
		if err != nil {
			return
		}
		if m.BuildNumber < 0 {
			t.Fatalf("negative build number %d", m.BuildNumber)
		}
		for _, v := range m.Versions {
			if v == "" {
				t.Fatal("an empty version was listed")
			}
		}
		// Whatever is read can be ordered.
		SortVersions(m.Versions)
	})
}

func FuzzParsePOM(f *testing.F) {
	f.Add([]byte(lib.pom("1.0", `<parent><groupId>p</groupId><artifactId>q</artifactId><version>1</version></parent>
<properties><a>${b}</a><b>x</b></properties><dependencies><dependency><groupId>${a}</groupId><artifactId>d</artifactId></dependency></dependencies>`)))
	f.Add([]byte(`<project><groupId>g</groupId><artifactId>a</artifactId><version>${v}</version><properties><v>${v}${v}</v></properties></project>`))
	f.Add([]byte(`<!DOCTYPE project [<!ENTITY x SYSTEM "file:///etc/passwd">]><project>&x;</project>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePOM(doc)
		if err != nil {
			return
		}
		if p.ArtifactID == "" || p.GroupID == "" || p.Version == "" || p.Packaging == "" {
			t.Fatalf("accepted without coordinates: %+v", p)
		}
		if len(p.Name) > len(doc)+maxInterpolated*2 {
			t.Fatalf("name grew to %d bytes from a %d-byte document", len(p.Name), len(doc))
		}
	})
}

// FuzzCompareVersions checks that the ordering is reflexive and
// antisymmetric. It is not always transitive, and neither is Maven's:
// ComparableVersion orders its item kinds by type, so 0 < aaa-0 < 0A0 and
// yet 0 > 0A0 (0A0 is 0-alpha0, a pre-release of 0). Sorting stays
// deterministic for a given input order, which is all rendering needs.
func FuzzCompareVersions(f *testing.F) {
	for i := 0; i+2 < len(versionsNumber); i++ {
		f.Add(versionsNumber[i], versionsQualifier[i%len(versionsQualifier)])
	}
	f.Add("1-0.alpha", "6.1H.5-beta")
	f.Add("aaa-0", "0A0")
	f.Fuzz(func(t *testing.T, a, b string) {
		va, vb := ParseVersion(a), ParseVersion(b)
		if va.Compare(va) != 0 {
			t.Fatalf("%q != itself", a)
		}
		if ab, ba := va.Compare(vb), vb.Compare(va); ab != -ba {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
	})
}

// FuzzParseChecksum feeds checksum files as upstream repositories serve
// them: a digest is returned only as lowercase hex of the algorithm's
// length, and never panics.
func FuzzParseChecksum(f *testing.F) {
	for _, s := range []string{
		"da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709  junit-4.13.2.jar\n",
		"SHA1(junit-4.13.2.jar)= da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"<html>404</html>", "", " \n", "da39a3ee5e6b4b0d3255bfef95601890afd8070",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sum, err := ParseChecksum(body, "sha1")
		if err != nil {
			if domain.KindOf(err) != domain.ErrInvalid {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if len(sum) != 40 || strings.ToLower(sum) != sum || !isHexDigits(sum) || !strings.Contains(strings.ToLower(string(body)), sum) {
			t.Fatalf("ParseChecksum(%q) = %q", body, sum)
		}
	})
}
