package rendered

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// incompressible returns a JSON document of about n bytes that gzip
// shrinks only to about half.
func incompressible(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	raw := make([]byte, n/2)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	return []byte(`{"name":"x","readme":"` + hex.EncodeToString(raw) + `"}`)
}

// allocated returns the bytes f takes on disk.
func allocated(t *testing.T, f *os.File) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestDocShelved(t *testing.T) {
	dir := withSpill(t, 4<<20)
	body := incompressible(8<<10, 1) // gzip ~4 KiB: over shelfMin, under a spill file's sixteenth
	d := NewDoc(body)
	if d.shelf == nil || d.Spilled() || d.gz != nil {
		t.Fatalf("not shelved: shelf %v, spilled %v, %d bytes in memory", d.shelf, d.Spilled(), len(d.gz))
	}
	if d.shelf.off%shelfPage != 0 || d.Size() < pages(d.shelf.n) {
		t.Errorf("shelved at %d, counts %d bytes for %d", d.shelf.off, d.Size(), d.shelf.n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the shelf has a name: %v", ents)
	}
	if !bytes.Equal(d.Body(), body) {
		t.Error("Body() of a shelved doc differs")
	}
	checkServes(t, d, body)

	// a second document goes on the next page, and the first is intact
	d2 := NewDoc(incompressible(8<<10, 2))
	if d2.shelf == nil || d2.shelf.sf != d.shelf.sf || d2.shelf.off < d.shelf.off+d.shelf.n || d2.shelf.off%shelfPage != 0 {
		t.Fatalf("second document at %+v, first at %+v", d2.shelf, d.shelf)
	}
	if !bytes.Equal(d.Body(), body) {
		t.Error("the first document changed")
	}

	// tiny documents stay in memory
	if tiny := NewDoc([]byte(`{"latest":"1.0.0"}`)); tiny.shelf != nil || tiny.gz == nil {
		t.Error("a tiny document went on the shelf")
	}
}

// A document that is no longer reachable gives its pages back.
func TestShelfReleases(t *testing.T) {
	withSpill(t, 4<<20)
	keep := NewDoc(incompressible(8<<10, 3))
	f := keep.shelf.sf.f
	drop := make([]*Doc, 8)
	for i := range drop {
		drop[i] = NewDoc(incompressible(8<<10, uint64(10+i)))
	}
	full := allocated(t, f)
	if full < 9*pages(keep.shelf.n)/2 {
		t.Fatalf("nine documents take %d bytes on disk", full)
	}
	runtime.KeepAlive(drop) // until measured: a collection may come at any time
	drop = nil
	deadline := time.Now().Add(10 * time.Second)
	for allocated(t, f) > full/3 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d of %d bytes allocated after the documents went", allocated(t, f), full)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if b := keep.Body(); len(b) == 0 || !bytes.Equal(b, incompressible(8<<10, 3)) {
		t.Error("the document still referenced lost its bytes")
	}
}

func TestShelfNeedsSpillDir(t *testing.T) {
	old := shared.max
	Configure(4<<20, "")
	t.Cleanup(func() { Configure(old, "") })
	if d := NewDoc(incompressible(8<<10, 4)); d.shelf != nil || d.gz == nil {
		t.Error("shelved without a spill directory")
	}
}

// BenchmarkServeDoc serves a 16 KB document gzip-compressed from the heap
// and from the shelf (one pread more per response).
func BenchmarkServeDoc(b *testing.B) {
	body := incompressible(16<<10, 5)
	r := Rep{ContentType: "application/json", Weight: weight(0)}
	for _, where := range []string{"heap", "shelf"} {
		b.Run(where, func(b *testing.B) {
			dir := ""
			if where == "shelf" {
				dir = b.TempDir()
			}
			old := shared.max
			Configure(4<<20, dir)
			defer Configure(old, "")
			d := NewDoc(body)
			if (d.shelf != nil) != (where == "shelf") {
				b.Fatalf("shelved: %v", d.shelf != nil)
			}
			e := echo.New()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				if err := d.Serve(e.NewContext(req, rec), r); err != nil || rec.Body.Len() != int(d.gzSize()) {
					b.Fatalf("%v, %d bytes", err, rec.Body.Len())
				}
			}
		})
	}
}
