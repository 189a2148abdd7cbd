package engine

import (
	"context"
	"database/sql"
	"maps"
)

// Group commit. Every change to a pipeline holds the pipeline's lock for
// a transaction and its fsync, so under a burst (a hundred source actions
// finishing at once) the changes queue on the lock and each waits for all
// before it. changeGrouped lets the changes queued meanwhile go together:
// whoever takes the lock runs every queued change in one transaction, each
// in a savepoint of its own (a change that fails is rolled back alone and
// its caller gets its error), then advances and commits once.
//
//	complete A ─┐                   ┌─ SAVEPOINT; fn A; RELEASE
//	complete B ─┼─ lock (one holder)┼─ SAVEPOINT; fn B; RELEASE
//	complete C ─┘                   ├─ advance (touched: A, B, C)
//	                                └─ record events; COMMIT; apply
//
// Advancing once after several changes ends where advancing after each
// would: each change only records what happened to its own action or
// execution, and advance moves every touched execution until nothing
// changes.

// groupedChange is a change waiting for its pipeline's lock.
type groupedChange struct {
	fn   func(tx *sql.Tx, fx *effects) error
	done chan error // receives the change's outcome once it committed or failed
}

// changeGrouped is change for changes that need no context of their own
// (the engine's own: action results), committed together with the other
// grouped changes of the pipeline that wait at the same time.
func (e *Engine) changeGrouped(name string, fn func(tx *sql.Tx, fx *effects) error) error {
	c := &groupedChange{fn: fn, done: make(chan error, 1)}
	e.mu.Lock()
	e.grouped[name] = append(e.grouped[name], c)
	e.mu.Unlock()
	l := e.lock(name)
	l.Lock()
	e.mu.Lock()
	batch := e.grouped[name]
	delete(e.grouped, name)
	e.mu.Unlock()
	if len(batch) > 0 { // else an earlier holder ran c
		e.runGroup(name, batch)
	}
	l.Unlock()
	return <-c.done
}

// runGroup runs batch in one transaction; the pipeline's lock is held.
func (e *Engine) runGroup(name string, batch []*groupedChange) {
	ctx := context.Background()
	if len(batch) == 1 {
		batch[0].done <- e.changeLocked(ctx, name, batch[0].fn)
		return
	}
	var fx effects
	errs := make([]error, len(batch))
	err := e.db.tx(ctx, func(tx *sql.Tx) error {
		fx = effects{}
		for i, c := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT change`); err != nil {
				return err
			}
			before := fx.mark()
			if errs[i] = c.fn(tx, &fx); errs[i] != nil {
				fx.reset(before)
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO change`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE change`); err != nil {
				return err
			}
		}
		if err := e.advance(ctx, tx, name, &fx); err != nil {
			return err
		}
		return e.record(ctx, tx, fx.events)
	})
	if err != nil {
		// The group failed as a whole: each change alone, so that one
		// change's trouble stays its own.
		for _, c := range batch {
			c.done <- e.changeLocked(ctx, name, c.fn)
		}
		return
	}
	if len(fx.events) > 0 {
		e.outbox.Notify()
	}
	e.apply(&fx)
	for i, c := range batch {
		c.done <- errs[i]
	}
}

// effectsMark is what effects held at some point (effects.mark).
type effectsMark struct {
	events, start, timers, cancel, cancelTimers, stopBuilds int
	touched                                                 map[string]bool
	all                                                     bool
}

// mark records what fx holds, for reset.
func (fx *effects) mark() effectsMark {
	return effectsMark{len(fx.events), len(fx.start), len(fx.timers), len(fx.cancel), len(fx.cancelTimers), len(fx.stopBuilds),
		maps.Clone(fx.touched), fx.all}
}

// reset drops what was added to fx since m.
func (fx *effects) reset(m effectsMark) {
	fx.events, fx.start, fx.timers = fx.events[:m.events], fx.start[:m.start], fx.timers[:m.timers]
	fx.cancel, fx.cancelTimers, fx.stopBuilds = fx.cancel[:m.cancel], fx.cancelTimers[:m.cancelTimers], fx.stopBuilds[:m.stopBuilds]
	fx.touched, fx.all = m.touched, m.all
}
