// Package testnet gives tests a loopback address to hand to something
// that binds it later (a load balancer, a NATS listener).
package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
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
