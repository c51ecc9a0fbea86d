package disk

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

var now = time.Unix(1_800_000_000, 0)

// full is a session with every field set.
func full() *store.Session {
	return &store.Session{
		ClientID:  "dev-ü/1",
		Username:  "alice",
		Version:   5,
		CreatedAt: 1_700_000_000_123,
		Expiry:    0xFFFFFFFF,
		ExpireAt:  now.Add(time.Hour).UnixNano(),
		Subscriptions: []store.Subscription{
			{Filter: "a/+/c", QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2, ID: 268435455},
			{Filter: "$share/g/x/#", QoS: 0},
		},
		Will: &store.Message{Topic: "will/t", Payload: []byte("bye"), QoS: 1, Retain: true,
			Properties: []byte{0x01, 0x01, 0x26, 0, 1, 'k', 0, 1, 'v'}, From: "dev-ü/1"},
		WillDelay:  30,
		WillExpiry: 600,
		Zone:       "fleet",
	}
}

// TestRoundTrip commits every kind of Op, closes, opens and loads.
func TestRoundTrip(t *testing.T) {
	props := []byte{0x03, 0, 4, 't', 'e', 'x', 't'} // Content Type "text"
	m1 := &store.Message{Topic: "t/1", Payload: []byte("one"), QoS: 2, Properties: props, From: "pub",
		ExpireAt: now.Add(time.Minute).UnixNano()}
	m2 := msg("t/2", "two")
	c := "c1"
	tests := []struct {
		name     string
		batches  [][]store.Op
		sessions map[string]store.SessionState
		retained map[string]*store.Message
	}{
		{
			name:     "session saved",
			batches:  [][]store.Op{{saved(full())}},
			sessions: map[string]store.SessionState{"dev-ü/1": {Session: full()}},
		},
		{
			name:     "session saved twice keeps the last",
			batches:  [][]store.Op{{saved(session(c, "a"))}, {saved(session(c, "a", "b"))}},
			sessions: map[string]store.SessionState{c: {Session: session(c, "a", "b")}},
		},
		{
			name:    "session discarded",
			batches: [][]store.Op{{saved(session(c)), queued(c, 1, m1)}, {{Kind: store.SessionDiscarded, ClientID: c}}},
		},
		{
			name: "queued",
			batches: [][]store.Op{{saved(session(c)),
				{Kind: store.Queued, ClientID: c, Seq: 7, Message: m1, QoS: 1, Retain: true, SubIDs: []uint32{3, 9}},
				queued(c, 8, m2)}},
			sessions: map[string]store.SessionState{c: {Session: session(c), Queue: []store.Delivery{
				{Seq: 7, Message: m1, QoS: 1, Retain: true, SubIDs: []uint32{3, 9}},
				{Seq: 8, Message: m2, QoS: 1},
			}}},
		},
		{
			name:    "sent",
			batches: [][]store.Op{{saved(session(c)), queued(c, 1, m2)}, {sent(c, 1, 42)}},
			sessions: map[string]store.SessionState{c: {Session: session(c), Queue: []store.Delivery{
				{Seq: 1, Message: m2, QoS: 1, PacketID: 42}}}},
		},
		{
			name: "released",
			batches: [][]store.Op{{saved(session(c)), queued(c, 1, m1), sent(c, 1, 5)},
				{{Kind: store.Released, ClientID: c, Seq: 1, PacketID: 5}}},
			sessions: map[string]store.SessionState{c: {Session: session(c), Queue: []store.Delivery{
				{Seq: 1, Message: m1, QoS: 2, PacketID: 5, Released: true}}}},
		},
		{
			name:     "acked",
			batches:  [][]store.Op{{saved(session(c)), queued(c, 1, m2), sent(c, 1, 1)}, {acked(c, 1)}},
			sessions: map[string]store.SessionState{c: {Session: session(c)}},
		},
		{
			name: "await rel",
			batches: [][]store.Op{{saved(session(c)), {Kind: store.AwaitRel, ClientID: c, PacketID: 300},
				{Kind: store.AwaitRel, ClientID: c, PacketID: 2}}},
			sessions: map[string]store.SessionState{c: {Session: session(c), AwaitRel: []uint16{2, 300}}},
		},
		{
			name: "rel done",
			batches: [][]store.Op{{saved(session(c)), {Kind: store.AwaitRel, ClientID: c, PacketID: 2}},
				{{Kind: store.RelDone, ClientID: c, PacketID: 2}}},
			sessions: map[string]store.SessionState{c: {Session: session(c)}},
		},
		{
			name:     "retained set",
			batches:  [][]store.Op{{{Kind: store.RetainedSet, Message: m1}, {Kind: store.RetainedSet, Message: m2}}},
			retained: map[string]*store.Message{"t/1": m1, "t/2": m2},
		},
		{
			name: "retained cleared",
			batches: [][]store.Op{{{Kind: store.RetainedSet, Message: m1}, {Kind: store.RetainedSet, Message: m2}},
				{{Kind: store.RetainedCleared, Topic: "t/1"}}},
			retained: map[string]*store.Message{"t/2": m2},
		},
		{
			name:     "empty client id and binary topic",
			batches:  [][]store.Op{{saved(session("")), {Kind: store.RetainedSet, Message: msg("\x00\xff", "")}}},
			sessions: map[string]store.SessionState{"": {Session: session("")}},
			retained: map[string]*store.Message{"\x00\xff": {Topic: "\x00\xff", QoS: 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, t.TempDir())
			for _, b := range tc.batches {
				commit(t, db, b...)
			}
			db = reopen(t, db)
			got := load(t, db, now)
			if want := orEmpty(tc.sessions); !reflect.DeepEqual(got.sessions, want) {
				t.Errorf("sessions:\n got %+v\nwant %+v", got.sessions, want)
			}
			if want := orEmpty(tc.retained); !reflect.DeepEqual(got.retained, want) {
				t.Errorf("retained:\n got %+v\nwant %+v", got.retained, want)
			}
			if got.stats.Orphans != 0 {
				t.Errorf("orphans: %d", got.stats.Orphans)
			}
		})
	}
}

func orEmpty[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

// TestOrderAndIdempotence checks Ops that meet in one Batch or refer to
// what is not there.
func TestOrderAndIdempotence(t *testing.T) {
	c := "c"
	m := msg("t", "x")
	tests := []struct {
		name  string
		ops   []store.Op
		queue []uint64 // the Seqs Load finds
		has   bool     // the session survives
	}{
		{"queued then acked", []store.Op{saved(session(c)), queued(c, 1, m), sent(c, 1, 1), acked(c, 1), queued(c, 2, m)}, []uint64{2}, true},
		{"acked of unknown seq", []store.Op{saved(session(c)), queued(c, 1, m), acked(c, 99)}, []uint64{1}, true},
		{"acked twice", []store.Op{saved(session(c)), queued(c, 1, m), acked(c, 1), acked(c, 1)}, nil, true},
		{"discard drops queued", []store.Op{saved(session(c)), queued(c, 1, m), queued(c, 2, m), {Kind: store.SessionDiscarded, ClientID: c}}, nil, false},
		{"discard then new session", []store.Op{saved(session(c)), queued(c, 1, m), {Kind: store.SessionDiscarded, ClientID: c}, saved(session(c)), queued(c, 1, m)}, []uint64{1}, true},
		{"discard of unknown client", []store.Op{{Kind: store.SessionDiscarded, ClientID: "nobody"}}, nil, false},
		{"rel done of unknown id", []store.Op{saved(session(c)), {Kind: store.RelDone, ClientID: c, PacketID: 9}}, nil, true},
		{"seq order, not commit order", []store.Op{saved(session(c)), queued(c, 300, m), queued(c, 2, m), queued(c, 1<<40, m)}, []uint64{2, 300, 1 << 40}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, t.TempDir())
			commit(t, db, tc.ops...)
			db = reopen(t, db)
			got := load(t, db, now)
			ss, has := got.sessions[c]
			if has != tc.has {
				t.Fatalf("session there: %v, want %v", has, tc.has)
			}
			var seqs []uint64
			for _, d := range ss.Queue {
				seqs = append(seqs, d.Seq)
			}
			if !reflect.DeepEqual(seqs, tc.queue) {
				t.Errorf("queue %v, want %v", seqs, tc.queue)
			}
			if got.stats.Orphans != 0 {
				t.Errorf("orphans: %d", got.stats.Orphans)
			}
		})
	}
}

// TestExpiry drops expired sessions, unsent expired messages and expired
// retained messages, counts them, and deletes them from the store.
func TestExpiry(t *testing.T) {
	past, future := now.Add(-time.Second).UnixNano(), now.Add(time.Second).UnixNano()
	gone := session("gone")
	gone.ExpireAt = past
	gone.Will = msg("will", "w")
	stays := session("stays")
	stays.ExpireAt = future
	old := msg("old", "o")
	old.ExpireAt = past
	fresh := msg("fresh", "f")
	fresh.ExpireAt = future

	db := open(t, t.TempDir())
	commit(t, db,
		saved(gone), queued("gone", 1, fresh), queued("gone", 2, fresh),
		saved(stays),
		queued("stays", 1, old),                      // expired, not sent: dropped
		queued("stays", 2, old), sent("stays", 2, 7), // expired but in flight: stays [MQTT-3.3.2-5]
		queued("stays", 3, fresh),
		queued("stays", 4, old), // expired, the last key of the client
		store.Op{Kind: store.RetainedSet, Message: old},
		store.Op{Kind: store.RetainedSet, Message: fresh},
	)
	db = reopen(t, db)
	got := load(t, db, now)
	want := store.LoadStats{Sessions: 1, Subscriptions: 0, Messages: 2, InFlight: 1, Retained: 1,
		ExpiredSessions: 1, ExpiredSessionMessages: 2, ExpiredMessages: 2, ExpiredRetained: 1}
	got.stats.Took = 0
	if got.stats != want {
		t.Errorf("stats\n got %+v\nwant %+v", got.stats, want)
	}
	if !reflect.DeepEqual(got.expired, []string{"gone"}) {
		t.Errorf("Expired got %v", got.expired)
	}
	var seqs []uint64
	for _, d := range got.sessions["stays"].Queue {
		seqs = append(seqs, d.Seq)
	}
	if !reflect.DeepEqual(seqs, []uint64{2, 3}) {
		t.Errorf("queue %v, want [2 3]", seqs)
	}
	// What expired is gone from the store: a second Load, even earlier,
	// finds only what survived.
	db = reopen(t, db)
	again := load(t, db, now.Add(-time.Hour))
	again.stats.Took = 0
	want = store.LoadStats{Sessions: 1, Messages: 2, InFlight: 1, Retained: 1}
	if again.stats != want {
		t.Errorf("second load\n got %+v\nwant %+v", again.stats, want)
	}
}

// TestOrphans drops records of a client without a session record.
func TestOrphans(t *testing.T) {
	db := open(t, t.TempDir())
	m := msg("t", "x")
	commit(t, db, queued("a", 1, m), queued("a", 2, m), sent("b", 1, 1), saved(session("c")), sent("c", 5, 1))
	db = reopen(t, db)
	got := load(t, db, now)
	if got.stats.Orphans != 4 || len(got.sessions) != 1 || len(got.sessions["c"].Queue) != 0 {
		t.Fatalf("got %+v, sessions %v", got.stats, got.sessions)
	}
	db = reopen(t, db)
	if again := load(t, db, now); again.stats.Orphans != 0 || again.stats.Sessions != 1 {
		t.Fatalf("orphans stayed: %+v", again.stats)
	}
}

// TestInvalidOp refuses an Op that lacks what its Kind needs, and writes
// nothing of its Batch.
func TestInvalidOp(t *testing.T) {
	for _, op := range []store.Op{{Kind: store.Queued, ClientID: "c"}, {Kind: store.SessionSaved},
		{Kind: store.RetainedSet}, {Kind: 0}, {Kind: 200}} {
		db := open(t, t.TempDir())
		err := db.Commit(&store.Batch{Ops: []store.Op{saved(session("c")), op}})
		if !errors.Is(err, store.ErrInvalidOp) {
			t.Errorf("%v: err %v, want ErrInvalidOp", op.Kind, err)
		}
		if got := load(t, db, now); got.stats.Sessions != 0 {
			t.Errorf("%v: a refused Batch was written in part", op.Kind)
		}
	}
}

// TestClose closes twice and refuses Commit and Load afterwards.
func TestClose(t *testing.T) {
	db := open(t, t.TempDir())
	commit(t, db, saved(session("c")))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Commit(&store.Batch{Ops: []store.Op{saved(session("d"))}}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Commit after Close: %v", err)
	}
	if _, err := db.Load(now, store.Loader{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
}

// TestLoadSessionsHint checks that Load tells Loader.Sessions how many
// session records the store holds before it hands over the first one:
// keys of messages, in-flight marks and QoS 2 ids (whose last byte may
// equal a session key's) are not counted.
func TestLoadSessionsHint(t *testing.T) {
	db := open(t, t.TempDir())
	commit(t, db, saved(session("a", "x")), queued("a", 1, msg("t", "m")), sent("a", 1, 1),
		saved(session("b")), queued("orphan", 2, msg("t", "o")),
		store.Op{Kind: store.AwaitRel, ClientID: "b", PacketID: 0x0101})
	hint, calls := -1, 0
	_, err := db.Load(now, store.Loader{
		Sessions: func(n int) { hint = n },
		Session: func(*store.SessionState) error {
			if hint < 0 {
				t.Error("a session came before the hint")
			}
			calls++
			return nil
		},
		Retained: func(*store.Message) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if hint != 2 || calls != 2 {
		t.Fatalf("hint %d, %d sessions handed over; want 2 and 2", hint, calls)
	}
}
