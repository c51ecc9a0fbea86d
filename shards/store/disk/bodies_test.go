package disk

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/shardmq/shardmq/shards/store"
)

// bodyCount counts the body records in db.
func bodyCount(t *testing.T, db *DB) int {
	t.Helper()
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{tagBody}, UpperBound: []byte{tagBody + 1}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	it.Close()
	return n
}

func fanout(m *store.Message, seq uint64, ids ...string) []store.Op {
	var ops []store.Op
	for _, id := range ids {
		ops = append(ops, queued(id, seq, m))
	}
	return ops
}

func acks(seq uint64, ids ...string) []store.Op {
	var ops []store.Op
	for _, id := range ids {
		ops = append(ops, acked(id, seq))
	}
	return ops
}

// TestSharedBodies writes a Message queued for several clients in one
// Batch once, and deletes it when the last delivery naming it goes, by
// Acked or SessionDiscarded, before or after a reopen.
func TestSharedBodies(t *testing.T) {
	ids := []string{"a", "b", "c"}
	sessions := []store.Op{saved(session("a")), saved(session("b")), saved(session("c"))}
	m := msg("fleet/cmd", "reboot")
	tests := []struct {
		name    string
		before  [][]store.Op // committed, then the store is reopened and loaded
		after   [][]store.Op
		bodies  int    // body records at the end
		queue   int    // messages of client "a" at the end
		reloads []bool // whether the store was loaded since
	}{
		{name: "written once", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...)}, bodies: 1, queue: 1},
		{name: "kept while named", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...), acks(1, "b", "c")}, bodies: 1, queue: 1},
		{name: "acked by all", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...), acks(1, "a", "b"), acks(1, "c")}},
		{name: "acked by all after a reopen", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...), acks(1, "a")},
			after: [][]store.Op{acks(1, "b", "c")}},
		{name: "queued and acked in one batch", before: [][]store.Op{append(append(sessions, fanout(m, 1, ids...)...), acks(1, ids...)...)}},
		{name: "sessions discarded", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...)},
			after: [][]store.Op{{{Kind: store.SessionDiscarded, ClientID: "a"}, {Kind: store.SessionDiscarded, ClientID: "b"}},
				{{Kind: store.SessionDiscarded, ClientID: "c"}}}},
		{name: "discarded and queued again", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...)},
			after: [][]store.Op{append([]store.Op{{Kind: store.SessionDiscarded, ClientID: "a"}, saved(session("a"))}, fanout(m, 1, "a", "b")...),
				acks(1, "c")}, bodies: 1, queue: 1}, // b's seq 1 named the first body, then the second
		{name: "one message, one body per batch", before: [][]store.Op{append(sessions, fanout(m, 1, ids...)...), fanout(m, 2, ids...)},
			after: [][]store.Op{acks(1, ids...)}, bodies: 1, queue: 1},
		{name: "queued once is inline", before: [][]store.Op{append(sessions, queued("a", 1, m))}, queue: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, t.TempDir())
			for _, b := range tc.before {
				commit(t, db, b...)
			}
			db = reopen(t, db)
			load(t, db, now)
			for _, b := range tc.after {
				commit(t, db, b...)
			}
			if n := bodyCount(t, db); n != tc.bodies {
				t.Errorf("%d bodies, want %d", n, tc.bodies)
			}
			db = reopen(t, db)
			got := load(t, db, now)
			if n := bodyCount(t, db); n != tc.bodies {
				t.Errorf("after reopen: %d bodies, want %d", n, tc.bodies)
			}
			if q := got.sessions["a"].Queue; len(q) != tc.queue {
				t.Fatalf("a holds %d messages, want %d", len(q), tc.queue)
			}
			for _, ss := range got.sessions {
				for _, d := range ss.Queue {
					if d.Message.Topic != m.Topic || string(d.Message.Payload) != string(m.Payload) {
						t.Errorf("%s: message %+v", ss.Session.ClientID, d.Message)
					}
				}
			}
			if got.stats.Orphans != 0 {
				t.Errorf("%d orphans", got.stats.Orphans)
			}
		})
	}
}

// TestSharedBodiesLoad shares a body between the deliveries Load hands
// over, drops a delivery whose body is gone, deletes a body nothing
// names, and one whose deliveries all expired.
func TestSharedBodiesLoad(t *testing.T) {
	db := open(t, t.TempDir())
	m := msg("t", "x")
	old := msg("old", "o")
	old.ExpireAt = now.Add(-time.Second).UnixNano()
	commit(t, db, append(append([]store.Op{saved(session("a")), saved(session("b"))},
		fanout(m, 1, "a", "b")...), fanout(old, 2, "a", "b")...)...)
	// c's and d's deliveries name a body that is gone.
	commit(t, db, append([]store.Op{saved(session("c")), saved(session("d"))}, fanout(msg("t", "y"), 1, "c", "d")...)...)
	db.pdb.Delete(appendBodyKey(nil, db.refs.next.Load()), pebble.Sync)
	db.pdb.Set(appendBodyKey(nil, 1000), appendMessage(nil, m), pebble.Sync) // named by no one
	db = reopen(t, db)
	got := load(t, db, now)
	if got.stats.Orphans != 2 || got.stats.ExpiredMessages != 2 || len(got.sessions["c"].Queue) != 0 {
		t.Errorf("stats %+v, want 2 orphans and 2 expired", got.stats)
	}
	if a, b := got.sessions["a"].Queue, got.sessions["b"].Queue; len(a) != 1 || len(b) != 1 || a[0].Message != b[0].Message {
		t.Errorf("a and b do not share their message: %+v %+v", a, b)
	}
	if n := bodyCount(t, db); n != 1 {
		t.Errorf("%d bodies, want the one a and b name", n)
	}
	// New bodies get ids above those in the store.
	commit(t, db, fanout(m, 5, "a", "b")...)
	if n := bodyCount(t, db); n != 2 || db.refs.next.Load() <= 1000 {
		t.Errorf("%d bodies, the last id %d, want 2 above 1000", n, db.refs.next.Load())
	}
}

// TestSharedBodiesConcurrent acknowledges the deliveries of one body from
// several goroutines at once (after a restart a body's clients may live
// on different shards): the body is deleted once, by the last.
func TestSharedBodiesConcurrent(t *testing.T) {
	const clients, msgs = 8, 20
	db := open(t, t.TempDir())
	var ids []string
	var ops []store.Op
	for i := range clients {
		ids = append(ids, fmt.Sprintf("c%d", i))
		ops = append(ops, saved(session(ids[i])))
	}
	for k := uint64(1); k <= msgs; k++ {
		ops = append(ops, fanout(msg("t", fmt.Sprint(k)), k, ids...)...)
	}
	commit(t, db, ops...)
	db = reopen(t, db)
	load(t, db, now)
	if n := bodyCount(t, db); n != msgs {
		t.Fatalf("%d bodies, want %d", n, msgs)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := uint64(1); k <= msgs; k++ {
				if err := db.Commit(&store.Batch{Shard: i, Ops: []store.Op{acked(id, k)}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := bodyCount(t, db); n != 0 {
		t.Fatalf("%d bodies left", n)
	}
	if live := db.refs.live.Load(); live != 0 {
		t.Fatalf("%d references counted", live)
	}
}
