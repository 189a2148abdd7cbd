package engine

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/blob"
)

// Artifacts are zip archives stored as blobs: a directory is zipped
// deterministically (entries sorted, fixed times, file modes kept) so
// equal trees give equal digests and are stored once.

// zipEpoch is the modification time of every entry (the zip format's
// earliest date).
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// zipDir zips the regular files (and symlinks) under dir whose relative
// paths match one of globs (nil or empty: all) into the blob store.
func (e *Engine) zipDir(ctx context.Context, dir string, globs []string) (digest string, size int64, err error) {
	tmp, err := os.CreateTemp(e.opts.WorkDir, "artifact-*.zip")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	zw := zip.NewWriter(tmp)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" && p != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if len(globs) > 0 && !matchAny(globs, rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: rel, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(info.Mode())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Method = zip.Store
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, target)
			return err
		case info.Mode().IsRegular():
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		}
		return nil // sockets, devices: not artifacts
	})
	if err != nil {
		return "", 0, fmt.Errorf("zipping %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return "", 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	put, err := e.opts.Blobs.Put(ctx, tmp, "")
	if err != nil {
		return "", 0, fmt.Errorf("storing artifact: %w", err)
	}
	return put.Hashes.SHA256, put.Size, nil
}

// openZip opens an artifact blob as a zip archive; close the returned
// closer when done.
func (e *Engine) openZip(ctx context.Context, digest string) (*zip.Reader, io.Closer, error) {
	rc, info, err := e.opts.Blobs.Open(ctx, digest)
	if err != nil {
		return nil, nil, fmt.Errorf("artifact %s: %w", digest, err)
	}
	if ra, ok := rc.(io.ReaderAt); ok {
		zr, err := zip.NewReader(ra, info.Size)
		if err != nil {
			rc.Close()
			return nil, nil, fmt.Errorf("artifact %s is not a zip archive: %w", digest, err)
		}
		return zr, rc, nil
	}
	// Backends without ReadAt (S3): spool to a temporary file.
	defer rc.Close()
	tmp, err := os.CreateTemp(e.opts.WorkDir, "artifact-*.zip")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(tmp.Name())
	n, err := io.Copy(tmp, rc)
	if err != nil {
		tmp.Close()
		return nil, nil, err
	}
	zr, err := zip.NewReader(tmp, n)
	if err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("artifact %s is not a zip archive: %w", digest, err)
	}
	return zr, tmp, nil
}

// unzip extracts an artifact into dir, refusing entries that would land
// outside it and stopping at the configured size limit.
func (e *Engine) unzip(ctx context.Context, digest, dir string) error {
	zr, c, err := e.openZip(ctx, digest)
	if err != nil {
		return err
	}
	defer c.Close()
	budget := e.opts.MaxArtifactBytes
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, ok := safeEntry(f.Name)
		if !ok {
			return fmt.Errorf("artifact %s: entry %q escapes the workspace", digest, f.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			target, err := readEntry(f, 4096)
			if err != nil {
				return err
			}
			t := string(target)
			if _, ok := safeEntry(path.Join(path.Dir(name), filepath.ToSlash(t))); filepath.IsAbs(t) || !ok {
				return fmt.Errorf("artifact %s: symlink %q points outside the workspace", digest, f.Name)
			}
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		perm := mode.Perm() | 0o600
		w, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
		if err != nil {
			r.Close()
			return err
		}
		n, err := io.Copy(w, io.LimitReader(r, budget+1))
		r.Close()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if budget -= n; budget < 0 {
			return fmt.Errorf("artifact %s expands beyond %d bytes", digest, e.opts.MaxArtifactBytes)
		}
	}
	return nil
}

// storeFiles puts every regular file of an artifact into the blob store
// and returns them as assets with slash-separated relative names.
func (e *Engine) storeFiles(ctx context.Context, digest string) ([]Asset, error) {
	zr, c, err := e.openZip(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []Asset
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		name, ok := safeEntry(f.Name)
		if !ok {
			return nil, fmt.Errorf("artifact %s: entry %q escapes the artifact", digest, f.Name)
		}
		r, err := f.Open()
		if err != nil {
			return nil, err
		}
		put, err := e.opts.Blobs.Put(ctx, io.LimitReader(r, e.opts.MaxArtifactBytes), "")
		r.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, Asset{Name: name, SHA256: put.Hashes.SHA256, Size: put.Size})
	}
	return out, nil
}

// zipAssets builds an artifact from blobs (a package version's assets).
func (e *Engine) zipAssets(ctx context.Context, assets []Asset) (string, int64, error) {
	dir, err := os.MkdirTemp(e.opts.WorkDir, "assets-*")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(dir)
	for _, a := range assets {
		name, ok := safeEntry(a.Name)
		if !ok {
			return "", 0, fmt.Errorf("asset name %q is not a relative path", a.Name)
		}
		if err := e.copyBlob(ctx, a.SHA256, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return "", 0, fmt.Errorf("asset %s: %w", a.Name, err)
		}
	}
	return e.zipDir(ctx, dir, nil)
}

func (e *Engine) copyBlob(ctx context.Context, digest, dst string) error {
	if !blob.ValidDigest(digest) {
		return fmt.Errorf("%q is not a sha256 digest", digest)
	}
	rc, _, err := e.opts.Blobs.Open(ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, rc); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func readEntry(f *zip.File, max int64) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, max))
}

// safeEntry cleans a zip entry name and reports whether it stays inside
// the directory it is extracted to.
func safeEntry(name string) (string, bool) {
	name = strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(name, "/") {
		return "", false
	}
	c := path.Clean(name)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// matchAny reports whether rel matches one of the globs. Globs use
// path.Match per segment, plus "**" for any number of segments, as the
// Commands action's output "files" do ("**/*", "dist/**/*", "app.zip").
func matchAny(globs []string, rel string) bool {
	for _, g := range globs {
		if matchGlob(strings.Split(path.Clean(g), "/"), strings.Split(rel, "/")) {
			return true
		}
	}
	return false
}

func matchGlob(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchGlob(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
