// Command benchtool is the helper of bench/run.sh. It is not part of the
// registry and not run by the test suite.
//
//	benchtool upstream -listen 127.0.0.1:0 -addr-file F [-huge-mb 30] [-tarball-mb 4] [-delay 300ms]
//
// serves a small npm registry from memory and counts the requests per
// path: bench-fanin (a packument whose versions have generated,
// incompressible tarballs) and bench-huge (a synthetic packument of about
// huge-mb megabytes). GET /-/counts returns the counts as JSON.
//
//	benchtool fetch -url U -n 100 [-H "Name: value"]...
//
// starts n clients at once, each on its own connection, reads every body
// to the end and prints one JSON line: statuses, bytes and the time to
// last byte (p50 and max, milliseconds).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool upstream|fetch [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "upstream":
		err = upstream(os.Args[2:])
	case "fetch":
		err = fetch(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

// tarball returns a gzipped npm package tarball of about size bytes whose
// payload is pseudo-random (so gzip cannot shrink it), fixed by seed.
func tarball(name, version string, size int, seed uint64) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	add := func(path string, body []byte) {
		tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	pj, _ := json.Marshal(map[string]string{"name": name, "version": version, "main": "index.js", "license": "MIT"})
	add("package/package.json", pj)
	add("package/index.js", []byte("module.exports = {};\n"))
	r := rand.New(rand.NewPCG(seed, 7))
	blob := make([]byte, size)
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	add("package/data.bin", blob)
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func dist(url string, tgz []byte) map[string]any {
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	return map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		"shasum": hex.EncodeToString(s1[:]), "tarball": url}
}

func upstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	addrFile := fs.String("addr-file", "", "write the base URL here once listening")
	hugeMB := fs.Int("huge-mb", 30, "approximate size of the bench-huge packument in MB")
	tarMB := fs.Float64("tarball-mb", 4, "size of each bench-fanin tarball in MB")
	versions := fs.Int("fanin-versions", 20, "versions of bench-fanin (one per fan-in round)")
	delay := fs.Duration("delay", 300*time.Millisecond, "wait before answering a tarball request, so concurrent misses overlap")
	fs.Parse(args)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()

	files := map[string][]byte{}
	docs := map[string][]byte{}
	now := time.Now().UTC().Format(time.RFC3339)

	// bench-fanin: small packument, real tarballs.
	vs, times := map[string]any{}, map[string]any{"created": now, "modified": now}
	for i := 0; i < *versions; i++ {
		v := fmt.Sprintf("1.0.%d", i)
		path := "/bench-fanin/-/bench-fanin-" + v + ".tgz"
		tgz := tarball("bench-fanin", v, int(*tarMB*(1<<20)), uint64(i))
		files[path] = tgz
		vs[v] = map[string]any{"name": "bench-fanin", "version": v, "_id": "bench-fanin@" + v, "main": "index.js",
			"license": "MIT", "dist": dist(base+path, tgz)}
		times[v] = now
	}
	docs["/bench-fanin"], _ = json.Marshal(map[string]any{"_id": "bench-fanin", "name": "bench-fanin",
		"dist-tags": map[string]any{"latest": fmt.Sprintf("1.0.%d", *versions-1)}, "versions": vs, "time": times})

	// bench-huge: many versions with long manifests, like a big monorepo
	// package; one real tarball (1.0.0).
	tgz := tarball("bench-huge", "1.0.0", 64<<10, 99)
	files["/bench-huge/-/bench-huge-1.0.0.tgz"] = tgz
	huge := dist(base+"/bench-huge/-/bench-huge-1.0.0.tgz", tgz)
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 3+r.IntN(8))
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return string(b)
	}
	vs, times = map[string]any{}, map[string]any{"created": now, "modified": now}
	size, target := 0, *hugeMB<<20
	for i := 0; size < target; i++ {
		v := fmt.Sprintf("1.%d.%d", i/100, i%100)
		d := huge
		if i > 0 {
			d = dist(fmt.Sprintf("%s/bench-huge/-/bench-huge-%s.tgz", base, v), []byte(v))
		}
		deps := map[string]any{}
		for j := 0; j < 30; j++ {
			deps[word()+"-"+word()] = fmt.Sprintf("^%d.%d.%d", r.IntN(20), r.IntN(50), r.IntN(100))
		}
		var desc strings.Builder
		for desc.Len() < 2000 {
			desc.WriteString(word() + " ")
		}
		m := map[string]any{"name": "bench-huge", "version": v, "_id": "bench-huge@" + v, "description": desc.String(),
			"main": "index.js", "license": "MIT", "dependencies": deps, "dist": d,
			"scripts": map[string]any{"test": "node test.js", "build": "tsc -p ."}}
		b, _ := json.Marshal(m)
		size += len(b) + 40
		vs[v] = m
		times[v] = now
	}
	docs["/bench-huge"], _ = json.Marshal(map[string]any{"_id": "bench-huge", "name": "bench-huge",
		"dist-tags": map[string]any{"latest": "1.0.0"}, "versions": vs, "time": times})

	var mu sync.Mutex
	counts := map[string]int{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/-/counts" {
			mu.Lock()
			b, _ := json.Marshal(counts)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		}
		mu.Lock()
		counts[p]++
		mu.Unlock()
		if b, ok := docs[p]; ok {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write(b)
			return
		}
		if b, ok := files[p]; ok {
			time.Sleep(*delay)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write(b)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"Not found"}`))
	})
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(base+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "benchtool upstream on %s: bench-huge %d bytes, %d versions\n", base, len(docs["/bench-huge"]), len(vs))
	return http.Serve(ln, h)
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func fetch(args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	url := fs.String("url", "", "URL to fetch")
	n := fs.Int("n", 100, "concurrent clients")
	timeout := fs.Duration("timeout", 5*time.Minute, "per-client timeout")
	var hs headers
	fs.Var(&hs, "H", "request header \"Name: value\" (repeatable)")
	fs.Parse(args)
	if *url == "" {
		return fmt.Errorf("fetch: -url is required")
	}
	type result struct {
		status int
		bytes  int64
		ttlb   time.Duration
		err    error
	}
	res := make([]result, *n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(*n)
	done.Add(*n)
	var t0 time.Time
	for i := 0; i < *n; i++ {
		go func(i int) {
			defer done.Done()
			c := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
			req, _ := http.NewRequest(http.MethodGet, *url, nil)
			for _, h := range hs {
				k, v, _ := strings.Cut(h, ":")
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			ready.Done()
			<-start
			resp, err := c.Do(req)
			if err != nil {
				res[i] = result{err: err, ttlb: time.Since(t0)}
				return
			}
			nb, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res[i] = result{status: resp.StatusCode, bytes: nb, err: err, ttlb: time.Since(t0)}
		}(i)
	}
	ready.Wait()
	t0 = time.Now()
	close(start)
	done.Wait()

	statuses := map[string]int{}
	var ttlb []time.Duration
	var total int64
	errs := 0
	for _, r := range res {
		if r.err != nil {
			errs++
			statuses["error"]++
			continue
		}
		statuses[fmt.Sprint(r.status)]++
		total += r.bytes
		ttlb = append(ttlb, r.ttlb)
	}
	slices.Sort(ttlb)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out := map[string]any{"clients": *n, "statuses": statuses, "errors": errs, "bytes": total}
	if len(ttlb) > 0 {
		out["ttlb_p50_ms"] = ms(ttlb[len(ttlb)/2])
		out["ttlb_max_ms"] = ms(ttlb[len(ttlb)-1])
		out["bytes_per_client"] = total / int64(len(ttlb))
	}
	for _, r := range res {
		if r.err != nil {
			out["first_error"] = r.err.Error()
			break
		}
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	return nil
}
