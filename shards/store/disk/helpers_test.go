package disk

import (
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

// open opens a store in dir for a test and closes it at the end.
func open(t testing.TB, dir string, mod ...func(*store.Config)) *DB {
	t.Helper()
	cfg := store.Config{Dir: dir, Reserve: 1 << 20, Logf: t.Logf}
	for _, f := range mod {
		f(&cfg)
	}
	db, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func syncMode(c *store.Config) { c.Durability = store.DurabilitySync }

// loaded is what Load handed over, by client id and topic.
type loaded struct {
	sessions map[string]store.SessionState
	retained map[string]*store.Message
	expired  []string
	stats    store.LoadStats
}

// load runs Load at now and keeps copies of what it hands over.
func load(t testing.TB, db *DB, now time.Time) loaded {
	t.Helper()
	out := loaded{sessions: map[string]store.SessionState{}, retained: map[string]*store.Message{}}
	st, err := db.Load(now, store.Loader{
		Session: func(ss *store.SessionState) error {
			if _, dup := out.sessions[ss.Session.ClientID]; dup {
				t.Errorf("session %q handed over twice", ss.Session.ClientID)
			}
			out.sessions[ss.Session.ClientID] = store.SessionState{
				Session:  ss.Session,
				Queue:    append([]store.Delivery(nil), ss.Queue...),
				AwaitRel: append([]uint16(nil), ss.AwaitRel...),
			}
			return nil
		},
		Retained: func(m *store.Message) error {
			out.retained[m.Topic] = m
			return nil
		},
		Expired: func(s *store.Session) { out.expired = append(out.expired, s.ClientID) },
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	out.stats = st
	return out
}

// reopen closes db and opens its directory again.
func reopen(t testing.TB, db *DB, mod ...func(*store.Config)) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return open(t, db.cfg.Dir, mod...)
}

func commit(t testing.TB, db *DB, ops ...store.Op) {
	t.Helper()
	if err := db.Commit(&store.Batch{Ops: ops}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func session(id string, subs ...string) *store.Session {
	s := &store.Session{ClientID: id, Version: 5, CreatedAt: 1700000000000, Expiry: 3600}
	for _, f := range subs {
		s.Subscriptions = append(s.Subscriptions, store.Subscription{Filter: f, QoS: 1})
	}
	return s
}

func msg(topic, payload string) *store.Message {
	return &store.Message{Topic: topic, Payload: []byte(payload), QoS: 1}
}

func saved(s *store.Session) store.Op {
	return store.Op{Kind: store.SessionSaved, ClientID: s.ClientID, Session: s}
}

func queued(id string, seq uint64, m *store.Message) store.Op {
	return store.Op{Kind: store.Queued, ClientID: id, Seq: seq, Message: m, QoS: m.QoS}
}

func sent(id string, seq uint64, pid uint16) store.Op {
	return store.Op{Kind: store.Sent, ClientID: id, Seq: seq, PacketID: pid}
}

func acked(id string, seq uint64) store.Op {
	return store.Op{Kind: store.Acked, ClientID: id, Seq: seq}
}
