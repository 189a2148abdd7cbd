package pypi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"

	"github.com/artifactd/registry/internal/domain"
)

// An upstream project page, as an external connection's index sends it,
// read into the files it links:
//
//	PEP 691 JSON (application/vnd.pypi.simple.v1+json)
//	  "files": [{"filename", "url", "hashes": {"sha256"}, "requires-python",
//	             "yanked": false | true | "reason", "size", "upload-time",
//	             "core-metadata" | "dist-info-metadata": false | true | {"sha256"}}]
//	PEP 503 HTML (text/html)
//	  <a href="{url}#sha256={hex}" data-requires-python="…" data-yanked="…"
//	     data-core-metadata="sha256={hex}" data-dist-info-metadata="…">{filename}</a>
//
// (https://packaging.python.org/en/latest/specifications/simple-repository-api/)
// URLs may be relative to the page; they are kept as references relative
// to the connection's base URL (the simple index root) so the upstream
// client resolves them. A link whose text is not a distribution file name
// for the project, or whose version is not PEP 440, is left out.

// upstreamFile is one distribution file an upstream page links.
type upstreamFile struct {
	name    string
	fn      Filename
	version string // normalised PEP 440
	// ref is the file's URL, without fragment, relative to the
	// connection's base URL (or absolute).
	ref            string
	sha256         string // lowercase hex, "" when upstream declares none
	requiresPython string
	yanked         bool
	yankedReason   string
	size           int64
	uploadTime     string
	// hasMetadata: upstream serves {ref}.metadata (PEP 658);
	// metadataSHA256 is its declared digest, "" when none is given.
	hasMetadata    bool
	metadataSHA256 string
}

// metadataRef returns the reference of the file's PEP 658 core metadata
// file: its URL with ".metadata" appended to the path.
func (u upstreamFile) metadataRef() string {
	p, q, hasQ := strings.Cut(u.ref, "?")
	if hasQ {
		return p + metadataSuffix + "?" + q
	}
	return p + metadataSuffix
}

// maxUpstreamFiles bounds the links read from one upstream page.
const maxUpstreamFiles = 100_000

// parseUpstreamPage reads an upstream project page of project
// (normalised), PEP 691 JSON when the body is a JSON object and PEP 503
// HTML otherwise. The error wraps domain.ErrInvalid.
func parseUpstreamPage(body []byte, contentType, project string) ([]upstreamFile, error) {
	if strings.Contains(contentType, "json") || bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		return parseUpstreamJSON(body, project)
	}
	return parseUpstreamHTML(body, project), nil
}

// upstreamJSONFile is a PEP 691 file entry; the union-typed fields stay raw.
type upstreamJSONFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   string            `json:"requires-python"`
	Yanked           json.RawMessage   `json:"yanked"`
	Size             int64             `json:"size"`
	UploadTime       string            `json:"upload-time"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
}

func parseUpstreamJSON(body []byte, project string) ([]upstreamFile, error) {
	var doc struct {
		Files []upstreamJSONFile `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, domain.Invalid("upstream page of %s: %v", project, err)
	}
	var out []upstreamFile
	for _, jf := range doc.Files {
		if len(out) >= maxUpstreamFiles {
			break
		}
		f, ok := newUpstreamFile(jf.Filename, jf.URL, project)
		if !ok {
			continue
		}
		if h, ok := jf.Hashes["sha256"]; ok && f.sha256 == "" {
			f.sha256 = strings.ToLower(h)
		}
		if !validSHA256(f.sha256) {
			f.sha256 = ""
		}
		f.requiresPython = jf.RequiresPython
		f.size = max(jf.Size, 0)
		f.uploadTime = jf.UploadTime
		f.yanked, f.yankedReason = jsonYanked(jf.Yanked)
		meta := jf.CoreMetadata
		if len(meta) == 0 || string(meta) == "null" {
			meta = jf.DistInfoMetadata
		}
		f.hasMetadata, f.metadataSHA256 = jsonMetadata(meta)
		out = append(out, f)
	}
	return out, nil
}

// jsonYanked reads PEP 691's "yanked": false, true, or a reason.
func jsonYanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// jsonMetadata reads PEP 691's "core-metadata": false, true, or hashes.
func jsonMetadata(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var h map[string]string
	if json.Unmarshal(raw, &h) == nil && h != nil {
		s := strings.ToLower(h["sha256"])
		if !validSHA256(s) {
			s = ""
		}
		return true, s
	}
	return false, ""
}

func parseUpstreamHTML(body []byte, project string) []upstreamFile {
	z := html.NewTokenizer(bytes.NewReader(body))
	var out []upstreamFile
	var cur *upstreamFile
	var text strings.Builder
	var attrs map[string]string
	for len(out) < maxUpstreamFiles {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return out
			}
			return out
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "a" {
				continue
			}
			attrs = map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, seen := attrs[string(k)]; !seen {
					attrs[string(k)] = string(v)
				}
			}
			cur = &upstreamFile{}
			text.Reset()
		case html.TextToken:
			if cur != nil {
				text.Write(z.Text())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if string(name) != "a" || cur == nil {
				continue
			}
			cur = nil
			href, ok := attrs["href"]
			if !ok {
				continue
			}
			fname := strings.TrimSpace(text.String())
			f, ok := newUpstreamFile(fname, href, project)
			if !ok {
				continue
			}
			f.requiresPython = attrs["data-requires-python"]
			if r, ok := attrs["data-yanked"]; ok {
				f.yanked, f.yankedReason = true, r
			}
			meta, ok := attrs["data-core-metadata"]
			if !ok {
				meta, ok = attrs["data-dist-info-metadata"]
			}
			if ok && meta != "false" {
				f.hasMetadata = true
				if h, found := strings.CutPrefix(meta, "sha256="); found && validSHA256(strings.ToLower(h)) {
					f.metadataSHA256 = strings.ToLower(h)
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// newUpstreamFile checks a linked file's name against the project and
// reads its URL: the sha256 fragment, and the reference relative to the
// connection's base URL. ok is false for anything that is not a
// distribution file of project.
func newUpstreamFile(name, href, project string) (upstreamFile, bool) {
	fn, err := ParseFilename(name)
	if err != nil || Normalize(fn.Name) != project {
		return upstreamFile{}, false
	}
	version, ok := NormalizeVersion(fn.Version)
	if !ok {
		return upstreamFile{}, false
	}
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || u.Opaque != "" || u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return upstreamFile{}, false
	}
	f := upstreamFile{name: name, fn: fn, version: version}
	if h, ok := strings.CutPrefix(u.Fragment, "sha256="); ok && validSHA256(strings.ToLower(h)) {
		f.sha256 = strings.ToLower(h)
	}
	u.Fragment, u.RawFragment = "", ""
	ref := u.String()
	if ref == "" {
		return upstreamFile{}, false
	}
	// A path-relative reference is relative to the project page
	// ({base}{project}/), so it is prefixed with the page's path.
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(u.Path, "/") {
		ref = project + "/" + ref
	}
	f.ref = ref
	return f, true
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// upstreamVersions groups an upstream page's files into version records
// (origin EXTERNAL through conn) that buildProject can render: a version
// is Unlisted (yanked) when every one of its files is yanked; a file's
// PEP 658 metadata is an asset "{file}.metadata" when upstream declares
// its digest.
func upstreamVersions(files []upstreamFile, project, conn string) map[string]*domain.VersionRecord {
	out := map[string]*domain.VersionRecord{}
	yanked := map[string]bool{}
	metas := map[string]*storedMeta{}
	for _, f := range files {
		r := out[f.version]
		if r == nil {
			r = &domain.VersionRecord{}
			r.PackageRef = ref(project)
			r.Version = f.version
			r.Status = domain.StatusPublished
			r.Origin = domain.Origin{Type: domain.OriginExternal, ExternalConnection: conn}
			out[f.version] = r
			yanked[f.version] = true
			metas[f.version] = &storedMeta{Files: map[string]fileMeta{}}
		}
		dup := false
		for _, a := range r.Assets {
			dup = dup || a.Name == f.name
		}
		if dup {
			continue
		}
		yanked[f.version] = yanked[f.version] && f.yanked
		if f.yanked && f.yankedReason != "" {
			metas[f.version].YankedReason = f.yankedReason
		}
		r.Assets = append(r.Assets, domain.Asset{Name: f.name, Size: f.size, Hashes: domain.Hashes{SHA256: f.sha256}})
		if f.hasMetadata && f.metadataSHA256 != "" {
			r.Assets = append(r.Assets, domain.Asset{Name: f.name + metadataSuffix, Hashes: domain.Hashes{SHA256: f.metadataSHA256}})
		}
		metas[f.version].Files[f.name] = fileMeta{RequiresPython: f.requiresPython, UploadTime: f.uploadTime}
	}
	for v, r := range out {
		if yanked[v] {
			r.Status = domain.StatusUnlisted
		}
		r.Metadata, _ = json.Marshal(metas[v])
	}
	return out
}
