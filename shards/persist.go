package shards

import (
	"bytes"
	"slices"
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
	// recent shares one store.Message between the Ops of one message
	// queued for several sessions in one loop turn: the last messages
	// queued this turn with their views, recent[(nrecent-1)%len] the
	// newest. A publish reaches its subscribers one after the other (the
	// route and the mail from other shards go message by message), so a
	// message queued again is found among the last few; one queued again
	// after recentViews others gets a second view (its body written
	// twice: correct, only more bytes). A map did the same at a hash, an
	// insert and a clear proportional to its largest turn per message. It
	// is emptied at the end of every turn: a view is given back when its
	// turn's Ops are committed, and a later turn's Op must not point at
	// it.
	recent  [recentViews]recentView
	nrecent int
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
	// turns mark where each loop turn that deferred its Ops ended in
	// batch.Ops and held, and when it started: the Ops of the turns older
	// than hold are committed, the younger ones wait.
	turns []turnMark
	// base is the number of Ops recorded before batch.Ops[0]: a
	// delivery's recQ and recS count from the first Op. batch.Ops[:head]
	// and held[:hheld] were committed; they are dropped from the slices
	// once they are half of them.
	base        uint32
	head, hheld int
	// now makes the end of this loop turn commit everything: an Op whose
	// keys another shard may write (a session discarded, a retained
	// message) or a shutdown.
	now bool
	// wake runs a loop turn when the oldest deferred turn is due, for a
	// loop with nothing else to do; wakeAt is when (Unix nanoseconds, 0
	// when not armed).
	wake   *time.Timer
	wakeAt int64
	// cancelled counts the pending Ops that acknowledgements cancelled.
	cancelled int
	// out is the Batch a Commit of part of the pending Ops is built in.
	out store.Batch
}

// recentViews is the number of messages recorder.recent remembers.
const recentViews = 8

// recentView is a message queued this loop turn and its view.
type recentView struct {
	m *message
	v *store.Message
}

// sharedView returns the view of m made earlier this loop turn, or nil.
func (rec *recorder) sharedView(m *message) *store.Message {
	for i := rec.nrecent - 1; i >= max(0, rec.nrecent-recentViews); i-- {
		if r := &rec.recent[i%recentViews]; r.m == m {
			return r.v
		}
	}
	return nil
}

// forgetViews empties recent at the end of a loop turn.
func (rec *recorder) forgetViews() {
	clear(rec.recent[:min(rec.nrecent, recentViews)])
	rec.nrecent = 0
}

// turnMark is the end of one deferred loop turn's Ops.
type turnMark struct {
	ops, held int
	at        int64
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
	if s.cfg.Durability == store.DurabilitySync {
		rec.batch.Sync = true // its SessionSaved is synced at the end of this turn
	}
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
	m := rec.sharedView(d.msg)
	if m == nil {
		m = rec.view(d.msg)
		rec.recent[rec.nrecent%recentViews] = recentView{d.msg, m}
		rec.nrecent++
	}
	op := store.Op{Kind: store.Queued, ClientID: s.id, Seq: d.seq, Message: m, QoS: d.qos, Retain: d.retain}
	if d.hasIDs() {
		op.SubIDs = d.ids(nil)
	}
	s.record(op)
	d.recQ, d.recS = rec.opNumber(), 0
}

// pendingOp returns the position in batch.Ops of the Op of kind k and
// seq that was recorded as Op number at (one-based, counting the Ops
// already committed), or -1 when it was committed.
func (rec *recorder) pendingOp(at uint32, k store.Kind, seq uint64) int {
	if at == 0 {
		return -1
	}
	i := uint64(at - 1 - rec.base) // wraps to out of range once committed
	if i < uint64(rec.head) || i >= uint64(len(rec.batch.Ops)) || rec.batch.Ops[i].Kind != k || rec.batch.Ops[i].Seq != seq {
		return -1
	}
	return int(i)
}

// opNumber returns the number pendingOp takes for the last Op recorded.
func (rec *recorder) opNumber() uint32 { return rec.base + uint32(len(rec.batch.Ops)) }

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
	if i := rec.pendingOp(d.recS, store.Sent, d.seq); i >= 0 {
		rec.batch.Ops[i] = store.Op{} // the Acked below deletes its key anyway
		rec.cancelled++
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
		d.recS = s.sh.rec.opNumber()
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

// commitStore hands the recorded changes to the Store: the Ops in the
// order they were made, then a SessionSaved for every persistent session
// changed since the last Commit (after the other Ops, so that a session
// saved and discarded in one batch ends discarded only if it ended last),
// in one Commit. It runs on sh at the end of every loop turn. The Ops of
// a loop turn of batch-durability sessions wait rec.hold for a later
// turn, which commits them with those of the turns as old (the store
// syncs them within the flush interval all the same); a sync batch, one
// that releases ackWaits, one that holds an Op another shard may also
// write, a shutdown and a full pending batch commit everything now. A
// failed Commit is counted (Broker.StoreErrors).
func (sh *shard) commitStore() {
	rec := sh.rec
	if rec == nil {
		return
	}
	if rec.nrecent > 0 {
		rec.forgetViews()
	}
	ops := rec.batch.Ops
	if len(ops) == rec.head && len(rec.dirty) == 0 {
		rec.storeCommitted(nil)
		return
	}
	if rec.hold == 0 || rec.now || rec.batch.Sync || len(rec.waits) > 0 ||
		len(ops)-rec.head-rec.cancelled >= maxPending || len(ops) >= 4*maxPending {
		sh.commitOps(len(ops), len(rec.held), rec.batch.Sync)
		rec.now = false
		return
	}
	now := sh.loop.Now().UnixNano()
	if t := len(rec.turns); t == 0 || rec.turns[t-1].ops < len(ops) || rec.turns[t-1].held < len(rec.held) {
		rec.turns = append(rec.turns, turnMark{ops: len(ops), held: len(rec.held), at: now})
	}
	due := -1
	for i := range rec.turns {
		if now-rec.turns[i].at < int64(rec.hold) {
			break
		}
		due = i
	}
	if due >= 0 {
		m := rec.turns[due]
		rec.turns = rec.turns[:copy(rec.turns, rec.turns[due+1:])]
		sh.commitOps(m.ops, m.held, false)
	}
	if len(rec.turns) > 0 {
		rec.armWake(sh, rec.turns[0].at+int64(rec.hold))
	}
}

// commitOps commits the pending Ops up to position n of batch.Ops (and
// gives back the held messages up to position h), without those
// cancelled, and the SessionSaved of the dirty sessions; the rest wait.
// It releases the ackWaits when it commits everything.
func (sh *shard) commitOps(n, h int, sync bool) {
	rec := sh.rec
	ops := rec.batch.Ops
	rec.out.Shard, rec.out.Sync = rec.batch.Shard, sync
	out := rec.out.Ops[:0]
	for i := range ops[rec.head:n] {
		if op := &ops[rec.head+i]; op.Kind != 0 {
			out = append(out, *op)
		} else {
			rec.cancelled--
		}
	}
	for i, s := range rec.dirty {
		rec.dirty[i] = nil
		s.storeDirty = false
		if !s.dead && s.kept() {
			out = append(out, store.Op{Kind: store.SessionSaved, ClientID: s.id, Session: s.stored()})
			rec.out.Sync = rec.out.Sync || s.cfg.Durability == store.DurabilitySync
		}
	}
	rec.dirty = rec.dirty[:0]
	rec.out.Ops = out
	var err error
	if len(out) > 0 {
		if err = sh.b.store.Commit(&rec.out); err != nil {
			sh.b.storeErrors.Add(1)
		}
	}
	clear(out)
	rec.out.Ops = out[:0]
	clear(ops[rec.head:n])
	rec.head = n
	for i, m := range rec.held[rec.hheld:h] {
		*rec.views[rec.hheld+i] = store.Message{}
		rec.held[rec.hheld+i] = nil
		m.release()
	}
	rec.hheld = h
	rec.batch.Sync = false
	if n == len(ops) {
		rec.base += uint32(n)
		rec.batch.Ops, rec.held = ops[:0], rec.held[:0]
		rec.head, rec.hheld, rec.cancelled = 0, 0, 0
		rec.turns = rec.turns[:0]
		rec.storeCommitted(err)
		if rec.wakeAt != 0 {
			rec.wake.Stop()
			rec.wakeAt = 0
		}
		return
	}
	if rec.head > len(ops)/2 {
		rec.compact()
	}
}

// compact drops the committed Ops and held messages from the front of
// their slices; the views of the pending ones keep their places in the
// Ops, the others go to the end of views for reuse.
func (rec *recorder) compact() {
	k := copy(rec.batch.Ops, rec.batch.Ops[rec.head:])
	clear(rec.batch.Ops[k:])
	rec.batch.Ops = rec.batch.Ops[:k]
	rec.base += uint32(rec.head)
	for i := range rec.turns {
		rec.turns[i].ops -= rec.head
		rec.turns[i].held -= rec.hheld
	}
	if h := rec.hheld; h > 0 {
		n := copy(rec.held, rec.held[h:])
		clear(rec.held[n:])
		rec.held = rec.held[:n]
		v := rec.views // rotated left by h
		slices.Reverse(v[:h])
		slices.Reverse(v[h:])
		slices.Reverse(v)
	}
	rec.head, rec.hheld = 0, 0
}

// armWake makes sh's loop run a turn at at (Unix nanoseconds), so that a
// loop with nothing else to do commits what is due.
func (rec *recorder) armWake(sh *shard, at int64) {
	if rec.wakeAt == at {
		return
	}
	rec.wakeAt = at
	d := time.Duration(at - sh.loop.Now().UnixNano())
	if rec.wake == nil {
		l := sh.loop
		rec.wake = time.AfterFunc(d, func() { _ = l.Execute(func() {}) })
		return
	}
	rec.wake.Reset(d)
}

// StoreErrors returns how many Commits of the Store failed; safe from any
// goroutine.
func (b *Broker) StoreErrors() int64 { return b.storeErrors.Load() }

// DiskFullRefused returns how many QoS 1/2 PUBLISHes were refused because
// they would reach a kept session while the store's disk was full; safe
// from any goroutine.
func (b *Broker) DiskFullRefused() int64 { return b.fullRefused.Load() }
