package pypi

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/artifactd/registry/internal/domain"
)

// What the registry reads from an uploaded file before accepting it:
//
//	wheel (a zip, https://packaging.python.org/en/latest/specifications/binary-distribution-format/):
//	    {name}-{version}.dist-info/METADATA   core metadata; kept, served at <file>.metadata (PEP 658)
//	    {name}-{version}.dist-info/WHEEL      must say Wheel-Version: 1.x
//	sdist (.tar.gz, or a legacy .zip, https://packaging.python.org/en/latest/specifications/source-distribution-format/):
//	    {name}-{version}/PKG-INFO             core metadata
//
// The .dist-info directory is matched by normalised name and version, as
// pip matches it. Only these members are decompressed, with size limits,
// so an archive bomb costs nothing.

// metadataSuffix is appended to a wheel's file name to name its core
// metadata file (PEP 658), both as a URL and as an asset.
const metadataSuffix = ".metadata"

// Limits on reading archives.
const (
	maxArchiveEntries  = 200_000
	maxUnpackedScanned = 4 << 30
)

// distInfo is what an uploaded distribution declares.
type distInfo struct {
	meta *Metadata
	// raw is the wheel's METADATA file as stored in the wheel; nil for a
	// source distribution.
	raw []byte
}

// inspect reads and checks the core metadata of the distribution file fn
// whose bytes ra holds: a file that is not the archive its name says, or
// whose metadata is missing, unparseable, or for another name or version
// than the file name, is ErrInvalid.
func inspect(ra io.ReaderAt, size int64, fn Filename) (distInfo, error) {
	var (
		info distInfo
		raw  []byte
		err  error
	)
	switch {
	case fn.Kind == Wheel:
		raw, err = wheelMetadata(ra, size, fn)
		info.raw = raw
	case fn.Ext == ".zip":
		raw, err = zipPKGInfo(ra, size, fn)
	default:
		raw, err = tarPKGInfo(io.NewSectionReader(ra, 0, size), fn)
	}
	if err != nil {
		return info, err
	}
	info.meta, err = ParseMetadata(raw)
	if err != nil {
		return info, err
	}
	if !fn.Matches(info.meta.Name(), info.meta.Version()) {
		return info, domain.Invalid("the metadata in %s is for %s %s, but the file name says %s %s",
			fileNameOf(fn), info.meta.Name(), info.meta.Version(), fn.Name, fn.Version)
	}
	return info, nil
}

// fileNameOf rebuilds a name for messages.
func fileNameOf(fn Filename) string { return fn.Name + "-" + fn.Version + fn.Ext }

// distInfoMatches reports whether a top-level directory is the
// .dist-info directory of fn ({name}-{version}.dist-info, compared in
// normalised form).
func distInfoMatches(dir string, fn Filename) bool {
	stem, ok := strings.CutSuffix(dir, ".dist-info")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(stem, '-')
	return i > 0 && fn.Matches(stem[:i], stem[i+1:])
}

func wheelMetadata(ra io.ReaderAt, size int64, fn Filename) ([]byte, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, domain.Invalid("the file is not a wheel: not a zip archive: %v", err)
	}
	if len(zr.File) > maxArchiveEntries {
		return nil, domain.Invalid("the wheel has more than %d entries", maxArchiveEntries)
	}
	// The .dist-info directory named for the file's project and version;
	// failing that, as pip accepts, the only .dist-info directory if its
	// name starts with the project's.
	var dirs []string // .dist-info directories, in archive order
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok || strings.Contains(base, "/") || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
		if _, dup := members[f.Name]; !dup && (base == "METADATA" || base == "WHEEL") {
			members[f.Name] = f
		}
	}
	chosen := ""
	for _, d := range dirs {
		if distInfoMatches(d, fn) {
			chosen = d
			break
		}
	}
	if chosen == "" && len(dirs) == 1 && strings.HasPrefix(Normalize(dirs[0]), Normalize(fn.Name)+"-") {
		chosen = dirs[0]
	}
	metadata, wheel := members[chosen+"/METADATA"], members[chosen+"/WHEEL"]
	if chosen == "" || metadata == nil || wheel == nil {
		return nil, domain.Invalid("the file is not a wheel: it has no %s-%s.dist-info directory with METADATA and WHEEL", fn.Name, fn.Version)
	}
	wb, err := readZipMember(wheel, 1<<20)
	if err != nil {
		return nil, err
	}
	wm, err := parseFields(wb)
	if err != nil {
		return nil, domain.Invalid("the wheel's WHEEL file does not parse: %v", err)
	}
	if v := wm.Get("Wheel-Version"); !strings.HasPrefix(v, "1.") {
		return nil, domain.Invalid("the wheel's WHEEL file has Wheel-Version %q; only 1.x is supported", v)
	}
	return readZipMember(metadata, maxMetadataBytes)
}

// readZipMember reads a member of at most max bytes.
func readZipMember(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, domain.Invalid("%s is larger than %d bytes", f.Name, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, domain.Invalid("reading %s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, domain.Invalid("reading %s: %v", f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, domain.Invalid("%s is larger than %d bytes", f.Name, max)
	}
	return b, nil
}

// pkgInfoPath reports whether an archive member is {top}/PKG-INFO.
func pkgInfoPath(name string) bool {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	dir, base, ok := strings.Cut(name, "/")
	return ok && dir != "" && base == "PKG-INFO"
}

func zipPKGInfo(ra io.ReaderAt, size int64, fn Filename) ([]byte, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, domain.Invalid("the file is not a zip archive: %v", err)
	}
	for _, f := range zr.File {
		if pkgInfoPath(f.Name) && !f.FileInfo().IsDir() {
			return readZipMember(f, maxMetadataBytes)
		}
	}
	return nil, domain.Invalid("the source distribution has no PKG-INFO in its top directory")
}

func tarPKGInfo(r io.Reader, fn Filename) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, domain.Invalid("the source distribution is not gzip-compressed: %v", err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: maxUnpackedScanned}
	tr := tar.NewReader(lr)
	for i := 0; i < maxArchiveEntries; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, domain.Invalid("the source distribution has no PKG-INFO in its top directory")
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, domain.Invalid("the source distribution unpacks to more than %d bytes before its PKG-INFO", int64(maxUnpackedScanned))
			}
			return nil, domain.Invalid("the source distribution is not a valid tar archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg || !pkgInfoPath(h.Name) {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxMetadataBytes+1))
		if err != nil {
			return nil, domain.Invalid("the source distribution is not a valid tar archive: %v", err)
		}
		if len(b) > maxMetadataBytes {
			return nil, domain.Invalid("PKG-INFO is larger than %d bytes", maxMetadataBytes)
		}
		return b, nil
	}
	return nil, domain.Invalid("the source distribution has more than %d entries before its PKG-INFO", maxArchiveEntries)
}

// readerAt gives random access to a blob: directly when it is an
// *os.File (or anything with ReadAt), else by seeking under a lock.
func readerAt(r io.ReadSeeker) io.ReaderAt {
	if ra, ok := r.(io.ReaderAt); ok {
		return ra
	}
	return &seekReaderAt{rs: r}
}

type seekReaderAt struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.rs, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
