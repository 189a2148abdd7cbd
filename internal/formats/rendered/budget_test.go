package rendered

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// sized is a value that reports its size.
type sized int64

func (s sized) Size() int64 { return int64(s) }

func get[K comparable, V any](t *testing.T, c *Cache[K, V], k K, v V, renders *int) {
	t.Helper()
	if _, err := c.Get(context.Background(), k, func(context.Context) (V, error) { *renders++; return v, nil }); err != nil {
		t.Fatal(err)
	}
}

func TestCacheByteBudget(t *testing.T) {
	b := newBudget(4 * (1000 + slotOverhead))
	one := newCache[string, sized](100, b)
	two := newCache[int, sized](100, b)
	renders := 0
	get(t, one, "a", 1000, &renders)
	get(t, two, 1, 1000, &renders)
	get(t, one, "b", 1000, &renders)
	get(t, one, "a", 1000, &renders) // a is now more recent than 1 and b
	get(t, two, 2, 1000, &renders)
	if renders != 4 || b.used != 4*(1000+slotOverhead) {
		t.Fatalf("%d renders, %d bytes used; want 4 renders, the budget full", renders, b.used)
	}
	// a fifth value evicts the least recently used of either cache: 1
	get(t, one, "c", 1000, &renders)
	if b.used > b.max {
		t.Errorf("used %d > max %d", b.used, b.max)
	}
	if one.Len() != 3 || two.Len() != 1 {
		t.Errorf("lens %d, %d; want 3, 1", one.Len(), two.Len())
	}
	renders = 0
	get(t, two, 2, 1000, &renders)
	get(t, one, "a", 1000, &renders)
	if renders != 0 {
		t.Errorf("2 or a was evicted instead of 1")
	}
	get(t, two, 1, 1000, &renders)
	if renders != 1 {
		t.Errorf("1 was still cached")
	}
	// larger than a quarter of the budget: served, never kept
	renders = 0
	big := sized(b.max/4 + 1)
	get(t, one, "big", big, &renders)
	get(t, one, "big", big, &renders)
	if renders != 2 {
		t.Errorf("a value over a quarter of the budget was cached (%d renders)", renders)
	}
	one.Purge()
	two.Purge()
	if b.used != 0 || b.ll.Len() != 0 || one.Len() != 0 || two.Len() != 0 {
		t.Errorf("after Purge: %d bytes, %d slots", b.used, b.ll.Len())
	}
}

func TestCacheEntryBound(t *testing.T) {
	b := newBudget(1 << 30)
	c := newCache[int, sized](2, b)
	renders := 0
	for i := range 3 {
		get(t, c, i, 10, &renders)
	}
	if c.Len() != 2 || b.ll.Len() != 2 || b.used != 2*(10+slotOverhead) {
		t.Errorf("len %d, budget slots %d, used %d; want 2 entries", c.Len(), b.ll.Len(), b.used)
	}
}

func TestBudgetShrinks(t *testing.T) {
	b := newBudget(1 << 20)
	c := newCache[int, sized](100, b)
	renders := 0
	for i := range 10 {
		get(t, c, i, 1000, &renders)
	}
	b.setMax(3 * (1000 + slotOverhead))
	if c.Len() != 3 || b.used > b.max {
		t.Errorf("after shrinking: %d entries, %d bytes", c.Len(), b.used)
	}
}

// withSpill configures a small budget and a spill directory for a test.
func withSpill(t *testing.T, max int64) string {
	t.Helper()
	dir := t.TempDir()
	old := shared.max
	Configure(max, dir)
	t.Cleanup(func() { Configure(old, "") })
	return dir
}

func TestDocSpilled(t *testing.T) {
	dir := withSpill(t, 4<<20)
	body := bytes.Repeat([]byte(`{"name":"huge","versions":{}} `), (256<<10)/30+1) // over a sixteenth of 4 MiB
	d := NewDoc(body)
	small := NewDoc([]byte(`{"name":"small"}`))
	if !d.Spilled() || small.Spilled() {
		t.Fatalf("spilled: big %v, small %v", d.Spilled(), small.Spilled())
	}
	if d.Size() > 1024 {
		t.Errorf("a spilled doc counts %d bytes in memory", d.Size())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the spill file has a name: %v", ents)
	}
	if !bytes.Equal(d.Body(), body) {
		t.Error("Body() of a spilled doc differs")
	}
	sum := sha256.Sum256(body)
	if want := `"` + hex.EncodeToString(sum[:16]) + `-gz"`; d.ETag("", true) != want {
		t.Errorf("etag %s, want %s", d.ETag("", true), want)
	}
	checkServes(t, d, body)
}

// checkServes serves d, whose document is body, over a real connection
// (gzip, three times: no offset is shared between responses), decompressed
// (identity), conditionally and to HEAD, and reads Gzipped().
func checkServes(t *testing.T, d *Doc, body []byte) {
	t.Helper()
	r := Rep{ContentType: "application/json", Weight: weight(0)}

	// gzip through a real connection (sendfile or the shelf)
	e := echo.New()
	e.GET("/", func(c echo.Context) error { return d.Serve(c, r) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	for range 3 { // the file's offset is not shared between responses
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("ETag") != d.ETag("", true) {
			t.Fatalf("headers %v", res.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(zr); !bytes.Equal(got, body) {
			t.Fatalf("gzip body decompresses to %d bytes, want %d", len(got), len(body))
		}
	}
	// identity, decompressed on the fly
	rec := serve(t, d, r)
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), body) ||
		rec.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("identity: %d %v, %d bytes", rec.Code, rec.Header(), rec.Body.Len())
	}
	// conditional
	rec = serve(t, d, r, "Accept-Encoding", "gzip", "If-None-Match", d.ETag("", true))
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	// HEAD: headers, no body
	hreq := httptest.NewRequest(http.MethodHead, "/", nil)
	hreq.Header.Set("Accept-Encoding", "gzip")
	hrec := httptest.NewRecorder()
	if err := d.Serve(e.NewContext(hreq, hrec), r); err != nil || hrec.Body.Len() != 0 || hrec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %v, %d bytes, %v", err, hrec.Body.Len(), hrec.Header())
	}
	if gz := d.Gzipped(); !strings.HasPrefix(string(gz), "\x1f\x8b") || int64(len(gz)) != d.gzSize() {
		t.Errorf("Gzipped(): %d bytes, want gzip of %d", len(gz), d.gzSize())
	}
}

func TestDocNotSpilledWithoutDir(t *testing.T) {
	old := shared.max
	Configure(4<<20, "")
	t.Cleanup(func() { Configure(old, "") })
	d := NewDoc(make([]byte, 2<<20))
	if d.Spilled() || len(d.Body()) != 2<<20 {
		t.Errorf("spilled %v with no directory", d.Spilled())
	}
}

func TestWriterSpillsMidway(t *testing.T) {
	withSpill(t, 1<<20) // spills after 64 KiB
	var want bytes.Buffer
	w := NewWriter()
	for i := range 20000 { // ~400 KB in small writes, as a renderer makes them
		line := `{"v":"1.0.` + strconv.Itoa(i) + `"},`
		w.WriteString(line)
		want.WriteString(line)
	}
	w.WriteByte('}')
	want.WriteByte('}')
	d, err := w.Doc()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Spilled() || d.Len() != int64(want.Len()) || d.Size() > 1024 {
		t.Fatalf("spilled %v, len %d (want %d), in memory %d", d.Spilled(), d.Len(), want.Len(), d.Size())
	}
	if !bytes.Equal(d.Body(), want.Bytes()) {
		t.Fatal("the streamed document differs from what was written")
	}
	if m := NewDoc(want.Bytes()); m.ETag("x", true) != d.ETag("x", true) {
		t.Errorf("etag %s, NewDoc's %s", d.ETag("x", true), m.ETag("x", true))
	}
	small := NewDoc([]byte(`{"name":"small"}`))
	if small.Spilled() || string(small.Body()) != `{"name":"small"}` || small.Size() > int64(len(small.Gzipped()))+128 {
		t.Errorf("small doc: spilled %v, body %q, size %d", small.Spilled(), small.Body(), small.Size())
	}
}

func TestWriterSpillFailure(t *testing.T) {
	withSpill(t, 1<<20)
	w := NewWriter()
	w.Write(make([]byte, 100<<10)) // spilled
	if w.tee.sink.file == nil {
		t.Fatal("not spilled")
	}
	w.tee.sink.file.Close() // the disk goes away
	rnd := make([]byte, 1<<20)
	for i := range rnd {
		rnd[i] = byte(i * 7919 >> 3)
	}
	w.Write(rnd)
	if d, err := w.Doc(); err == nil {
		t.Fatalf("Doc after a failed spill file: %v, no error", d)
	}
}
