package pypi

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
	"sort"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// The simple repository API pages
// (https://packaging.python.org/en/latest/specifications/simple-repository-api/):
//
//	HTML (PEP 503, 592, 629, 658, 714)           JSON (PEP 691, 700, 714)
//	<meta name="pypi:repository-version"          "meta": {"api-version": "1.1"}
//	      content="1.1">
//	<a href="{version}/{file}#sha256={hex}"       "files": [{"filename", "url", "hashes": {"sha256"},
//	   data-requires-python="&gt;=3.8"              "requires-python", "size", "upload-time",
//	   data-yanked="{reason}"                       "yanked": false | true | "{reason}",
//	   data-core-metadata="sha256={hex}"            "core-metadata": false | {"sha256"},
//	   data-dist-info-metadata="sha256={hex}">      "dist-info-metadata": (the same)}]
//	  {file}</a><br />                            "versions": [every version with files, PEP 440 order]
//
// File URLs are relative to the project page ({version}/{file}), so they
// resolve against whatever URL the client reached this server at and the
// rendered bytes depend on nothing but the package's state. The old
// attribute names of PEP 658 are sent next to PEP 714's for older
// clients. Size and upload time exist in the JSON form only.

// apiVersion is the simple API version served (PEP 700's fields: 1.1).
const apiVersion = "1.1"

// storedMeta is the format metadata of a version (VersionMeta.Metadata):
// what the index shows that the control plane has no column for.
type storedMeta struct {
	// Files holds per-file details by file name.
	Files map[string]fileMeta `json:"files,omitempty"`
	// YankedReason is shown for an Unlisted (yanked) version; nothing
	// sets it through this protocol, it is kept for versions that carry
	// one (PEP 592).
	YankedReason string `json:"yanked_reason,omitempty"`
}

// fileMeta is what the index shows of a file besides its asset row.
type fileMeta struct {
	RequiresPython string `json:"requires_python,omitempty"`
	UploadTime     string `json:"upload_time,omitempty"` // PEP 700: yyyy-mm-ddThh:mm:ss.ffffffZ
	UploadedBy     string `json:"uploaded_by,omitempty"`
}

// project is a project page's content.
type project struct {
	name     string   // normalised
	versions []string // PEP 440 order
	files    []indexFile
}

// indexFile is one file link.
type indexFile struct {
	name, url      string
	sha256         string
	size           int64
	requiresPython string
	uploadTime     string
	yanked         bool
	yankedReason   string
	metadataSHA256 string // of the core metadata file; "" when there is none
}

// buildProject selects what a project page lists: the files of Published
// versions, and of Unlisted ones marked yanked; other statuses are left
// out. ok is false when nothing is left.
func buildProject(name string, pv domain.PackageView) (project, bool) {
	type ver struct {
		rec    *domain.VersionRecord
		parsed Version
		valid  bool
	}
	var vs []ver
	for i := range pv.Versions {
		r := &pv.Versions[i]
		if !r.Status.Downloadable() || len(r.Assets) == 0 {
			continue
		}
		p, ok := ParseVersion(r.Version)
		vs = append(vs, ver{r, p, ok})
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.valid != b.valid {
			return !a.valid
		}
		if !a.valid {
			return a.rec.Version < b.rec.Version
		}
		return a.parsed.Compare(b.parsed) < 0
	})
	n := 0
	for _, v := range vs {
		n += len(v.rec.Assets)
	}
	p := project{name: name, versions: make([]string, 0, len(vs)), files: make([]indexFile, 0, n)}
	for _, v := range vs {
		var sm storedMeta
		json.Unmarshal(v.rec.Metadata, &sm) // a missing or foreign document leaves the defaults
		yanked := v.rec.Status == domain.StatusUnlisted
		sidecars := map[string]string{}
		for _, a := range v.rec.Assets {
			if base, ok := strings.CutSuffix(a.Name, metadataSuffix); ok {
				sidecars[base] = a.Hashes.SHA256
			}
		}
		p.versions = append(p.versions, v.rec.Version)
		for _, a := range v.rec.Assets {
			if strings.HasSuffix(a.Name, metadataSuffix) {
				continue
			}
			fm := sm.Files[a.Name]
			f := indexFile{
				name: a.Name, url: url.PathEscape(v.rec.Version) + "/" + url.PathEscape(a.Name),
				sha256: a.Hashes.SHA256, size: a.Size, requiresPython: fm.RequiresPython, uploadTime: fm.UploadTime,
				yanked: yanked, metadataSHA256: sidecars[a.Name],
			}
			if yanked {
				f.yankedReason = sm.YankedReason
			}
			p.files = append(p.files, f)
		}
	}
	return p, len(p.files) > 0
}

const htmlHead = `<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="` + apiVersion + `">
    <title>`

// html renders the PEP 503 page.
func (p project) html() []byte {
	var b bytes.Buffer
	b.Grow(256 + 400*len(p.files))
	name := html.EscapeString(p.name)
	b.WriteString(htmlHead + "Links for " + name + "</title>\n  </head>\n  <body>\n    <h1>Links for " + name + "</h1>\n")
	for _, f := range p.files {
		b.WriteString(`    <a href="`)
		b.WriteString(html.EscapeString(f.url))
		if f.sha256 != "" {
			b.WriteString("#sha256=")
			b.WriteString(f.sha256)
		}
		b.WriteByte('"')
		if f.requiresPython != "" {
			b.WriteString(` data-requires-python="`)
			b.WriteString(html.EscapeString(f.requiresPython))
			b.WriteByte('"')
		}
		if f.yanked {
			b.WriteString(` data-yanked="`)
			b.WriteString(html.EscapeString(f.yankedReason))
			b.WriteByte('"')
		}
		if f.metadataSHA256 != "" {
			b.WriteString(` data-core-metadata="sha256=`)
			b.WriteString(f.metadataSHA256)
			b.WriteString(`" data-dist-info-metadata="sha256=`)
			b.WriteString(f.metadataSHA256)
			b.WriteByte('"')
		}
		b.WriteByte('>')
		b.WriteString(html.EscapeString(f.name))
		b.WriteString("</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

// jsonHashes is a file's "hashes" object (and a core metadata file's).
type jsonHashes struct {
	SHA256 string `json:"sha256"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   string            `json:"requires-python,omitempty"`
	Size             int64             `json:"size"`
	UploadTime       string            `json:"upload-time,omitempty"`
	Yanked           any               `json:"yanked"`
	CoreMetadata     any               `json:"core-metadata"`
	DistInfoMetadata any               `json:"dist-info-metadata"`
}

type jsonProject struct {
	Meta     jsonMeta   `json:"meta"`
	Name     string     `json:"name"`
	Versions []string   `json:"versions"`
	Files    []jsonFile `json:"files"`
}

// json renders the PEP 691 page.
func (p project) json() []byte {
	out := jsonProject{Meta: jsonMeta{apiVersion}, Name: p.name, Versions: p.versions, Files: make([]jsonFile, len(p.files))}
	for i, f := range p.files {
		hashes := map[string]string{}
		if f.sha256 != "" { // an upstream file without a declared digest
			hashes["sha256"] = f.sha256
		}
		jf := jsonFile{Filename: f.name, URL: f.url, Hashes: hashes, RequiresPython: f.requiresPython,
			Size: f.size, UploadTime: f.uploadTime, Yanked: false, CoreMetadata: false, DistInfoMetadata: false}
		if f.yanked {
			jf.Yanked = true
			if f.yankedReason != "" {
				jf.Yanked = f.yankedReason
			}
		}
		if f.metadataSHA256 != "" {
			h := &jsonHashes{f.metadataSHA256}
			jf.CoreMetadata, jf.DistInfoMetadata = h, h
		}
		out.Files[i] = jf
	}
	return encodeJSON(out)
}

// encodeJSON encodes v without escaping <, > and & (requires-python is
// full of them).
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // the types above always encode
	return b.Bytes()
}

// rootHTML renders the /simple/ page listing projects (normalised names).
func rootHTML(names []string) []byte {
	var b bytes.Buffer
	b.WriteString(htmlHead + "Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		e := html.EscapeString(n)
		b.WriteString(`    <a href="` + e + `/">` + e + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

// rootJSON renders the /simple/ page as PEP 691 JSON.
func rootJSON(names []string) []byte {
	type entry struct {
		Name string `json:"name"`
	}
	out := struct {
		Meta     jsonMeta `json:"meta"`
		Projects []entry  `json:"projects"`
	}{Meta: jsonMeta{apiVersion}, Projects: make([]entry, len(names))}
	for i, n := range names {
		out.Projects[i] = entry{n}
	}
	return encodeJSON(out)
}
