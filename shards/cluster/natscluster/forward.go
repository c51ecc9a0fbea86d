package natscluster

import (
	"encoding/binary"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// receiver is the state of the goroutine that takes forwarded batches (the
// one NATS runs the {name}.fwd.{self} subscription on): owned by it, no
// lock.
type receiver struct {
	msgs    []store.Message
	batch   []cluster.Forwarded
	gs      []cluster.Group
	spans   [][2]int // each message's groups in gs
	applied map[senderKey]*applied
}

// senderKey names one outbox of one run of a node.
type senderKey struct {
	boot   uint64
	outbox uint32
}

// applied is the set of batch numbers from one sender delivered here: all
// up to low, and those in above. Batches are numbered without gaps per
// destination, so above stays small: it holds only batches that overtook
// a lost one, until that one comes again.
type applied struct {
	low   uint64
	above map[uint64]struct{}
}

func (a *applied) has(seq uint64) bool {
	if seq <= a.low {
		return true
	}
	_, ok := a.above[seq]
	return ok
}

func (a *applied) add(seq uint64) {
	if seq != a.low+1 {
		if a.above == nil {
			a.above = make(map[uint64]struct{})
		}
		a.above[seq] = struct{}{}
		if len(a.above) > 4096 { // a sender gave up on a batch: move on
			for s := range a.above {
				a.low = max(a.low, s)
			}
			clear(a.above)
		}
		return
	}
	a.low = seq
	for {
		if _, ok := a.above[a.low+1]; !ok {
			return
		}
		delete(a.above, a.low+1)
		a.low++
	}
}

// onForward delivers a batch forwarded by another node and acknowledges
// it when it asks for that.
func (n *Node) onForward(msg *nats.Msg) {
	b := msg.Data
	if len(b) < headerLen || b[0] != frameVersion {
		n.log.Warn("cluster: malformed forwarded batch", "bytes", len(b))
		return
	}
	rx := &n.rx
	flags := b[1]
	key := senderKey{binary.BigEndian.Uint64(b[2:]), binary.BigEndian.Uint32(b[10:])}
	seq := binary.BigEndian.Uint64(b[14:])
	var a *applied
	if flags&flagAck != 0 {
		if rx.applied == nil {
			rx.applied = make(map[senderKey]*applied)
		}
		if a = rx.applied[key]; a == nil {
			a = &applied{}
			rx.applied[key] = a
		}
		if a.has(seq) {
			_ = msg.Respond(nil) // delivered before; its ack was lost
			return
		}
	}
	r := newReader(b[headerLen:])
	rx.msgs, rx.batch, rx.gs, rx.spans = rx.msgs[:0], rx.batch[:0], rx.gs[:0], rx.spans[:0]
	for !r.bad && r.off < len(r.b) {
		rx.msgs = append(rx.msgs, store.Message{})
		from := len(rx.gs)
		rx.gs = r.readMessage(&rx.msgs[len(rx.msgs)-1], rx.gs)
		rx.spans = append(rx.spans, [2]int{from, len(rx.gs)})
	}
	if !r.done() {
		n.log.Warn("cluster: malformed forwarded batch", "bytes", len(b))
		return
	}
	// Pointers are taken once every message is in place: appending may
	// have moved them.
	for i, s := range rx.spans {
		var gs []cluster.Group
		if s[1] > s[0] {
			gs = rx.gs[s[0]:s[1]:s[1]]
		}
		rx.batch = append(rx.batch, cluster.Forwarded{Message: &rx.msgs[i], Groups: gs})
	}
	n.h.Deliver(rx.batch)
	clear(rx.batch) // drop the references to this batch's bytes
	if a != nil {
		a.add(seq)
		_ = msg.Respond(nil)
	}
}
