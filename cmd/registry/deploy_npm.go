package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

// The CodeArtifact Deploy action with PackageFormat npm publishes the
// build's output as an npm package version. The artifact holds the
// package either as one .tgz (what "npm pack" writes) or unpacked, with
// package.json at its top or in a single top directory (such as
// "package/"). The adapter
//
//  1. reads package.json; PackageNamespace/PackageName and PackageVersion,
//     when configured, override its name and version (the tarball's
//     package.json is rewritten to match);
//  2. packs a reproducible tarball (entries under "package/", sorted, with
//     npm's fixed modification time), so the same files always give the
//     same bytes and a repeated deploy is recognised as the same version;
//  3. publishes it through the npm format's own endpoint (PUT
//     /npm/<domain>/<repo>/<name>, the document "npm publish" sends),
//     served in-process with a short-lived token of the root principal, so
//     validation, packument metadata, dist-tags and the package event are
//     exactly those of a client's publish.

// npmPublisher publishes npm packages through the server's HTTP handler.
type npmPublisher struct {
	// Handler is the server's HTTP handler (the npm format is mounted on
	// it).
	Handler http.Handler
	// Token issues an authorization token for a domain.
	Token func(ctx context.Context, domain string, ttl time.Duration) (string, error)
	// TempDir holds the tarball while it is published.
	TempDir string
}

// Limits of a package taken from an artifact.
const (
	maxNPMPackageBytes = 512 << 20 // unpacked
	maxNPMManifest     = 1 << 20
	npmPublishTimeout  = 10 * time.Minute
)

// npmMtime is the modification time npm gives every tarball entry.
var npmMtime = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// npmFile is one file of the package: its path inside the package and
// where its bytes come from.
type npmFile struct {
	name string
	mode int64
	open func() (io.ReadCloser, error)
	size int64
}

func (r registryPackages) publishNPM(ctx context.Context, p engine.Publication) (engine.PackageVersion, error) {
	if r.npm == nil {
		return engine.PackageVersion{}, errors.New("npm publishing is not configured")
	}
	files, err := r.npmFiles(ctx, p.Files)
	if err != nil {
		return engine.PackageVersion{}, err
	}
	var manifest map[string]any
	var rest []npmFile
	for _, f := range files {
		if f.name != "package.json" {
			rest = append(rest, f)
			continue
		}
		if f.size > maxNPMManifest {
			return engine.PackageVersion{}, domain.Invalid("package.json is larger than %d bytes", maxNPMManifest)
		}
		rc, err := f.open()
		if err != nil {
			return engine.PackageVersion{}, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxNPMManifest))
		rc.Close()
		if err != nil {
			return engine.PackageVersion{}, err
		}
		if err := json.Unmarshal(b, &manifest); err != nil || manifest == nil {
			return engine.PackageVersion{}, domain.Invalid("package.json is not a JSON object: %v", err)
		}
	}
	if manifest == nil {
		return engine.PackageVersion{}, domain.Invalid("the artifact holds no package.json (nor a .tgz with one)")
	}
	name, _ := manifest["name"].(string)
	if p.Name != "" {
		name = p.Name
		if ns := strings.TrimPrefix(p.Namespace, "@"); ns != "" {
			name = "@" + ns + "/" + p.Name
		}
	}
	version, _ := manifest["version"].(string)
	if p.Version != "" {
		version = p.Version
	}
	if name == "" || version == "" {
		return engine.PackageVersion{}, domain.Invalid("the package has no name or version (set PackageName and PackageVersion, or name and version in package.json)")
	}
	manifest["name"], manifest["version"] = name, version
	pj, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return engine.PackageVersion{}, err
	}
	pj = append(pj, '\n')
	rest = append(rest, npmFile{name: "package.json", mode: 0o644, size: int64(len(pj)),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(pj)), nil }})

	tgz, err := os.CreateTemp(r.npm.TempDir, "npm-publish-*.tgz")
	if err != nil {
		return engine.PackageVersion{}, err
	}
	defer os.Remove(tgz.Name())
	defer tgz.Close()
	sums, size, err := packNPM(tgz, rest)
	if err != nil {
		return engine.PackageVersion{}, err
	}
	ns, bare := "", name
	if strings.HasPrefix(name, "@") {
		ns, bare, _ = strings.Cut(name[1:], "/")
	}
	ref := domain.PackageRef{Format: domain.FormatNPM, Namespace: ns, Name: bare}
	pv := engine.PackageVersion{Domain: p.Domain, Repository: p.Repository, Format: "npm", Namespace: ns, Name: bare, Version: version}

	status, body, err := r.putNPM(ctx, p, name, version, manifest, tgz, size, sums)
	if err != nil {
		return pv, err
	}
	switch {
	case status == http.StatusConflict || (status == http.StatusForbidden && bytes.Contains(body, []byte("previously published"))):
		// The same version again: fine when it is the same tarball.
		as, _, _, lerr := r.db.ListAssets(ctx, p.Domain, p.Repository, ref, version, domain.Page{Limit: 10})
		if lerr != nil || len(as) != 1 || as[0].Hashes.SHA256 != sums.sha256 {
			return pv, domain.Conflict("package-version", version, "%s@%s is already published with other content", name, version)
		}
	case status/100 != 2:
		return pv, fmt.Errorf("npm publish of %s@%s: HTTP %d: %s", name, version, status, bytes.TrimSpace(body))
	}
	v, err := r.db.GetVersion(ctx, p.Domain, p.Repository, ref, version)
	if err != nil {
		return pv, err
	}
	pv.Revision = v.Revision
	return pv, nil
}

// npmFiles lists the package's files: the entries of a single .tgz, or
// the artifact's files with a single common top directory removed.
func (r registryPackages) npmFiles(ctx context.Context, files []engine.Asset) ([]npmFile, error) {
	if len(files) == 1 && strings.HasSuffix(files[0].Name, ".tgz") {
		return r.untarNPM(ctx, files[0].SHA256)
	}
	strip := ""
	if len(files) > 0 {
		if top, _, ok := strings.Cut(files[0].Name, "/"); ok {
			strip = top + "/"
			for _, f := range files {
				if !strings.HasPrefix(f.Name, strip) {
					strip = ""
					break
				}
			}
		}
	}
	var out []npmFile
	var total int64
	for _, f := range files {
		name := strings.TrimPrefix(f.Name, strip)
		if !validNPMPath(name) {
			return nil, domain.Invalid("artifact file %q is not a relative path", f.Name)
		}
		total += f.Size
		if total > maxNPMPackageBytes {
			return nil, domain.Invalid("the package is larger than %d bytes", maxNPMPackageBytes)
		}
		digest := f.SHA256
		out = append(out, npmFile{name: name, mode: 0o644, size: f.Size, open: func() (io.ReadCloser, error) {
			rc, _, err := r.blobs.Open(ctx, digest)
			return rc, err
		}})
	}
	return out, nil
}

// untarNPM reads the files of an npm tarball (entries under one top
// directory, usually "package/") into memory, bounded.
func (r registryPackages) untarNPM(ctx context.Context, digest string) ([]npmFile, error) {
	rc, _, err := r.blobs.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readNPMTarball(rc)
}

// readNPMTarball reads the regular files of a gzipped tar whose entries
// sit under one top directory; paths that are not relative and clean are
// skipped.
func readNPMTarball(r io.Reader) ([]npmFile, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, domain.Invalid("the .tgz is not gzip-compressed: %v", err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: maxNPMPackageBytes + 1}
	tr := tar.NewReader(lr)
	var out []npmFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, domain.Invalid("the .tgz is not a valid tar archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		_, name, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || !validNPMPath(name) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil || lr.N <= 0 {
			return nil, domain.Invalid("the .tgz unpacks to more than %d bytes", maxNPMPackageBytes)
		}
		mode := int64(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		out = append(out, npmFile{name: name, mode: mode, size: int64(len(b)),
			open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
	}
	return out, nil
}

func validNPMPath(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/") && path.Clean(name) == name && name != ".." && !strings.HasPrefix(name, "../")
}

type npmSums struct{ sha1, sha256, sha512 string }

// packNPM writes a reproducible npm tarball of files to w.
func packNPM(w io.Writer, files []npmFile) (npmSums, int64, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	h1, h256, h512 := sha1.New(), sha256.New(), sha512.New()
	cw := &countWriter{w: io.MultiWriter(w, h1, h256, h512)}
	zw := gzip.NewWriter(cw)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hdr := &tar.Header{Name: "package/" + f.name, Mode: f.mode, Size: f.size, ModTime: npmMtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return npmSums{}, 0, err
		}
		rc, err := f.open()
		if err != nil {
			return npmSums{}, 0, err
		}
		n, err := io.Copy(tw, rc)
		rc.Close()
		if err == nil && n != f.size {
			err = fmt.Errorf("%s: %d bytes, expected %d", f.name, n, f.size)
		}
		if err != nil {
			return npmSums{}, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return npmSums{}, 0, err
	}
	if err := zw.Close(); err != nil {
		return npmSums{}, 0, err
	}
	return npmSums{sha1: hex.EncodeToString(h1.Sum(nil)), sha256: hex.EncodeToString(h256.Sum(nil)),
		sha512: base64.StdEncoding.EncodeToString(h512.Sum(nil))}, cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// putNPM sends the publish document npm sends, streaming the tarball
// base64-encoded into it, to the npm endpoint of the repository.
func (r registryPackages) putNPM(ctx context.Context, p engine.Publication, name, version string, manifest map[string]any,
	tgz *os.File, size int64, sums npmSums) (int, []byte, error) {
	tok, err := r.npm.Token(ctx, p.Domain, npmPublishTimeout+time.Minute)
	if err != nil {
		return 0, nil, err
	}
	file := name + "-" + version + ".tgz"
	manifest["_id"] = name + "@" + version
	manifest["dist"] = map[string]any{"shasum": sums.sha1, "integrity": "sha512-" + sums.sha512, "tarball": file}
	head, err := json.Marshal(map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: manifest}})
	if err != nil {
		return 0, nil, err
	}
	att, _ := json.Marshal(file)
	prefix := string(head[:len(head)-1]) + `,"_attachments":{` + string(att) +
		fmt.Sprintf(`:{"content_type":"application/octet-stream","length":%d,"data":"`, size)
	if _, err := tgz.Seek(0, io.SeekStart); err != nil {
		return 0, nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, err := io.WriteString(pw, prefix)
		if err == nil {
			_, err = io.Copy(enc, tgz)
		}
		if err == nil {
			err = enc.Close()
		}
		if err == nil {
			_, err = io.WriteString(pw, `"}}}`)
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	rctx, cancel := context.WithTimeout(ctx, npmPublishTimeout)
	defer cancel()
	u := "/npm/" + url.PathEscape(p.Domain) + "/" + url.PathEscape(p.Repository) + "/" + strings.Replace(name, "/", "%2f", 1)
	req, err := http.NewRequestWithContext(rctx, http.MethodPut, u, pr)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Npm-Command", "publish")
	req.RemoteAddr = "127.0.0.1:0"
	rec := &responseRecorder{header: http.Header{}}
	r.npm.Handler.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes(), nil
}

// responseRecorder keeps the status and the first 64 KiB of a response.
type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseRecorder) Header() http.Header { return w.header }

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *responseRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := 64<<10 - w.body.Len(); room > 0 {
		w.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
