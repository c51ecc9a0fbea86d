package catalog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// slot mirrors, in Go, what the writer needs of one row: its text-index
// entries, its ip_address hash (so that a lifecycle update sets only the
// indexed columns that changed, see lifeUpdateSQL) and its last written
// counters (so that only changed columns are written). A row's rowid is
// its slot number plus one, so the mirror needs no rowid and stats are
// written by rowid. The row's tuple and times live in its slab's columns.
type slot struct {
	idEntry   uint32 // entry in Catalog.ids
	userEntry uint32 // entry in Catalog.users
	ipHash    uint64
	ctr       packedCounters
}

// slabSize is the number of slots of a slab.
const slabSize = 1 << slabBits

// slab holds slabSize slots and, apart from them, the columns a full scan
// of the mirror reads: whether each slot holds a row, its tuple (for the
// counters outside SQL and tuple conditions), created_at, connected_at and
// the clientid's first 8 bytes (idKey; see idPrefixKey).
// A scan reading one field per 176-byte slot was bound by memory latency
// (~11 ns per row at 1M rows, docs/catalog.md); these columns are read
// sequentially.
type slab struct {
	slots       [slabSize]slot
	live        [slabSize / 64]uint64
	tuple       [slabSize]uint16
	createdAt   [slabSize]int64
	connectedAt [slabSize]int64
	idKey       [slabSize]uint64
}

// idPrefixKey returns the first 8 bytes of id as a big-endian number,
// padded with zeros: ordering by it orders clientids by their first 8
// bytes, so the smallest key among some rows bounds their clientids from
// below (see idKeyBound).
func idPrefixKey(id string) uint64 {
	var b [8]byte
	copy(b[:], id)
	return binary.BigEndian.Uint64(b[:])
}

// idKeyBound returns the string that every clientid whose idPrefixKey is
// at least k is greater than or equal to: k's bytes without the padding.
// Clientids never contain NUL (they are MQTT UTF-8 strings).
func idKeyBound(k uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return strings.TrimRight(string(b[:]), "\x00")
}

// slabBits sizes the slabs of slots: 1024 slots (~180 KiB) per slab, so the
// mirror grows without doubling a huge slice, and a catalog of 10,000 rows
// leaves at most 1,023 slots unused (4096-slot slabs: Go heap 384 → 347 B
// per row at 10,000 rows, BenchmarkMemory -catalog.rows=10000).
const slabBits = 10

// effect is a change to the Go mirror, applied only once the chunk that
// wrote it to SQL has committed, so mirror and database never diverge.
type effect struct {
	op    uint8 // effInsert, effUpdate, effDelete, effStats
	id    string
	rowid int64
	row   *Row
	ctr   *Counters
}

const (
	effInsert = iota
	effUpdate
	effDelete
	effStats
)

// maxStatStmts bounds the cache of per-changed-column-set statements; past
// it, rows are written with the statement that sets every counter.
const maxStatStmts = 512

// writer is the state of the single writer goroutine; all of it is owned
// by that goroutine.
type writer struct {
	c    *Catalog
	conn *sql.Conn

	index  idIndex // clientid → slot number (rowid-1)
	big    bigCounters
	slabs  []*slab
	nslots uint32
	free   []uint32

	insert, del, allStats *sql.Stmt
	lifeStmts             [1 << len(indexedCols)]*sql.Stmt // by changed-indexed-column mask
	ipSeed                maphash.Seed
	statStmts             map[uint32]*sql.Stmt
	args                  []any

	// The open chunk, if any.
	inTx      bool
	exclusive bool // the chunk holds the gate (see begin)
	// deferred are committed counter effects not yet in the mirror.
	deferred      []effect
	deferredSince time.Time
	txStart       time.Time
	txOps         int
	effects       []effect
	skipStat      map[string]struct{} // ids changed by lifecycle during a stats batch
	lifeStack     []map[string]*Row   // lifecycle segments being applied, outermost first
	lifeDepth     int                 // nesting of applyLife
	newSlots      []uint32            // slots taken by inserts of the open chunk

	nextStats    time.Time
	lastAnalyze  time.Time
	rowsAnalyzed int64
}

func newWriter(c *Catalog, conn *sql.Conn) (*writer, error) {
	w := &writer{
		c:         c,
		conn:      conn,
		statStmts: make(map[uint32]*sql.Stmt),
	}
	w.index = newIDIndex(func(s uint32) []byte { return c.ids.value(w.slot(s).idEntry) })
	ctx := context.Background()
	names := make([]string, len(Columns))
	marks := make([]string, len(Columns))
	for i, col := range Columns {
		names[i], marks[i] = col.SQL, "?"
	}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = conn.PrepareContext(ctx, q)
		return s
	}
	w.insert = prep("INSERT INTO clients (id," + strings.Join(names, ",") + ") VALUES (?," + strings.Join(marks, ",") + ")")
	for mask := range w.lifeStmts {
		w.lifeStmts[mask] = prep(lifeUpdateSQL(mask))
	}
	w.ipSeed = maphash.MakeSeed()
	w.del = prep("DELETE FROM clients WHERE id=?")
	w.allStats = prep(statsUpdateSQL(1<<numStats - 1))
	if err != nil {
		return nil, fmt.Errorf("catalog: prepare: %w", err)
	}
	return w, nil
}

// statsUpdateSQL returns the UPDATE that writes the counters in mask.
func statsUpdateSQL(mask uint32) string {
	var b strings.Builder
	b.WriteString("UPDATE clients SET ")
	first := true
	for i := 0; i < numStats; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(Columns[statColumn0+i].SQL)
		b.WriteString("=?")
	}
	b.WriteString(" WHERE id=?")
	return b.String()
}

// indexedCols are the columns, besides clientid, that secondary indexes
// hold. A lifecycle update sets them only when they changed, so that a
// disconnect (which changes none) touches no index; clientid is never set
// (it names the row). Every index also holds clientid, which is why
// setting it would rewrite all of them.
var indexedCols = [...]string{"username", "ip_address", "created_at", "connected_at"}

// lifeUpdateSQL returns the UPDATE of a whole row but clientid, setting the
// indexed columns whose bit is in mask (bit i: indexedCols[i]).
func lifeUpdateSQL(mask int) string {
	var b strings.Builder
	b.WriteString("UPDATE clients SET ")
	first := true
	for _, c := range Columns {
		if !lifeSets(c.Name, mask) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(c.SQL)
		b.WriteString("=?")
	}
	b.WriteString(" WHERE id=?")
	return b.String()
}

// lifeSets reports whether the lifecycle update for mask sets column name.
func lifeSets(name string, mask int) bool {
	if name == "clientid" {
		return false
	}
	for i, ic := range indexedCols {
		if ic == name {
			return mask&(1<<i) != 0
		}
	}
	return true
}

// lifeArgs appends r's values for lifeUpdateSQL(mask), in its order.
func lifeArgs(dst []any, r *Row, mask int) []any {
	for i := range Columns {
		if !lifeSets(Columns[i].Name, mask) {
			continue
		}
		dst = appendValue(dst, Columns[i].ptr(r))
	}
	return dst
}

// statColumn0 is the index in Columns of the first counter.
var statColumn0 = func() int {
	for i, c := range Columns {
		if c.stat == 0 {
			return i
		}
	}
	panic("catalog: no counter columns")
}()

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

// quitting reports whether Close was called.
func (w *writer) quitting() bool {
	select {
	case <-w.c.quit:
		return true
	default:
		return false
	}
}

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

// setIndexed records r's indexed columns for slot i.
func (w *writer) setIndexed(i uint32, r *Row) {
	sb, j := w.col(i)
	sb.createdAt[j], sb.connectedAt[j] = r.CreatedAt, r.ConnectedAt
	sb.slots[j].ipHash = maphash.String(w.ipSeed, r.IPAddress)
}

// slot returns slot number i.
func (w *writer) slot(i uint32) *slot {
	return &w.slabs[i>>slabBits].slots[i&(slabSize-1)]
}

// col returns the slab of slot i and i's index in it.
func (w *writer) col(i uint32) (*slab, uint32) {
	return w.slabs[i>>slabBits], i & (slabSize - 1)
}

// tupleOfSlot returns slot i's tuple id.
func (w *writer) tupleOfSlot(i uint32) uint16 {
	sb, j := w.col(i)
	return sb.tuple[j]
}

// takeSlot returns a free slot number; it is committed by an insert effect
// or given back by abort.
func (w *writer) takeSlot() uint32 {
	if n := len(w.free); n > 0 {
		i := w.free[n-1]
		w.free = w.free[:n-1]
		w.newSlots = append(w.newSlots, i)
		return i
	}
	i := w.nslots
	w.nslots++
	if int(i>>slabBits) == len(w.slabs) {
		w.slabs = append(w.slabs, new(slab))
	}
	w.newSlots = append(w.newSlots, i)
	return i
}

func (w *writer) applyEffect(e *effect) {
	c := w.c
	switch e.op {
	case effInsert:
		i := uint32(e.rowid - 1)
		sb, j := w.col(i)
		s := &sb.slots[j]
		sb.tuple[j] = c.tupleID(tupleOf(e.row))
		sb.live[j>>6] |= 1 << (j & 63)
		w.big.set(&s.ctr, &e.row.Counters)
		w.setIndexed(i, e.row)
		s.idEntry = c.ids.add(e.id, i)
		sb.idKey[j] = idPrefixKey(e.id)
		s.userEntry = c.users.add(e.row.Username, i)
		w.index.put(e.id, i)
		c.tupleCounts[sb.tuple[j]]++
	case effUpdate:
		i, _ := w.index.get(e.id)
		sb, j := w.col(i)
		s := &sb.slots[j]
		c.tupleCounts[sb.tuple[j]]--
		sb.tuple[j] = c.tupleID(tupleOf(e.row))
		w.big.set(&s.ctr, &e.row.Counters)
		w.setIndexed(i, e.row)
		c.tupleCounts[sb.tuple[j]]++
		if string(c.users.value(s.userEntry)) != e.row.Username {
			c.users.kill(s.userEntry)
			s.userEntry = c.users.add(e.row.Username, i)
		}
	case effDelete:
		i, _ := w.index.get(e.id)
		w.index.del(e.id, i)
		sb, j := w.col(i)
		s := &sb.slots[j]
		c.tupleCounts[sb.tuple[j]]--
		w.big.release(&s.ctr)
		c.ids.kill(s.idEntry)
		c.users.kill(s.userEntry)
		*s = slot{}
		sb.live[j>>6] &^= 1 << (j & 63)
		sb.tuple[j], sb.createdAt[j], sb.connectedAt[j], sb.idKey[j] = 0, 0, 0, 0
		w.free = append(w.free, i)
	case effStats:
		// The slot is still this client's: lifecycle chunks apply the
		// deferred counter effects before changing any row.
		w.big.set(&w.slot(uint32(e.rowid-1)).ctr, e.ctr)
	}
}

// changedIndexed returns the mask (bits of indexedCols) of r's indexed
// columns that differ from the row in slot i.
func (w *writer) changedIndexed(i uint32, r *Row) int {
	sb, j := w.col(i)
	sl := &sb.slots[j]
	mask := 0
	if string(w.c.users.value(sl.userEntry)) != r.Username {
		mask |= 1
	}
	if sl.ipHash != maphash.String(w.ipSeed, r.IPAddress) {
		mask |= 2
	}
	if sb.createdAt[j] != r.CreatedAt {
		mask |= 4
	}
	if sb.connectedAt[j] != r.ConnectedAt {
		mask |= 8
	}
	return mask
}

// applyLife applies every pending lifecycle change, in chunks, newest
// segment first (each client is in one segment only, so the order between
// segments does not matter; see inbox.life).
func (w *writer) applyLife() {
	segs, since := w.c.in.takeLife()
	if len(segs) == 0 {
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
		if !w.inTx {
			if w.quitting() {
				return
			}
			if err := w.begin(false); err != nil {
				w.c.fail(err)
				return
			}
		}
		args := append(lifeArgs(w.args[:0], r, 0), int64(i)+1)
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
		if !w.inTx {
			if w.quitting() {
				return
			}
			if err := w.begin(true); err != nil {
				w.c.fail(err)
				return
			}
		}
		var err error
		switch {
		case r == nil:
			_, err = w.del.ExecContext(ctx, int64(i)+1)
			w.effects = append(w.effects, effect{op: effDelete, id: id})
		case exists:
			mask := w.changedIndexed(i, r)
			args := append(lifeArgs(w.args[:0], r, mask), int64(i)+1)
			_, err = w.lifeStmts[mask].ExecContext(ctx, args...)
			w.args = args
			w.effects = append(w.effects, effect{op: effUpdate, id: id, row: r})
		default:
			rowid := int64(w.takeSlot()) + 1
			args := rowArgs(append(w.args[:0], rowid), r)
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

// rowArgs appends r's column values in Columns order.
func rowArgs(dst []any, r *Row) []any {
	for i := range Columns {
		dst = appendValue(dst, Columns[i].ptr(r))
	}
	return dst
}

// appendValue appends the value behind a Column.ptr pointer as a bound
// argument (nil pointers become NULL).
func appendValue(dst []any, p any) []any {
	switch p := p.(type) {
	case *string:
		return append(dst, *p)
	case *int64:
		return append(dst, *p)
	case *bool:
		return append(dst, *p)
	case **string:
		if *p == nil {
			return append(dst, nil)
		}
		return append(dst, **p)
	case **int64:
		if *p == nil {
			return append(dst, nil)
		}
		return append(dst, **p)
	}
	panic("catalog: unknown column type")
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

// statStmt returns the statement that writes the counters in mask.
func (w *writer) statStmt(ctx context.Context, mask uint32) (*sql.Stmt, error) {
	if s, ok := w.statStmts[mask]; ok {
		return s, nil
	}
	if len(w.statStmts) >= maxStatStmts || bits.OnesCount32(mask) > numStats/2 {
		return w.allStats, nil
	}
	s, err := w.conn.PrepareContext(ctx, statsUpdateSQL(mask))
	if err != nil {
		return nil, err
	}
	w.statStmts[mask] = s
	return s, nil
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
