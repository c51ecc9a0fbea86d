package catalog

import (
	"sync"
	"sync/atomic"
	"time"
)

// inbox holds the changes handed in by the shards until the writer takes
// them. Changes are coalesced per client: only the latest state of each
// client is kept, so the inbox never holds more than one entry per client
// however far the writer falls behind.
type inbox struct {
	wake chan struct{} // capacity 1: "there is something new"
	// lifePending is set while lifecycle changes wait, so the writer can
	// check it between statements without taking mu.
	lifePending atomic.Bool

	// mu guards the following fields.
	mu sync.Mutex
	// life holds the lifecycle changes (a nil Row means remove) in
	// segments, oldest first; each client is in at most one segment (its
	// latest change), which lifeAt records. A call starts a new segment
	// unless the last one is small, and large calls are cut into segments
	// of lifeSegMax, so that the writer can apply a small change that
	// arrived after a large batch before that batch (newest first).
	life       []map[string]*Row
	lifeAt     map[string]int // client → index in life
	lifeSince  time.Time      // arrival of the oldest change in life
	stats      map[string]Counters
	statsSince time.Time // arrival of the oldest entry in stats
	// lifeSeq numbers the Upsert and Remove calls; takeLife reports the
	// number of the last call it took.
	lifeSeq uint64
}

func (in *inbox) init() {
	in.wake = make(chan struct{}, 1)
	in.lifeAt = make(map[string]int)
	in.stats = make(map[string]Counters)
}

// Segment sizes of inbox.life.
const (
	lifeSegMax   = 4096 // largest segment
	lifeSegShare = 64   // a new call joins the last segment below this size
)

// putLifeLocked records the latest lifecycle change of id (nil: remove).
// The caller holds in.mu and has called startSegLocked for this call.
func (in *inbox) putLifeLocked(id string, r *Row) {
	if k, ok := in.lifeAt[id]; ok && k != len(in.life)-1 {
		delete(in.life[k], id)
	}
	tail := in.life[len(in.life)-1]
	if _, ok := tail[id]; !ok && len(tail) >= lifeSegMax {
		tail = make(map[string]*Row)
		in.life = append(in.life, tail)
	}
	tail[id] = r
	in.lifeAt[id] = len(in.life) - 1
}

// startSegLocked opens a new segment for a call unless the last is small.
func (in *inbox) startSegLocked() {
	if len(in.lifeAt) == 0 {
		in.lifeSince = time.Now()
	}
	if n := len(in.life); n == 0 || len(in.life[n-1]) >= lifeSegShare {
		in.life = append(in.life, make(map[string]*Row))
	}
}

func (in *inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Upsert hands the catalog the full current state of these clients (a
// connect, disconnect, takeover or subscription-count change). They become
// visible to List ahead of any counter or large lifecycle batch in hand,
// typically within tens of milliseconds (docs/catalog.md has the measured
// bound); Stats().Staleness shows any delay. rows is copied, not retained.
// Safe for concurrent use; it never blocks on the database.
func (c *Catalog) Upsert(rows []Row) {
	if len(rows) == 0 || c.closed.Load() {
		return
	}
	cp := make([]Row, len(rows))
	copy(cp, rows)
	in := &c.in
	in.mu.Lock()
	in.startSegLocked()
	for i := range cp {
		r := &cp[i]
		in.putLifeLocked(r.ClientID, r)
		// The full row carries newer counters than any pending update.
		delete(in.stats, r.ClientID)
	}
	in.lifeSeq++
	in.lifePending.Store(true)
	in.mu.Unlock()
	in.signal()
}

// Remove drops these clients (kicked, session discarded or expired). Like
// Upsert, it is visible promptly. Unknown ids are ignored. Safe for
// concurrent use.
func (c *Catalog) Remove(clientIDs []string) {
	if len(clientIDs) == 0 || c.closed.Load() {
		return
	}
	in := &c.in
	in.mu.Lock()
	in.startSegLocked()
	for _, id := range clientIDs {
		in.putLifeLocked(id, nil)
		delete(in.stats, id)
	}
	in.lifeSeq++
	in.lifePending.Store(true)
	in.mu.Unlock()
	in.signal()
}

// UpdateStats hands the catalog the current counters of these clients.
// They are applied at the stats interval, writing only the columns that
// changed; updates for unknown clients are dropped. Safe for concurrent
// use; it never blocks on the database.
func (c *Catalog) UpdateStats(updates []StatsUpdate) {
	if len(updates) == 0 || c.closed.Load() {
		return
	}
	in := &c.in
	in.mu.Lock()
	wasEmpty := len(in.stats) == 0
	if wasEmpty {
		in.statsSince = time.Now()
	}
	for i := range updates {
		u := &updates[i]
		if k, ok := in.lifeAt[u.ClientID]; ok {
			r := in.life[k][u.ClientID]
			// A lifecycle change is pending: fold the newer counters into
			// it, or drop them if the client is being removed.
			if r != nil {
				r.Counters = u.Counters
			}
			continue
		}
		in.stats[u.ClientID] = u.Counters
	}
	in.mu.Unlock()
	if wasEmpty {
		in.signal()
	}
}

// takeLife returns the pending lifecycle segments (oldest first; each
// client in at most one), the oldest arrival and the number of the last
// call they hold.
func (in *inbox) takeLife() ([]map[string]*Row, time.Time, uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.lifeAt) == 0 {
		return nil, time.Time{}, in.lifeSeq
	}
	segs, since := in.life, in.lifeSince
	in.life = nil
	in.lifeAt = make(map[string]int)
	in.lifePending.Store(false)
	return segs, since, in.lifeSeq
}

// handedLife returns the number of the last Upsert or Remove call.
func (in *inbox) handedLife() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lifeSeq
}

// takeStats returns the pending counter updates and their oldest arrival.
func (in *inbox) takeStats() (map[string]Counters, time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.stats) == 0 {
		return nil, time.Time{}
	}
	m, since := in.stats, in.statsSince
	in.stats = make(map[string]Counters, len(m))
	return m, since
}

// pending returns the oldest arrival among pending changes (zero if none)
// and the number of pending lifecycle and counter changes.
func (in *inbox) pending() (oldest time.Time, life, stats int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.lifeAt) > 0 {
		oldest = in.lifeSince
	}
	if len(in.stats) > 0 && (oldest.IsZero() || in.statsSince.Before(oldest)) {
		oldest = in.statsSince
	}
	return oldest, len(in.lifeAt), len(in.stats)
}
