// Package events carries package-version change events to NATS: the
// embedded nats-server the zero-configuration registry runs, or a
// connection to an external NATS server or cluster.
//
// It imports nats-server and nats.go; nothing in the registry imports it
// but cmd/registry.
package events

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Conn is a NATS connection plus, when embedded, the server behind it.
type Conn struct {
	NC     *nats.Conn
	server *server.Server
}

// StartEmbedded starts an in-process nats-server with JetStream storing
// under dir. It binds no network port; the returned connection is
// in-process.
func StartEmbedded(dir string) (*Conn, error) {
	ns, err := server.NewServer(&server.Options{
		ServerName: "registry", DontListen: true, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("events: embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("events: embedded nats did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("registry"))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("events: connect embedded nats: %w", err)
	}
	return &Conn{NC: nc, server: ns}, nil
}

// Connect connects to an external NATS server or cluster at url,
// reconnecting forever.
func Connect(url string) (*Conn, error) {
	nc, err := nats.Connect(url, nats.Name("registry"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, fmt.Errorf("events: connect %s: %w", url, err)
	}
	return &Conn{NC: nc}, nil
}

// Ready reports whether the connection is usable.
func (c *Conn) Ready() error {
	if !c.NC.IsConnected() {
		return fmt.Errorf("nats: %s", c.NC.Status())
	}
	return nil
}

// Close drains the connection and stops the embedded server, if any.
func (c *Conn) Close() {
	c.NC.Drain()
	c.NC.Close()
	if c.server != nil {
		c.server.Shutdown()
		c.server.WaitForShutdown()
	}
}
