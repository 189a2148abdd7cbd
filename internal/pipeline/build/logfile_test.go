package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/testutil"
)

func TestLogLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.log")
	lw, err := createLog(path, 1000, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	lw.addSecrets("topsecret")
	chunk := []byte(strings.Repeat("y", 99) + "\n")
	for i := 0; i < 10000; i++ { // 1 MB of output into a 1000-byte log
		lw.Write(chunk)
	}
	lw.Line("Phase complete: BUILD State: SUCCEEDED")
	lw.Close()
	b, _ := os.ReadFile(path)
	if len(b) > 1000+logReserve {
		t.Fatalf("log is %d bytes", len(b))
	}
	s := string(b)
	for _, want := range []string{"reached its limit of 1000 bytes", "Phase complete: BUILD", "bytes of output were discarded"} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s[max(0, len(s)-600):])
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.log")
	lw, _ := createLog(path, 1<<20, time.Now)
	lw.Write([]byte("first\n"))
	var out testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- follow(context.Background(), path, lw, &out, nil) }()
	waitFor(t, 5*time.Second, "the first line", func() bool { return strings.Contains(out.String(), "first") })
	lw.Write([]byte("second\n"))
	waitFor(t, 5*time.Second, "the second line", func() bool { return strings.Contains(out.String(), "second") })
	select {
	case <-done:
		t.Fatal("follow returned while the log was open")
	default:
	}
	lw.Write([]byte("last\n"))
	lw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\nsecond\nlast\n" {
		t.Errorf("followed %q", out.String())
	}
}
