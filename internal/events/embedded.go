// Package events carries package-version change events to NATS: the
// embedded nats-server the zero-configuration registry runs, or a
// connection to an external NATS server or cluster.
//
// It imports nats-server and nats.go; nothing in the registry imports it
// but cmd/registry.
package events

import (
	"fmt"
	"net"
	"strconv"
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
// under dir. With listen "" it binds no network port; otherwise it also
// accepts clients on listen (host:port). The returned connection is
// in-process either way.
func StartEmbedded(dir, listen string) (*Conn, error) {
	opts := &server.Options{ServerName: "registry", DontListen: true, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("events: nats listen %q: %w", listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("events: nats listen %q: %w", listen, err)
		}
		opts.DontListen, opts.Host, opts.Port = false, host, p
	}
	ns, err := server.NewServer(opts)
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

// ClientURL returns the URL other processes reach the embedded server at,
// or "" when it binds no port.
func (c *Conn) ClientURL() string {
	if c.server == nil || c.server.Addr() == nil {
		return ""
	}
	return c.server.ClientURL()
}

// Connect connects to an external NATS server or cluster at url (a
// comma-separated list for a cluster), reconnecting forever; credsFile, if
// set, is a NATS .creds file.
func Connect(url, credsFile string) (*Conn, error) {
	opts := []nats.Option{nats.Name("registry"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true)}
	if credsFile != "" {
		opts = append(opts, nats.UserCredentials(credsFile))
	}
	nc, err := nats.Connect(url, opts...)
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
