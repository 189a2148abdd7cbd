package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func memFile(name, content string) npmFile {
	return npmFile{name: name, mode: 0o644, size: int64(len(content)),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(content))), nil }}
}

// TestPackNPMReproducible: packing the same files gives the same bytes
// and digests whatever their order, and the tarball reads back as the
// files under package/.
func TestPackNPMReproducible(t *testing.T) {
	files := func() []npmFile {
		return []npmFile{memFile("index.js", "module.exports = 1;\n"), memFile("package.json", `{"name":"@acme/app","version":"1.0.0"}`), memFile("lib/a.js", "a")}
	}
	var a, b bytes.Buffer
	sa, na, err := packNPM(&a, files())
	if err != nil {
		t.Fatal(err)
	}
	fs := files()
	fs[0], fs[2] = fs[2], fs[0]
	sb, nb, err := packNPM(&b, fs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || sa != sb || na != nb || na != int64(a.Len()) {
		t.Fatalf("packing is not reproducible: %v %v", sa, sb)
	}
	got, err := readNPMTarball(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, f := range got {
		rc, _ := f.open()
		c, _ := io.ReadAll(rc)
		names[f.name] = string(c)
	}
	want := map[string]string{"index.js": "module.exports = 1;\n", "lib/a.js": "a", "package.json": `{"name":"@acme/app","version":"1.0.0"}`}
	if gb, _ := json.Marshal(names); string(gb) != func() string { w, _ := json.Marshal(want); return string(w) }() {
		t.Fatalf("read back %v", names)
	}
}

// FuzzReadNPMTarball: any bytes as a build's .tgz give files with clean
// relative paths or an error, never a panic.
func FuzzReadNPMTarball(f *testing.F) {
	var buf bytes.Buffer
	packNPM(&buf, []npmFile{memFile("package.json", `{"name":"x","version":"1.0.0"}`)})
	f.Add(buf.Bytes())
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := readNPMTarball(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, fl := range files {
			if !validNPMPath(fl.name) {
				t.Fatalf("unclean path %q", fl.name)
			}
		}
	})
}
