package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func row(id string, st ConnState) Row {
	r := Row{ClientID: id, Username: "u", ConnState: st, Connected: st == Connected, Zone: "default", ProtoName: "MQTT", ProtoVer: 5}
	if st == Disconnected {
		r.DisconnectedAt = ptr(int64(1700000000000))
	}
	return r
}

func count(t *testing.T, c *Catalog, f Filter) int64 {
	t.Helper()
	p, err := c.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// TestLifecycleDoesNotWaitForStatsInterval shows that connects,
// disconnects and removals reach readers on their own (no Flush), while
// counter updates wait for the stats interval, and that the wait is
// reported as staleness.
func TestLifecycleDoesNotWaitForStatsInterval(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{StatsInterval: time.Hour})
	c.Upsert([]Row{row("a", Connected)})
	flush(t, c) // the first counter application is due at once; Flush also starts the hour
	c.UpdateStats([]StatsUpdate{{ClientID: "a", Counters: Counters{RecvOct: 42}}})

	c.Upsert([]Row{row("b", Connected)})
	waitFor(t, "connect of b visible", func() bool { return count(t, c, Filter{ClientIDs: []string{"b"}}) == 1 })
	c.Upsert([]Row{row("b", Disconnected)})
	waitFor(t, "disconnect of b visible", func() bool {
		return count(t, c, Filter{ConnState: Disconnected}) == 1
	})
	c.Remove([]string{"a"})
	waitFor(t, "removal of a visible", func() bool { return count(t, c, Filter{}) == 1 })

	// a's counters were dropped with it; now queue counters for b.
	c.UpdateStats([]StatsUpdate{{ClientID: "b", Counters: Counters{RecvOct: 7}}})
	c.Upsert([]Row{row("c", Connected)})
	waitFor(t, "connect of c visible", func() bool { return count(t, c, Filter{ClientIDs: []string{"c"}}) == 1 })
	r, err := c.Get(ctx, "b")
	if err != nil || r.RecvOct != 0 {
		t.Fatalf("b before the stats interval: recv_oct %d, %v; want 0", r.RecvOct, err)
	}
	waitFor(t, "staleness reported", func() bool {
		s := c.Stats()
		return s.PendingStats == 1 && s.Staleness > 0
	})
	flush(t, c)
	if r, _ := c.Get(ctx, "b"); r.RecvOct != 7 {
		t.Fatalf("b after flush: recv_oct %d, want 7", r.RecvOct)
	}
	if s := c.Stats(); s.Staleness != 0 || s.PendingStats != 0 || s.Rows != 2 {
		t.Fatalf("stats after flush: %+v", s)
	}
}

// TestOfflineRowsAndRemoval covers kept offline sessions, removal of
// kicked or expired ones, and unknown ids.
func TestOfflineRowsAndRemoval(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	c.Upsert([]Row{row("on", Connected), row("off", Disconnected), row("idle", Idle)})
	c.Remove([]string{"never-seen"})
	c.UpdateStats([]StatsUpdate{{ClientID: "unknown", Counters: Counters{RecvOct: 1}}})
	flush(t, c)
	p, err := c.List(ctx, Filter{ConnState: Disconnected})
	if err != nil || p.Count != 1 || p.Rows[0].ClientID != "off" || p.Rows[0].DisconnectedAt == nil || p.Rows[0].Connected {
		t.Fatalf("offline list: %+v, %v", p, err)
	}
	if _, err := c.Get(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("counters created a row for an unknown id: %v", err)
	}
	c.Remove([]string{"off", "on"})
	flush(t, c)
	if p, _ := c.List(ctx, Filter{}); p.Count != 1 || p.Rows[0].ClientID != "idle" {
		t.Fatalf("after removal: %+v", p)
	}
	if n := count(t, c, Filter{ConnState: Disconnected}); n != 0 {
		t.Fatalf("disconnected count after removal: %d", n)
	}
	// A reconnect after removal is a fresh row.
	c.Upsert([]Row{row("off", Connected)})
	flush(t, c)
	if n := count(t, c, Filter{ConnState: Connected}); n != 1 {
		t.Fatalf("connected after re-upsert: %d", n)
	}
}

// TestStatsWriteOnlyChangedRows checks that unchanged counters are not
// written and that counters pending for a client fold into its next
// lifecycle change.
func TestStatsWriteOnlyChangedRows(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	var rows []Row
	for i := range 100 {
		rows = append(rows, row(fmt.Sprintf("c%03d", i), Connected))
	}
	c.Upsert(rows)
	flush(t, c)
	var ups []StatsUpdate
	for i := range rows {
		ups = append(ups, StatsUpdate{ClientID: rows[i].ClientID, Counters: rows[i].Counters})
	}
	ups[3].Counters.SendOct, ups[5].Counters.MqueueLen = 10, 2
	c.UpdateStats(ups)
	flush(t, c)
	if s := c.Stats(); s.LastSnapshotRows != 2 {
		t.Fatalf("wrote %d rows, want the 2 that changed", s.LastSnapshotRows)
	}
	p, err := c.List(ctx, Filter{Ranges: []ColumnRange{{Column: "mqueue_len", Range: Range{Gte: ptr(int64(1))}}}})
	if err != nil || p.Count != 1 || p.Rows[0].ClientID != "c005" || p.Rows[0].MqueueLen != 2 {
		t.Fatalf("mqueue_len ≥ 1: %+v, %v", p, err)
	}
	// Counters after a pending upsert fold into it.
	r := row("c007", Disconnected)
	c.Upsert([]Row{r})
	c.UpdateStats([]StatsUpdate{{ClientID: "c007", Counters: Counters{Reductions: 99}}})
	flush(t, c)
	if got, _ := c.Get(ctx, "c007"); got.Reductions != 99 || got.ConnState != Disconnected {
		t.Fatalf("folded update: %+v", got)
	}
}

// TestIntervalStretches checks that the effective interval is the
// application time when that is longer than the configured interval.
func TestIntervalStretches(t *testing.T) {
	c := newTestCatalog(t, Config{StatsInterval: time.Microsecond})
	var rows []Row
	for i := range 3000 {
		rows = append(rows, row(fmt.Sprintf("c%05d", i), Connected))
	}
	c.Upsert(rows)
	flush(t, c)
	ups := make([]StatsUpdate, len(rows))
	for i := range rows {
		ups[i] = StatsUpdate{ClientID: rows[i].ClientID, Counters: Counters{RecvOct: int64(i + 1)}}
	}
	c.UpdateStats(ups)
	flush(t, c)
	s := c.Stats()
	if s.LastSnapshotRows != len(rows) || s.LastSnapshot <= time.Microsecond || s.StatsInterval != s.LastSnapshot {
		t.Fatalf("stats: %+v; want the interval stretched to the snapshot time", s)
	}
}

// TestReadersSeeCommittedChunks applies snapshots in tiny chunks while
// readers list: every List must see one committed state, where the count
// (from the counters outside SQL) equals the rows SQL returns.
func TestReadersSeeCommittedChunks(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{ChunkBudget: time.Nanosecond})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lists atomic.Int64
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, f := range []Filter{{Limit: MaxLimit}, {Limit: MaxLimit, ConnState: Disconnected},
					{Limit: MaxLimit, Ranges: []ColumnRange{{Column: "mqueue_len", Range: Range{Gte: ptr(int64(1))}}}}} {
					p, err := c.List(ctx, f)
					if err == nil && p.Count != int64(len(p.Rows)) {
						err = fmt.Errorf("filter %+v: count %d but %d rows", f, p.Count, len(p.Rows))
					}
					if err != nil {
						errs <- err
						return
					}
					lists.Add(1)
				}
			}
		}()
	}
	for round := range 4 {
		var rows []Row
		for i := range 500 {
			st := Connected
			if (i+round)%3 == 0 {
				st = Disconnected
			}
			rows = append(rows, row(fmt.Sprintf("c%05d", i+round*100), st))
		}
		c.Upsert(rows)
		flush(t, c)
	}
	// Counter updates run beside the readers (shared chunks): no reader
	// may fail or see a count that disagrees with its rows.
	for round := range 4 {
		var ups []StatsUpdate
		for i := range 800 {
			ups = append(ups, StatsUpdate{ClientID: fmt.Sprintf("c%05d", i), Counters: Counters{RecvOct: int64(round*1000 + i), MqueueLen: int64(i % 3)}})
		}
		c.UpdateStats(ups)
		flush(t, c)
	}
	waitFor(t, "readers to run", func() bool { return lists.Load() > 20 || len(errs) > 0 })
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Rows != 500+3*100 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
	if r, err := c.Get(ctx, "c00007"); err != nil || r.RecvOct != 3007 || r.MqueueLen != 1 {
		t.Fatalf("counters after the last round: %+v, %v", r.Counters, err)
	}
}

// TestClose checks that Close is idempotent and later calls fail cleanly.
func TestClose(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c.Upsert([]Row{row("a", Connected)})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	c.Upsert([]Row{row("b", Connected)}) // dropped, must not panic
	if _, err := c.List(context.Background(), Filter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
	if err := c.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}

// TestNewerChangesWinOverInterruptedBatch sends a large batch and, while
// the writer may be applying it, newer changes to some of the same
// clients: whatever the interleaving, the newest change of each client
// must be the one that stays.
func TestNewerChangesWinOverInterruptedBatch(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{ChunkBudget: time.Nanosecond})
	for round := range 3 {
		want := map[string]ConnState{}
		var big []Row
		for i := range 3000 {
			id := fmt.Sprintf("r%d-%04d", round, i)
			big = append(big, row(id, Connected))
			want[id] = Connected
		}
		c.Upsert(big)
		for i := 0; i < 3000; i += 7 {
			id := fmt.Sprintf("r%d-%04d", round, i)
			if i%2 == 0 {
				c.Upsert([]Row{row(id, Disconnected)})
				want[id] = Disconnected
			} else {
				c.Remove([]string{id})
				delete(want, id)
			}
		}
		flush(t, c)
		f := Filter{LikeClientID: fmt.Sprintf("r%d-", round), Limit: MaxLimit}
		p, err := c.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if int(p.Count) != len(want) || len(p.Rows) != len(want) {
			t.Fatalf("round %d: %d rows (count %d), want %d", round, len(p.Rows), p.Count, len(want))
		}
		for _, r := range p.Rows {
			if want[r.ClientID] != r.ConnState {
				t.Fatalf("round %d: %s is %s, want %s", round, r.ClientID, r.ConnState, want[r.ClientID])
			}
		}
		if s := c.Stats(); s.Errors != 0 {
			t.Fatalf("write errors: %+v", s)
		}
	}
}
