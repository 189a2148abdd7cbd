package maven

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// record is a version as the store returns it.
func record(version string, status domain.Status, base string, updated time.Time, assets ...string) domain.VersionRecord {
	meta, _ := json.Marshal(versionMeta{BaseVersion: base})
	r := domain.VersionRecord{PackageVersion: domain.PackageVersion{Version: version, Status: status}, UpdatedAt: updated.UnixMilli(), Metadata: meta}
	for _, a := range assets {
		r.Assets = append(r.Assets, domain.Asset{Name: a})
	}
	return r
}

var t0 = time.Date(2026, 11, 21, 10, 15, 30, 0, time.UTC)

func TestRenderArtifactMetadata(t *testing.T) {
	versions := []domain.VersionRecord{
		record("1.10", domain.StatusPublished, "", t0),
		record("1.2", domain.StatusPublished, "", t0.Add(time.Minute)),
		record("1.0-rc1", domain.StatusPublished, "", t0),
		record("2.0", domain.StatusUnfinished, "", t0.Add(time.Hour)),
		record("1.9", domain.StatusUnlisted, "", t0),
		record("1.11-20261121.101530-1", domain.StatusUnlisted, "1.11-SNAPSHOT", t0),
		record("1.11-20261121.111530-2", domain.StatusPublished, "1.11-SNAPSHOT", t0.Add(2*time.Minute)),
		record("a&b<c>", domain.StatusPublished, "", t0),
	}
	l, ok := listArtifact("com.acme", "lib", versions)
	if !ok {
		t.Fatal("nothing listed")
	}
	golden(t, "artifact-metadata.xml", l.render())
	// What Maven reads back from it.
	m, err := ParseMetadata(l.render())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Versions, " ") != "a&b<c> 1.0-rc1 1.2 1.10 1.11-SNAPSHOT" || m.Latest != "1.11-SNAPSHOT" || m.Release != "1.10" {
		t.Errorf("parsed back: %+v", m)
	}
	if _, ok := listArtifact("com.acme", "lib", versions[3:5]); ok {
		t.Error("Unfinished and Unlisted versions alone are listed")
	}
}

func TestRenderSnapshotMetadata(t *testing.T) {
	versions := []domain.VersionRecord{
		record("1.0-20261121.101530-1", domain.StatusUnlisted, "1.0-SNAPSHOT", t0, "lib-1.0-20261121.101530-1.jar"),
		record("1.0-20261121.111530-2", domain.StatusPublished, "1.0-SNAPSHOT", t0.Add(time.Hour),
			"lib-1.0-20261121.111530-2.jar", "lib-1.0-20261121.111530-2.pom", "lib-1.0-20261121.111530-2-sources.jar"),
		record("1.0-20261121.121530-3", domain.StatusUnfinished, "1.0-SNAPSHOT", t0.Add(2*time.Hour), "lib-1.0-20261121.121530-3.jar"),
		record("2.0-20261121.121530-1", domain.StatusPublished, "2.0-SNAPSHOT", t0, "lib-2.0-20261121.121530-1.jar"),
	}
	l, ok := listSnapshot("com.acme", "lib", "1.0-SNAPSHOT", versions)
	if !ok {
		t.Fatal("no Published build found")
	}
	golden(t, "snapshot-metadata.xml", l.render())
	m, err := ParseMetadata(l.render())
	if err != nil || m.Version != "1.0-SNAPSHOT" || m.Timestamp != "20261121.111530" || m.BuildNumber != 2 {
		t.Errorf("parsed back: %+v %v", m, err)
	}
	if _, ok := listSnapshot("com.acme", "lib", "3.0-SNAPSHOT", versions); ok {
		t.Error("a snapshot without builds is listed")
	}
}

func TestPublishPlan(t *testing.T) {
	b1 := record("1.0-20261121.101530-1", domain.StatusPublished, "1.0-SNAPSHOT", t0)
	b2 := record("1.0-20261121.111530-2", domain.StatusUnfinished, "1.0-SNAPSHOT", t0)
	b3 := record("1.0-20261121.121530-3", domain.StatusUnfinished, "1.0-SNAPSHOT", t0)
	other := record("2.0-20261121.101530-1", domain.StatusPublished, "2.0-SNAPSHOT", t0)
	rel := record("1.0", domain.StatusUnfinished, "", t0)
	done := record("0.9", domain.StatusPublished, "", t0)
	for _, tc := range []struct {
		name     string
		listed   []string
		versions []domain.VersionRecord
		want     string
	}{
		{"release", []string{"0.9", "1.0"}, []domain.VersionRecord{rel, done}, "1.0=Published"},
		{"unlisted release stays", []string{"1.0"}, []domain.VersionRecord{record("1.0", domain.StatusUnlisted, "", t0)}, ""},
		{"not listed stays Unfinished", []string{"0.9"}, []domain.VersionRecord{rel, done}, ""},
		{"newest build published, older unlisted", []string{"1.0-SNAPSHOT"}, []domain.VersionRecord{b1, b2, b3, other},
			"1.0-20261121.101530-1=Unlisted 1.0-20261121.121530-3=Published"},
		{"first build", []string{"1.0-SNAPSHOT"}, []domain.VersionRecord{b2}, "1.0-20261121.111530-2=Published"},
		{"nothing to publish", []string{"3.0", "3.0-SNAPSHOT"}, []domain.VersionRecord{b1, other}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := publishPlan(tc.listed)(tc.versions)
			var got []string
			for v, s := range out {
				got = append(got, v+"="+string(s))
			}
			sort.Strings(got)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("plan = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId> com.acme </groupId>
  <artifactId>lib</artifactId>
  <versioning>
    <latest>2.0</latest>
    <release>2.0</release>
    <versions><version>1.0</version><version>2.0</version><version></version></versions>
    <lastUpdated>20261121101530</lastUpdated>
  </versioning>
</metadata>`))
	if err != nil || m.GroupID != "com.acme" || strings.Join(m.Versions, ",") != "1.0,2.0" || m.Latest != "2.0" {
		t.Fatalf("%+v %v", m, err)
	}
	g, err := ParseMetadata([]byte(`<metadata><plugins><plugin><name>X</name><prefix>x</prefix><artifactId>x-maven-plugin</artifactId></plugin></plugins></metadata>`))
	if err != nil || !g.Plugins {
		t.Fatalf("group metadata: %+v %v", g, err)
	}
	for name, doc := range map[string]string{
		"wrong root":     `<project/>`,
		"not xml":        `PK`,
		"doctype":        `<!DOCTYPE metadata [<!ENTITY a "aaaa">]><metadata><groupId>&a;</groupId></metadata>`,
		"unknown entity": `<metadata><groupId>&a;</groupId></metadata>`,
		"two roots":      `<metadata/><metadata/>`,
		"bad build":      `<metadata><versioning><snapshot><buildNumber>x</buildNumber></snapshot></versioning></metadata>`,
		"encoding":       `<?xml version="1.0" encoding="EBCDIC"?><metadata/>`,
	} {
		if _, err := ParseMetadata([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
