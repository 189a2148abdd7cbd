// Package seed uploads a Maven repository directory (a local repository
// such as ~/.m2/repository, or Debian's /usr/share/maven-repo) into a
// registry repository over HTTP, the way mvn deploy would: every file is
// PUT, verified with a checksum PUT, and (unless told otherwise) each
// artifact's maven-metadata.xml is PUT last, which publishes its versions.
//
// What is not a deployable file is skipped and reported: checksum files
// and maven-metadata.xml (the registry computes both), the local
// repository's bookkeeping
// (_remote.repositories, *.lastUpdated, resolver-status.properties) and
// paths outside the Maven layout. Non-unique snapshot files
// (lib-1.0-SNAPSHOT.jar, which local repositories hold) are uploaded as
// one timestamped build per directory, named after the newest
// modification time of its files, build number 1, so that seeding the
// same tree twice uploads the same build.
//
// It imports internal/formats/maven for the layout rules and is meant for
// the registry's command line and tests; it holds no server code.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/formats/maven"
)

// Options configures Run.
type Options struct {
	// Endpoint is the repository's Maven endpoint
	// (http://host:port/maven/{domain}/{repo}/).
	Endpoint string
	// Token is sent as the password of HTTP Basic authentication with user
	// name "aws".
	Token string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// Concurrency is the number of uploads in flight; 0 means 4.
	Concurrency int
	// NoPublish leaves the uploaded versions Unfinished (no
	// maven-metadata.xml is uploaded).
	NoPublish bool
}

// Skipped is a file Run did not upload, and why.
type Skipped struct {
	Path   string // relative to the root, slash-separated
	Reason string
}

// Report says what Run did.
type Report struct {
	// Files is the number of files uploaded (or found already uploaded
	// with identical bytes).
	Files int
	// Artifacts and Versions count what was uploaded; Published counts
	// the artifacts whose metadata was uploaded.
	Artifacts, Versions, Published int
	Skipped                        []Skipped
	// Failed lists the files and metadata the registry refused.
	Failed []Skipped
}

// upload is one file to PUT: its local path and its repository path.
type upload struct {
	local, remote string
}

// artifactKey names groupId:artifactId.
type artifactKey struct{ group, id string }

// Run uploads the repository directory root. It returns an error when
// root cannot be read, when ctx ends, or when the registry refused
// anything (listed in Report.Failed).
func Run(ctx context.Context, root string, o Options) (Report, error) {
	var rep Report
	if !strings.HasSuffix(o.Endpoint, "/") {
		o.Endpoint += "/"
	}
	if _, err := url.Parse(o.Endpoint); err != nil {
		return rep, fmt.Errorf("seed: endpoint: %w", err)
	}
	files, err := collect(root)
	if err != nil {
		return rep, err
	}
	uploads, versions, skipped := plan(files)
	rep.Skipped = skipped

	c := &client{o: o}
	if c.o.Client == nil {
		c.o.Client = http.DefaultClient
	}
	n := o.Concurrency
	if n <= 0 {
		n = 4
	}
	var mu sync.Mutex
	failedArtifacts := map[artifactKey]bool{}
	work := make(chan upload)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				err := c.putFile(ctx, u)
				mu.Lock()
				if err != nil {
					rep.Failed = append(rep.Failed, Skipped{u.remote, err.Error()})
					p, _ := maven.ParsePath(u.remote)
					failedArtifacts[artifactKey{p.GroupID, p.ArtifactID}] = true
				} else {
					rep.Files++
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, u := range uploads {
		select {
		case work <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	keys := make([]artifactKey, 0, len(versions))
	for k := range versions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].group+":"+keys[i].id < keys[j].group+":"+keys[j].id
	})
	rep.Artifacts = len(keys)
	for _, k := range keys {
		rep.Versions += len(versions[k])
		if o.NoPublish || failedArtifacts[k] {
			continue
		}
		if err := c.publish(ctx, k, versions[k]); err != nil {
			rep.Failed = append(rep.Failed, Skipped{k.group + ":" + k.id, err.Error()})
			continue
		}
		rep.Published++
	}
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("seed: the registry refused %d uploads (first: %s: %s)", len(rep.Failed), rep.Failed[0].Path, rep.Failed[0].Reason)
	}
	return rep, nil
}

// localFile is a regular file found under the root.
type localFile struct {
	path, rel string // rel is slash-separated
	mod       time.Time
}

// collect walks root, following symbolic links (Debian's repository is
// mostly links into /usr/share/java) and visiting each directory once.
func collect(root string) ([]localFile, error) {
	var out []localFile
	seen := map[string]bool{}
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			r := e.Name()
			if rel != "" {
				r = rel + "/" + e.Name()
			}
			fi, err := os.Stat(p) // follows links
			if errors.Is(err, fs.ErrNotExist) {
				continue // a dangling link
			}
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir():
				if err := walk(p, r); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				out = append(out, localFile{path: p, rel: r, mod: fi.ModTime()})
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, fmt.Errorf("seed: reading %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// bookkeeping reports whether a file name is a local repository's own
// record or something the registry computes, never an artifact.
func bookkeeping(name string) bool {
	for _, s := range []string{".md5", ".sha1", ".sha256", ".sha512", ".lastUpdated"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return strings.HasPrefix(name, "maven-metadata") || name == "_remote.repositories" || name == "_maven.repositories" ||
		name == "resolver-status.properties"
}

// plan decides the repository path of every file and the versions each
// artifact gets.
func plan(files []localFile) ([]upload, map[artifactKey]map[string]bool, []Skipped) {
	var uploads []upload
	var skipped []Skipped
	versions := map[artifactKey]map[string]bool{}
	// The timestamp of a directory's non-unique snapshot files: the newest
	// modification time among them.
	stamps := map[string]time.Time{}
	for _, f := range files {
		p, err := maven.ParsePath(escape(f.rel))
		if err == nil && p.NonUnique {
			dir := filepath.Dir(f.path)
			if f.mod.After(stamps[dir]) {
				stamps[dir] = f.mod
			}
		}
	}
	for _, f := range files {
		name := f.rel[strings.LastIndexByte(f.rel, '/')+1:]
		if bookkeeping(name) {
			skipped = append(skipped, Skipped{f.rel, "not an artifact file (checksums and metadata are computed by the registry)"})
			continue
		}
		remote := escape(f.rel)
		p, err := maven.ParsePath(remote)
		if err == nil && p.Kind != maven.KindFile {
			err = errors.New("not an artifact file")
		}
		if err != nil {
			skipped = append(skipped, Skipped{f.rel, err.Error()})
			continue
		}
		version := p.Dir
		if p.NonUnique {
			b := maven.Build{Base: p.Dir, Timestamp: stamps[filepath.Dir(f.path)].UTC().Format("20060102.150405"), Number: 1}
			file := maven.FileName(p.ArtifactID, b.Version(), p.Classifier, p.Extension)
			remote = remote[:strings.LastIndexByte(remote, '/')+1] + url.PathEscape(file)
		}
		k := artifactKey{p.GroupID, p.ArtifactID}
		if versions[k] == nil {
			versions[k] = map[string]bool{}
		}
		versions[k][version] = true
		uploads = append(uploads, upload{local: f.path, remote: remote})
	}
	return uploads, versions, skipped
}

// escape percent-encodes each segment of a slash-separated path.
func escape(rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// client talks to the registry.
type client struct{ o Options }

func (c *client) do(ctx context.Context, method, path string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, method, c.o.Endpoint+path, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if c.o.Token != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("aws:"+c.o.Token)))
	}
	res, err := c.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// putFile uploads a file, then its sha256, which the registry compares
// with what it stored.
func (c *client) putFile(ctx context.Context, u upload) error {
	f, err := os.Open(u.local)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := c.do(ctx, http.MethodPut, u.remote, io.TeeReader(f, h), fi.Size()); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return c.do(ctx, http.MethodPut, u.remote+".sha256", strings.NewReader(sum), int64(len(sum)))
}

// publish uploads the artifact-level metadata listing versions.
func (c *client) publish(ctx context.Context, k artifactKey, versions map[string]bool) error {
	vs := make([]string, 0, len(versions))
	for v := range versions {
		vs = append(vs, v)
	}
	maven.SortVersions(vs)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<metadata>\n  <groupId>" + xmlText(k.group) + "</groupId>\n  <artifactId>" +
		xmlText(k.id) + "</artifactId>\n  <versioning>\n    <versions>\n")
	for _, v := range vs {
		b.WriteString("      <version>" + xmlText(v) + "</version>\n")
	}
	b.WriteString("    </versions>\n  </versioning>\n</metadata>\n")
	path := escape(strings.ReplaceAll(k.group, ".", "/") + "/" + k.id + "/" + maven.MetadataFile)
	return c.do(ctx, http.MethodPut, path, strings.NewReader(b.String()), int64(b.Len()))
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
