package deploy

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxBundleBytes bounds what one bundle may unpack to.
const MaxBundleBytes = 2 << 30

// Unpack extracts the bundle archive at src (bundleType zip, tar or tgz)
// into the empty directory dst. Entries that would land outside dst (zip
// slip), symbolic and hard links, and devices are refused before anything
// is written for them; regular files keep their permission bits.
func Unpack(src, bundleType, dst string) error {
	switch bundleType {
	case "", "zip":
		return unzip(src, dst)
	case "tar", "tgz":
		return untar(src, bundleType == "tgz", dst)
	default:
		return errorf(ErrInvalid, "Revision", "bundle type %q is not supported (zip, tar, tgz)", bundleType)
	}
}

// entryPath returns where the archive entry name goes under dst.
func entryPath(dst, name string) (string, error) {
	clean := path.Clean("/" + strings.ReplaceAll(name, "\\", "/"))
	if strings.Contains(name, "\x00") || strings.Contains("/"+strings.ReplaceAll(name, "\\", "/")+"/", "/../") {
		return "", errorf(ErrInvalid, "Revision", "bundle entry %q leaves the bundle", name)
	}
	return filepath.Join(dst, filepath.FromSlash(clean)), nil
}

type budget struct{ left int64 }

func (b *budget) copy(dst string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm()|0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, b.left+1))
	b.left -= n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && b.left < 0 {
		err = errorf(ErrInvalid, "Revision", "bundle unpacks to more than %d bytes", int64(MaxBundleBytes))
	}
	return err
}

func unzip(src, dst string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return errorf(ErrInvalid, "Revision", "bundle is not a zip archive: %v", err)
	}
	defer zr.Close()
	b := &budget{left: MaxBundleBytes}
	for _, f := range zr.File {
		p, err := entryPath(dst, f.Name)
		if err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return errorf(ErrInvalid, "Revision", "bundle entry %q is a %s; only files and directories are allowed", f.Name, kind(mode))
		}
		rc, err := f.Open()
		if err != nil {
			return errorf(ErrInvalid, "Revision", "bundle entry %q: %v", f.Name, err)
		}
		err = b.copy(p, rc, mode)
		rc.Close()
		if err != nil {
			return fmt.Errorf("unpacking %q: %w", f.Name, err)
		}
	}
	return nil
}

func untar(src string, gz bool, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return errorf(ErrInvalid, "Revision", "bundle is not gzip-compressed: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	b := &budget{left: MaxBundleBytes}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorf(ErrInvalid, "Revision", "bundle is not a tar archive: %v", err)
		}
		p, err := entryPath(dst, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := b.copy(p, tr, fs.FileMode(h.Mode)); err != nil {
				return fmt.Errorf("unpacking %q: %w", h.Name, err)
			}
		case tar.TypeXGlobalHeader:
		default:
			return errorf(ErrInvalid, "Revision", "bundle entry %q is a %s; only files and directories are allowed", h.Name, kind(h.FileInfo().Mode()))
		}
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file (" + m.Type().String() + ")"
	}
}
