package shards

import (
	"sync"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/netio/deadline"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/retained"
)

// maxScratch is the largest encode buffer a shard keeps between batches.
const maxScratch = 1 << 20

// routed is one delivery addressed to a session, possibly on another
// shard.
type routed struct {
	s *session
	d delivery
}

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
}

func newShard(b *Broker, l *netio.Loop) *shard {
	return &shard{
		b:        b,
		loop:     l,
		sessions: make(map[string]*session),
		outbox:   make(map[*shard]*mail),
		fold:     index.Folder[*session]{PerSubscription: b.cfg.CopyPerSubscription},
	}
}

// mail is one batch of deliveries from one shard to another. Mail is
// pooled with its slice and its bound run function, so that handing a
// batch to another loop allocates nothing of the shards' own.
type mail struct {
	to    *shard
	batch []routed // each delivery holds a reference to its message
	run   func()   // mb.deliver, bound once
}

// mailPool holds mail for reuse; any shard may take or return it.
var mailPool sync.Pool

// maxMailBatch is the largest batch capacity mail keeps for reuse.
const maxMailBatch = 4096

// post queues r for its session's shard in this batch's outbox, with a
// reference to the message for the outbox.
func (sh *shard) post(r routed) {
	r.d.msg.ref()
	to := r.s.sh
	mb := sh.outbox[to]
	if mb == nil {
		mb, _ = mailPool.Get().(*mail)
		if mb == nil {
			mb = &mail{}
			mb.run = mb.deliver
		}
		mb.to = to
		sh.outbox[to] = mb
	}
	mb.batch = append(mb.batch, r)
}

// flushOutbox hands each other shard its batch of deliveries with one
// Loop.Execute (one wake-up per target per batch).
func (sh *shard) flushOutbox() {
	for target, mb := range sh.outbox {
		if mb == nil {
			continue
		}
		sh.outbox[target] = nil
		for _, r := range mb.batch {
			r.s.mailbox.Add(1)
		}
		if err := target.loop.Execute(mb.run); err != nil {
			// The target is shutting down and will never run it.
			for _, r := range mb.batch {
				r.s.mailbox.Add(-1)
			}
			mb.recycle()
		}
	}
}

// deliver runs on the target shard: it delivers the batch, gives back the
// outbox's references and returns mb to the pool.
func (mb *mail) deliver() { mb.to.receive(mb.batch); mb.recycle() }

// recycle releases the references the batch still holds and returns mb
// to the pool.
func (mb *mail) recycle() {
	for i := range mb.batch {
		mb.batch[i].d.msg.release()
		mb.batch[i] = routed{}
	}
	if cap(mb.batch) > maxMailBatch {
		mb.batch = nil
	} else {
		mb.batch = mb.batch[:0]
	}
	mb.to = nil
	mailPool.Put(mb)
}

// receive delivers a batch sent by another shard; the caller keeps the
// batch's references.
func (sh *shard) receive(batch []routed) {
	for _, r := range batch {
		r.s.mailbox.Add(-1)
		if !r.s.dead {
			r.s.deliver(r.d)
		}
	}
}

// encoded remembers where in sh.enc a QoS 0 PUBLISH of msg was encoded
// this batch, so that every subscriber of the same variant shares the
// bytes (DESIGN: encode once per variant).
type encoded struct {
	variant
	start, end int
	idOff      int // offset of the packet id in the frame; QoS 1/2 only
}

// variant is what makes two encodings of a message differ; the packet id
// of QoS 1/2 is patched per subscriber.
type variant struct {
	msg             *message
	gen             uint32 // msg.gen: the pointer may be reused in the batch
	v5, retain, dup bool
	qos             byte
}

// maxEncoded bounds the per-batch cache of shared encodings.
const maxEncoded = 8

// lookupEncoded returns an earlier encoding of the variant in this batch.
func (sh *shard) lookupEncoded(v variant) (encoded, bool) {
	for _, e := range sh.encoded {
		if e.variant == v {
			return e, true
		}
	}
	return encoded{}, false
}

// rememberEncoded records sh.enc[start:] as the encoding of a variant.
func (sh *shard) rememberEncoded(v variant, start, idOff int) {
	e := encoded{variant: v, start: start, end: len(sh.enc), idOff: idOff}
	if len(sh.encoded) < maxEncoded {
		sh.encoded = append(sh.encoded, e)
		return
	}
	copy(sh.encoded, sh.encoded[1:])
	sh.encoded[maxEncoded-1] = e
}

// resetScratch reclaims the encode buffer once the batch's writes are out.
func (sh *shard) resetScratch() {
	clear(sh.encoded)
	sh.encoded = sh.encoded[:0]
	if cap(sh.enc) > maxScratch {
		sh.enc = nil
	} else {
		sh.enc = sh.enc[:0]
	}
}

// send encodes a packet with appendFn into the shard's scratch buffer and
// queues it on c; it counts the packet for s (may be nil).
func (sh *shard) send(c *netio.Conn, s *session, appendFn func([]byte) []byte) {
	start := len(sh.enc)
	sh.enc = appendFn(sh.enc)
	c.Write(sh.enc[start:len(sh.enc):len(sh.enc)])
	if s != nil {
		s.count(cSendPkt)
		s.markStats()
	}
}

// writeConnack sends a CONNACK.
func (sh *shard) writeConnack(c *netio.Conn, v mqtt.Version, p *mqtt.Connack) {
	sh.send(c, nil, func(dst []byte) []byte { return mqtt.AppendConnack(dst, p, v) })
}

// writeDisconnect sends an MQTT 5 DISCONNECT with rc and, as its Reason
// String, the text of err (allowed whatever Request Problem Information
// says [MQTT-3.1.2-29]) unless it would exceed the client's Maximum Packet
// Size [MQTT-3.14.2-3].
func (sh *shard) writeDisconnect(c *netio.Conn, cs *connState, rc mqtt.ReasonCode, err error) {
	if cs.version != mqtt.V5 {
		return
	}
	d := &mqtt.Disconnect{ReasonCode: rc}
	if err != nil {
		text := err.Error()
		if s := cs.sess; s == nil || reasonFits(s, 4+len(text)) {
			d.Properties.Present.Add(mqtt.PropReasonString)
			d.Properties.ReasonString = []byte(text)
		}
	}
	sh.send(c, cs.sess, func(dst []byte) []byte {
		return mqtt.AppendDisconnect(dst, d, mqtt.V5)
	})
}

// reasonFits reports whether a Reason String adding extra bytes to a
// packet of at most 8 bytes without it stays within s's Maximum Packet
// Size [MQTT-3.14.2-3] (the broker's acknowledgements and DISCONNECT are
// at most 8 bytes before a reason string; extra counts the property's
// identifier, length and text, and a growing property length varint).
func reasonFits(s *session, extra int) bool {
	return s.maxOut == 0 || 8+extra+1 <= int(s.maxOut)
}

// closeConn says goodbye to an MQTT 5 client with the reason err maps to
// and closes the connection.
func (sh *shard) closeConn(c *netio.Conn, cs *connState, err error) {
	if c.Closing() {
		return
	}
	if rc := reasonFor(err); rc >= 0x80 {
		sh.writeDisconnect(c, cs, rc, err)
	}
	c.Close(err)
}

// tick runs the shard's timers and snapshots.
func (sh *shard) tick(now time.Time) {
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

// snapshot sends changed rows to the sink: lifecycle changes every tick,
// counters every StatsInterval.
func (sh *shard) snapshot(now time.Time) {
	sink := sh.b.cfg.Sink
	if sink == nil {
		// Nobody listens: drop the marks without building rows.
		for _, s := range sh.lifeDirty {
			s.lifeDirty = false
		}
		for _, s := range sh.statDirty {
			s.statDirty = false
		}
		sh.lifeDirty, sh.statDirty, sh.removed = sh.lifeDirty[:0], sh.statDirty[:0], sh.removed[:0]
		return
	}
	if len(sh.removed) > 0 {
		sink.Remove(sh.removed)
		sh.removed = nil
	}
	if len(sh.lifeDirty) > 0 {
		// Sized once: the sink keeps the batch, and growing it by
		// doubling would allocate about twice its size in a storm.
		rows := make([]ClientRow, 0, len(sh.lifeDirty))
		for _, s := range sh.lifeDirty {
			s.lifeDirty = false
			if !s.dead {
				rows = append(rows, s.row(now))
				// The row carries the current counters: no stats
				// update until they change again (a connect storm
				// would otherwise send every counter twice).
				s.statDirty = false
			}
		}
		sh.lifeDirty = sh.lifeDirty[:0]
		if len(rows) > 0 {
			sink.Upsert(rows)
		}
	}
	if now.Sub(sh.lastStats) < sh.b.cfg.StatsInterval || len(sh.statDirty) == 0 {
		return
	}
	sh.lastStats = now
	// A session whose flag is clear was sent with a lifecycle row (or is
	// listed twice); its counters have not changed since. Count the rest
	// first so the batch the sink keeps is allocated once, at its size.
	n := 0
	for _, s := range sh.statDirty {
		if s.statDirty && !s.dead {
			n++
		}
	}
	var ups []StatsUpdate
	if n > 0 {
		ups = make([]StatsUpdate, 0, n)
	}
	for _, s := range sh.statDirty {
		if s.statDirty && !s.dead {
			ups = append(ups, StatsUpdate{ClientID: s.id, Counters: s.stats()})
		}
		s.statDirty = false
	}
	clear(sh.statDirty)
	sh.statDirty = sh.statDirty[:0]
	if len(ups) > 0 {
		sink.UpdateStats(ups)
	}
}
