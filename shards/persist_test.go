package shards

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
)

// modelStore is a durable Store kept in memory for the tests: it applies
// every committed Op to a model of what a durable engine would hold, and
// keeps the Ops for inspection.
type modelStore struct {
	mu       sync.Mutex
	ops      []store.Op
	sessions map[string]*store.Session
	queues   map[string][]uint64 // client id → queued seqs, in order
	retained map[string]string   // topic → payload
	commits  int
	empty    int // Commits with no Op
}

func newModelStore() *modelStore {
	return &modelStore{sessions: map[string]*store.Session{}, queues: map[string][]uint64{},
		retained: map[string]string{}}
}

func (m *modelStore) Durable() bool { return true }

func (m *modelStore) Commit(b *store.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits++
	if len(b.Ops) == 0 {
		m.empty++
	}
	for _, op := range b.Ops {
		m.ops = append(m.ops, op) // the Batch is reused: keep copies of what is read later
		switch op.Kind {
		case store.SessionSaved:
			m.sessions[op.ClientID] = op.Session
		case store.SessionDiscarded:
			delete(m.sessions, op.ClientID)
			delete(m.queues, op.ClientID)
		case store.Queued:
			m.queues[op.ClientID] = append(m.queues[op.ClientID], op.Seq)
		case store.Acked:
			q := m.queues[op.ClientID]
			if i := slices.Index(q, op.Seq); i >= 0 {
				m.queues[op.ClientID] = slices.Delete(q, i, i+1)
			}
		case store.RetainedSet:
			m.retained[op.Topic] = string(op.Message.Payload)
		case store.RetainedCleared:
			delete(m.retained, op.Topic)
		}
	}
	return nil
}

// kinds returns the kinds of the Ops recorded for clientID, in order.
func (m *modelStore) kinds(clientID string) []store.Kind {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Kind
	for _, op := range m.ops {
		if op.ClientID == clientID {
			out = append(out, op.Kind)
		}
	}
	return out
}

func (m *modelStore) session(id string) *store.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[id]
}

func (m *modelStore) queue(id string) []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.queues[id])
}

func (m *modelStore) retainedPayload(topic string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.retained[topic]
	return p, ok
}

// TestStoreSeam drives a persistent session through real connections and
// checks that the store receives what it must keep: the session with its
// subscription, a message queued while it is away and its acknowledgement,
// retained messages set and cleared, the discard on a clean start — and
// nothing for a clean session.
func TestStoreSeam(t *testing.T) {
	ms := newModelStore()
	tb := startBroker(t, Config{Store: ms}, netio.Config{})

	sub1, _ := connectRaw(t, tb.addr, conn311("keep", false))
	sub1.subscribe(1, sub("seam/+", 1))
	waitFor(t, "the session saved with its subscription", func() bool {
		s := ms.session("keep")
		return s != nil && len(s.Subscriptions) == 1 && s.Subscriptions[0].Filter == "seam/+" &&
			s.Subscriptions[0].QoS == 1 && s.Version == byte(mqtt.V311)
	})
	sub1.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
	waitFor(t, "the offline session saved with its expiry deadline", func() bool {
		s := ms.session("keep")
		return s != nil && s.ExpireAt > time.Now().UnixNano()
	})

	pub, _ := connectRaw(t, tb.addr, conn311("pub", true))
	pub.publish("seam/a", "queued", 1, false, 7)
	if h, _ := pub.read(); h.Type != mqtt.TypePuback {
		t.Fatalf("got %v, want PUBACK", h.Type)
	}
	pub.publish("kept/r", "kept", 0, true, 0)
	waitFor(t, "the queued message and the retained one", func() bool {
		p, ok := ms.retainedPayload("kept/r")
		return len(ms.queue("keep")) == 1 && ok && p == "kept"
	})

	back, ack := connectRaw(t, tb.addr, conn311("keep", false))
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	p := back.readPublish()
	if string(p.Payload) != "queued" || p.QoS != 1 {
		t.Fatalf("got %q at QoS %d", p.Payload, p.QoS)
	}
	back.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, mqtt.V311))
	waitFor(t, "the acknowledgement", func() bool { return len(ms.queue("keep")) == 0 })

	pub.publish("kept/r", "", 0, true, 0)
	waitFor(t, "the retained message cleared", func() bool { _, ok := ms.retainedPayload("kept/r"); return !ok })

	back.c.Close()
	fresh, _ := connectRaw(t, tb.addr, conn311("keep", true))
	waitFor(t, "the session discarded by the clean start", func() bool { return ms.session("keep") == nil })
	fresh.c.Close()

	if k := ms.kinds("pub"); len(k) > 0 {
		t.Fatalf("the clean session's Ops reached the store: %v", k)
	}
	want := []store.Kind{store.SessionSaved, store.Queued, store.Acked, store.SessionDiscarded}
	got := slices.Compact(ms.kinds("keep"))
	for _, k := range want {
		i := slices.Index(got, k)
		if i < 0 {
			t.Fatalf("Ops for keep %v lack %v", got, k)
		}
		got = got[i:]
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.empty > 0 {
		t.Fatalf("%d of %d Commits carried no Op", ms.empty, ms.commits)
	}
}

// TestStoreSeamQueueOverflow checks that a queued message dropped from a
// full queue leaves the store too.
func TestStoreSeamQueueOverflow(t *testing.T) {
	ms := newModelStore()
	tb := startBroker(t, Config{Store: ms, MqueueMax: 2}, netio.Config{})
	c, _ := connectRaw(t, tb.addr, conn311("small", false))
	c.subscribe(1, sub("ovf", 1))
	c.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
	waitFor(t, "offline", func() bool { s := ms.session("small"); return s != nil && s.ExpireAt != 0 })
	pub, _ := connectRaw(t, tb.addr, conn311("pub-ovf", true))
	for i := range 5 {
		pub.publish("ovf", "m", 1, false, uint16(i+1))
		pub.read()
	}
	waitFor(t, "two messages kept of five", func() bool {
		return len(ms.queue("small")) == 2 && tb.info(t, "small").MqueueLen == 2
	})
}

// TestStoreSeamExpiryDropped resumes an MQTT 5 persistent session with a
// Session Expiry Interval of 0: it no longer outlives its connection, so
// the store must let it go while it is still connected.
func TestStoreSeamExpiryDropped(t *testing.T) {
	ms := newModelStore()
	tb := startBroker(t, Config{Store: ms}, netio.Config{})
	cp := conn5("v5-keep")
	cp.CleanStart = false
	cp.Properties.Present.Add(mqtt.PropSessionExpiry)
	cp.Properties.SessionExpiry = 600
	c, _ := connectRaw(t, tb.addr, cp)
	c.subscribe(1, sub("v5/t", 1))
	waitFor(t, "the session saved", func() bool { return ms.session("v5-keep") != nil })
	c.c.Close()
	waitFor(t, "offline", func() bool { return !tb.info(t, "v5-keep").Connected })

	again := conn5("v5-keep")
	again.CleanStart = false // resumes, now with no expiry
	back, ack := connectRaw(t, tb.addr, again)
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	waitFor(t, "the store dropping the session", func() bool { return ms.session("v5-keep") == nil })
	back.c.Close()
}

// TestStoreHold checks the hold of batch durability: deliveries to a
// persistent subscriber acknowledged within store.HoldFor(flush_interval)
// never reach the store, while a message queued for an offline session
// reaches it within the flush interval though its loop has nothing else
// to do.
func TestStoreHold(t *testing.T) {
	const flush = time.Second
	ms := newModelStore()
	tb := startBroker(t, Config{Store: ms, Durability: store.DurabilityBatch, FlushInterval: flush}, netio.Config{})

	s, _ := connectRaw(t, tb.addr, conn311("hold-sub", false))
	s.subscribe(1, sub("hold/t", 1))
	waitFor(t, "the session saved", func() bool { return ms.session("hold-sub") != nil })
	pub, _ := connectRaw(t, tb.addr, conn311("hold-pub", true))
	const n = 50
	for i := range n {
		pub.publish("hold/t", "m", 1, false, uint16(i+1))
		if h, _ := pub.read(); h.Type != mqtt.TypePuback {
			t.Fatalf("got %v, want PUBACK", h.Type)
		}
		p := s.readPublish()
		s.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, mqtt.V311))
	}
	s.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
	waitFor(t, "the offline session saved", func() bool {
		ss := ms.session("hold-sub")
		return ss != nil && ss.ExpireAt != 0
	})
	for _, k := range ms.kinds("hold-sub") {
		if k == store.Queued || k == store.Sent || k == store.Acked {
			t.Fatalf("a delivery acknowledged within the hold reached the store: %v", ms.kinds("hold-sub"))
		}
	}

	pub.publish("hold/t", "offline", 1, false, 1)
	if h, _ := pub.read(); h.Type != mqtt.TypePuback {
		t.Fatalf("got %v, want PUBACK", h.Type)
	}
	acked := time.Now()
	waitFor(t, "the offline message committed", func() bool { return len(ms.queue("hold-sub")) == 1 })
	if took := time.Since(acked); took >= flush {
		t.Fatalf("the message queued for the offline session reached the store %v after its PUBACK, flush interval %v", took, flush)
	}
}

// syncedSaves is a modelStore that records, per client id, whether each
// SessionSaved came in a synced Batch.
type syncedSaves struct {
	*modelStore
	mu    sync.Mutex
	saves map[string][]bool
}

func (s *syncedSaves) Commit(b *store.Batch) error {
	s.mu.Lock()
	for _, op := range b.Ops {
		if op.Kind == store.SessionSaved {
			s.saves[op.ClientID] = append(s.saves[op.ClientID], b.Sync)
		}
	}
	s.mu.Unlock()
	return s.modelStore.Commit(b)
}

// TestStoreHoldSync checks that the hold of batch durability leaves a
// sync zone alone: beside a batch zone (so the shards hold Ops), a sync
// session's subscription is committed, synced, by the loop turn that
// made it, before its SUBACK.
func TestStoreHoldSync(t *testing.T) {
	ss := &syncedSaves{modelStore: newModelStore(), saves: map[string][]bool{}}
	batchAddr, syncAddr := freeAddr(t), freeAddr(t)
	// A long flush interval: a held Op would be seconds late.
	startListeners(t, Config{Store: ss, Durability: store.DurabilityBatch, FlushInterval: time.Minute,
		Zones:     map[string]ZoneConfig{"durable": {Durability: store.DurabilitySync}},
		Listeners: []ListenerConfig{{Addr: batchAddr}, {Addr: syncAddr, Zone: "durable"}}})
	c, _ := connectRaw(t, syncAddr, conn311("sync-sub", false))
	c.subscribe(1, sub("sync/t", 1)) // returns with the SUBACK
	ss.mu.Lock()
	defer ss.mu.Unlock()
	saves := ss.saves["sync-sub"]
	if len(saves) == 0 {
		t.Fatal("no SessionSaved committed by the time of the SUBACK")
	}
	for i, synced := range saves {
		if !synced {
			t.Fatalf("SessionSaved %d of %d committed without sync", i+1, len(saves))
		}
	}
	if s := ss.session("sync-sub"); s == nil || len(s.Subscriptions) != 1 {
		t.Fatalf("the session as committed by the SUBACK: %+v", s)
	}
}

// sharedBodies is a modelStore that checks, in every Batch, that the
// Queued Ops of one message share one *store.Message (the disk store then
// writes its body once), and counts the Ops that did.
type sharedBodies struct {
	*modelStore
	mu     sync.Mutex
	shared int
	split  []string // payloads with two views in one Batch
}

func (s *sharedBodies) Commit(b *store.Batch) error {
	s.mu.Lock()
	views := map[string]*store.Message{}
	for _, op := range b.Ops {
		if op.Kind != store.Queued {
			continue
		}
		p := string(op.Message.Payload)
		switch v, ok := views[p]; {
		case !ok:
			views[p] = op.Message
		case v == op.Message:
			s.shared++
		default:
			s.split = append(s.split, p)
		}
	}
	s.mu.Unlock()
	return s.modelStore.Commit(b)
}

// TestStoreSharedViews publishes, in one write, messages to three
// offline persistent sessions of one shard: each message's three Queued
// Ops share one view.
func TestStoreSharedViews(t *testing.T) {
	ss := &sharedBodies{modelStore: newModelStore()}
	tb := startBroker(t, Config{Store: ss}, netio.Config{Loops: 1})
	ids := []string{"fan-a", "fan-b", "fan-c"}
	for _, id := range ids {
		c, _ := connectRaw(t, tb.addr, conn311(id, false))
		c.subscribe(1, sub("fan/t", 1))
		c.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V311))
		waitFor(t, "the offline session saved", func() bool {
			s := ss.session(id)
			return s != nil && s.ExpireAt != 0
		})
	}
	pub, _ := connectRaw(t, tb.addr, conn311("fan-pub", true))
	const n = 2 * recentViews
	var burst []byte
	for i := range n {
		burst = mqtt.AppendPublish(burst, &mqtt.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("fan/t"),
			Payload: []byte{'m', byte('a' + i)}}, mqtt.V311)
	}
	pub.write(burst)
	waitFor(t, "every message queued for every session", func() bool {
		for _, id := range ids {
			if len(ss.queue(id)) != n {
				return false
			}
		}
		return true
	})
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.split) > 0 || ss.shared != n*(len(ids)-1) {
		t.Fatalf("%d Queued Ops shared a view (want %d); payloads with two views in one Batch: %q",
			ss.shared, n*(len(ids)-1), ss.split)
	}
}
