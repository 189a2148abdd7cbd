package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// verifier is an HTTP server that answers 204 to a request that Verify
// accepts and 403 "Code: message" to one it rejects, the way the control
// plane will use this package: the payload hash is the
// x-amz-content-sha256 header when sent, else the sha256 of the body.
type verifier struct {
	*httptest.Server
	secret string
	now    time.Time
}

func newVerifier(t *testing.T, secret string, now time.Time) *verifier {
	t.Helper()
	v := &verifier{secret: secret, now: now}
	v.Server = httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.Close)
	return v
}

func (v *verifier) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	auth, ok, err := ParseRequest(r)
	if err == nil && !ok {
		err = missingToken()
	}
	if err == nil {
		hash := r.Header.Get("X-Amz-Content-Sha256")
		if hash == "" {
			sum := sha256.Sum256(body)
			hash = hex.EncodeToString(sum[:])
		}
		err = Verify(r, auth, v.secret, hash, v.now)
	}
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "%s: %s", ErrorCode(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// do sends r to the verifier and returns the status and body.
func (v *verifier) do(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	r.URL.Scheme, r.URL.Host = "http", v.Listener.Addr().String()
	resp, err := v.Client().Do(r)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// raw writes a request to the verifier byte for byte, so that the request
// target reaches the server exactly as another client would send it.
func (v *verifier) raw(t *testing.T, method, target string, header []string, body string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", v.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	hasHost := false
	for _, h := range header {
		hasHost = hasHost || strings.HasPrefix(strings.ToLower(h), "host:")
		b.WriteString(h + "\r\n")
	}
	if !hasHost {
		b.WriteString("Host: 127.0.0.1:7373\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
