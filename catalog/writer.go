package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"time"
)

// writer is the state of the single writer goroutine; all of it is owned
// by that goroutine.
type writer struct {
	c    *Catalog
	conn *sql.Conn

	// The Go mirror (mirror.go).
	index  idIndex // clientid → slot number (rowid-1)
	big    bigCounters
	slabs  []*slab
	nslots uint32
	free   []uint32
	ipSeed maphash.Seed

	// Prepared statements and the argument buffer (statements.go).
	insert, del, allStats *sql.Stmt
	lifeStmts             [1 << len(indexedCols)]*sql.Stmt // by changed-indexed-column mask
	statStmts             map[uint32]*sql.Stmt
	args                  []any

	// The open chunk, if any (txn.go).
	inTx      bool
	exclusive bool // the chunk holds the gate (see begin)
	// deferred are committed counter effects not yet in the mirror.
	deferred      []effect
	deferredSince time.Time
	txStart       time.Time
	txOps         int
	effects       []effect
	newSlots      []uint32 // slots taken by inserts of the open chunk

	// The batches being applied (apply.go).
	skipStat  map[string]struct{} // ids changed by lifecycle during a stats batch
	lifeStack []map[string]*Row   // lifecycle segments being applied, outermost first
	lifeDepth int                 // nesting of applyLife
	lifeTaken uint64              // the last Upsert/Remove call taken from the inbox

	nextStats    time.Time
	lastAnalyze  time.Time
	rowsAnalyzed int64
}

// newWriter returns the writer of c, which owns conn from then on.
func newWriter(c *Catalog, conn *sql.Conn) (*writer, error) {
	w := &writer{
		c:         c,
		conn:      conn,
		ipSeed:    maphash.MakeSeed(),
		statStmts: make(map[uint32]*sql.Stmt),
	}
	w.index = newIDIndex(func(s uint32) []byte { return c.ids.value(w.slot(s).idEntry) })
	if err := w.prepare(context.Background()); err != nil {
		return nil, err
	}
	return w, nil
}

// close closes the statements and the connection; Catalog.Close calls it
// once the writer goroutine has returned.
func (w *writer) close() error {
	for _, s := range w.statStmts {
		s.Close()
	}
	for _, s := range []*sql.Stmt{w.insert, w.del, w.allStats} {
		s.Close()
	}
	for _, s := range w.lifeStmts {
		s.Close()
	}
	return w.conn.Close()
}

// run is the writer goroutine.
func (c *Catalog) run() {
	defer close(c.done)
	w := c.w
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var flushes []chan struct{}
		select {
		case <-c.quit:
			return
		case <-c.in.wake:
		case <-timer.C:
		case f := <-c.flushReq:
			flushes = append(flushes, f)
		}
		w.applyLife()
		now := time.Now()
		if len(flushes) > 0 || !now.Before(w.nextStats) {
			w.applyStats()
		}
		w.maybeAnalyze(len(flushes) > 0)
		for _, f := range flushes {
			close(f)
		}
		if _, _, n := c.in.pending(); n > 0 {
			timer.Reset(max(time.Until(w.nextStats), 0))
		}
	}
}

// publishLife makes the lifecycle calls up to number seq visible to
// syncLife: they are committed. Writer goroutine only.
func (c *Catalog) publishLife(seq uint64) {
	if seq <= c.lifeApplied.Load() {
		return
	}
	c.lifeMu.Lock()
	c.lifeApplied.Store(seq)
	close(c.lifeCh)
	c.lifeCh = make(chan struct{})
	c.lifeMu.Unlock()
}

// syncLife waits until every Upsert and Remove call made before it is
// visible to readers, or Config.SyncWait passes (nil then: List answers
// from what is applied), or ctx ends, or the catalog closes.
func (c *Catalog) syncLife(ctx context.Context) error {
	want := c.in.handedLife()
	if c.lifeApplied.Load() >= want || c.cfg.SyncWait < 0 {
		return nil
	}
	limit := time.NewTimer(c.cfg.SyncWait)
	defer limit.Stop()
	c.lifeWaiters.Add(1)
	defer c.lifeWaiters.Add(-1)
	c.in.signal() // the writer may be idle with the change just handed in
	for {
		c.lifeMu.Lock()
		ch := c.lifeCh
		c.lifeMu.Unlock()
		if c.lifeApplied.Load() >= want {
			return nil
		}
		select {
		case <-ch:
		case <-limit.C:
			c.syncTimeouts.Add(1)
			return nil
		case <-c.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// quitting reports whether Close was called.
func (w *writer) quitting() bool {
	select {
	case <-w.c.quit:
		return true
	default:
		return false
	}
}

// maybeAnalyze refreshes the planner's statistics when the row count moved
// by more than 10% since the last ANALYZE, at most once per
// AnalyzeInterval unless force (a Flush) is set.
func (w *writer) maybeAnalyze(force bool) {
	n := int64(w.index.len())
	d := n - w.rowsAnalyzed
	if d < 0 {
		d = -d
	}
	if d <= w.rowsAnalyzed/10 || n < 1000 && !force {
		return
	}
	if !force && time.Since(w.lastAnalyze) < w.c.cfg.AnalyzeInterval {
		return
	}
	w.c.gate.Lock()
	start := time.Now()
	_, err := w.conn.ExecContext(context.Background(), "ANALYZE")
	hold := time.Since(start)
	w.c.gate.Unlock()
	if int64(hold) > w.c.maxHold.Load() {
		w.c.maxHold.Store(int64(hold))
	}
	if err != nil {
		w.c.fail(fmt.Errorf("catalog: analyze: %w", err))
		return
	}
	w.lastAnalyze = time.Now()
	w.rowsAnalyzed = n
}
