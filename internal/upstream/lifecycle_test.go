package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// TestCloseStopsFills: Close cancels a fill stuck on its upstream, waits
// for it, and leaves no spool file and no blob behind.
func TestCloseStopsFills(t *testing.T) {
	e := newEnv(t, nil)
	e.origin.set(tarPath, payload(11, 100_000))
	e.faults.push(fault{gateAfter: 10_000, gate: make(chan struct{})})
	d, err := e.c.Fetch(context.Background(), "k", "pkg/-/pkg-1.0.0.tgz", Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e.c.Close()
	if _, err := io.ReadAll(d); err == nil {
		t.Fatal("read to the end of a fill cancelled by Close")
	}
	d.Close()
	if n := e.blobCount(); n != 0 {
		t.Fatalf("%d blobs committed", n)
	}
	if left, _ := os.ReadDir(e.cfg.SpoolDir); len(left) != 0 {
		t.Fatalf("spool files left: %v", left)
	}
	if _, err := e.c.Fetch(context.Background(), "k2", "x", Integrity{}); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("fetch after close: %v", err)
	}
	if _, err := e.c.Metadata(context.Background(), "k2", "x", MetaOptions{}); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("metadata after close: %v", err)
	}
}

// TestUnseenFailureReported: a fill that fails after every caller left is
// reported through Metrics.BackgroundError, since nobody else will see it.
func TestUnseenFailureReported(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleReadTimeout = 100 * time.Millisecond })
	e.origin.set(tarPath, payload(12, 100_000))
	e.faults.push(fault{stallAfter: 10_000})
	ctx, cancel := context.WithCancel(context.Background())
	d, err := e.c.Fetch(ctx, "k", "pkg/-/pkg-1.0.0.tgz", Integrity{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	d.Close()
	waitFor(t, 5*time.Second, func() error {
		e.metrics.mu.Lock()
		defer e.metrics.mu.Unlock()
		for _, err := range e.metrics.bgErrs {
			if errors.Is(err, ErrUpstreamTimeout) {
				return nil
			}
		}
		return fmt.Errorf("background errors: %v", e.metrics.bgErrs)
	})
}
