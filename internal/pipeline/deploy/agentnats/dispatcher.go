package agentnats

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/artifactd/registry/internal/pipeline/deploy"
)

// Dispatcher is the server's side: it registers agents' instances and
// runs remote instances' lifecycles on their agents.
type Dispatcher struct {
	NC     *nats.Conn
	Prefix string // the events prefix
	// Register registers an agent's instance (deploy.Service.RegisterAgentInstance).
	Register func(ctx context.Context, agent, instance string, tags []deploy.Tag) error
	// Heartbeat is how often agents report while they work (1 s when
	// zero); Deadline how long a silent agent is waited for (5
	// heartbeats when zero).
	Heartbeat, Deadline time.Duration
	Log                 *slog.Logger

	mu     sync.Mutex
	tokens map[string]string // token -> the bundle's tar file
	subs   []*nats.Subscription
}

var _ deploy.Remote = (*Dispatcher)(nil)

func (d *Dispatcher) heartbeat() time.Duration {
	if d.Heartbeat > 0 {
		return d.Heartbeat
	}
	return time.Second
}

func (d *Dispatcher) deadline() time.Duration {
	if d.Deadline > 0 {
		return d.Deadline
	}
	return 5 * d.heartbeat()
}

// Start serves registrations and bundle downloads.
func (d *Dispatcher) Start() error {
	root := Root(d.Prefix)
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	reg, err := d.NC.Subscribe(root+".register", d.serveRegister)
	if err != nil {
		return err
	}
	bun, err := d.NC.Subscribe(root+".bundle", d.serveBundle)
	if err != nil {
		reg.Unsubscribe()
		return err
	}
	d.mu.Lock()
	d.subs = append(d.subs, reg, bun)
	d.mu.Unlock()
	return nil
}

// Close stops serving.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.subs {
		s.Unsubscribe()
	}
	d.subs = nil
}

func respond(m *nats.Msg, err error) {
	var r reply
	if err != nil {
		r.Error = err.Error()
	}
	m.Respond(mustJSON(r))
}

func (d *Dispatcher) serveRegister(m *nats.Msg) {
	var r registerReq
	if err := json.Unmarshal(m.Data, &r); err != nil {
		respond(m, fmt.Errorf("malformed registration: %v", err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.Register(ctx, r.Agent, r.Instance, r.Tags)
	if err == nil {
		d.Log.Info("agent registered an instance", "agent", r.Agent, "instance", r.Instance)
	}
	respond(m, err)
}

func (d *Dispatcher) serveBundle(m *nats.Msg) {
	fail := func(msg string) {
		out := nats.NewMsg(m.Reply)
		out.Header.Set("Error", msg)
		m.RespondMsg(out)
	}
	var r bundleReq
	if err := json.Unmarshal(m.Data, &r); err != nil || r.Offset < 0 {
		fail("malformed bundle request")
		return
	}
	d.mu.Lock()
	path, ok := d.tokens[r.Token]
	d.mu.Unlock()
	if !ok || r.Token == "" {
		fail("unknown or expired bundle token")
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fail("the bundle is gone")
		return
	}
	defer f.Close()
	buf := make([]byte, chunk)
	n, err := f.ReadAt(buf, r.Offset)
	out := nats.NewMsg(m.Reply)
	out.Data = buf[:n]
	if errors.Is(err, io.EOF) {
		out.Header.Set("Eof", "1")
	} else if err != nil {
		fail("reading the bundle failed")
		return
	}
	m.RespondMsg(out)
}

// Run runs w on agent (deploy.Remote).
func (d *Dispatcher) Run(ctx context.Context, agent string, w deploy.Work, event func(name, status string, diag *deploy.Diagnostics)) error {
	if !deploy.ValidAgentName(agent) {
		return fmt.Errorf("agent name %q is invalid", agent)
	}
	token := randomToken()
	tarPath := filepath.Join(filepath.Dir(w.Bundle), "agent-"+token+".tar")
	if err := writeTar(w.Bundle, tarPath); err != nil {
		os.Remove(tarPath)
		return fmt.Errorf("packing the bundle for agent %s: %v", agent, err)
	}
	defer os.Remove(tarPath)
	d.mu.Lock()
	if d.tokens == nil {
		d.tokens = map[string]string{}
	}
	d.tokens[token] = tarPath
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.tokens, token)
		d.mu.Unlock()
	}()

	inbox := d.NC.NewRespInbox()
	sub, err := d.NC.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	root := Root(d.Prefix)
	req := workReq{Work: w, Token: token, Inbox: inbox, HeartbeatMs: ms(d.heartbeat())}
	resp, err := d.NC.Request(root+".work."+agent, mustJSON(req), d.deadline())
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("agent %s is not connected to this server's NATS", agent)
	case errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("agent %s did not accept the work within %s", agent, d.deadline())
	case err != nil:
		return fmt.Errorf("sending the work to agent %s: %v", agent, err)
	}
	var acc reply
	if err := json.Unmarshal(resp.Data, &acc); err != nil {
		return fmt.Errorf("agent %s answered the work with a malformed reply", agent)
	}
	if acc.Error != "" {
		return fmt.Errorf("agent %s refused the work: %s", agent, acc.Error)
	}
	cancelled := false
	for {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.deadline())
		var msg *nats.Msg
		if cancelled {
			msg, err = sub.NextMsgWithContext(wctx)
		} else {
			msg, err = nextMsg(ctx, wctx, sub)
		}
		cancel()
		if ctx.Err() != nil && !cancelled {
			// The deployment was stopped: ask the agent to stop too and
			// wait (a deadline at most) for it to report.
			cancelled = true
			d.NC.Publish(root+".cancel."+agent, mustJSON(cancelReq{DeploymentID: w.DeploymentID, Instance: w.Instance}))
			if msg == nil {
				continue
			}
		}
		if err != nil && msg == nil {
			if cancelled {
				return fmt.Errorf("the deployment was stopped, and agent %s did not confirm within %s", agent, d.deadline())
			}
			return fmt.Errorf("agent %s stopped responding: nothing heard from it for %s (the agent process died or lost its connection)", agent, d.deadline())
		}
		var p progress
		if json.Unmarshal(msg.Data, &p) != nil {
			continue
		}
		switch p.Type {
		case "event":
			event(p.Event, p.Status, p.Diagnostics)
		case "done":
			if p.Error != "" {
				return fmt.Errorf("on agent %s: %s", agent, p.Error)
			}
			if cancelled {
				return ctx.Err()
			}
			return nil
		}
	}
}

// nextMsg waits for sub's next message until wctx ends, or until ctx ends
// (then returning no message).
func nextMsg(ctx, wctx context.Context, sub *nats.Subscription) (*nats.Msg, error) {
	both, cancel := context.WithCancel(wctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return sub.NextMsgWithContext(both)
}

func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeTar writes the regular files and directories under dir to a tar
// at path.
func writeTar(dir, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || !(e.IsDir() || e.Type().IsRegular()) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if e.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
