package maven

import (
	"encoding/xml"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// A POM (https://maven.apache.org/pom.html) is read for what the control
// plane shows of a version: packaging, name, description, url, licenses,
// the SCM url and the declared dependencies with the parent. Only the POM
// itself is read; properties it defines (and project.* / parent values)
// are substituted, but parents and imported BOMs are not fetched, so a
// dependency whose version is managed elsewhere has an empty version
// requirement.

// MaxPOMBytes bounds an uploaded POM.
const MaxPOMBytes = 8 << 20

// POM is what the registry reads from a POM.
type POM struct {
	// GroupID and Version are the effective values: the parent's when
	// the POM does not set them.
	GroupID, ArtifactID, Version string
	Packaging                    string // "jar" when not set
	Name, Description, URL       string
	SCMURL                       string
	Licenses                     []domain.License
	// Dependencies lists the parent first (type "parent"), then the
	// project's dependencies with type compile, runtime, test, provided,
	// system or optional (an optional dependency of any scope).
	Dependencies []domain.Dependency
}

type pomXML struct {
	GroupID     text `xml:"groupId"`
	ArtifactID  text `xml:"artifactId"`
	Version     text `xml:"version"`
	Packaging   text `xml:"packaging"`
	Name        text `xml:"name"`
	Description text `xml:"description"`
	URL         text `xml:"url"`
	Parent      *struct {
		GroupID    text `xml:"groupId"`
		ArtifactID text `xml:"artifactId"`
		Version    text `xml:"version"`
	} `xml:"parent"`
	Licenses []struct {
		Name text `xml:"name"`
		URL  text `xml:"url"`
	} `xml:"licenses>license"`
	SCM struct {
		URL text `xml:"url"`
	} `xml:"scm"`
	Properties struct {
		Items []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"properties"`
	Dependencies []struct {
		GroupID    text `xml:"groupId"`
		ArtifactID text `xml:"artifactId"`
		Version    text `xml:"version"`
		Scope      text `xml:"scope"`
		Optional   text `xml:"optional"`
	} `xml:"dependencies>dependency"`
}

// ParsePOM reads a POM. A document that is not well-formed XML with a
// <project> root, carries a DOCTYPE, or lacks an artifactId, groupId or
// version (its own or its parent's) is ErrInvalid.
func ParsePOM(doc []byte) (POM, error) {
	var x pomXML
	if err := decodeXML(doc, "project", &x); err != nil {
		return POM{}, domain.Invalid("the POM is malformed: %v", err)
	}
	props := map[string]string{}
	for _, p := range x.Properties.Items {
		props[p.XMLName.Local] = strings.TrimSpace(p.Value)
	}
	p := POM{
		GroupID: string(x.GroupID), ArtifactID: string(x.ArtifactID), Version: string(x.Version),
		Packaging: string(x.Packaging), Name: string(x.Name), Description: string(x.Description),
		URL: string(x.URL), SCMURL: string(x.SCM.URL),
	}
	if x.Parent != nil {
		if p.GroupID == "" {
			p.GroupID = string(x.Parent.GroupID)
		}
		if p.Version == "" {
			p.Version = string(x.Parent.Version)
		}
		props["project.parent.groupId"] = string(x.Parent.GroupID)
		props["project.parent.artifactId"] = string(x.Parent.ArtifactID)
		props["project.parent.version"] = string(x.Parent.Version)
	}
	if p.Packaging == "" {
		p.Packaging = "jar"
	}
	for k, v := range map[string]string{"groupId": p.GroupID, "artifactId": p.ArtifactID, "version": p.Version} {
		props["project."+k] = v
		props["pom."+k] = v
	}
	props["version"] = p.Version
	ip := interpolator(props)
	p.GroupID, p.Version = ip(p.GroupID), ip(p.Version)
	p.Name, p.Description, p.URL, p.SCMURL = ip(p.Name), ip(p.Description), ip(p.URL), ip(p.SCMURL)
	switch {
	case p.ArtifactID == "":
		return POM{}, domain.Invalid("the POM has no artifactId")
	case p.GroupID == "":
		return POM{}, domain.Invalid("the POM has no groupId (its own or its parent's)")
	case p.Version == "":
		return POM{}, domain.Invalid("the POM has no version (its own or its parent's)")
	}
	for _, l := range x.Licenses {
		if l.Name != "" || l.URL != "" {
			p.Licenses = append(p.Licenses, domain.License{Name: ip(string(l.Name)), URL: ip(string(l.URL))})
		}
	}
	if x.Parent != nil && x.Parent.ArtifactID != "" {
		p.Dependencies = append(p.Dependencies, domain.Dependency{Namespace: string(x.Parent.GroupID), Name: string(x.Parent.ArtifactID),
			Type: "parent", VersionRequirement: string(x.Parent.Version)})
	}
	for _, d := range x.Dependencies {
		typ := strings.ToLower(ip(string(d.Scope)))
		if typ == "" {
			typ = "compile"
		}
		if strings.EqualFold(ip(string(d.Optional)), "true") {
			typ = "optional"
		}
		p.Dependencies = append(p.Dependencies, domain.Dependency{Namespace: ip(string(d.GroupID)), Name: ip(string(d.ArtifactID)),
			Type: typ, VersionRequirement: ip(string(d.Version))})
	}
	return p, nil
}

// maxInterpolated bounds a value after property substitution, so that
// properties referring to each other cannot blow up.
const maxInterpolated = 4096

// interpolator returns a function substituting ${name} with props[name],
// repeatedly (properties may refer to properties), leaving unknown
// references as they are.
func interpolator(props map[string]string) func(string) string {
	return func(s string) string {
		for round := 0; round < 8 && strings.Contains(s, "${"); round++ {
			var b strings.Builder
			rest := s
			changed := false
			for {
				i := strings.Index(rest, "${")
				if i < 0 {
					b.WriteString(rest)
					break
				}
				j := strings.IndexByte(rest[i:], '}')
				if j < 0 {
					b.WriteString(rest)
					break
				}
				name := rest[i+2 : i+j]
				b.WriteString(rest[:i])
				if v, ok := props[name]; ok {
					b.WriteString(v)
					changed = true
				} else {
					b.WriteString(rest[i : i+j+1])
				}
				rest = rest[i+j+1:]
				if b.Len() > maxInterpolated {
					return s
				}
			}
			if !changed {
				break
			}
			s = b.String()
		}
		return s
	}
}

// checkCoordinates compares what a POM says with where it was uploaded.
// Values still holding an unresolved ${...} are not compared.
func (p POM) checkCoordinates(path Path) error {
	want := path.Dir // a snapshot build's POM says 1.0-SNAPSHOT
	switch {
	case p.ArtifactID != path.ArtifactID:
		return domain.Invalid("the POM's artifactId %q does not match the path's %q", p.ArtifactID, path.ArtifactID)
	case p.GroupID != path.GroupID && !strings.Contains(p.GroupID, "${"):
		return domain.Invalid("the POM's groupId %q does not match the path's %q", p.GroupID, path.GroupID)
	case p.Version != want && !strings.Contains(p.Version, "${"):
		return domain.Invalid("the POM's version %q does not match the path's %q", p.Version, want)
	}
	return nil
}
