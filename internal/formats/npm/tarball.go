package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// An npm tarball is a gzip-compressed tar whose entries share one top
// directory ("package/" by convention; installers strip whatever it is),
// with package.json directly inside it
// (https://docs.npmjs.com/cli/v11/commands/npm-pack).

// Limits on what inspectTarball reads.
const (
	maxPackageJSON     = 8 << 20
	maxTarballReadme   = 1 << 20
	maxTarballEntries  = 200_000
	maxUnpackedScanned = 4 << 30
)

// tarballInfo is what the registry reads from a tarball.
type tarballInfo struct {
	Name, Version  string // from package.json
	Readme         string // README at the top, when asked for
	ReadmeFilename string
}

// inspectTarball reads package.json (and, if wantReadme, the README) from
// an npm tarball. A stream that is not gzip+tar, or a tarball without a
// readable package.json, is ErrInvalid.
func inspectTarball(r io.Reader, wantReadme bool) (tarballInfo, error) {
	var info tarballInfo
	zr, err := gzip.NewReader(r)
	if err != nil {
		return info, domain.Invalid("the tarball is not gzip-compressed: %v", err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: maxUnpackedScanned}
	tr := tar.NewReader(lr)
	havePJ := false
	for i := 0; ; i++ {
		if i > maxTarballEntries {
			return info, domain.Invalid("the tarball has more than %d entries", maxTarballEntries)
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return info, domain.Invalid("the tarball unpacks to more than %d bytes", int64(maxUnpackedScanned))
			}
			return info, domain.Invalid("the tarball is not a valid tar archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		base, ok := topLevelFile(h.Name)
		if !ok {
			continue
		}
		switch {
		case base == "package.json" && !havePJ:
			body, err := io.ReadAll(io.LimitReader(tr, maxPackageJSON+1))
			if err != nil {
				return info, domain.Invalid("the tarball is not a valid tar archive: %v", err)
			}
			if len(body) > maxPackageJSON {
				return info, domain.Invalid("package.json in the tarball is larger than %d bytes", maxPackageJSON)
			}
			var pj struct {
				Name    any `json:"name"`
				Version any `json:"version"`
			}
			if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), &pj); err != nil {
				return info, domain.Invalid("package.json in the tarball is not valid JSON: %v", err)
			}
			info.Name, _ = pj.Name.(string)
			info.Version, _ = pj.Version.(string)
			havePJ = true
		case wantReadme && info.Readme == "" && isReadme(base):
			body, err := io.ReadAll(io.LimitReader(tr, maxTarballReadme))
			if err != nil {
				return info, domain.Invalid("the tarball is not a valid tar archive: %v", err)
			}
			info.Readme, info.ReadmeFilename = string(body), base
		}
		if havePJ && (!wantReadme || info.Readme != "") {
			return info, nil
		}
	}
	if !havePJ {
		return info, domain.Invalid("the tarball has no package.json in its top directory")
	}
	return info, nil
}

// topLevelFile returns the name of a file directly inside the tarball's
// top directory ("package/package.json" -> "package.json").
func topLevelFile(name string) (string, bool) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	dir, base, ok := strings.Cut(name, "/")
	if !ok || dir == "" || strings.Contains(base, "/") {
		return "", false
	}
	return base, true
}

func isReadme(base string) bool {
	l := strings.ToLower(base)
	return l == "readme" || l == "readme.md" || l == "readme.markdown" || l == "readme.txt"
}
