// Package testutil holds what tests of several packages share: a
// loopback address to hand to something that binds it later (a load
// balancer, a NATS listener), and a buffer a server's goroutines can log
// into while the test reads it.
package testutil

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// Ports are drawn below Linux's default ephemeral range (32768-60999):
// a port the kernel handed out for ":0" and that was closed again is
// soon reused as the local port of some outgoing connection, and the
// bind that follows then fails with "address already in use".
const (
	lowPort  = 20000
	highPort = 32767
)

// FreeAddr returns "127.0.0.1:port" for a port nothing listened on when
// it was checked.
func FreeAddr(t testing.TB) string {
	t.Helper()
	var last error
	for range 50 {
		addr := fmt.Sprintf("127.0.0.1:%d", lowPort+rand.IntN(highPort-lowPort+1))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			last = err
			continue
		}
		l.Close()
		return addr
	}
	t.Fatalf("no free loopback port: %v", last)
	return ""
}

// SyncBuffer is a bytes.Buffer safe for writer goroutines and readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
