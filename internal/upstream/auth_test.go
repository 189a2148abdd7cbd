package upstream

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/domain"
)

// authRecorder is an origin that serves fixed bodies and records the
// Authorization header of every request by path.
type authRecorder struct {
	mu     sync.Mutex
	seen   map[string][]string
	bodies map[string]string
}

func (a *authRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen[r.URL.Path] = append(a.seen[r.URL.Path], r.Header.Get("Authorization"))
	body, ok := a.bodies[r.URL.Path]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, body)
}

func (a *authRecorder) auths(path string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen[path]...)
}

func newAuthRecorder(t *testing.T, bodies map[string]string) (*authRecorder, *httptest.Server) {
	a := &authRecorder{seen: map[string][]string{}, bodies: bodies}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func authClient(t *testing.T, baseURL string) *Client {
	t.Helper()
	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Name: "corp-mirror", BaseURL: baseURL, Blobs: blobs, SpoolDir: t.TempDir(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUserinfoCredentials: credentials in the base URL's userinfo go as
// Basic auth to the base URL's origin, for metadata and for absolute file
// URLs there alike, and never to a file on another origin.
func TestUserinfoCredentials(t *testing.T) {
	const secret = "s3cr3t+/tok=="
	other, otherSrv := newAuthRecorder(t, map[string]string{"/files/pkg-1.0.0.tgz": "elsewhere"})
	home, homeSrv := newAuthRecorder(t, map[string]string{"/npm/corp/shared/pkg": "{}", "/npm/corp/shared/pkg/-/pkg-1.0.0.tgz": "tarball"})
	base := strings.Replace(homeSrv.URL, "http://", "http://aws:"+strings.ReplaceAll(secret, "/", "%2F")+"@", 1) + "/npm/corp/shared/"
	c := authClient(t, base)
	ctx := context.Background()

	if _, err := c.Metadata(ctx, "pkg", "pkg", MetaOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{homeSrv.URL + "/npm/corp/shared/pkg/-/pkg-1.0.0.tgz", otherSrv.URL + "/files/pkg-1.0.0.tgz"} {
		d, err := c.Fetch(ctx, raw, raw, Integrity{})
		if err != nil {
			t.Fatalf("fetch %s: %v", raw, err)
		}
		if _, err := io.ReadAll(d); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("aws:"+secret))
	for _, p := range []string{"/npm/corp/shared/pkg", "/npm/corp/shared/pkg/-/pkg-1.0.0.tgz"} {
		if got := home.auths(p); len(got) != 1 || got[0] != want {
			t.Errorf("%s: Authorization %q, want [%q]", p, got, want)
		}
	}
	if got := other.auths("/files/pkg-1.0.0.tgz"); len(got) != 1 || got[0] != "" {
		t.Errorf("other origin got Authorization %q, want none", got)
	}
	if strings.Contains(c.base.String(), "s3cr3t") || c.base.User != nil {
		t.Errorf("base URL keeps the credentials: %s", c.base.Redacted())
	}
}

// TestUserinfoSameHostOtherPort: another port of the same host is another
// origin and gets no credentials.
func TestUserinfoSameHostOtherPort(t *testing.T) {
	other, otherSrv := newAuthRecorder(t, map[string]string{"/f.tgz": "x"})
	_, homeSrv := newAuthRecorder(t, nil)
	c := authClient(t, strings.Replace(homeSrv.URL, "http://", "http://u:pw@", 1)+"/")
	d, err := c.Fetch(context.Background(), "k", otherSrv.URL+"/f.tgz", Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(d)
	d.Close()
	if got := other.auths("/f.tgz"); len(got) != 1 || got[0] != "" {
		t.Errorf("other port got Authorization %q, want none", got)
	}
}

// TestUserinfoNotInErrors: errors naming the base URL or a failed request
// do not contain the secret.
func TestUserinfoNotInErrors(t *testing.T) {
	const secret = "topsecretvalue"
	_, homeSrv := newAuthRecorder(t, nil)
	c := authClient(t, strings.Replace(homeSrv.URL, "http://", "http://aws:"+secret+"@", 1)+"/npm/")
	_, err := c.Metadata(context.Background(), "missing", "missing", MetaOptions{})
	if err == nil {
		t.Fatal("metadata of a missing package succeeded")
	}
	var msgs []string
	msgs = append(msgs, err.Error())

	// A closed port: the transport error names the URL.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	c2 := authClient(t, strings.Replace(deadURL, "http://", "http://aws:"+secret+"@", 1)+"/")
	_, err = c2.Metadata(context.Background(), "x", "x", MetaOptions{})
	if !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("dead upstream: %v", err)
	}
	msgs = append(msgs, err.Error())

	// A base URL that does not parse.
	blobs, _ := blobfs.New(t.TempDir())
	_, err = New(Config{Name: "bad", BaseURL: "http://aws:" + secret + "@host:badport/", Blobs: blobs, SpoolDir: t.TempDir()})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("bad base URL: %v, want ErrInvalid", err)
	}
	msgs = append(msgs, err.Error())

	// A bad URL handed by a format.
	_, err = c.Fetch(context.Background(), "k", "http://aws:"+secret+"@h:x/%zz", Integrity{})
	if err == nil {
		t.Fatal("fetch of a bad URL succeeded")
	}
	msgs = append(msgs, err.Error())
	for _, m := range msgs {
		if strings.Contains(m, secret) {
			t.Errorf("error shows the secret: %s", m)
		}
	}
	t.Logf("errors: %q", msgs)
}

// TestUserinfoInFormatURLNotSent: userinfo in a file URL from metadata is
// not turned into credentials for another origin.
func TestUserinfoInFormatURLNotSent(t *testing.T) {
	other, otherSrv := newAuthRecorder(t, map[string]string{"/f.tgz": "x"})
	_, homeSrv := newAuthRecorder(t, nil)
	c := authClient(t, homeSrv.URL+"/")
	raw := strings.Replace(otherSrv.URL, "http://", "http://eve:stolen@", 1) + "/f.tgz"
	d, err := c.Fetch(context.Background(), "k", raw, Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(d)
	d.Close()
	if !bytes.Equal(b, []byte("x")) {
		t.Fatalf("body %q", b)
	}
	if got := other.auths("/f.tgz"); len(got) != 1 || got[0] != "" {
		t.Errorf("Authorization %q sent from URL userinfo, want none", got)
	}
}
