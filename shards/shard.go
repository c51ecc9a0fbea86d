package shards

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/netio/deadline"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// shard is the broker state of one event loop. All its fields are owned by
// that loop's goroutine.
type shard struct {
	b    *Broker
	loop *netio.Loop

	sessions map[string]*session

	// outbox holds this batch's deliveries for other shards; one
	// Loop.Execute per target carries them all.
	outbox map[*shard]*mail

	// scratch, reused across packets:
	enc      []byte // encoded packets written this batch
	encoded  []encoded
	ids      []uint32 // subscription identifiers of the PUBLISH being encoded
	hits     []index.Hit[*session]
	unserved []*index.ShareGroup[*session]
	fold     index.Folder[*session]
	ret      []*retained.Message
	pub      mqtt.Publish
	sub      mqtt.Subscribe
	unsub    mqtt.Unsubscribe
	connect  mqtt.Connect

	busy      []*session   // sessions whose busy mirror is set
	extras    []*sessExtra // free list of session extras, at most maxExtras
	sys       sysState
	timers    deadline.Heap[*session, sessionTimes]
	lifeDirty []*session
	statDirty []*session
	removed   []string
	lastStats time.Time
	totals    shardTotals
	// rec records the batch's changes for the Store; nil when it is not
	// durable.
	rec *recorder
	// bound is set once loop is: a shard Recover filled has none until
	// its loop first runs it (shardOf).
	bound atomic.Bool
	// posts counts deliveries posted to other shards (durability sync
	// asks whether a PUBLISH made any).
	posts uint64
	// held are this batch's acknowledgements waiting for other shards'
	// commits, waits the batches of them not yet released, in order
	// (syncack.go).
	held  []heldAck
	waits []*ackWait
	// syncRemote is set when a held acknowledgement's message went to
	// another node this turn; syncTurn is then the turn's ackWait, which
	// flushCluster releases.
	syncRemote bool
	syncTurn   *ackWait
	// wills are wills of sessions that expired while the broker was down
	// (Recover), published at the first tick.
	wills []*message
	// peers holds the TLS identity of sessions whose transport learned one
	// (setPeer); nil until the first.
	peers map[*session]*peerIdentity
	// identities are the shared identities without a certificate
	// (identity); nil until the first.
	identities map[peerIdentity]*peerIdentity
	// qpos is the highest queue position any session of the shard has
	// given (sessExtra.qfirst).
	qpos uint64
	// idle holds the rows of connections whose CONNECT is under way
	// (idle.go); nil until the first.
	idle map[*connState]*idleConn
	// croute and cout carry messages to other nodes; cout is nil when the
	// node is alone.
	croute cluster.Route
	cout   cluster.Outbox
	// acquiring holds the cluster's answers for CONNECTs held while
	// Cluster.Acquire ran (shard.acquire); nil until the first.
	acquiring map[*netio.Conn]acquired
	// acked holds the PUBACKs and PUBRECs that wait for other nodes'
	// acknowledgements (ackPublish).
	acked heldAcks
	// keepOwner is the session whose end must not release its client id
	// in the cluster (endKeepingOwner); nil otherwise.
	keepOwner *session
}

// newShard returns the shard of loop l, at position idx (l's Index); l is
// nil for a shard Recover fills before its loop runs.
func newShard(b *Broker, l *netio.Loop, idx int) *shard {
	sh := &shard{
		b:        b,
		loop:     l,
		sessions: make(map[string]*session),
		outbox:   make(map[*shard]*mail),
		fold:     index.Folder[*session]{PerSubscription: b.cfg.CopyPerSubscription},
	}
	if !b.alone {
		sh.cout = b.cluster.NewOutbox()
	}
	if b.durable {
		sh.rec = &recorder{batch: store.Batch{Shard: idx}, hold: store.HoldFor(b.cfg.StoreFlushInterval())}
	}
	sh.bound.Store(l != nil)
	return sh
}

// shardOf returns the shard of loop l, on first use the one Recover
// filled for l's position, else a new one. It must run on l.
func (b *Broker) shardOf(l *netio.Loop) *shard {
	if sh, ok := l.Data.(*shard); ok {
		return sh
	}
	b.mu.Lock()
	var sh *shard
	if i := l.Index(); i < len(b.pending) && b.pending[i] != nil {
		sh, b.pending[i] = b.pending[i], nil
		sh.loop = l
	} else {
		sh = newShard(b, l, l.Index())
	}
	sh.bound.Store(true) // after sh.loop is set: execute reads it then
	b.shards = append(b.shards, sh)
	b.mu.Unlock()
	l.Data = sh
	return sh
}

// execute runs fn on sh's loop (Loop.Execute). It returns ErrNotServing
// when the loop no longer takes functions, or has not run yet (a shard
// Recover filled, until Bind). Safe from any goroutine.
func (sh *shard) execute(fn func()) error {
	if !sh.bound.Load() {
		return ErrNotServing
	}
	if err := sh.loop.Execute(fn); err != nil {
		return ErrNotServing
	}
	return nil
}

// firstShard returns the first shard discovered, or nil when no loop has
// served a connection yet: the shard that publishes $SYS, and the one API
// publishes run on. Safe from any goroutine.
func (b *Broker) firstShard() *shard {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.shards) == 0 {
		return nil
	}
	return b.shards[0]
}

// shardList returns the shards discovered so far. Safe from any goroutine.
func (b *Broker) shardList() []*shard {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*shard(nil), b.shards...)
}

// eachShard runs fn on every shard's loop and waits for all of them (up to
// ctx's deadline).
func (b *Broker) eachShard(ctx context.Context, fn func(sh *shard)) error {
	for _, sh := range b.shardList() {
		if err := sh.run(ctx, func() { fn(sh) }); err != nil {
			return err
		}
	}
	return nil
}

// run runs fn on sh's loop and waits for it up to ctx's deadline. It
// returns ErrNotServing when the loop no longer takes functions and ctx's
// error when it stopped waiting (fn may still run after that, so the
// caller must not read what fn writes). Safe from any goroutine but sh's.
func (sh *shard) run(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if err := sh.execute(func() { fn(); close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tick runs the shard's timers and snapshots.
func (sh *shard) tick(now time.Time) {
	if len(sh.wills) > 0 {
		sh.publishRecoveredWills()
	}
	ns := now.UnixNano()
	for sh.timers.Len() > 0 && sh.timers.Min().wakeAt <= ns {
		s := sh.timers.Min()
		sh.timers.Remove(int(s.heapIdx))
		s.wakeAt = 0
		s.onTimer(ns)
	}
	busy := sh.busy[:0]
	for _, s := range sh.busy {
		if !s.dead {
			s.updateBusy()
		}
		if s.wasBusy && !s.dead {
			busy = append(busy, s)
		} else {
			s.busyListed = false
		}
	}
	clear(sh.busy[len(busy):])
	sh.busy = busy
	sh.maybePublishSys(now)
	sh.snapshot(now)
	sh.maybePublishTotals(now)
}
