package catalog

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Batch application: how the writer turns the inbox's pending changes
// into statements, chunk by chunk (txn.go). Lifecycle changes (applyLife)
// are applied as soon as they arrive and interrupt anything else at the
// end of a chunk; counter updates (applyStats) are applied at the stats
// interval, only for rows and columns that changed.

// applyLife applies every pending lifecycle change, in chunks, newest
// segment first (each client is in one segment only, so the order between
// segments does not matter; see inbox.life).
func (w *writer) applyLife() {
	segs, since, seq := w.c.in.takeLife()
	w.lifeTaken = max(w.lifeTaken, seq)
	if len(segs) == 0 {
		if w.lifeDepth == 0 {
			w.c.publishLife(w.lifeTaken)
		}
		return
	}
	prev := w.c.lifeFrom.Load()
	if prev == 0 || since.UnixNano() < prev {
		w.c.lifeFrom.Store(since.UnixNano())
	}
	defer w.c.lifeFrom.Store(prev)
	outer := w.lifeStack
	w.lifeStack = append(w.lifeStack, segs...)
	w.lifeDepth++
	defer func() { w.lifeStack, w.lifeDepth = outer, w.lifeDepth-1 }()
	for k := len(segs) - 1; k >= 0; k-- {
		w.applySeg(segs[k], outer)
	}
	w.commit()
	if w.lifeDepth == 1 {
		// Outermost: every segment taken, here and by the nested
		// calls, is committed.
		if w.c.lifeWaiters.Load() > 0 {
			w.flushDeferred() // the mirror too, for a List waiting on it
		}
		w.c.publishLife(w.lifeTaken)
	}
}

// applySeg applies one segment of lifecycle changes. outer are the
// segments of interrupted batches, which may hold older changes of the
// same clients.
func (w *writer) applySeg(m map[string]*Row, outer []map[string]*Row) {
	ctx := context.Background()
	supersede := func(id string) {
		if w.skipStat != nil {
			w.skipStat[id] = struct{}{}
		}
		// This change supersedes any older one for id still waiting in an
		// interrupted batch (deleting during range is allowed).
		for _, o := range outer {
			delete(o, id)
		}
	}
	// Pass one: quiet updates (nothing a filter looks at changed, e.g. a
	// subscription count) in shared chunks, beside the readers.
	if w.inTx && w.exclusive {
		w.commit()
	}
	for id, r := range m {
		if r == nil {
			continue
		}
		i, exists := w.index.get(id)
		if !exists || !w.quiet(i, r) {
			continue
		}
		supersede(id)
		delete(m, id)
		if !w.open(false) {
			return
		}
		args := append(lifeArgs(w.args[:0], r, 0, w.c.cfg.Node), int64(i)+1)
		_, err := w.lifeStmts[0].ExecContext(ctx, args...)
		w.args = args
		if err != nil {
			w.abort(fmt.Errorf("catalog: write %q: %w", id, err))
			continue
		}
		w.effects = append(w.effects, effect{op: effStats, rowid: int64(i) + 1, ctr: &r.Counters})
		w.step()
	}
	// Pass two: the rest, in exclusive chunks.
	if w.inTx && !w.exclusive {
		w.commit()
	}
	for id, r := range m {
		supersede(id)
		i, exists := w.index.get(id)
		if r == nil && !exists {
			continue
		}
		if w.inTx && !w.exclusive {
			w.commit() // a nested batch left a shared chunk open
		}
		if !w.open(true) {
			return
		}
		var err error
		switch {
		case r == nil:
			_, err = w.del.ExecContext(ctx, int64(i)+1)
			w.effects = append(w.effects, effect{op: effDelete, id: id})
		case exists:
			mask := w.changedIndexed(i, r)
			args := append(lifeArgs(w.args[:0], r, mask, w.c.cfg.Node), int64(i)+1)
			_, err = w.lifeStmts[mask].ExecContext(ctx, args...)
			w.args = args
			w.effects = append(w.effects, effect{op: effUpdate, id: id, row: r})
		default:
			rowid := int64(w.takeSlot()) + 1
			args := rowArgs(append(w.args[:0], rowid), r, w.c.cfg.Node)
			_, err = w.insert.ExecContext(ctx, args...)
			w.args = args
			w.effects = append(w.effects, effect{op: effInsert, id: id, rowid: rowid, row: r})
		}
		if err != nil {
			w.abort(fmt.Errorf("catalog: write %q: %w", id, err))
			continue
		}
		w.step()
	}
}

// quiet reports whether updating the row in slot i to r changes nothing
// that a filter or a count looks at (indexed columns, the tuple, the
// text indexes), so that it can run beside readers like a counter update.
func (w *writer) quiet(i uint32, r *Row) bool {
	t := w.tupleOfSlot(i)
	return t != maxTuples-1 && w.c.tupleKeys[t] == tupleOf(r) &&
		w.changedIndexed(i, r) == 0
}

// statUpdate is one pending counter update, resolved to its row.
type statUpdate struct {
	rowid int64
	id    string
	ctr   *Counters
}

// applyStats writes the pending counter updates: only rows whose counters
// changed, only the changed columns, by rowid in rowid order, in chunks of
// at most ChunkBudget, with lifecycle changes let in between chunks.
func (w *writer) applyStats() {
	m, since := w.c.in.takeStats()
	if len(m) == 0 {
		return
	}
	start := time.Now()
	w.c.statsFrom.Store(since.UnixNano())
	defer w.c.statsFrom.Store(0)
	// Lifecycle changes applied from here on supersede these counters.
	w.skipStat = make(map[string]struct{})
	ups := make([]statUpdate, 0, len(m))
	ctrs := make([]Counters, 0, len(m))
	for id, ctr := range m {
		if len(ups)&1023 == 1023 && w.c.in.lifePending.Load() {
			// Preparing a large batch takes a while: let lifecycle
			// changes in meanwhile. The rowids read here only order the
			// writes; each is looked up again before its write.
			w.applyLife()
		}
		i, ok := w.index.get(id)
		if !ok {
			continue
		}
		ctrs = append(ctrs, ctr)
		ups = append(ups, statUpdate{rowid: int64(i) + 1, id: id})
	}
	for k := range ups {
		ups[k].ctr = &ctrs[k]
	}
	slices.SortFunc(ups, func(a, b statUpdate) int {
		switch {
		case a.rowid < b.rowid:
			return -1
		case a.rowid > b.rowid:
			return 1
		}
		return 0
	})
	written := 0
	ctx := context.Background()
	for k := range ups {
		u := &ups[k]
		if _, skip := w.skipStat[u.id]; skip {
			continue
		}
		i, ok := w.index.get(u.id)
		if !ok {
			continue
		}
		old := &w.slot(i).ctr
		var mask uint32
		for j := 0; j < numStats; j++ {
			if w.big.at(old, j) != ctrAt(u.ctr, j) {
				mask |= 1 << j
			}
		}
		if mask == 0 {
			continue
		}
		if !w.inTx {
			if w.c.in.lifePending.Load() {
				w.applyLife()
				if _, skip := w.skipStat[u.id]; skip {
					continue
				}
			}
			if err := w.begin(false); err != nil {
				w.c.fail(err)
				break
			}
		}
		stmt, err := w.statStmt(ctx, mask)
		if err == nil {
			args := w.args[:0]
			for j := 0; j < numStats; j++ {
				if mask&(1<<j) != 0 || stmt == w.allStats {
					args = append(args, ctrAt(u.ctr, j))
				}
			}
			args = append(args, int64(i)+1)
			w.args = args
			_, err = stmt.ExecContext(ctx, args...)
		}
		if err != nil {
			w.abort(fmt.Errorf("catalog: write counters of %q: %w", u.id, err))
			continue
		}
		w.effects = append(w.effects, effect{op: effStats, rowid: int64(i) + 1, ctr: u.ctr})
		written++
		w.step() // lets lifecycle changes in at each chunk's end
		if !w.inTx && w.quitting() {
			break
		}
	}
	w.commit()
	w.flushDeferred()
	w.skipStat = nil
	took := time.Since(start)
	w.c.lastSnap.Store(int64(took))
	w.c.lastSnapRows.Store(int64(written))
	iv := max(w.c.cfg.StatsInterval, took)
	w.c.interval.Store(int64(iv))
	w.nextStats = start.Add(iv)
}
