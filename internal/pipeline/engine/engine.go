package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/events/outbox"
	"github.com/artifactd/registry/internal/pipeline"
)

// Options configures an Engine. Blobs and DBPath are required.
type Options struct {
	// DBPath is the engine's SQLite file (<data dir>/pipelines.db).
	DBPath string
	// WorkDir holds the temporary workspaces of actions; default: DBPath
	// with "-work" appended. Open removes the workspaces a crash left
	// there.
	WorkDir string
	// Blobs stores artifacts (zip archives) and package assets.
	Blobs blob.Store
	// Log receives the engine's own log lines; nil discards them.
	Log *slog.Logger
	// Region and Account appear in ARNs and events.
	Region, Account string

	// Ports to the rest of the system; see ports.go. Each may be nil.
	Builder   Builder
	Packages  PackageSource
	Publisher PackagePublisher
	Secrets   SecretResolver
	// Events receives every pipeline, stage and action state change, in
	// order per pipeline, after it committed, while the engine holds the
	// pipeline's lock: it must not block or call back into the engine.
	// The durable copy of every event is in Outbox, written in the
	// change's transaction; publish from there (events.Forwarder).
	Events func(Event)

	// HTTPClient sends the Webhook action's requests; default: a client
	// with a 30 s timeout.
	HTTPClient *http.Client
	// Clock is the time source; default: the system clock.
	Clock Clock
	// ApprovalTimeout is the default timeout of a Manual approval (7
	// days); an action's timeoutInMinutes overrides it.
	ApprovalTimeout time.Duration
	// ActionTimeout is the default timeout of other actions (60 min).
	ActionTimeout time.Duration
	// MaxArtifactBytes bounds what an artifact may expand to (1 GiB).
	MaxArtifactBytes int64
	// MaxLogBytes bounds the output a Commands action keeps (1 MiB).
	MaxLogBytes int64
	// Shell runs the Commands provider's commands (default: bash, else sh).
	Shell string
	// Providers adds or replaces action providers.
	Providers []Provider
}

// Clock is a source of time and timers (tests substitute a fake one).
type Clock interface {
	Now() time.Time
	// AfterFunc calls f after d in its own goroutine; the returned
	// function cancels the timer and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Engine runs pipelines. Its methods are safe for concurrent use.
//
// Locks: each pipeline has a mutex that serialises every change to its
// executions (API calls, action completions, timers, package events);
// e.mu guards the engine's maps and is only taken briefly, possibly while
// a pipeline lock is held, never the other way round. Write transactions
// take the database's write lock (db.writes) inside a pipeline's lock;
// e.mu and db.writes are never held together.
type Engine struct {
	opts      Options
	db        *db
	log       *slog.Logger
	providers map[pipeline.ActionTypeID]Provider

	ctx    context.Context // cancelled by Close: stops every action
	cancel context.CancelFunc
	wg     sync.WaitGroup // action goroutines and build stops

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	grouped map[string][]*groupedChange   // per pipeline, waiting for its lock (group.go)
	running map[string]context.CancelFunc // action execution id -> cancel
	timers  map[string]func() bool        // approval action execution id -> stop
	closing bool

	declMu sync.Mutex
	decls  map[declKey]*pipeline.Declaration // immutable once stored

	outbox *outbox.Table // state-change events, written with the change
}

type declKey struct {
	name    string
	version int
}

// Open opens (creating and migrating) the engine's database. Call Start to
// resume the executions that were in flight when the server stopped.
func Open(ctx context.Context, o Options) (*Engine, error) {
	if o.Blobs == nil || o.DBPath == "" {
		return nil, errors.New("pipeline: Options.Blobs and Options.DBPath are required")
	}
	if o.WorkDir == "" {
		o.WorkDir = o.DBPath + "-work"
	}
	if err := os.MkdirAll(o.WorkDir, 0o700); err != nil {
		return nil, fmt.Errorf("pipeline: work directory: %w", err)
	}
	for _, pattern := range []string{"ws-*", "artifact-*.zip", "assets-*"} { // what a crash left behind
		leftovers, _ := filepath.Glob(filepath.Join(o.WorkDir, pattern))
		for _, p := range leftovers {
			os.RemoveAll(p)
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "000000000000"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.ApprovalTimeout <= 0 {
		o.ApprovalTimeout = 7 * 24 * time.Hour
	}
	if o.ActionTimeout <= 0 {
		o.ActionTimeout = 60 * time.Minute
	}
	if o.MaxArtifactBytes <= 0 {
		o.MaxArtifactBytes = 1 << 30
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = 1 << 20
	}
	d, err := openDB(ctx, o.DBPath)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: o, db: d, log: o.Log, locks: map[string]*sync.Mutex{}, grouped: map[string][]*groupedChange{}, running: map[string]context.CancelFunc{},
		timers: map[string]func() bool{}, decls: map[declKey]*pipeline.Declaration{}, outbox: outbox.NewLocked(d.sql, &d.writes)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.providers = map[pipeline.ActionTypeID]Provider{}
	for _, p := range builtinProviders() {
		e.providers[p.Type().ID] = p
	}
	for _, p := range o.Providers {
		e.providers[p.Type().ID] = p
	}
	return e, nil
}

// Start resumes the executions that were in flight when the engine last
// stopped: approvals wait on (their deadline kept), other running actions
// run again (a CodeBuild action re-attaches to its build), and actions
// that cannot resume fail with the reason. Call it once, after Open.
func (e *Engine) Start(ctx context.Context) error {
	rows, err := e.db.sql.QueryContext(ctx, `SELECT DISTINCT pipeline FROM executions WHERE status IN ('InProgress', 'Stopping')`)
	if err != nil {
		return fmt.Errorf("pipeline: resume: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, name := range names {
		if err := e.change(ctx, name, func(tx *sql.Tx, fx *effects) error { return e.resume(ctx, tx, name, fx) }); err != nil {
			return fmt.Errorf("pipeline: resume %s: %w", name, err)
		}
	}
	return nil
}

// Close stops every running action (killing its processes), waits for
// them, and closes the database. In-flight executions stay in progress in
// the database and resume at the next Start.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closing = true
	for id, stop := range e.timers {
		stop()
		delete(e.timers, id)
	}
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	return e.db.close()
}

func (e *Engine) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

func (e *Engine) now() time.Time { return e.opts.Clock.Now() }

func (e *Engine) nowMs() int64 { return e.now().UnixMilli() }

// lock returns the mutex of a pipeline.
func (e *Engine) lock(name string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		e.locks[name] = l
	}
	return l
}

// effects are what a transaction decided; they run after it commits.
type effects struct {
	events       []Event
	start        []*Job
	timers       []timer
	cancel       []string // action execution ids whose goroutine stops
	cancelTimers []string
	stopBuilds   []string

	// touched are the executions inside a stage that the change (or an
	// earlier round of advance) touched: only they can move, besides the
	// waiters. all makes advance look at every execution.
	touched map[string]bool
	all     bool
}

// touch marks an execution as changed, so advance looks at it.
func (fx *effects) touch(id string) {
	if fx.touched == nil {
		fx.touched = map[string]bool{}
	}
	fx.touched[id] = true
}

type timer struct {
	pipeline, action string
	at               time.Time
}

// change runs fn and then advances the pipeline's executions until they
// settle, all in one transaction under the pipeline's lock (one commit,
// one fsync, per change), and applies the effects once it committed.
func (e *Engine) change(ctx context.Context, name string, fn func(tx *sql.Tx, fx *effects) error) error {
	l := e.lock(name)
	l.Lock()
	defer l.Unlock()
	return e.changeLocked(ctx, name, fn)
}

// changeLocked is change with the pipeline's lock held.
func (e *Engine) changeLocked(ctx context.Context, name string, fn func(tx *sql.Tx, fx *effects) error) error {
	var fx effects
	err := e.db.tx(ctx, func(tx *sql.Tx) error {
		fx = effects{}
		if err := fn(tx, &fx); err != nil {
			return err
		}
		if err := e.advance(context.WithoutCancel(ctx), tx, name, &fx); err != nil {
			return err
		}
		return e.record(context.WithoutCancel(ctx), tx, fx.events)
	})
	if err != nil {
		return err
	}
	if len(fx.events) > 0 {
		e.outbox.Notify()
	}
	e.apply(&fx)
	return nil
}

// Outbox returns the table of state-change events waiting to be
// published; relay it with events.Forwarder. Each message's subject is
// "codepipeline.<pipeline>" (dots in the name become '_'), its body the
// EventBridge event, its dedup id Event.DedupID.
func (e *Engine) Outbox() *outbox.Table { return e.outbox }

// record writes events to the outbox in the change's transaction.
func (e *Engine) record(ctx context.Context, tx *sql.Tx, evs []Event) error {
	for _, ev := range evs {
		body, err := json.Marshal(ev.Envelope)
		if err != nil {
			return err
		}
		if err := outbox.Insert(ctx, tx, "codepipeline."+strings.ReplaceAll(ev.Pipeline, ".", "_"), ev.DedupID, body); err != nil {
			return err
		}
	}
	return nil
}

// apply runs effects; the pipeline's lock is held.
func (e *Engine) apply(fx *effects) {
	if e.opts.Events != nil {
		for _, ev := range fx.events {
			e.opts.Events(ev)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range fx.cancel {
		if c := e.running[id]; c != nil {
			c()
		}
	}
	for _, id := range fx.cancelTimers {
		if stop := e.timers[id]; stop != nil {
			stop()
			delete(e.timers, id)
		}
	}
	if e.closing {
		return // what was started stays InProgress and resumes at the next Start
	}
	for _, id := range fx.stopBuilds {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := e.opts.Builder.StopBuild(ctx, id); err != nil {
				e.log.Warn("stopping an abandoned build", "build_id", id, "err", err)
			}
		}()
	}
	for _, t := range fx.timers {
		if stop := e.timers[t.action]; stop != nil {
			stop()
		}
		p, id := t.pipeline, t.action
		e.timers[id] = e.opts.Clock.AfterFunc(t.at.Sub(e.now()), func() {
			e.mu.Lock()
			if e.closing {
				e.mu.Unlock()
				return
			}
			e.wg.Add(1)
			e.mu.Unlock()
			defer e.wg.Done()
			e.expireApproval(p, id)
		})
	}
	for _, j := range fx.start {
		ctx, cancel := context.WithCancel(e.ctx)
		e.running[j.ActionExecutionID] = cancel
		e.wg.Add(1)
		go e.run(ctx, cancel, j)
	}
}
