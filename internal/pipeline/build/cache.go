package build

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The project cache: after a successful build the files matching
// cache.paths are copied to builds/cache/<project>/ (replacing the
// previous copy atomically), and before INSTALL of the next build they
// are copied back: relative paths into CODEBUILD_SRC_DIR, absolute ones
// to where they were.

// staticPrefix returns the leading segments of a glob that hold no
// wildcard: the directory a walk can start from.
func staticPrefix(pattern string) string {
	var out []string
	for _, seg := range splitGlob(pattern) {
		if hasMeta(seg) {
			break
		}
		out = append(out, seg)
	}
	return strings.Join(out, "/")
}

// collectGlob returns the files under root whose slash path relative to
// root matches pattern (see matchAny).
func collectGlob(root, pattern string) ([]fileEntry, error) {
	start := filepath.Join(root, filepath.FromSlash(staticPrefix(pattern)))
	fi, err := os.Lstat(start)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	if !fi.IsDir() {
		rel, _ := filepath.Rel(root, start)
		if matchAny([]string{pattern}, filepath.ToSlash(rel)) {
			return []fileEntry{{abs: start, name: filepath.ToSlash(rel)}}, nil
		}
		return nil, nil
	}
	var out []fileEntry
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsPermission(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if matchAny([]string{pattern}, rel) {
			out = append(out, fileEntry{abs: p, name: rel})
		}
		return nil
	})
	return out, err
}

// restoreCache copies a project's cache back into place. A missing cache
// is not an error.
func restoreCache(cacheDir, srcDir string) error {
	if _, err := os.Stat(cacheDir); err != nil {
		return nil
	}
	if err := copyIfExists(filepath.Join(cacheDir, "rel"), srcDir); err != nil {
		return err
	}
	return copyIfExists(filepath.Join(cacheDir, "abs"), string(filepath.Separator))
}

func copyIfExists(src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return nil
	}
	return copyTree(src, dst)
}

// saveCache replaces the project's cache with the files matching paths.
// It returns how many files it kept.
func saveCache(cacheDir, srcDir string, paths []string) (int, error) {
	var b [6]byte
	rand.Read(b[:])
	tmp := cacheDir + ".new-" + hex.EncodeToString(b[:])
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	n := 0
	for _, p := range paths {
		root, sub := srcDir, "rel"
		if filepath.IsAbs(p) {
			root, sub = string(filepath.Separator), "abs"
		}
		files, err := collectGlob(root, p)
		if err != nil {
			return n, err
		}
		for _, f := range files {
			fi, err := os.Lstat(f.abs)
			if err != nil {
				continue
			}
			dst := filepath.Join(tmp, sub, filepath.FromSlash(f.name))
			if fi.Mode()&fs.ModeSymlink != 0 {
				link, err := os.Readlink(f.abs)
				if err != nil {
					continue
				}
				os.MkdirAll(filepath.Dir(dst), 0o700)
				os.Remove(dst)
				if err := os.Symlink(link, dst); err != nil {
					return n, err
				}
			} else if err := copyFile(f.abs, dst, fi.Mode().Perm()); err != nil {
				return n, err
			}
			n++
		}
	}
	old := cacheDir + ".old-" + hex.EncodeToString(b[:])
	if err := os.Rename(cacheDir, old); err != nil && !os.IsNotExist(err) {
		return n, err
	}
	if err := os.Rename(tmp, cacheDir); err != nil {
		return n, err
	}
	return n, os.RemoveAll(old)
}
