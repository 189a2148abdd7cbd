// Package miniotest starts a real MinIO server for tests, so S3 code is
// tested against an S3 implementation rather than a mock. The server is a
// `minio` binary from PATH or from $GOPATH/bin; without one the test is
// skipped, or fails when the environment variable CI is set.
//
// The package imports only the standard library.
package miniotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

// Install is the command that provides the server binary.
const Install = "go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// startTimeout bounds how long a server may take to report itself live.
const startTimeout = 60 * time.Second

// Start runs a MinIO server on 127.0.0.1 with its data in a temporary
// directory and returns its endpoint (host:port, plain http) and root
// credentials. The server is killed when t's test ends. Every call starts a
// new, empty server; tests sharing one should use a bucket or prefix each.
func Start(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	bin := find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("minio not installed (required when CI is set): " + Install)
		}
		t.Skip("minio not installed: " + Install)
	}
	accessKey, secretKey = "minio-"+rand.Text()[:8], rand.Text()
	var lastErr error
	for range 3 { // a free port may be taken before minio binds it
		endpoint, lastErr = run(t, bin, accessKey, secretKey)
		if lastErr == nil {
			return endpoint, accessKey, secretKey
		}
	}
	t.Fatalf("miniotest: %v", lastErr)
	return "", "", ""
}

// find returns the path of the minio binary, or "" if there is none.
func find() string {
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) { // $GOPATH, else $HOME/go
		p := filepath.Join(dir, "bin", "minio")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// run starts one server and waits until it is live, or returns why not.
func run(t testing.TB, bin, accessKey, secretKey string) (string, error) {
	addr, console := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "server", t.TempDir(),
		"--address", addr, "--console-address", console,
		"--certs-dir", t.TempDir(), // never the user's ~/.minio/certs
		"--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+accessKey,
		"MINIO_ROOT_PASSWORD="+secretKey,
		"MINIO_UPDATE=off",
		"MINIO_BROWSER=off",
	)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}

	if err := waitLive(addr, exited); err != nil {
		stop()
		return "", fmt.Errorf("minio on %s: %w\n%s", addr, err, out.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("minio output:\n%s", out.String())
		}
	})
	return addr, nil
}

// waitLive polls MinIO's liveness endpoint until it reports the server
// initialised, the process exits, or startTimeout passes.
func waitLive(addr string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/minio/health/live", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			// Live answers 200 as soon as HTTP is up, flagging a server
			// whose object layer is not initialised yet with this header.
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Minio-Server-Status") != "offline" {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it was live: %v", err)
		case <-ctx.Done():
			return errors.New("not live after " + startTimeout.String())
		case <-tick.C:
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	defer l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}
