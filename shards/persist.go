package shards

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// Store is the seam through which the shards keep what must outlive the
// process: persistent sessions, the QoS 1/2 messages queued or in flight
// for them (QoS 0 too while they are offline) and retained messages. The
// shards are its consumer; store.Memory (the default) and the durable
// engines of shards/store implement it.
//
// Every shard records its changes as store.Ops while it handles a batch
// of events and hands them over with one Commit at the end of the batch
// (Broker.OnFlush), before the batch's writes go out. When Durable is
// false the shards record nothing, so the hot path pays one predictable
// branch per change point.
type Store interface {
	// Durable reports whether the store keeps anything; it is read once,
	// by New.
	Durable() bool
	// Commit writes one shard's Ops of one batch, in order. Shards call it
	// from their own goroutines, concurrently; b and what it points to are
	// reused once Commit returns.
	Commit(b *store.Batch) error
}

// recorder is a shard's record of the changes of its current batch for
// the Store. Owned by the shard goroutine; nil when the store is not
// durable.
type recorder struct {
	batch store.Batch
	// dirty are the persistent sessions changed this batch; their
	// SessionSaved records are built at commit, once each.
	dirty []*session
	// msgs shares one store.Message between the Ops of one message
	// queued for several sessions in the batch.
	msgs map[*message]*store.Message
	// waits are the ackWaits of mail delivered in the batch: its commit
	// releases them (syncack.go).
	waits []*ackWait
	// held are the messages the batch's Queued Ops view (a reference
	// each, given back after the Commit); views are their store.Messages,
	// reused from batch to batch.
	held  []*message
	views []*store.Message

	// hold is how long Ops of batch-durability sessions may wait for
	// their Commit (store.HoldFor the store's flush interval; 0: commit
	// every loop turn). Within it a delivery acknowledged before its
	// Queued Op was committed cancels its Ops instead of adding an Acked.
	hold time.Duration
	// since is the Unix nanoseconds of the loop turn that left the
	// pending batch uncommitted, 0 while nothing waits.
	since int64
	// now makes the end of this loop turn commit: an Op whose keys
	// another shard may write (a session discarded, a retained message)
	// or a shutdown.
	now bool
	// wake runs a loop turn once hold passed, for a loop with nothing
	// else to do.
	wake *time.Timer
	// cancelled counts the pending Ops that acknowledgements cancelled.
	cancelled int
}

// maxPending bounds the live Ops a shard holds across loop turns, and
// four times it those cancelled among them.
const maxPending = 16384

// view returns m as the store keeps it without copying its bytes: the
// recorder holds a reference to m until the batch is committed (Commit
// keeps nothing of the Batch after it returns).
func (rec *recorder) view(m *message) *store.Message {
	m.mustLive()
	m.ref()
	rec.held = append(rec.held, m)
	var v *store.Message
	if n := len(rec.held); n <= len(rec.views) {
		v = rec.views[n-1]
	} else {
		v = new(store.Message)
		rec.views = append(rec.views, v)
	}
	*v = store.Message{Topic: bytesView(m.topic), Payload: m.payload, QoS: m.qos, Retain: m.retain,
		ExpireAt: m.expireAt, From: bytesView(m.from)}
	if m.props != nil {
		v.Properties = encodeProps(m.props)
	}
	return v
}

// bytesView returns b as a string without copying; b must not change
// while the string is used.
func bytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// releaseHeld gives back the references of the committed batch's views.
func (rec *recorder) releaseHeld() {
	for i, m := range rec.held {
		*rec.views[i] = store.Message{}
		rec.held[i] = nil
		m.release()
	}
	rec.held = rec.held[:0]
}

// kept reports whether the store keeps s: a persistent session of a zone
// whose durability is not memory, while the store is durable.
func (s *session) kept() bool {
	return s.sh.rec != nil && s.expiry > 0 && s.cfg.Durability != store.DurabilityMemory
}

// mirrorKept refreshes keptMirror after s's expiry or zone changed.
func (s *session) mirrorKept() {
	if s.sh.rec != nil {
		s.keptMirror.Store(s.kept())
	}
}

// storeFull reports whether the Store refuses writes for lack of disk
// space.
func (b *Broker) storeFull() bool { return b.full != nil && b.full.Full() }

// routesToKept reports whether m would be delivered to a session the
// store keeps: a subscriber, or a member of a shared group (any member
// counts, whichever the group would pick). It runs on sh.
func (sh *shard) routesToKept(m *message) bool {
	ix := sh.b.index
	sh.hits = ix.Match(m.topic, sh.hits[:0])
	kept := false
	for _, h := range sh.hits {
		if h.Group != nil {
			if _, _, ok := ix.Pick(h.Group, m.from, func(s *session) bool { return s.keptMirror.Load() }); ok {
				kept = true
			}
		} else if h.Sub.keptMirror.Load() {
			kept = true
		}
	}
	clear(sh.hits)
	return kept
}

// record appends op, made for s, to its shard's batch; a session of a
// zone with durability sync makes the batch a synced one.
func (s *session) record(op store.Op) {
	rec := s.sh.rec
	if s.cfg.Durability == store.DurabilitySync {
		rec.batch.Sync = true
	}
	rec.batch.Ops = append(rec.batch.Ops, op)
}

// markStore records that s changed in a way the store keeps (created,
// resumed, subscribed, unsubscribed, connected, disconnected). It runs on
// s's shard.
func (s *session) markStore() {
	rec := s.sh.rec
	if rec == nil || s.storeDirty || !s.kept() {
		return
	}
	s.storeDirty = true
	rec.dirty = append(rec.dirty, s)
}

// storeDiscarded records that s ended: the store drops it with its
// messages.
func (s *session) storeDiscarded() {
	if s.sh.rec == nil {
		return
	}
	s.record(store.Op{Kind: store.SessionDiscarded, ClientID: s.id})
	// A session of this id created on another shard must not be older
	// in the store than this discard.
	s.sh.rec.now = true
}

// storeQueued gives d a sequence number and records it as queued for s,
// when the store keeps s; d.seq stays 0 otherwise.
func (s *session) storeQueued(d *delivery) {
	rec := s.sh.rec
	if rec == nil || !s.kept() {
		return
	}
	d.seq = s.sh.b.storeSeq.Add(1)
	m := rec.msgs[d.msg]
	if m == nil {
		m = rec.view(d.msg)
		if rec.msgs == nil {
			rec.msgs = make(map[*message]*store.Message)
		}
		rec.msgs[d.msg] = m
	}
	op := store.Op{Kind: store.Queued, ClientID: s.id, Seq: d.seq, Message: m, QoS: d.qos, Retain: d.retain}
	if d.hasIDs() {
		op.SubIDs = d.ids(nil)
	}
	s.record(op)
	d.recQ, d.recS = uint32(len(rec.batch.Ops)), 0
}

// pendingOp returns the position of the Op of kind k for d in the
// pending batch, whose position plus one is at, or -1 when it was
// committed.
func (rec *recorder) pendingOp(at uint32, k store.Kind, seq uint64) int {
	i := int(at) - 1
	if i < 0 || i >= len(rec.batch.Ops) || rec.batch.Ops[i].Kind != k || rec.batch.Ops[i].Seq != seq {
		return -1
	}
	return i
}

// storeAcked records that the queued delivery d left s (acknowledged,
// sent at QoS 0, expired, dropped or refused).
func (s *session) storeAcked(d *delivery) {
	rec := s.sh.rec
	if rec == nil || d.seq == 0 {
		return
	}
	if q := rec.pendingOp(d.recQ, store.Queued, d.seq); q >= 0 {
		// Not committed yet: the store never learns of it.
		rec.batch.Ops[q] = store.Op{}
		rec.cancelled++
		if i := rec.pendingOp(d.recS, store.Sent, d.seq); i >= 0 {
			rec.batch.Ops[i] = store.Op{}
			rec.cancelled++
		}
		d.recQ, d.recS = 0, 0
		return
	}
	s.record(store.Op{Kind: store.Acked, ClientID: s.id, Seq: d.seq})
}

// storeSent records that the queued delivery d went out as packet id (a
// resend keeps its id: the store sets DUP from the mark), or, released,
// that its PUBREC came.
func (s *session) storeSent(d *delivery, id uint16, released bool) {
	if s.sh.rec == nil || d.seq == 0 {
		return
	}
	k := store.Sent
	if released {
		k = store.Released
		d.recQ = 0 // its Ops stay: the acknowledgement is an Acked
	}
	s.record(store.Op{Kind: k, ClientID: s.id, Seq: d.seq, PacketID: id})
	if !released {
		d.recS = uint32(len(s.sh.rec.batch.Ops))
	}
}

// storeAwaitRel records that the inbound QoS 2 packet id of s awaits its
// PUBREL (done false) or no longer does (done true).
func (s *session) storeAwaitRel(id uint16, done bool) {
	if s.sh.rec == nil || !s.kept() {
		return
	}
	k := store.AwaitRel
	if done {
		k = store.RelDone
	}
	s.record(store.Op{Kind: k, ClientID: s.id, PacketID: id})
}

// storeRetainedOp records that r became the retained message of its
// topic, or that the topic's retained message was cleared (r without
// payload).
func (sh *shard) storeRetainedOp(r *retained.Message) {
	rec := sh.rec
	if rec == nil {
		return
	}
	rec.batch.Ops = append(rec.batch.Ops, retainedOp(r))
	rec.now = true // another shard may set the topic next
}

// retainedOp returns the Op that stores r, or clears its topic when r has
// no payload.
func retainedOp(r *retained.Message) store.Op {
	if len(r.Payload) == 0 {
		return store.Op{Kind: store.RetainedCleared, Topic: r.Topic}
	}
	m := &store.Message{Topic: r.Topic, Payload: r.Payload, QoS: r.QoS, Retain: true, Properties: r.Properties}
	if r.ExpiryInterval > 0 {
		m.ExpireAt = r.Stored.Add(time.Duration(r.ExpiryInterval) * time.Second).UnixNano()
	}
	return store.Op{Kind: store.RetainedSet, Topic: r.Topic, Message: m}
}

// stored returns m as the store keeps it: a copy, holding no reference to
// m.
func (m *message) stored() *store.Message {
	m.mustLive()
	return &store.Message{Topic: string(m.topic), Payload: bytes.Clone(m.payload), QoS: m.qos,
		Retain: m.retain, Properties: encodeProps(m.props), ExpireAt: m.expireAt, From: string(m.from)}
}

// stored returns s as the store keeps it, without its messages.
func (s *session) stored() *store.Session {
	r := &store.Session{ClientID: s.id, Username: s.username, Version: byte(s.version),
		CreatedAt: s.createdAt, Expiry: s.expiry, ExpireAt: s.expireAt, Zone: s.cfg.Zone}
	r.Subscriptions = make([]store.Subscription, 0, len(s.subs))
	for f, o := range s.subs {
		r.Subscriptions = append(r.Subscriptions, store.Subscription{Filter: f, QoS: o.QoS, NoLocal: o.NoLocal,
			RetainAsPublished: o.RetainAsPublished, RetainHandling: o.RetainHandling, ID: o.ID})
	}
	if s.will != nil {
		r.Will, r.WillDelay, r.WillExpiry = s.will.msg.stored(), s.will.delay, s.will.msg.expiry
		r.Will.ExpireAt = 0 // the interval counts from publication
	}
	return r
}

// commitStore hands the batch's changes to the Store: a SessionSaved for
// every persistent session changed since the last Commit (after the
// other Ops, so that a session saved and discarded in one batch ends
// discarded only if it ended last), then one Commit. It runs on sh at
// the end of every loop turn. Ops of batch-durability sessions may wait
// up to rec.hold for a later turn (the store syncs them within the
// flush interval all the same); a sync batch, one that releases
// ackWaits, one that holds an Op another shard may also write, a
// shutdown, a full pending batch or one waiting for hold Commits now. A
// failed Commit is counted (Broker.StoreErrors).
func (sh *shard) commitStore() {
	rec := sh.rec
	if rec == nil {
		return
	}
	if len(rec.batch.Ops) == 0 && len(rec.dirty) == 0 {
		rec.storeCommitted(nil)
		return
	}
	if rec.hold > 0 && !rec.now && !rec.batch.Sync && len(rec.waits) == 0 &&
		len(rec.batch.Ops)-rec.cancelled < maxPending && len(rec.batch.Ops) < 4*maxPending {
		now := sh.loop.Now().UnixNano()
		if rec.since == 0 {
			rec.since = now
			rec.armWake(sh)
			return
		}
		if now-rec.since < int64(rec.hold) {
			return
		}
	}
	var err error
	defer func() {
		rec.releaseHeld()
		rec.storeCommitted(err)
	}()
	rec.since, rec.now, rec.cancelled = 0, false, 0
	for i, s := range rec.dirty {
		rec.dirty[i] = nil
		s.storeDirty = false
		if !s.dead && s.kept() {
			s.record(store.Op{Kind: store.SessionSaved, ClientID: s.id, Session: s.stored()})
		}
	}
	rec.dirty = rec.dirty[:0]
	// Drop the Ops that acknowledgements cancelled.
	ops := rec.batch.Ops
	n := 0
	for i := range ops {
		if ops[i].Kind != 0 {
			ops[n] = ops[i]
			n++
		}
	}
	clear(ops[n:])
	rec.batch.Ops = ops[:n]
	if n > 0 {
		if err = sh.b.store.Commit(&rec.batch); err != nil {
			sh.b.storeErrors.Add(1)
		}
	}
	clear(rec.batch.Ops)
	rec.batch.Ops = rec.batch.Ops[:0]
	rec.batch.Sync = false
	clear(rec.msgs)
}

// armWake makes sh's loop run a turn once rec.hold has passed, so that a
// loop with nothing else to do commits what it holds.
func (rec *recorder) armWake(sh *shard) {
	if rec.wake == nil {
		l := sh.loop
		rec.wake = time.AfterFunc(rec.hold, func() { _ = l.Execute(func() {}) })
		return
	}
	rec.wake.Reset(rec.hold)
}

// StoreErrors returns how many Commits of the Store failed; safe from any
// goroutine.
func (b *Broker) StoreErrors() int64 { return b.storeErrors.Load() }

// DiskFullRefused returns how many QoS 1/2 PUBLISHes were refused because
// they would reach a kept session while the store's disk was full; safe
// from any goroutine.
func (b *Broker) DiskFullRefused() int64 { return b.fullRefused.Load() }
