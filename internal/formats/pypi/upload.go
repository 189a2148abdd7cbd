package pypi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/blake2b"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/domain"
)

// Uploads use the legacy upload API twine speaks
// (https://docs.pypi.org/api/upload/): a multipart/form-data POST to the
// repository endpoint with the fields
//
//	:action            file_upload (required)
//	protocol_version   1 (required)
//	metadata_version   the file's Metadata-Version (required)
//	name, version      the project and version (required; name before content)
//	filetype           sdist | bdist_wheel (required, must match the file name)
//	md5_digest, sha256_digest, blake2_256_digest
//	                   hex digests of the file; at least one, all checked
//	requires_python    used when the file's own metadata has none
//	content            the file, with its name in Content-Disposition (required)
//	...                the other metadata fields are read but the file's own
//	                   metadata is what is kept
//
// The file streams to the blob store as it arrives (sha256_digest, when
// sent before the file, is verified by the store itself so a mismatch
// commits nothing); md5 and blake2b-256 are computed on the way. The
// project must be named before the file so the publish permission is
// checked before a byte of it is read. Then the archive's own metadata is
// read (see archive.go) and must agree with the file name and the form.

// Limits on the form around the file.
const (
	maxFormFieldBytes = 16 << 20 // all fields together (descriptions can be long)
	maxFormParts      = 10_000
	// maxFormOverhead is what the body may hold besides the file and the
	// fields' values: part headers and boundaries.
	maxFormOverhead = 4 << 20
)

// Recognised digest fields, with the length of their hex values.
var digestFields = []struct {
	field string
	size  int
}{{"md5_digest", 32}, {"sha256_digest", 64}, {"blake2_256_digest", 64}}

var hexRE = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// uploadForm is an upload request as read so far.
type uploadForm struct {
	fields map[string][]string
	file   *receivedFile
}

// receivedFile is the file of an upload, committed to the blob store.
type receivedFile struct {
	name    string // as sent, checked by ParseFilename
	fn      Filename
	put     blob.Put
	blake2b string
}

func (u *uploadForm) get(field string) string {
	if vs := u.fields[field]; len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// upload handles POST /pypi/{domain}/{repo}/.
func (f *Format) upload(c echo.Context, rp repo) error {
	r := c.Request()
	max := f.maxFile() + maxFormFieldBytes + maxFormOverhead
	if r.ContentLength > max {
		return tooLarge("the upload", max)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return domain.Invalid("an upload must be a multipart/form-data POST with :action=file_upload, as twine sends")
	}
	form := &uploadForm{fields: map[string][]string{}}
	if err := f.readForm(c, multipart.NewReader(&limited{r: r.Body, max: max, what: "the upload"}, params["boundary"]), form); err != nil {
		return err
	}
	name := form.get("name")
	if form.file == nil {
		if err := f.authorizeUpload(c, name); err != nil {
			return err
		}
		return domain.Invalid("the upload has no file: send it as the form field \"content\"")
	}
	return f.accept(c, rp, form)
}

// readForm reads every part, streaming the file to the blob store.
func (f *Format) readForm(c echo.Context, mr *multipart.Reader, form *uploadForm) error {
	budget := int64(maxFormFieldBytes)
	for i := 0; ; i++ {
		if i >= maxFormParts {
			return domain.Invalid("the upload has more than %d form fields", maxFormParts)
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return formError(err)
		}
		switch name := p.FormName(); name {
		case "content":
			if err := f.receiveFile(c, form, p); err != nil {
				return formError(err)
			}
		case "":
			if _, err := io.Copy(io.Discard, p); err != nil {
				return formError(err)
			}
		default:
			v, err := io.ReadAll(io.LimitReader(p, budget+1))
			if err != nil {
				return formError(err)
			}
			budget -= int64(len(v))
			if budget < 0 {
				return domain.Errorf(domain.ErrTooLarge, "the upload's form fields exceed %d bytes", maxFormFieldBytes)
			}
			form.fields[name] = append(form.fields[name], string(v))
		}
	}
}

// formError turns a failure to read the body into a client error.
func formError(err error) error {
	var de *domain.Error
	switch domain.KindOf(err) {
	case domain.ErrTooLarge:
		if errors.As(err, &de) {
			return de
		}
		return err
	case nil:
		return domain.Invalid("the upload is not a well-formed multipart body: %v", err)
	}
	return err
}

// authorizeUpload checks the publish permission on the named project.
func (f *Format) authorizeUpload(c echo.Context, name string) error {
	if name == "" {
		return domain.Invalid("the upload has no name field: name the project before the file")
	}
	if err := checkName("name", name); err != nil {
		return err
	}
	r := ref(name)
	return f.Authorize(c, ActionPublish, &r)
}

// receiveFile checks the file's name and the caller's permission, then
// streams the file into the blob store.
func (f *Format) receiveFile(c echo.Context, form *uploadForm, p *multipart.Part) error {
	if form.file != nil {
		return domain.Invalid("the upload carries more than one file")
	}
	raw := rawFilename(p)
	if raw == "" {
		return domain.Invalid("the content part has no file name")
	}
	if strings.ContainsAny(raw, `/\`) || raw == "." || raw == ".." {
		return domain.Invalid("the file name %q must not contain a path", raw)
	}
	fn, err := ParseFilename(raw)
	if err != nil {
		return err
	}
	name := form.get("name")
	if err := f.authorizeUpload(c, name); err != nil {
		return err
	}
	if Normalize(fn.Name) != Normalize(name) {
		return domain.Invalid("the file %s is not a distribution of %s", raw, name)
	}
	if v := form.get("version"); v != "" && !fn.Matches(name, v) {
		return domain.Invalid("the file %s is not for version %s of %s", raw, v, name)
	}
	want := ""
	if d := form.get("sha256_digest"); d != "" {
		if len(d) != 64 || !hexRE.MatchString(d) {
			return domain.Invalid("sha256_digest must be 64 hex digits")
		}
		want = strings.ToLower(d)
	}
	b2, _ := blake2b.New256(nil)
	body := &limited{r: p, max: f.maxFile(), what: "the file " + raw}
	put, err := f.Blobs.Put(c.Request().Context(), io.TeeReader(body, b2), want)
	if errors.Is(err, blob.ErrDigestMismatch) {
		return domain.Invalid("sha256_digest does not match the uploaded file %s", raw)
	}
	if err != nil {
		return err
	}
	form.file = &receivedFile{name: raw, fn: fn, put: put, blake2b: hex.EncodeToString(b2.Sum(nil))}
	return nil
}

// rawFilename returns the filename parameter of a part's
// Content-Disposition as sent (multipart.Part.FileName strips any
// directory, which would hide a traversal attempt).
func rawFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// accept checks a fully received upload against its form and its own
// metadata, then records it: the first file of a version creates the
// version, later ones are attached to it.
func (f *Format) accept(c echo.Context, rp repo, form *uploadForm) error {
	ctx := c.Request().Context()
	file := form.file
	if a := form.get(":action"); a != "file_upload" {
		return domain.Invalid("unsupported :action %q: this endpoint takes file_upload", a)
	}
	if v := form.get("protocol_version"); v != "1" {
		return domain.Invalid("unsupported protocol_version %q: want 1", v)
	}
	for _, field := range []string{"metadata_version", "name", "version", "filetype"} {
		if form.get(field) == "" {
			return domain.Invalid("the upload has no %s field", field)
		}
	}
	name, version := form.get("name"), form.get("version")
	if _, ok := ParseVersion(version); !ok {
		return domain.Invalid("version %q is not a PEP 440 version", version)
	}
	if !file.fn.Matches(name, version) {
		return domain.Invalid("the file %s is not for version %s of %s", file.name, version, name)
	}
	switch ft := form.get("filetype"); {
	case ft == "bdist_wheel" && file.fn.Kind == Wheel, ft == "sdist" && file.fn.Kind == Sdist:
	case ft != "bdist_wheel" && ft != "sdist":
		return domain.Invalid("filetype %q is not accepted: upload wheels (bdist_wheel) and source distributions (sdist)", ft)
	default:
		return domain.Invalid("filetype %s does not match the file %s", ft, file.name)
	}
	if err := checkDigests(form, file); err != nil {
		return err
	}
	info, err := f.inspectFile(c, file)
	if err != nil {
		return err
	}
	md := info.meta
	if Normalize(md.Name()) != Normalize(name) || !file.fn.Matches(md.Name(), version) {
		return domain.Invalid("the metadata in %s is for %s %s, but the form says %s %s", file.name, md.Name(), md.Version(), name, version)
	}
	assets := []domain.Asset{{Name: file.name, Size: file.put.Size, Hashes: file.put.Hashes}}
	if info.raw != nil {
		mp, err := f.Blobs.Put(ctx, bytes.NewReader(info.raw), "")
		if err != nil {
			return err
		}
		assets = append(assets, domain.Asset{Name: file.name + metadataSuffix, Size: mp.Size, Hashes: mp.Hashes})
	}
	fm := fileMeta{RequiresPython: md.RequiresPython(), UploadTime: f.now().UTC().Format("2006-01-02T15:04:05.000000Z"), UploadedBy: caller(c)}
	if fm.RequiresPython == "" {
		fm.RequiresPython = form.get("requires_python")
	}
	files, _ := json.Marshal(storedMeta{Files: map[string]fileMeta{file.name: fm}})
	normVersion, _ := NormalizeVersion(md.Version())
	r := ref(name)
	meta := md.versionMeta()
	meta.Metadata = files
	if err := f.checkNotUpstream(ctx, rp, r, normVersion); err != nil {
		return err
	}
	_, err = f.Store.PublishVersion(ctx, domain.PublishInput{Domain: rp.domain, Repository: rp.name, Ref: r, Version: normVersion,
		Meta: meta, Assets: assets, Dependencies: md.dependencies()})
	if domain.KindOf(err) == domain.ErrConflict {
		_, err = f.Store.AttachAssets(ctx, domain.AttachInput{Domain: rp.domain, Repository: rp.name, Ref: r, Version: normVersion,
			Assets: assets, MetadataPatch: files})
		if rt, _ := domain.Resource(err); rt == "asset" {
			return domain.Conflict("asset", file.name, "File already exists: %s was uploaded before with different content; a file name can be used only once (twine --skip-existing skips it)", file.name)
		}
	}
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, "OK\n")
}

// checkDigests verifies every digest the form declares; at least one is
// required.
func checkDigests(form *uploadForm, file *receivedFile) error {
	got := map[string]string{"md5_digest": file.put.Hashes.MD5, "sha256_digest": file.put.Hashes.SHA256, "blake2_256_digest": file.blake2b}
	n := 0
	for _, d := range digestFields {
		v := form.get(d.field)
		if v == "" {
			continue
		}
		n++
		if len(v) != d.size || !hexRE.MatchString(v) {
			return domain.Invalid("%s must be %d hex digits", d.field, d.size)
		}
		if strings.ToLower(v) != got[d.field] {
			return domain.Invalid("%s does not match the uploaded file %s", d.field, file.name)
		}
	}
	if n == 0 {
		return domain.Invalid("the upload has no digest: send md5_digest, sha256_digest or blake2_256_digest")
	}
	return nil
}

// inspectFile reads the committed file's metadata.
func (f *Format) inspectFile(c echo.Context, file *receivedFile) (distInfo, error) {
	rc, _, err := f.Blobs.Open(c.Request().Context(), file.put.Hashes.SHA256)
	if err != nil {
		return distInfo{}, err
	}
	defer rc.Close()
	return inspect(readerAt(rc), file.put.Size, file.fn)
}

// limited fails with ErrTooLarge once more than max bytes were read.
type limited struct {
	r         io.Reader
	max, read int64
	what      string // for the message: "the upload", "the file x.whl"
}

func (l *limited) Read(p []byte) (int, error) {
	if l.read > l.max {
		return 0, tooLarge(l.what, l.max)
	}
	if room := l.max - l.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.max {
		return n, tooLarge(l.what, l.max)
	}
	return n, err
}

func tooLarge(what string, max int64) error {
	return domain.Errorf(domain.ErrTooLarge, "%s exceeds the limit of %d bytes", what, max)
}

// checkNotUpstream refuses publishing a version that the repository's
// external connections have, when the package's origin controls allow
// both publishing and upstream (CodeArtifact answers 409: the version
// would shadow or be shadowed by the public one). Under the default for
// internally published packages (upstream BLOCK) nothing is asked
// upstream.
func (f *Format) checkNotUpstream(ctx context.Context, rp repo, r domain.PackageRef, version string) error {
	if f.Chain == nil {
		return nil
	}
	publish, up, err := f.Chain.OriginControls(ctx, rp.domain, rp.name, r)
	if domain.KindOf(err) == domain.ErrNotFound {
		return nil
	}
	if err != nil || publish != domain.Allow || up != domain.Allow {
		return err
	}
	g, err := f.Chain.Graph(ctx, rp.domain)
	if err != nil {
		return err
	}
	for _, h := range g.SearchOrder(rp.name) {
		if h.ExternalConnection == "" {
			continue
		}
		doc, found, err := f.upstreamPage(ctx, rp, h.ExternalConnection, r.Name)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		body, err := doc.Bytes(ctx) // Validator's doc: the body may be on disk only
		if err != nil {
			continue
		}
		files, err := parseUpstreamPage(body, doc.ContentType, r.Name)
		if err != nil {
			continue
		}
		for _, uf := range files {
			if uf.version == version {
				return domain.Conflict("package-version", version,
					"Version %s of %s already exists on the external connection %s; with origin controls publish ALLOW and upstream ALLOW a version that exists upstream cannot be published", version, r.Name, h.ExternalConnection)
			}
		}
	}
	return nil
}
