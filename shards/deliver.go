package shards

import (
	"encoding/binary"
	"slices"

	"github.com/shardmq/shardmq/mqtt"
)

// deliver hands d to s: sent at once when the connection and the inflight
// window allow, else queued (offline sessions queue QoS 0 too, as EMQX's
// mqueue_store_qos0 default does). It borrows the caller's reference to
// d.msg; the queue and the inflight window take their own.
func (s *session) deliver(d delivery) {
	s.count(cReductions)
	s.markStats()
	now := s.sh.loop.Now().UnixNano()
	if d.msg.expired(now) {
		s.dropExpired()
		return
	}
	if d.qos > 0 || s.conn == nil {
		s.storeQueued(&d)
	}
	if s.conn == nil {
		s.enqueue(d)
		return
	}
	if d.qos == 0 {
		if s.conn.OverSoftLimit() {
			dr := s.drops()
			dr.SendMsgDropped++
			dr.SendMsgDroppedQueueFull++
			return
		}
		s.sendPublish(d, 0, false, now)
		s.updateBusy()
		return
	}
	if s.inflightLen() < int(s.window) && s.queueLen() == 0 {
		s.sendNew(d, now)
	} else {
		s.enqueue(d)
	}
	s.updateBusy()
}

func (s *session) dropExpired() {
	dr := s.drops()
	dr.SendMsgDropped++
	dr.SendMsgDroppedExpired++
}

// updateBusy refreshes the busy mirror after the window or the
// connection's backlog changed; it stores only on a change.
func (s *session) updateBusy() {
	busy := s.conn != nil && (s.inflightLen() >= int(s.window) || s.conn.OverSoftLimit())
	if busy != s.wasBusy {
		s.wasBusy = busy
		s.busy.Store(busy)
		if busy && !s.busyListed {
			s.busyListed = true
			s.sh.busy = append(s.sh.busy, s) // re-checked every tick
		}
	}
}

// enqueue appends d to the session's queue, which takes a reference to
// d.msg; a full queue drops its oldest message (counted in mqueue_dropped
// and send_msg.dropped.queue_full).
func (s *session) enqueue(d delivery) {
	d.msg.ref()
	x := s.extra()
	if len(x.queue)-int(x.queueHead) >= s.cfg.MqueueMax {
		old := x.queue[x.queueHead]
		x.queue[x.queueHead] = delivery{}
		x.queueHead++
		x.qfirst++
		x.heap -= int64(old.msg.size)
		s.storeAcked(&old)
		old.msg.release()
		dr := s.drops()
		dr.MqueueDropped++
		dr.SendMsgDropped++
		dr.SendMsgDroppedQueueFull++
	}
	if x.queueHead > 0 && int(x.queueHead) >= len(x.queue)/2 {
		n := copy(x.queue, x.queue[x.queueHead:])
		clear(x.queue[n:])
		x.queue = x.queue[:n]
		x.queueHead = 0
	}
	x.queue = append(x.queue, d)
	x.heap += int64(d.msg.size)
	s.notePositions()
}

// notePositions raises the shard's highest queue position to the last of
// s's queue, so that a fresh extra never gives s a position it gave
// before.
func (s *session) notePositions() {
	x := s.x
	s.sh.qpos = max(s.sh.qpos, x.qfirst+uint64(len(x.queue)-int(x.queueHead))-1)
}

// dequeue removes and returns the oldest queued delivery with the queue's
// reference to its message, which the caller releases. The queue must
// not be empty.
func (s *session) dequeue() delivery {
	x := s.x
	d := x.queue[x.queueHead]
	x.queue[x.queueHead] = delivery{}
	x.queueHead++
	x.qfirst++
	if int(x.queueHead) == len(x.queue) {
		x.queue = x.queue[:0]
		x.queueHead = 0
		if cap(x.queue) > 64 {
			x.queue = nil
		}
	}
	x.heap -= int64(d.msg.size)
	return d
}

// drain sends queued deliveries while the inflight window has room, then
// releases s's sessExtra if that emptied it.
func (s *session) drain() {
	now := s.sh.loop.Now().UnixNano()
	for s.conn != nil && s.queueLen() > 0 && s.inflightLen() < int(s.window) {
		d := s.dequeue()
		switch {
		case d.msg.expired(now):
			s.storeAcked(&d)
			s.dropExpired()
		case d.qos == 0:
			s.storeAcked(&d)
			s.sendPublish(d, 0, false, now)
		default:
			s.sendNew(d, now)
		}
		d.msg.release()
	}
	s.releaseExtra()
}

// sendNew sends a QoS 1/2 delivery under a fresh packet id and keeps it
// inflight, with a reference to its message, until acknowledged.
func (s *session) sendNew(d delivery, now int64) {
	x := s.extra()
	id := s.allocID(x)
	if !s.sendPublish(d, id, false, now) {
		s.storeAcked(&d)
		s.releaseExtra()
		return
	}
	s.storeSent(&d, id, false) // before d is copied into the window: it notes its Op
	d.msg.ref()
	x.inflight = append(x.inflight, outMsg{d: d, id: id})
	x.heap += int64(d.msg.size)
}

// allocID returns a packet id not used by an inflight message; x is s's
// sessExtra.
func (s *session) allocID(x *sessExtra) uint16 {
	for {
		x.nextID++
		if x.nextID == 0 {
			x.nextID = 1
		}
		if s.findInflight(x.nextID) < 0 {
			return x.nextID
		}
	}
}

func (s *session) findInflight(id uint16) int {
	if s.x == nil {
		return -1
	}
	for i := range s.x.inflight {
		if s.x.inflight[i].id == id {
			return i
		}
	}
	return -1
}

// sendPublish encodes and queues a PUBLISH of d; it reports false when the
// packet is over the client's Maximum Packet Size and was dropped
// [MQTT-3.1.2-25].
func (s *session) sendPublish(d delivery, id uint16, dup bool, now int64) bool {
	sh := s.sh
	d.msg.mustLive()
	v5 := s.version == mqtt.V5
	// A copy without per-subscriber properties is the same bytes for every
	// subscriber of the variant but for the packet id: encode it once per
	// batch; QoS 0 copies share all the bytes, QoS 1/2 copies get their own
	// header up to the packet id and share the rest (topic aside, that is
	// the properties and the payload).
	var cs *connState
	if v5 {
		cs = s.cstate()
	}
	shareable := !d.hasIDs() && (!v5 || d.msg.expireAt == 0 && cs.aliasMax == 0)
	key := variant{msg: d.msg, gen: d.msg.gen, v5: v5, retain: d.retain, dup: dup, qos: d.qos}
	if shareable {
		if e, ok := sh.lookupEncoded(key); ok {
			if s.maxOut > 0 && e.end-e.start > int(s.maxOut) {
				s.dropTooLarge()
				return false
			}
			b := sh.enc[e.start:e.end:e.end]
			if d.qos == 0 {
				s.conn.Write(b)
			} else {
				start := len(sh.enc)
				sh.enc = append(sh.enc, b[:e.idOff]...)
				sh.enc = binary.BigEndian.AppendUint16(sh.enc, id)
				s.conn.Write(sh.enc[start:len(sh.enc):len(sh.enc)])
				s.conn.Write(b[e.idOff+2:])
			}
			s.count(cSendPkt)
			s.countSent(d.qos)
			return true
		}
	}
	p := mqtt.Publish{Dup: dup, QoS: d.qos, Retain: d.retain, Topic: d.msg.topic,
		PacketID: id, Payload: d.msg.payload}
	if s.version == mqtt.V5 {
		if d.msg.props != nil {
			p.Properties = *d.msg.props
		}
		if d.msg.expireAt != 0 {
			p.Properties.Present.Add(mqtt.PropMessageExpiry)
			p.Properties.MessageExpiry = d.msg.remaining(now) // [MQTT-3.3.2-6]
		}
		if d.hasIDs() {
			sh.ids = d.ids(sh.ids[:0])
			p.Properties.SubscriptionIDs = sh.ids
		}
		if cs.aliasMax > 0 {
			cs.outAlias(&p)
		}
	}
	if s.maxOut > 0 && p.Size(s.version) > int(s.maxOut) {
		s.dropTooLarge()
		return false
	}
	start := len(sh.enc)
	sh.enc = mqtt.AppendPublish(sh.enc, &p, s.version)
	if shareable {
		idOff := 0
		if d.qos > 0 {
			idOff = mqtt.PublishPacketIDOffset(sh.enc[start:])
		}
		sh.rememberEncoded(key, start, idOff)
	}
	sh.emit(s.conn, s, start)
	s.countSent(d.qos)
	return true
}

// outAlias gives p's topic an outbound topic alias: the topic is sent once
// with a new alias, then the alias alone. Aliases are handed out until the
// client's maximum is reached, never reused for another topic.
func (cs *connState) outAlias(p *mqtt.Publish) {
	a, ok := cs.outAliases[string(p.Topic)]
	if ok {
		p.Topic = nil
	} else if len(cs.outAliases) < int(cs.aliasMax) {
		if cs.outAliases == nil {
			cs.outAliases = make(map[string]uint16)
		}
		a = uint16(len(cs.outAliases) + 1)
		cs.outAliases[string(p.Topic)] = a
	} else {
		return
	}
	p.Properties.Present.Add(mqtt.PropTopicAlias)
	p.Properties.TopicAlias = a
}

// dropTooLarge counts a message over the client's Maximum Packet Size.
func (s *session) dropTooLarge() {
	dr := s.drops()
	dr.SendMsgDropped++
	dr.SendMsgDroppedTooLarge++
}

// countSent counts a PUBLISH sent at qos (0, 1 or 2).
func (s *session) countSent(qos byte) {
	s.markStats()
	s.count(cSendMsg)
	s.count(cSendMsgQoS0 + counter(qos)) // cSendMsgQoS1 and 2 follow
}

// resume redelivers, on a new connection, every unacknowledged message
// with DUP set and every PUBREL in the original order [MQTT-4.4.0-1], then
// drains the queue.
func (s *session) resume() {
	if x := s.x; x != nil {
		now := s.sh.loop.Now().UnixNano()
		kept := x.inflight[:0]
		for _, om := range x.inflight {
			if om.rel {
				s.sh.ack(s, s.conn, mqtt.TypePubrel, om.id, mqtt.Success)
			} else if !s.sendPublish(om.d, om.id, true, now) {
				x.heap -= int64(om.d.msg.size)
				s.storeAcked(&om.d)
				om.d.msg.release()
				continue
			}
			kept = append(kept, om)
		}
		clear(x.inflight[len(kept):])
		x.inflight = kept
	}
	s.drain()
}

// removeInflight drops the inflight message at i (and its reference) and
// refills the window.
func (s *session) removeInflight(i int) {
	x := s.x
	m := x.inflight[i].d.msg
	x.heap -= int64(m.size)
	s.storeAcked(&x.inflight[i].d)
	m.release()
	x.inflight = slices.Delete(x.inflight, i, i+1) // zeroes the freed tail
	if len(x.inflight) == 0 && cap(x.inflight) > 8 {
		x.inflight = nil // an idle session keeps no window memory
	}
	s.drain() // releases x when that emptied it
	s.updateBusy()
}

// onPuback completes an outbound QoS 1 exchange.
func (s *session) onPuback(id uint16) {
	if i := s.findInflight(id); i >= 0 && s.x.inflight[i].d.qos == 1 {
		s.removeInflight(i)
	}
}

// onPubrec moves an outbound QoS 2 exchange to PUBREL. An MQTT 5 PUBREC
// with a failure code ends the exchange: its inflight slot is freed, the
// message is not sent again, and no PUBREL follows, not even for an
// unknown packet id (PUBREL answers only a code below 0x80 [MQTT-4.3.3-4]).
func (s *session) onPubrec(id uint16, rc mqtt.ReasonCode) {
	i := s.findInflight(id)
	known := i >= 0 && s.x.inflight[i].d.qos == 2
	switch {
	case rc >= 0x80:
		if known {
			s.removeInflight(i)
		}
		return
	case !known:
		s.sh.ack(s, s.conn, mqtt.TypePubrel, id, mqtt.PacketIdentifierNotFound)
		return
	}
	s.x.inflight[i].rel = true
	s.storeSent(&s.x.inflight[i].d, id, true)
	s.sh.ack(s, s.conn, mqtt.TypePubrel, id, mqtt.Success)
}

// onPubcomp completes an outbound QoS 2 exchange.
func (s *session) onPubcomp(id uint16) {
	if i := s.findInflight(id); i >= 0 && s.x.inflight[i].rel {
		s.removeInflight(i)
	}
}

// dropMessages releases every message s keeps in its queue and inflight
// window, which it empties, and the inbound QoS 2 exchanges it awaits;
// its sessExtra is released unless it holds counts.
func (s *session) dropMessages() {
	x := s.x
	if x == nil {
		return
	}
	for i := int(x.queueHead); i < len(x.queue); i++ {
		x.queue[i].msg.release()
	}
	for i := range x.inflight {
		x.inflight[i].d.msg.release()
	}
	x.queue, x.queueHead, x.inflight, x.heap = nil, 0, nil, 0
	clear(x.awaitRel)
	s.releaseExtra()
}
