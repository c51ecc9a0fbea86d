package natscluster

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// A batch of forwarded messages is one NATS message on {name}.fwd.{node}:
// a fixed header, then the messages (appendMessage). A batch holding a
// QoS 1 or 2 message is numbered per (outbox, destination) and carries a
// reply subject {name}.ack.{self}.{outbox}.{slot}.{seq}; the destination
// answers it once Handler.Deliver returned, and remembers the numbers it
// applied so that a batch sent again is acknowledged without being
// delivered twice.
//
//	version  1 byte
//	flags    1 byte (flagAck)
//	boot     8 bytes, the sender's boot id
//	outbox   4 bytes, the outbox's id on the sender
//	seq      8 bytes, the batch's number (0 when flagAck is not set)
const (
	headerLen = 22
	flagAck   = 1
	// maxTries is how many times a batch is sent before its ack fails.
	maxTries = 3
)

// outbox is a Node's cluster.Outbox.
type outbox struct {
	n  *Node
	id uint32

	// Owned by the goroutine that uses the outbox.
	bufs [maxNodes][]byte
	used uint64 // slots with a batch
	acks uint64 // slots whose batch holds a QoS 1 or 2 message
	gs   []cluster.Group

	// mu guards the following fields (the ack and retry goroutines share
	// them).
	mu      sync.Mutex
	seq     [maxNodes]uint64
	pending map[ackKey]*sentBatch
}

type ackKey struct {
	slot int
	seq  uint64
}

// sentBatch is a batch waiting for its acknowledgement.
type sentBatch struct {
	wait  *ackWait
	subj  string
	reply string
	data  []byte
	sent  time.Time
	tries int
}

// ackWait is one Flush's wait for its acknowledgements.
type ackWait struct {
	left atomic.Int32
	mu   sync.Mutex
	err  error
	ack  func(error)
}

// done records one destination's outcome and calls ack after the last.
func (w *ackWait) done(err error) {
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	if w.left.Add(-1) == 0 && w.ack != nil {
		w.mu.Lock()
		err := w.err
		w.mu.Unlock()
		w.ack(err)
	}
}

// NewOutbox returns an Outbox for one goroutine (a shard). Outboxes live
// as long as the node.
func (n *Node) NewOutbox() cluster.Outbox {
	for {
		old := n.outboxes.Load()
		var list []*outbox
		if old != nil {
			list = *old
		}
		o := &outbox{n: n, id: uint32(len(list) + 1), pending: make(map[ackKey]*sentBatch)}
		nl := append(slices.Clip(list), o)
		if n.outboxes.CompareAndSwap(old, &nl) {
			return o
		}
	}
}

var zeroHeader [headerLen]byte

// Add encodes m into the batch of every node of r.Nodes, with the shared
// groups r chose that node for. No allocation once the batches have grown.
func (o *outbox) Add(m *store.Message, r *cluster.Route) {
	for nodes := r.Nodes; nodes != 0; nodes &= nodes - 1 {
		slot := bits.TrailingZeros64(nodes)
		gs := o.gs[:0]
		for i := range r.Groups {
			if r.Groups[i].Slot == slot {
				gs = append(gs, r.Groups[i].Group)
			}
		}
		o.gs = gs
		b := o.bufs[slot]
		if len(b) == 0 {
			b = append(b, zeroHeader[:]...)
		}
		o.bufs[slot] = appendMessage(b, m, gs)
		bit := uint64(1) << slot
		o.used |= bit
		if m.QoS > 0 {
			o.acks |= bit
		}
	}
}

// Flush sends every batch: one NATS message per node.
func (o *outbox) Flush(ack func(error)) {
	var wait *ackWait
	if o.acks != 0 {
		wait = &ackWait{ack: ack}
		wait.left.Store(int32(bits.OnesCount64(o.acks)))
	}
	for used := o.used; used != 0; used &= used - 1 {
		slot := bits.TrailingZeros64(used)
		bit := uint64(1) << slot
		b := o.bufs[slot]
		o.bufs[slot] = b[:0]
		mb := o.n.slots[slot].Load()
		b[0] = frameVersion
		binary.BigEndian.PutUint64(b[2:], o.n.boot)
		binary.BigEndian.PutUint32(b[10:], o.id)
		if o.acks&bit == 0 {
			b[1] = 0
			binary.BigEndian.PutUint64(b[14:], 0)
			if mb != nil && mb.live.Load() {
				_ = o.n.nc.Publish(mb.fwdSubj, b)
			}
			continue
		}
		if o.n.closed.Load() {
			wait.done(ErrClosed)
			continue
		}
		if mb == nil || !mb.live.Load() {
			wait.done(cluster.ErrNodeStopped)
			continue
		}
		b[1] = flagAck
		o.mu.Lock()
		o.seq[slot]++
		seq := o.seq[slot]
		binary.BigEndian.PutUint64(b[14:], seq)
		sb := &sentBatch{
			wait: wait, subj: mb.fwdSubj, data: slices.Clone(b), sent: time.Now(), tries: 1,
			reply: o.n.subj.of("ack", o.n.cfg.Node) + "." + strconv.FormatUint(uint64(o.id), 10) + "." +
				strconv.Itoa(slot) + "." + strconv.FormatUint(seq, 10),
		}
		o.pending[ackKey{slot, seq}] = sb
		o.mu.Unlock()
		_ = o.n.nc.PublishMsg(&nats.Msg{Subject: sb.subj, Reply: sb.reply, Data: sb.data})
	}
	o.used, o.acks = 0, 0
	if wait == nil && ack != nil {
		ack(nil)
	}
}

// onAck completes a batch that its destination acknowledged.
func (n *Node) onAck(msg *nats.Msg) {
	// ...ack.{self}.{outbox}.{slot}.{seq}
	parts := strings.Split(msg.Subject, ".")
	if len(parts) < 3 {
		return
	}
	p := parts[len(parts)-3:]
	id, err1 := strconv.ParseUint(p[0], 10, 32)
	slot, err2 := strconv.Atoi(p[1])
	seq, err3 := strconv.ParseUint(p[2], 10, 64)
	list := n.outboxes.Load()
	if err1 != nil || err2 != nil || err3 != nil || list == nil || id == 0 || id > uint64(len(*list)) {
		return
	}
	o := (*list)[id-1]
	o.mu.Lock()
	sb := o.pending[ackKey{slot, seq}]
	delete(o.pending, ackKey{slot, seq})
	o.mu.Unlock()
	if sb != nil {
		sb.wait.done(nil)
	}
}

// retries sends again the batches not acknowledged within AckTimeout, and
// fails those whose node stopped or that were sent maxTries times.
func (n *Node) retries() {
	t := time.NewTicker(n.cfg.AckTimeout / 4)
	defer t.Stop()
	var resend []*sentBatch
	type failure struct {
		w   *ackWait
		err error
	}
	var failed []failure
	for {
		select {
		case <-n.quit:
			n.failPending()
			return
		case now := <-t.C:
			list := n.outboxes.Load()
			if list == nil {
				continue
			}
			for _, o := range *list {
				resend, failed = resend[:0], failed[:0]
				o.mu.Lock()
				for k, sb := range o.pending {
					mb := n.slots[k.slot].Load()
					switch {
					case mb == nil || !mb.live.Load():
						delete(o.pending, k)
						failed = append(failed, failure{sb.wait, cluster.ErrNodeStopped})
					case now.Sub(sb.sent) < n.cfg.AckTimeout:
					case sb.tries >= maxTries:
						delete(o.pending, k)
						failed = append(failed, failure{sb.wait, cluster.ErrNoAck})
					default:
						sb.tries++
						sb.sent = now
						resend = append(resend, sb)
					}
				}
				o.mu.Unlock()
				for _, sb := range resend {
					_ = n.nc.PublishMsg(&nats.Msg{Subject: sb.subj, Reply: sb.reply, Data: sb.data})
				}
				for _, f := range failed {
					f.w.done(f.err)
				}
			}
		}
	}
}

// failPending fails every batch still waiting at shutdown.
func (n *Node) failPending() {
	list := n.outboxes.Load()
	if list == nil {
		return
	}
	for _, o := range *list {
		o.mu.Lock()
		pending := o.pending
		o.pending = make(map[ackKey]*sentBatch)
		o.mu.Unlock()
		for _, sb := range pending {
			sb.wait.done(ErrClosed)
		}
	}
}
