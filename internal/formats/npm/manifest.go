package npm

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// A version manifest is package.json as npm publishes it, plus fields npm
// adds (_id, dist, _npmVersion, ...)
// (https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md#version).

// unstoredFields are manifest fields the registry does not keep: client
// install state, CouchDB internals, and the readme (stored on its own).
var unstoredFields = []string{"readme", "_attachments", "_rev", "_revisions", "_resolved", "_integrity", "_from",
	"_where", "_shasum", "_inBundle", "_requested", "_spec", "_args", "_location", "_phantomChildren",
	"_requiredBy", "_contentLength", "_cached", "_npmOperationalInternal"}

// manifest is a decoded version manifest.
type manifest map[string]json.RawMessage

func parseManifest(raw json.RawMessage) (manifest, error) {
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, domain.Invalid("malformed document: a version manifest must be a JSON object")
	}
	return m, nil
}

// str returns field k when it is a JSON string, else "".
func (m manifest) str(k string) string {
	var s string
	if json.Unmarshal(m[k], &s) != nil {
		return ""
	}
	return s
}

// stored returns the manifest as the registry keeps it: without the
// fields it does not store and without dist.tarball (rendered per
// repository), with _id set and _npmUser naming the publisher.
func (m manifest) stored(n Name, version, publisher string) json.RawMessage {
	out := make(map[string]json.RawMessage, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	for _, k := range unstoredFields {
		delete(out, k)
	}
	var dist map[string]json.RawMessage
	if json.Unmarshal(m["dist"], &dist) == nil && dist != nil {
		delete(dist, "tarball")
		var b bytes.Buffer
		writeObject(&b, dist)
		out["dist"] = b.Bytes()
	} else {
		delete(out, "dist")
	}
	out["_id"] = jsonString(n.String() + "@" + version)
	if publisher != "" {
		out["_npmUser"] = json.RawMessage(`{"email":"","name":` + string(jsonString(publisher)) + `}`)
	}
	for k, v := range out {
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			out[k] = b.Bytes()
		}
	}
	return manifest(out).bytes()
}

// bytes returns m as a JSON object with sorted keys.
func (m manifest) bytes() []byte {
	var b bytes.Buffer
	writeObject(&b, m)
	return b.Bytes()
}

// meta returns the control-plane view of a version: summary, home page,
// source repository, licenses and readme.
func (m manifest) meta(readme string) domain.VersionMeta {
	vm := domain.VersionMeta{
		Summary:  m.str("description"),
		HomePage: m.str("homepage"),
		Readme:   readme,
	}
	if s := m.str("repository"); s != "" {
		vm.SourceCodeRepository = s
	} else {
		var r struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(m["repository"], &r) == nil {
			vm.SourceCodeRepository = r.URL
		}
	}
	type lic struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	if s := m.str("license"); s != "" {
		vm.Licenses = append(vm.Licenses, domain.License{Name: s})
	} else {
		var l lic
		if json.Unmarshal(m["license"], &l) == nil && l.Type != "" {
			vm.Licenses = append(vm.Licenses, domain.License{Name: l.Type, URL: l.URL})
		}
	}
	var ls []lic
	if json.Unmarshal(m["licenses"], &ls) == nil {
		for _, l := range ls {
			if l.Type != "" {
				vm.Licenses = append(vm.Licenses, domain.License{Name: l.Type, URL: l.URL})
			}
		}
	}
	return vm
}

// dependencyTypes maps manifest fields to ListPackageVersionDependencies
// types, in the order they are listed.
var dependencyTypes = []struct{ field, typ string }{
	{"dependencies", "regular"},
	{"devDependencies", "dev"},
	{"peerDependencies", "peer"},
	{"optionalDependencies", "optional"},
}

// dependencies returns the declared dependencies in document order;
// entries that are not name -> string are skipped.
func (m manifest) dependencies() []domain.Dependency {
	var out []domain.Dependency
	for _, dt := range dependencyTypes {
		for _, kv := range orderedStrings(m[dt.field]) {
			d := domain.Dependency{Name: kv[0], Type: dt.typ, VersionRequirement: kv[1]}
			if scope, pkg, ok := strings.Cut(strings.TrimPrefix(kv[0], "@"), "/"); ok && strings.HasPrefix(kv[0], "@") {
				d.Namespace, d.Name = scope, pkg
			}
			out = append(out, d)
		}
	}
	return out
}

// orderedStrings returns the string members of a JSON object in document
// order.
func orderedStrings(raw json.RawMessage) [][2]string {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out [][2]string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, [2]string{k, s})
		}
	}
	return out
}

// checkIntegrity verifies the digests a manifest declares in
// dist.integrity (Subresource Integrity, https://w3c.github.io/webappsec-subresource-integrity/)
// and dist.shasum (hex sha1) against the tarball's. At least one must be
// declared, and every declared digest of an algorithm the registry
// computes (sha512, sha256, sha1) must match; integrity must name at least
// one of them.
func (m manifest) checkIntegrity(h domain.Hashes) error {
	var dist struct {
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	}
	json.Unmarshal(m["dist"], &dist)
	if dist.Integrity == "" && dist.Shasum == "" {
		return domain.Invalid("the version manifest declares no dist.integrity or dist.shasum for its tarball")
	}
	if dist.Shasum != "" && !strings.EqualFold(dist.Shasum, h.SHA1) {
		return domain.Invalid("the tarball's sha1 %s does not match dist.shasum %s", h.SHA1, dist.Shasum)
	}
	if dist.Integrity == "" {
		return nil
	}
	checked := false
	for _, e := range strings.Fields(dist.Integrity) {
		alg, digest, ok := strings.Cut(e, "-")
		if !ok {
			continue
		}
		digest, _, _ = strings.Cut(digest, "?") // SRI options
		var have string
		switch alg {
		case "sha512":
			have = h.SHA512
		case "sha256":
			have = h.SHA256
		case "sha1":
			have = h.SHA1
		default:
			continue
		}
		want, err := base64.StdEncoding.DecodeString(digest)
		got, _ := hex.DecodeString(have)
		if err != nil || subtle.ConstantTimeCompare(want, got) != 1 {
			return domain.Invalid("integrity check failed: the tarball does not match dist.integrity %s", e)
		}
		checked = true
	}
	if !checked {
		return domain.Invalid("dist.integrity %q names no supported algorithm (sha512, sha256, sha1)", dist.Integrity)
	}
	return nil
}
