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
	mu         sync.Mutex
	life       map[string]*Row // lifecycle changes; nil means remove
	lifeSince  time.Time       // arrival of the oldest entry in life
	stats      map[string]Counters
	statsSince time.Time // arrival of the oldest entry in stats
}

func (in *inbox) init() {
	in.wake = make(chan struct{}, 1)
	in.life = make(map[string]*Row)
	in.stats = make(map[string]Counters)
}

func (in *inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Upsert hands the catalog the full current state of these clients (a
// connect, disconnect, takeover or subscription-count change). They become
// visible to List within a few milliseconds (well under 100 ms) unless the
// writer is overloaded, which Stats().Staleness shows. rows is not
// retained. Safe for concurrent use; it never blocks on the database.
func (c *Catalog) Upsert(rows []Row) {
	if len(rows) == 0 || c.closed.Load() {
		return
	}
	cp := make([]Row, len(rows))
	copy(cp, rows)
	in := &c.in
	in.mu.Lock()
	if len(in.life) == 0 {
		in.lifeSince = time.Now()
	}
	for i := range cp {
		r := &cp[i]
		in.life[r.ClientID] = r
		// The full row carries newer counters than any pending update.
		delete(in.stats, r.ClientID)
	}
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
	if len(in.life) == 0 {
		in.lifeSince = time.Now()
	}
	for _, id := range clientIDs {
		in.life[id] = nil
		delete(in.stats, id)
	}
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
		if r, ok := in.life[u.ClientID]; ok {
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

// takeLife returns the pending lifecycle changes and their oldest arrival.
func (in *inbox) takeLife() (map[string]*Row, time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.life) == 0 {
		return nil, time.Time{}
	}
	m, since := in.life, in.lifeSince
	in.life = make(map[string]*Row)
	in.lifePending.Store(false)
	return m, since
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

// hasLife reports whether lifecycle changes are pending.
func (in *inbox) hasLife() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.life) > 0
}

// pending returns the oldest arrival among pending changes (zero if none)
// and the number of pending lifecycle and counter changes.
func (in *inbox) pending() (oldest time.Time, life, stats int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.life) > 0 {
		oldest = in.lifeSince
	}
	if len(in.stats) > 0 && (oldest.IsZero() || in.statsSince.Before(oldest)) {
		oldest = in.statsSince
	}
	return oldest, len(in.life), len(in.stats)
}
