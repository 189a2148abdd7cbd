package maven

import (
	"fmt"
	"strings"
	"testing"
)

func TestParsePOM(t *testing.T) {
	p, err := ParsePOM([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.apache.maven.plugins</groupId>
    <artifactId>maven-plugins</artifactId>
    <version>debian</version>
  </parent>
  <artifactId>maven-compiler-plugin</artifactId>
  <version>3.10.1</version>
  <packaging>maven-plugin</packaging>
  <name> Apache Maven Compiler Plugin </name>
  <description>The Compiler Plugin is used to compile the sources of your project.</description>
  <url>https://maven.apache.org/plugins/${project.artifactId}/</url>
  <scm><url>https://github.com/apache/${project.artifactId}</url></scm>
  <properties><mavenVersion>3.2.5</mavenVersion><shared>${mavenVersion}</shared></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>managed</groupId><artifactId>bom</artifactId><version>1</version><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>org.apache.maven</groupId><artifactId>maven-core</artifactId><version>${shared}</version><scope>provided</scope></dependency>
    <dependency><groupId>org.codehaus.plexus</groupId><artifactId>plexus-java</artifactId><version>${unknown.version}</version></dependency>
    <dependency><groupId>org.mockito</groupId><artifactId>mockito-core</artifactId><scope>test</scope></dependency>
    <dependency><groupId>x</groupId><artifactId>y</artifactId><version>1</version><scope>system</scope><optional> true </optional></dependency>
  </dependencies>
  <profiles><profile><dependencies><dependency><groupId>p</groupId><artifactId>q</artifactId></dependency></dependencies></profile></profiles>
</project>`))
	if err != nil {
		t.Fatal(err)
	}
	if p.GroupID != "org.apache.maven.plugins" || p.ArtifactID != "maven-compiler-plugin" || p.Version != "3.10.1" || p.Packaging != "maven-plugin" ||
		p.Name != "Apache Maven Compiler Plugin" || p.URL != "https://maven.apache.org/plugins/maven-compiler-plugin/" ||
		p.SCMURL != "https://github.com/apache/maven-compiler-plugin" {
		t.Errorf("POM: %+v", p)
	}
	var deps []string
	for _, d := range p.Dependencies {
		deps = append(deps, fmt.Sprintf("%s %s:%s:%s", d.Type, d.Namespace, d.Name, d.VersionRequirement))
	}
	want := "parent org.apache.maven.plugins:maven-plugins:debian|provided org.apache.maven:maven-core:3.2.5|" +
		"compile org.codehaus.plexus:plexus-java:${unknown.version}|test org.mockito:mockito-core:|optional x:y:1"
	if strings.Join(deps, "|") != want {
		t.Errorf("dependencies:\n got %s\nwant %s", strings.Join(deps, "|"), want)
	}

	// Defaults, ISO-8859-1, licenses.
	latin := append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><project><groupId>g</groupId><artifactId>a</artifactId><version>1</version><name>Caf`),
		[]byte("\xe9</name><licenses><license><name>MIT</name></license></licenses></project>")...)
	p, err = ParsePOM(latin)
	if err != nil || p.Name != "Café" || p.Packaging != "jar" || len(p.Licenses) != 1 || p.Licenses[0].Name != "MIT" {
		t.Errorf("latin-1 POM: %+v %v", p, err)
	}
}

func TestParsePOMRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"no artifactId": `<project><groupId>g</groupId><version>1</version></project>`,
		"no groupId":    `<project><artifactId>a</artifactId><version>1</version></project>`,
		"no version":    `<project><groupId>g</groupId><artifactId>a</artifactId></project>`,
		"wrong root":    `<metadata/>`,
		"truncated":     `<project><groupId>g</groupId>`,
		"doctype":       `<!DOCTYPE project SYSTEM "http://example.invalid/x.dtd"><project/>`,
		"entity bomb": `<!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
			`<project><groupId>&b;</groupId><artifactId>a</artifactId><version>1</version></project>`,
		"trailing junk": `<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version></project>junk`,
	} {
		if p, err := ParsePOM([]byte(doc)); err == nil {
			t.Errorf("%s: accepted as %+v", name, p)
		}
	}
}

// TestInterpolationIsBounded: properties that double at each level do not
// blow up.
func TestInterpolationIsBounded(t *testing.T) {
	var props strings.Builder
	props.WriteString("<p0>" + strings.Repeat("x", 100) + "</p0>")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&props, "<p%d>${p%d}${p%d}</p%d>", i, i-1, i-1, i)
	}
	p, err := ParsePOM([]byte(`<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version><name>${p39}</name><properties>` +
		props.String() + `</properties></project>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Name) > maxInterpolated*2 {
		t.Errorf("interpolated name is %d bytes", len(p.Name))
	}
}

func TestCheckCoordinates(t *testing.T) {
	path, _ := ParsePath("com/acme/lib/1.0-SNAPSHOT/lib-1.0-20261121.101530-1.pom")
	for _, tc := range []struct {
		pom POM
		ok  bool
	}{
		{POM{GroupID: "com.acme", ArtifactID: "lib", Version: "1.0-SNAPSHOT"}, true},
		{POM{GroupID: "com.acme", ArtifactID: "lib", Version: "${revision}"}, true},
		{POM{GroupID: "com.acme", ArtifactID: "lib", Version: "1.0-20261121.101530-1"}, false},
		{POM{GroupID: "com.other", ArtifactID: "lib", Version: "1.0-SNAPSHOT"}, false},
		{POM{GroupID: "com.acme", ArtifactID: "lib2", Version: "1.0-SNAPSHOT"}, false},
	} {
		if err := tc.pom.checkCoordinates(path); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.pom, err)
		}
	}
}
