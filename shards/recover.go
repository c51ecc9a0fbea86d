package shards

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// Loader is a Store that hands back, once at start, what it kept:
// store.Store's Load.
type Loader interface {
	Load(now time.Time, l store.Loader) (store.LoadStats, error)
}

// Recovered is what Recover rebuilt and what it dropped.
type Recovered struct {
	store.LoadStats
	// Wills are the wills of sessions that expired while the broker was
	// down; each is published once its shard runs.
	Wills int
}

// Recover rebuilds the broker from what st kept, before the listeners
// open: every persistent session with its subscriptions (into the index),
// queued and in-flight messages, inbound QoS 2 exchanges and will; the
// retained store; and each session's client row, disconnected, handed to
// the Sink at once. Each session is placed on the shard of loop
// (FNV-1a(client id) mod loops): loops must be netio's number of event
// loops, and Bind must follow the server's start, which hands every loop
// the shard holding its sessions. Call it once, on a Broker no loop has
// run yet. It turns the collector off meanwhile (a memory limit, GOMEMLIMIT,
// still bounds the heap) and restores its setting when it returns.
func (b *Broker) Recover(st Loader, loops int) (Recovered, error) {
	if loops < 1 {
		return Recovered{}, fmt.Errorf("%w: Recover needs at least one loop", ErrInvalidConfig)
	}
	b.mu.Lock()
	if len(b.shards) > 0 || b.pending != nil {
		b.mu.Unlock()
		return Recovered{}, fmt.Errorf("%w: Recover after the loops started, or twice", ErrInvalidConfig)
	}
	b.mu.Unlock()
	pend := make([]*shard, loops)
	for i := range pend {
		pend[i] = newShard(b, nil, i)
	}
	// What Load hands over stays live: collecting while it grows would
	// scan the growing heap again and again, for little garbage (at 1M
	// sessions the collector took a fifth of the CPU at 400% headroom;
	// off, the RSS after is ~200 MiB more). The runtime still collects
	// when the heap nears a memory limit (GOMEMLIMIT).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	now := time.Now()
	rc := recovery{b: b, pend: pend, now: now}
	stats, err := st.Load(now, store.Loader{Session: rc.session, Retained: rc.retained, Expired: rc.expired,
		Sessions: rc.sessions})
	rec := Recovered{LoadStats: stats, Wills: rc.wills}
	if err != nil {
		return rec, err
	}
	b.storeSeq.Store(rc.maxSeq)
	if sink := b.cfg.Sink; sink != nil {
		for _, sh := range pend {
			if len(sh.lifeDirty) == 0 {
				continue
			}
			rows := make([]ClientRow, 0, len(sh.lifeDirty))
			for _, s := range sh.lifeDirty {
				s.lifeDirty = false
				rows = append(rows, s.row(now))
			}
			clear(sh.lifeDirty)
			sh.lifeDirty = sh.lifeDirty[:0]
			sink.Upsert(rows)
		}
	}
	b.retainedN.set(int64(b.retain.Len()))
	b.mu.Lock()
	b.pending = pend
	b.recovered = rec
	b.mu.Unlock()
	return rec, nil
}

// Recovered returns what Recover rebuilt and dropped (zero when it did not
// run). Safe from any goroutine.
func (b *Broker) Recovered() Recovered {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recovered
}

// Bind runs on every loop of loops the shard Recover placed there (or a
// new one), so that the sessions of every shard are served before
// clients arrive, and waits for them up to ctx. It fails when a recovered
// shard has no loop: loops must be all of netio's (Server.Loops after
// Start).
func (b *Broker) Bind(ctx context.Context, loops []*netio.Loop) error {
	for _, l := range loops {
		done := make(chan struct{})
		if err := l.Execute(func() { b.shardOf(l); close(done) }); err != nil {
			return ErrNotServing
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, sh := range b.pending {
		if sh != nil {
			return fmt.Errorf("%w: recovered shard %d has no event loop (%d loops)", ErrInvalidConfig, i, len(loops))
		}
	}
	return nil
}

// recovery is the state of one Recover.
type recovery struct {
	b      *Broker
	pend   []*shard
	now    time.Time
	maxSeq uint64
	wills  int
	// msgs shares one message between the deliveries that share a
	// store.Message (one reference each).
	msgs map[*store.Message]*message
}

// zoneOf returns the settings of the zone named zone: the first
// listener's of that zone, else the first listener's.
func (b *Broker) zoneOf(zone string) *Config {
	for _, l := range b.listeners {
		if l.cfg.Zone == zone {
			return &l.cfg
		}
	}
	return &b.listeners[0].cfg
}

// message returns the broker's message for m, one reference the caller's.
func (rc *recovery) message(m *store.Message) *message {
	if rm := rc.msgs[m]; rm != nil {
		rm.ref()
		return rm
	}
	p := mqtt.Publish{QoS: m.QoS, Retain: m.Retain, Payload: m.Payload}
	decodeProps(m.Properties, &p.Properties)
	rm := rc.b.newMessage(&p, []byte(m.Topic), []byte(m.From), nil, rc.now)
	rm.expireAt = m.ExpireAt
	if m.ExpireAt != 0 {
		rm.expiry = uint32(min(math.MaxUint32, max(1, (m.ExpireAt-rc.now.UnixNano()+int64(time.Second)-1)/int64(time.Second))))
	}
	if rc.msgs == nil {
		rc.msgs = make(map[*store.Message]*message)
	}
	rc.msgs[m] = rm
	return rm
}

// decodeProps decodes the forwarded properties of a stored message (as
// encodeProps wrote them) into pr; nothing when b is empty.
func decodeProps(b []byte, pr *mqtt.Properties) {
	if len(b) == 0 {
		return
	}
	body := append([]byte{0, 1, 'a'}, b...)
	h := mqtt.FixedHeader{Type: mqtt.TypePublish, RemainingLength: len(body), HeaderLen: 2}
	var q mqtt.Publish
	if q.Decode(h, body, mqtt.V5) == nil {
		*pr = q.Properties
	}
}

// sessions sizes the registry and the shards' session maps for the n
// sessions Load is about to hand over.
func (rc *recovery) sessions(n int) {
	rc.b.registry.reserve(n)
	for _, sh := range rc.pend {
		if len(sh.sessions) == 0 {
			sh.sessions = make(map[string]*session, n/len(rc.pend)+n/(8*len(rc.pend)))
		}
	}
}

// session rebuilds one session on its shard.
func (rc *recovery) session(ss *store.SessionState) error {
	b := rc.b
	r := ss.Session
	sh := rc.pend[stripeHash(r.ClientID)%uint32(len(rc.pend))]
	s := newSession(sh, r.ClientID, rc.now)
	s.cfg = b.zoneOf(r.Zone)
	s.window = uint16(s.cfg.InflightMax)
	s.username = r.Username
	s.version = mqtt.Version(r.Version)
	s.createdAt = r.CreatedAt
	s.expiry = r.Expiry
	s.expireAt = r.ExpireAt
	nowNS := rc.now.UnixNano()
	// When the session was last connected: an offline session's expiry
	// deadline says; a session connected at the crash lost its connection
	// with the broker, at the start of this one.
	lost := nowNS
	if r.ExpireAt != 0 && r.Expiry != neverExpire {
		lost = min(nowNS, r.ExpireAt-int64(r.Expiry)*int64(time.Second))
	} else if r.ExpireAt == 0 && r.Expiry != neverExpire {
		s.expireAt = rc.now.Add(time.Duration(r.Expiry) * time.Second).UnixNano()
	}
	s.disconnectedAt = lost / int64(time.Millisecond)
	s.connectedAt = s.disconnectedAt
	for _, sub := range r.Subscriptions {
		opts := SubOptions{QoS: sub.QoS, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished,
			RetainHandling: sub.RetainHandling, ID: sub.ID}
		if _, err := b.index.Subscribe(s, sub.Filter, opts); err != nil {
			return fmt.Errorf("session %q: subscription %q: %w", r.ClientID, sub.Filter, err)
		}
		if s.subs == nil {
			s.subs = make(map[string]SubOptions, len(r.Subscriptions))
		}
		s.subs[sub.Filter] = opts
	}
	if r.Will != nil {
		m := rc.message(r.Will)
		m.expireAt, m.expiry = 0, r.WillExpiry
		// The connection was lost, so the will is due: after its delay,
		// counted from the loss.
		at := max(nowNS, lost+int64(r.WillDelay)*int64(time.Second))
		s.will = &willMsg{msg: m, delay: r.WillDelay, at: at}
	}
	for i := range ss.Queue {
		d := &ss.Queue[i]
		rc.maxSeq = max(rc.maxSeq, d.Seq)
		x := s.extra()
		dl := delivery{msg: rc.message(d.Message), seq: d.Seq, qos: d.QoS, retain: d.Retain}
		if len(d.SubIDs) > 0 {
			dl.subID = d.SubIDs[0]
			if len(d.SubIDs) > 1 {
				dl.moreIDs = append([]uint32(nil), d.SubIDs[1:]...)
			}
		}
		x.heap += int64(dl.msg.size)
		if d.InFlight() {
			x.inflight = append(x.inflight, outMsg{d: dl, id: d.PacketID, rel: d.Released})
			x.nextID = max(x.nextID, d.PacketID)
		} else {
			x.queue = append(x.queue, dl)
			s.notePositions()
		}
	}
	for _, id := range ss.AwaitRel {
		s.extra()
		if s.x.awaitRel == nil {
			s.x.awaitRel = make(map[uint16]int64, len(ss.AwaitRel))
		}
		s.x.awaitRel[id] = nowNS // its timeout counts from the restart
	}
	s.mirrorKept()
	b.registry.Store(r.ClientID, s)
	sh.sessions[r.ClientID] = s
	b.sessionsN.add(1)
	s.lifeDirty = true // its row goes to the Sink at the end of Recover
	sh.lifeDirty = append(sh.lifeDirty, s)
	s.reschedule()
	return nil
}

// retained restores one retained message; its expiry counts on from the
// deadline the store kept. Load may call it from a goroutine of its own,
// concurrently with session: it reads rc.now and writes the retained
// store (locked), nothing else of rc.
func (rc *recovery) retained(m *store.Message) error {
	r := &retained.Message{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Properties: m.Properties, Stored: rc.now}
	if m.ExpireAt != 0 {
		r.ExpiryInterval = uint32(min(math.MaxUint32, max(1, (m.ExpireAt-rc.now.UnixNano()+int64(time.Second)-1)/int64(time.Second))))
	}
	if len(r.Properties) == 0 {
		r.Properties = nil
	}
	return rc.b.retain.Set(r)
}

// expired takes the will of a session that expired while the broker was
// down: it is published once the session's shard runs.
func (rc *recovery) expired(r *store.Session) {
	if r.Will == nil {
		return
	}
	sh := rc.pend[stripeHash(r.ClientID)%uint32(len(rc.pend))]
	m := rc.message(r.Will)
	m.expireAt, m.expiry = 0, r.WillExpiry
	sh.wills = append(sh.wills, m)
	rc.wills++
}

// publishRecoveredWills publishes the wills Recover found due; it runs
// on sh at its first tick.
func (sh *shard) publishRecoveredWills() {
	for i, m := range sh.wills {
		sh.wills[i] = nil
		if m.expiry > 0 {
			m.expireAt = sh.loop.Now().Add(time.Duration(m.expiry) * time.Second).UnixNano()
		}
		if m.retain {
			sh.storeRetained(m)
		}
		sh.publish(m)
		m.release()
	}
	sh.wills = nil
}
