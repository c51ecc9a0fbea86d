package shards

import (
	"bytes"
	"context"
)

// QueuedMessage is a message of a session's queue or inflight window, as
// the API shows it.
type QueuedMessage struct {
	// Pos is the message's position: in the queue, a number that grows
	// with every message queued and is never used twice by the session;
	// in the inflight window, its packet id.
	Pos     uint64
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// From is the publisher's client id (empty for the API's messages).
	From string
	// PublishedAt is when it was published, Unix nanoseconds.
	PublishedAt int64
}

// QueuedMessages returns up to limit messages of clientid's queue (or,
// with inflight, of its inflight window, in send order) that come after
// position after (0: from the first), copied, and the position of the
// queue's first message (0 when empty; for inflight, the first packet
// id). A queue position that is gone (sent or dropped since) lists from
// the first message still queued; an inflight packet id no longer in the
// window lists from the start of the window. Safe from any goroutine.
func (b *Broker) QueuedMessages(ctx context.Context, clientid string, after uint64, limit int, inflight bool) ([]QueuedMessage, uint64, error) {
	var out []QueuedMessage
	var first uint64
	err := b.onOwnerCounted(ctx, clientid, false, func(s *session) {
		x := s.x
		if x == nil {
			return
		}
		add := func(pos uint64, d *delivery) {
			m := d.msg
			out = append(out, QueuedMessage{Pos: pos, Topic: string(m.topic), Payload: bytes.Clone(m.payload),
				QoS: d.qos, Retain: d.retain, From: string(m.from), PublishedAt: m.at})
		}
		if inflight {
			if len(x.inflight) == 0 {
				return
			}
			first = uint64(x.inflight[0].id)
			start := 0
			for i := range x.inflight {
				if uint64(x.inflight[i].id) == after {
					start = i + 1
					break
				}
			}
			for i := start; i < len(x.inflight) && len(out) < limit; i++ {
				add(uint64(x.inflight[i].id), &x.inflight[i].d)
			}
			return
		}
		q := x.queue[x.queueHead:]
		if len(q) == 0 {
			return
		}
		first = x.qfirst
		start := 0
		if after >= x.qfirst {
			start = int(min(after-x.qfirst+1, uint64(len(q))))
		}
		for i := start; i < len(q) && len(out) < limit; i++ {
			add(x.qfirst+uint64(i), &q[i])
		}
	})
	return out, first, err
}
