package agentnats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/artifactd/registry/internal/pipeline/deploy"
)

// Instance is an instance an agent serves.
type Instance struct {
	Name string
	Tags []deploy.Tag
}

// Agent is the remote side: it registers its instances with the server
// and runs the lifecycles the server sends it.
type Agent struct {
	NC        *nats.Conn
	Prefix    string // the server's events prefix
	Name      string
	DataDir   string
	Instances []Instance
	Log       *slog.Logger

	local   deploy.Agent
	mu      sync.Mutex
	cancels map[string]context.CancelFunc // deployment/instance -> stop it
	wg      sync.WaitGroup
	subs    []*nats.Subscription
}

// RefusedError is the server's refusal of a registration (as opposed to
// not reaching the server): retrying does not help.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// Register registers the agent's instances with the server.
func (a *Agent) Register(ctx context.Context) error {
	if !deploy.ValidAgentName(a.Name) {
		return fmt.Errorf("agent name %q is invalid: letters, digits, '-' and '_', at most 64", a.Name)
	}
	for _, in := range a.Instances {
		if err := os.MkdirAll(filepath.Join(a.DataDir, "instances", in.Name, "root"), 0o755); err != nil {
			return err
		}
		b, err := a.NC.RequestWithContext(ctx, Root(a.Prefix)+".register", mustJSON(registerReq{Agent: a.Name, Instance: in.Name, Tags: in.Tags}))
		if errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("registering instance %s: no registry server with CodeDeploy answers on this NATS (events prefix %q)", in.Name, a.Prefix)
		}
		if err != nil {
			return fmt.Errorf("registering instance %s: %v", in.Name, err)
		}
		var r reply
		if err := json.Unmarshal(b.Data, &r); err != nil {
			return fmt.Errorf("registering instance %s: malformed reply", in.Name)
		}
		if r.Error != "" {
			return &RefusedError{fmt.Sprintf("registering instance %s: %s", in.Name, r.Error)}
		}
	}
	return nil
}

// Start serves work until Close.
func (a *Agent) Start() error {
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	a.local.DataDir = a.DataDir
	root := Root(a.Prefix)
	work, err := a.NC.Subscribe(root+".work."+a.Name, a.serveWork)
	if err != nil {
		return err
	}
	cancel, err := a.NC.Subscribe(root+".cancel."+a.Name, a.serveCancel)
	if err != nil {
		work.Unsubscribe()
		return err
	}
	a.mu.Lock()
	a.subs = append(a.subs, work, cancel)
	a.mu.Unlock()
	return a.NC.Flush()
}

// Close stops taking work, stops the lifecycles in flight and the
// supervised processes.
func (a *Agent) Close() {
	a.mu.Lock()
	for _, s := range a.subs {
		s.Unsubscribe()
	}
	a.subs = nil
	for _, c := range a.cancels {
		c()
	}
	a.mu.Unlock()
	a.wg.Wait()
	a.local.Close()
}

func (a *Agent) serves(instance string) bool {
	for _, in := range a.Instances {
		if in.Name == instance {
			return true
		}
	}
	return false
}

func (a *Agent) serveCancel(m *nats.Msg) {
	var c cancelReq
	if json.Unmarshal(m.Data, &c) != nil {
		return
	}
	a.mu.Lock()
	if cancel := a.cancels[c.DeploymentID+"/"+c.Instance]; cancel != nil {
		cancel()
	}
	a.mu.Unlock()
}

func (a *Agent) serveWork(m *nats.Msg) {
	var r workReq
	if err := json.Unmarshal(m.Data, &r); err != nil {
		respond(m, fmt.Errorf("malformed work: %v", err))
		return
	}
	if err := r.Work.Check(); err != nil {
		respond(m, err)
		return
	}
	if !a.serves(r.Work.Instance) {
		respond(m, fmt.Errorf("agent %s does not serve instance %s", a.Name, r.Work.Instance))
		return
	}
	if r.Inbox == "" || r.Token == "" {
		respond(m, errors.New("work without inbox or token"))
		return
	}
	key := r.Work.DeploymentID + "/" + r.Work.Instance
	ctx, cancel := context.WithCancel(context.Background())
	a.mu.Lock()
	if a.subs == nil { // closed
		a.mu.Unlock()
		cancel()
		respond(m, errors.New("the agent is shutting down"))
		return
	}
	if a.cancels == nil {
		a.cancels = map[string]context.CancelFunc{}
	}
	a.cancels[key] = cancel
	a.wg.Add(1)
	a.mu.Unlock()
	respond(m, nil)
	go func() {
		defer a.wg.Done()
		defer func() {
			a.mu.Lock()
			delete(a.cancels, key)
			a.mu.Unlock()
			cancel()
		}()
		a.run(ctx, r)
	}()
}

// run runs one lifecycle, reporting to the dispatcher's inbox.
func (a *Agent) run(ctx context.Context, r workReq) {
	send := func(p progress) {
		if err := a.NC.Publish(r.Inbox, mustJSON(p)); err != nil {
			a.Log.Warn("reporting to the server", "err", err)
		}
	}
	every := time.Duration(r.HeartbeatMs) * time.Millisecond
	if every <= 0 || every > time.Minute {
		every = time.Second
	}
	stopBeat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stopBeat:
				return
			case <-t.C:
				send(progress{Type: "heartbeat"})
			}
		}
	}()
	a.Log.Info("deploying", "deployment_id", r.Work.DeploymentID, "instance", r.Work.Instance)
	err := a.local.Run(ctx, r.Work, func(ctx context.Context, dst string) error { return a.fetch(ctx, r.Token, dst) },
		func(name, status string, diag *deploy.Diagnostics) {
			send(progress{Type: "event", Event: name, Status: status, Diagnostics: diag})
		})
	close(stopBeat)
	<-beatDone
	done := progress{Type: "done"}
	if err != nil {
		done.Error = err.Error()
	}
	send(done)
	a.NC.Flush()
}

// fetch downloads the bundle's tar in chunks and unpacks it into dst.
func (a *Agent) fetch(ctx context.Context, token, dst string) error {
	dir := filepath.Join(a.DataDir, "agent-work")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "bundle-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var off int64
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := a.NC.RequestWithContext(rctx, Root(a.Prefix)+".bundle", mustJSON(bundleReq{Token: token, Offset: off}))
		cancel()
		if err != nil {
			return err
		}
		if msg := m.Header.Get("Error"); msg != "" {
			return errors.New(msg)
		}
		if _, err := f.Write(m.Data); err != nil {
			return err
		}
		off += int64(len(m.Data))
		if m.Header.Get("Eof") != "" {
			break
		}
		if len(m.Data) == 0 {
			return errors.New("the server sent an empty chunk")
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return deploy.Unpack(f.Name(), "tar", dst)
}
