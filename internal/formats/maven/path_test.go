package maven

import (
	"errors"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      Path
	}{
		{"release jar", "com/acme/lib/1.0/lib-1.0.jar",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0", Version: "1.0", File: "lib-1.0.jar", Extension: "jar"}},
		{"classifier", "com/acme/lib/1.0/lib-1.0-sources.jar",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0", Version: "1.0", File: "lib-1.0-sources.jar", Classifier: "sources", Extension: "jar"}},
		{"two-part extension", "com/acme/lib/1.0/lib-1.0-bin.tar.gz",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0", Version: "1.0", File: "lib-1.0-bin.tar.gz", Classifier: "bin", Extension: "tar.gz"}},
		{"signature", "com/acme/lib/1.0/lib-1.0.jar.asc",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0", Version: "1.0", File: "lib-1.0.jar.asc", Extension: "jar.asc"}},
		{"checksum", "com/acme/lib/1.0/lib-1.0.pom.sha512",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0", Version: "1.0", File: "lib-1.0.pom", Extension: "pom", Checksum: "sha512"}},
		{"one-segment group", "junit/junit/4.13.2/junit-4.13.2.pom",
			Path{Kind: KindFile, GroupID: "junit", ArtifactID: "junit", Dir: "4.13.2", Version: "4.13.2", File: "junit-4.13.2.pom", Extension: "pom"}},
		{"dashed version", "org/x/a-b/1.0-beta-1/a-b-1.0-beta-1-tests.jar",
			Path{Kind: KindFile, GroupID: "org.x", ArtifactID: "a-b", Dir: "1.0-beta-1", Version: "1.0-beta-1", File: "a-b-1.0-beta-1-tests.jar", Classifier: "tests", Extension: "jar"}},
		{"debian version", "org/apache/apache./debian/apache.-debian-site.xml",
			Path{Kind: KindFile, GroupID: "org.apache", ArtifactID: "apache.", Dir: "debian", Version: "debian", File: "apache.-debian-site.xml", Classifier: "site", Extension: "xml"}},
		{"snapshot build", "com/acme/lib/1.0-SNAPSHOT/lib-1.0-20261121.101530-3.jar",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0-SNAPSHOT", Version: "1.0-20261121.101530-3", File: "lib-1.0-20261121.101530-3.jar",
				Extension: "jar", Timestamp: "20261121.101530", Build: 3}},
		{"snapshot build with classifier", "com/acme/lib/1.0-SNAPSHOT/lib-1.0-20261121.101530-12-sources.jar.md5",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0-SNAPSHOT", Version: "1.0-20261121.101530-12", File: "lib-1.0-20261121.101530-12-sources.jar",
				Classifier: "sources", Extension: "jar", Checksum: "md5", Timestamp: "20261121.101530", Build: 12}},
		{"non-unique snapshot", "com/acme/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0-SNAPSHOT", Version: "1.0-SNAPSHOT", File: "lib-1.0-SNAPSHOT.jar", Extension: "jar", NonUnique: true}},
		{"artifact metadata", "com/acme/lib/maven-metadata.xml",
			Path{Kind: KindMetadata, GroupID: "com.acme", ArtifactID: "lib", File: MetadataFile}},
		{"metadata checksum", "com/acme/lib/maven-metadata.xml.sha1",
			Path{Kind: KindMetadata, GroupID: "com.acme", ArtifactID: "lib", File: MetadataFile, Checksum: "sha1"}},
		{"snapshot metadata", "com/acme/lib/1.0-SNAPSHOT/maven-metadata.xml",
			Path{Kind: KindSnapshotMetadata, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0-SNAPSHOT", Version: "1.0-SNAPSHOT", File: MetadataFile}},
		{"encoded plus", "com/acme/lib/1.0%2Bbuild/lib-1.0+build.jar",
			Path{Kind: KindFile, GroupID: "com.acme", ArtifactID: "lib", Dir: "1.0+build", Version: "1.0+build", File: "lib-1.0+build.jar", Extension: "jar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePath(tc.raw)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tc.raw, err)
			}
			if got != tc.want {
				t.Fatalf("ParsePath(%q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestParsePathRefuses(t *testing.T) {
	for _, raw := range []string{
		"", "/com/acme/lib/1.0/lib-1.0.jar", "com//lib/1.0/lib-1.0.jar", "com/acme/lib/1.0/",
		"com/acme/../lib/1.0/lib-1.0.jar", "com/acme/%2E%2E/lib/1.0/lib-1.0.jar", "com/./lib/1.0/lib-1.0.jar",
		"com%2facme/lib/1.0/lib-1.0.jar", "com/acme%5Clib/1.0/lib-1.0.jar", `com\acme/lib/1.0/lib-1.0.jar`,
		"com/acme/lib/1.0/lib-1.0.jar%00", "com/acme/lib/1.0/lib-1.0%0a.jar", "com/acme/lib/1.0/lib%201.0.jar", "com/acme/lib/1.0/lib-1.0.jar%",
		"lib/1.0/lib-1.0.jar", "maven-metadata.xml", "lib/maven-metadata.xml",
		"com/acme/lib/1.0/other-1.0.jar", "com/acme/lib/1.0/lib-1.1.jar", "com/acme/lib/1.0/lib-1.0", "com/acme/lib/1.0/lib-1.0-.jar",
		"com/acme/lib/1.0/lib-1.0-sources", "com/acme/lib/1.0/lib-1.0.", "com/acme/lib/1.0/lib-1.0.jar..", "com/acme/lib/1:0/lib-1:0.jar",
		"com/acme/lib/1.0-SNAPSHOT/lib-1.0-2026.jar", "com/acme/lib/1.0-SNAPSHOT/lib-1.0-20261121.101530-0.jar",
		"com/acme/lib/1.0-SNAPSHOT/lib-2.0-20261121.101530-1.jar", "c$m/acme/lib/1.0/lib-1.0.jar", "com/acme/l!b/1.0/l!b-1.0.jar",
		"com.acme/lib/1.0/lib-1.0.jar", ".0/lib/1/lib-1.0", "com/acme.x/lib/maven-metadata.xml",
	} {
		if p, err := ParsePath(raw); err == nil {
			t.Errorf("ParsePath(%q) = %+v, want an error", raw, p)
		} else if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ParsePath(%q): %v does not wrap ErrInvalid", raw, err)
		}
	}
}

func TestFileNames(t *testing.T) {
	for _, tc := range []struct{ artifact, version, classifier, ext, name string }{
		{"lib", "1.0", "", "jar", "lib-1.0.jar"},
		{"lib", "1.0", "sources", "jar", "lib-1.0-sources.jar"},
		{"lib", "1.0-20261121.101530-3", "", "pom", "lib-1.0-20261121.101530-3.pom"},
		{"lib", "1.0", "bin", "tar.gz", "lib-1.0-bin.tar.gz"},
	} {
		if got := FileName(tc.artifact, tc.version, tc.classifier, tc.ext); got != tc.name {
			t.Errorf("FileName = %q, want %q", got, tc.name)
		}
		cls, ext, ok := SplitFileName(tc.name, tc.artifact, tc.version)
		if !ok || cls != tc.classifier || ext != tc.ext {
			t.Errorf("SplitFileName(%q) = %q %q %v", tc.name, cls, ext, ok)
		}
	}
	if _, _, ok := SplitFileName("lib-1.1.jar", "lib", "1.0"); ok {
		t.Error("SplitFileName accepted another version's file")
	}
}

func TestBuilds(t *testing.T) {
	b, ok := ParseBuild("1.0-SNAPSHOT", "1.0-20261121.101530-3")
	if !ok || b.Timestamp != "20261121.101530" || b.Number != 3 || b.Version() != "1.0-20261121.101530-3" {
		t.Fatalf("ParseBuild: %+v %v", b, ok)
	}
	for _, v := range []string{"1.0", "1.0-SNAPSHOT", "1.1-20261121.101530-3", "1.0-20261121.101530-3x", "1.0-20261121.101530"} {
		if _, ok := ParseBuild("1.0-SNAPSHOT", v); ok {
			t.Errorf("ParseBuild accepted %q", v)
		}
	}
	older := Build{Base: "1.0-SNAPSHOT", Timestamp: "20261121.101530", Number: 9}
	for _, newer := range []Build{{Timestamp: "20261121.101531", Number: 1}, {Timestamp: "20261121.101530", Number: 10}} {
		if !newer.Newer(older) || older.Newer(newer) {
			t.Errorf("%+v is not newer than %+v", newer, older)
		}
	}
}
