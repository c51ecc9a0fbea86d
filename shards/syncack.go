package shards

import (
	"sync/atomic"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// Durability sync: a QoS 1/2 PUBLISH from a client of a zone with
// DurabilitySync is acknowledged only once its routing to persistent
// sessions is on disk. Deliveries to sessions of the publisher's shard are
// in the shard's own batch, which is committed (synced) in OnFlush before
// the batch's writes, the acknowledgement among them, go out. Deliveries
// to other shards go there as mail at the end of the batch; then the
// acknowledgements of the batch are held in an ackWait that each of those
// shards releases once it has committed (synced) the batch that delivered
// the mail, and the last one sends the acknowledgements from the
// publisher's loop. Held acknowledgements leave in the order the PUBLISHes
// came: while any are held, later ones of the shard are held behind them.
// In a cluster every such acknowledgement is held this way, and one whose
// message also went to another node waits for that node too (the turn's
// cluster.Outbox.Flush acknowledgement, flushCluster).

// ackWait is one batch's held acknowledgements and the commits they wait
// for.
type ackWait struct {
	from    *shard
	acks    []heldAck
	pending atomic.Int32 // commits still to come, plus one while mail is sent
	failed  atomic.Bool  // a commit failed: the acknowledgements report it
	done    bool         // every commit came; owned by from's loop
}

// syncAck acknowledges PUBLISH id of s (PUBACK or PUBREC with rc) under
// durability sync; posted reports whether its routing sent mail to other
// shards. It runs on sh.
func (sh *shard) syncAck(s *session, c *netio.Conn, t mqtt.PacketType, id uint16, rc mqtt.ReasonCode, posted bool) {
	if sh.rec != nil {
		sh.rec.batch.Sync = true
	}
	if sh.b.alone && !posted && len(sh.held) == 0 && len(sh.waits) == 0 {
		sh.ack(s, c, t, id, rc) // the shard's own commit comes before the write
		return
	}
	if !sh.b.alone && sh.croute.Remote() {
		sh.syncRemote = true // the message went to another node as well
	}
	sh.held = append(sh.held, heldAck{s: s, c: c, t: t, id: id, rc: rc})
}

// holdAcks gives this batch's held acknowledgements an ackWait that every
// mail of the batch carries; it runs on sh in flushOutbox before the mail
// is sent, and returns nil when nothing is held.
func (sh *shard) holdAcks() *ackWait {
	if len(sh.held) == 0 {
		return nil
	}
	w := &ackWait{from: sh, acks: sh.held}
	sh.held = nil
	w.pending.Store(1)
	if sh.syncRemote {
		// flushCluster releases it once the other nodes have the turn's
		// messages.
		w.pending.Add(1)
		sh.syncTurn, sh.syncRemote = w, false
	}
	sh.waits = append(sh.waits, w)
	return w
}

// committed reports the commit of a batch that delivered mail carrying w:
// the last commit w waits for releases it on its shard's loop.
func (w *ackWait) committed(err error) {
	if err != nil {
		w.failed.Store(true)
	}
	if w.pending.Add(-1) == 0 {
		from := w.from
		if from.execute(func() { from.release(w) }) != nil {
			return // the publisher's loop has stopped: its connections are gone
		}
	}
}

// release marks w done and sends, in order, the acknowledgements of every
// done ackWait at the head of the shard's queue. It runs on sh.
func (sh *shard) release(w *ackWait) {
	w.done = true
	n := 0
	for _, w := range sh.waits {
		if !w.done {
			break
		}
		n++
		for _, a := range w.acks {
			if a.s.conn != a.c || a.s.dead {
				continue // the connection is gone; the client sends it again
			}
			if w.failed.Load() {
				if a.s.version != mqtt.V5 {
					// MQTT 3 has no code to refuse with: the close tells
					// the client to send it again.
					sh.closeConn(a.c, a.s.cstate(), mqtt.QuotaExceeded)
					continue
				}
				a.rc = mqtt.QuotaExceeded
			}
			sh.ack(a.s, a.c, a.t, a.id, a.rc)
		}
	}
	clear(sh.waits[:n])
	sh.waits = sh.waits[n:]
	if len(sh.waits) == 0 {
		sh.waits = nil
	}
}

// storeCommitted releases the ackWaits of mail this shard delivered in
// the batch it just committed (err is the Commit's).
func (rec *recorder) storeCommitted(err error) {
	for i, w := range rec.waits {
		rec.waits[i] = nil
		w.committed(err)
	}
	rec.waits = rec.waits[:0]
}
