package catalog

import (
	"context"
	"time"
)

// Chunked transactions. The writer applies a batch as a sequence of
// chunks, each one transaction that holds readers off for at most about
// Config.ChunkBudget; between chunks, waiting lifecycle changes go first.
// A chunk's changes reach the Go mirror only once it has committed.

// begin opens a chunk: it shuts readers out and starts a transaction.
//
// An exclusive chunk (membership changes: rows appear, disappear or change
// the filters they match) shuts readers out until it commits, so that a
// page and its count always agree. A shared chunk (counter updates and
// quiet lifecycle updates, see writer.quiet) runs
// beside readers, which read uncommitted (PRAGMA read_uncommitted on the
// shared cache): a counter update changes no row's membership in any
// SQL-evaluated seed filter, and the Go mirror, which counter ranges and
// orders read, takes the chunk's counters only at commit, under the gate.
func (w *writer) begin(exclusive bool) error {
	if exclusive {
		w.c.gate.Lock()
		// Counter effects of earlier shared chunks go first, so that
		// this chunk's lifecycle changes land on top of them.
		w.applyDeferredLocked()
	}
	w.exclusive = exclusive
	w.txStart = time.Now()
	w.txOps = 0
	if _, err := w.conn.ExecContext(context.Background(), "BEGIN"); err != nil {
		if exclusive {
			w.c.gate.Unlock()
		}
		return err
	}
	w.inTx = true
	return nil
}

// open opens a chunk (see begin) unless one is open, and reports whether
// one is: not when Close was called or BEGIN failed (counted in
// Stats.Errors).
func (w *writer) open(exclusive bool) bool {
	if w.inTx {
		return true
	}
	if w.quitting() {
		return false
	}
	if err := w.begin(exclusive); err != nil {
		w.c.fail(err)
		return false
	}
	return true
}

// commit closes the chunk: on success the mirror takes the chunk's effects;
// on failure the chunk is rolled back and its changes are lost (counted in
// Stats.Errors), leaving mirror and database consistent.
func (w *writer) commit() {
	if !w.inTx {
		return
	}
	ctx := context.Background()
	_, err := w.conn.ExecContext(ctx, "COMMIT")
	if !w.exclusive {
		// A shared chunk's effects are counters only: they wait in
		// w.deferred and reach the mirror in batches (flushDeferred), so
		// that readers are not drained every few milliseconds.
		if err != nil {
			w.c.fail(err)
			w.conn.ExecContext(ctx, "ROLLBACK")
		} else {
			if len(w.deferred) == 0 {
				w.deferredSince = time.Now()
			}
			w.deferred = append(w.deferred, w.effects...)
		}
		clear(w.effects)
		w.effects = w.effects[:0]
		w.inTx = false
		if time.Since(w.deferredSince) >= deferredMaxAge {
			w.flushDeferred()
		}
		return
	}
	lockStart := w.txStart
	if err != nil {
		w.c.fail(err)
		w.conn.ExecContext(ctx, "ROLLBACK")
		w.free = append(w.free, w.newSlots...)
	} else {
		for i := range w.effects {
			w.applyEffect(&w.effects[i])
		}
		if w.c.ids.needsCompact() {
			w.c.ids.compact(func(s, e uint32) { w.slot(s).idEntry = e })
		}
		if w.c.users.needsCompact() {
			w.c.users.compact(func(s, e uint32) { w.slot(s).userEntry = e })
		}
	}
	w.newSlots = w.newSlots[:0]
	clear(w.effects)
	w.effects = w.effects[:0]
	w.inTx = false
	hold := time.Since(lockStart)
	w.c.rows.Store(int64(w.index.len()))
	w.c.gate.Unlock()
	if int64(hold) > w.c.maxHold.Load() {
		w.c.maxHold.Store(int64(hold))
	}
}

// deferredMaxAge bounds how long committed counters may wait before the
// mirror (which counter ranges and orders read) takes them.
const deferredMaxAge = 100 * time.Millisecond

// flushDeferred hands the deferred counter effects to the mirror.
func (w *writer) flushDeferred() {
	if len(w.deferred) == 0 {
		return
	}
	w.c.gate.Lock()
	start := time.Now()
	w.applyDeferredLocked()
	hold := time.Since(start)
	w.c.gate.Unlock()
	if int64(hold) > w.c.maxHold.Load() {
		w.c.maxHold.Store(int64(hold))
	}
}

// applyDeferredLocked applies the deferred counter effects; the caller
// holds the gate.
func (w *writer) applyDeferredLocked() {
	for i := range w.deferred {
		w.applyEffect(&w.deferred[i])
	}
	clear(w.deferred)
	w.deferred = w.deferred[:0]
}

// abort rolls the open chunk back after a failed statement.
func (w *writer) abort(err error) {
	w.c.fail(err)
	w.conn.ExecContext(context.Background(), "ROLLBACK")
	w.free = append(w.free, w.newSlots...)
	w.newSlots = w.newSlots[:0]
	clear(w.effects)
	w.effects = w.effects[:0]
	w.inTx = false
	if w.exclusive {
		w.c.gate.Unlock()
	}
}

// step is called after each statement of a chunk; it commits when the
// chunk's budget is spent, so that readers get in.
//
// Lifecycle changes jump the queue: when some are waiting at the end of a
// chunk, they are applied before the rest of the batch in hand, so a
// 100k-row batch delays a connect by one chunk, not by its whole length.
//
// A shared chunk checks after every statement, and also ends early when
// lifecycle changes wait: its statements run beside readers and each may
// wait for a reader's step on the shared cache's mutex (a COUNT over half
// the table holds it for tens of milliseconds), so 32 statements could
// outlast the budget many times over while a connect waits for the commit.
// An exclusive chunk holds the gate, so no reader slows it down: checking
// the clock every 32 statements is enough there.
func (w *writer) step() {
	w.txOps++
	life := w.c.in.lifePending.Load() && w.lifeDepth < maxLifeDepth
	if w.exclusive {
		if w.txOps&31 != 0 || time.Since(w.txStart) < w.c.cfg.ChunkBudget {
			return
		}
	} else if !life && time.Since(w.txStart) < w.c.cfg.ChunkBudget {
		return
	}
	w.commit()
	if life || w.c.in.lifePending.Load() && w.lifeDepth < maxLifeDepth {
		w.applyLife()
	}
}

// maxLifeDepth bounds how deep lifecycle batches may interrupt each other.
const maxLifeDepth = 4
