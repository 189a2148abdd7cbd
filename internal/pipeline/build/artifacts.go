package build

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Globs as buildspec artifacts, reports and cache paths use them: a
// slash-separated pattern relative to a base directory; "**" is any number
// of directories (none included), other segments follow path.Match. A
// pattern without wildcards that names a directory takes everything under
// it. "./" prefixes are ignored.

// matchGlob reports whether the slash-separated relative name matches
// pattern.
func matchGlob(pattern, name string) bool {
	return matchSegs(splitGlob(pattern), strings.Split(name, "/"))
}

func splitGlob(pattern string) []string {
	pattern = strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(pattern, "./")), "/")
	if pattern == "" {
		return nil
	}
	return strings.Split(pattern, "/")
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(name) > 0
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// matchAny reports whether rel matches one of patterns, or lies under a
// directory a wildcard-free pattern names.
func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if matchGlob(p, rel) {
			return true
		}
		if !hasMeta(p) {
			dir := strings.Join(splitGlob(p), "/")
			if dir != "" && strings.HasPrefix(rel, dir+"/") {
				return true
			}
		}
	}
	return false
}

// fileEntry is a file chosen for an archive.
type fileEntry struct {
	abs, name string // name: slash path inside the archive
}

// collect returns the files of set under root (CODEBUILD_SRC_DIR),
// sorted by archive name. base-directory may itself be a glob: every
// directory it matches is a base. Paths must stay inside root.
func collect(root string, set SpecArtifactSet) ([]fileEntry, error) {
	bases := []string{"."}
	if set.BaseDirectory != "" {
		var err error
		bases, err = globDirs(root, set.BaseDirectory)
		if err != nil {
			return nil, err
		}
		if len(bases) == 0 {
			return nil, fmt.Errorf("base-directory %q matches no directory", set.BaseDirectory)
		}
	}
	seen := map[string]bool{}
	var out []fileEntry
	for _, base := range bases {
		dir := filepath.Join(root, filepath.FromSlash(base))
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			if !matchAny(set.Files, rel) || matchAny(set.ExcludePaths, rel) {
				return nil
			}
			name := rel
			if set.DiscardPaths {
				name = path.Base(rel)
			}
			if seen[name] {
				return nil // first one wins, as with discard-paths collisions
			}
			seen[name] = true
			out = append(out, fileEntry{abs: p, name: name})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// globDirs returns the directories under root (relative, slash) that
// pattern matches.
func globDirs(root, pattern string) ([]string, error) {
	if c := path.Clean(pattern); c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
		return nil, fmt.Errorf("base-directory %q is not inside the source directory", pattern)
	}
	if !hasMeta(pattern) {
		rel := strings.Join(splitGlob(pattern), "/")
		if rel == "" {
			rel = "."
		}
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err == nil && fi.IsDir() {
			return []string{rel}, nil
		}
		return nil, nil
	}
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if matchGlob(pattern, filepath.ToSlash(rel)) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// writeZip writes files into a zip archive on w. Symbolic links are
// stored as links when keepLinks is set, else followed (a dangling link is
// skipped).
func writeZip(w io.Writer, files []fileEntry, keepLinks bool) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		fi, err := os.Lstat(f.abs)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if keepLinks {
				target, err := os.Readlink(f.abs)
				if err != nil {
					return err
				}
				h := &zip.FileHeader{Name: f.name, Method: zip.Store, Modified: fi.ModTime()}
				h.SetMode(fi.Mode())
				hw, err := zw.CreateHeader(h)
				if err != nil {
					return err
				}
				io.WriteString(hw, target)
				continue
			}
			if fi, err = os.Stat(f.abs); err != nil || !fi.Mode().IsRegular() {
				continue
			}
		}
		h, err := zip.FileInfoHeader(fi)
		if err != nil {
			return err
		}
		h.Name, h.Method = f.name, zip.Deflate
		hw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(f.abs)
		if err != nil {
			return err
		}
		_, err = io.Copy(hw, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// extractZip unpacks a zip archive into dest. Entries that would land
// outside dest (absolute names, "..") are refused; modes keep their
// permission bits; symbolic links are recreated only when their target
// stays inside dest.
func extractZip(r io.ReaderAt, size int64, dest string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("reading artifact zip: %w", err)
	}
	for _, f := range zr.File {
		name := filepath.FromSlash(strings.TrimPrefix(f.Name, "./"))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("artifact zip entry %q would be written outside the source directory", f.Name)
		}
		target := filepath.Join(dest, name)
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			rc, err := f.Open()
			if err != nil {
				return err
			}
			link, err := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if err != nil {
				return err
			}
			resolved := filepath.Join(filepath.Dir(name), string(link))
			if filepath.IsAbs(string(link)) || !filepath.IsLocal(resolved) {
				return fmt.Errorf("artifact zip link %q points outside the source directory", f.Name)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(string(link), target); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		perm := mode.Perm() | 0o600
		if mode.Perm() == 0 {
			perm = 0o644
		}
		if err := extractFile(f, target, perm); err != nil {
			return err
		}
	}
	return nil
}

func extractFile(f *zip.File, target string, perm fs.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies the directory src into dst (created), keeping modes and
// symbolic links.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(target)
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices, fifos are not copied
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var errNoArtifacts = errors.New("no matching artifact paths found")
