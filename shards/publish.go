package shards

import (
	"slices"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/store"
)

// maxAliasBytes bounds the topic bytes one connection keeps behind inbound
// topic aliases.
const maxAliasBytes = 256 << 10

// onPublish handles an inbound PUBLISH: topic alias, QoS exchange,
// retained store and routing.
func (sh *shard) onPublish(s *session, c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) error {
	p := &sh.pub
	v := cs.version
	if err := p.Decode(h, body, v); err != nil {
		return err
	}
	topic := p.Topic
	if v == mqtt.V5 && p.Properties.Present.Has(mqtt.PropTopicAlias) {
		a := p.Properties.TopicAlias
		if a == 0 || int(a) > s.cfg.TopicAliasMaximum {
			return mqtt.TopicAliasInvalid // [MQTT-3.3.2-9]
		}
		if len(topic) > 0 {
			if cs.aliases == nil {
				cs.aliases = &inAliases{m: make(map[uint16][]byte)}
			}
			in := cs.aliases
			old := in.m[a]
			in.bytes += len(topic) - len(old)
			if in.bytes > maxAliasBytes {
				// Bounded memory: a client may not park unbounded topic
				// bytes behind aliases.
				return mqtt.QuotaExceeded
			}
			in.m[a] = append(old[:0], topic...)
		} else {
			topic = nil
			if cs.aliases != nil {
				topic = cs.aliases.m[a]
			}
			if topic == nil {
				return mqtt.ProtocolError // an alias used before it was set
			}
		}
	}
	if len(p.Properties.SubscriptionIDs) > 0 {
		return mqtt.ProtocolError // [MQTT-3.3.4-6]
	}
	s.count(cRecvMsg)
	switch p.QoS {
	case 0:
		s.count(cRecvMsgQoS0)
	case 1:
		s.count(cRecvMsgQoS1)
	case 2:
		s.count(cRecvMsgQoS2)
	}
	now := sh.loop.Now()
	if p.QoS == 2 {
		if s.awaitingRel(p.PacketID) {
			// A resent QoS 2 PUBLISH is acknowledged, not routed again
			// [MQTT-4.3.3-10].
			sh.ackPublish(s, c, mqtt.TypePubrec, p.PacketID, mqtt.Success, false)
			return nil
		}
		if s.awaitRelLen() >= s.cfg.AwaitingRelMax {
			if v == mqtt.V5 {
				return mqtt.ReceiveMaximumExceeded // [MQTT-3.3.4-9]
			}
			s.drops().RecvMsgDropped++
			return nil
		}
	}
	if !s.allowed(auth.Publish, topic) {
		sh.denyPublish(s, p, v, now.UnixNano())
		return nil
	}
	m := sh.b.newMessage(p, topic, s.idView(), s, now)
	if p.QoS > 0 && sh.b.storeFull() && sh.routesToKept(m) {
		m.release()
		return sh.refuseFull(s, c, v, p)
	}
	if p.Retain {
		sh.storeRetained(m)
	}
	posts := sh.posts
	matched := sh.publish(m)
	m.release()
	rc := mqtt.Success
	if matched == 0 && v == mqtt.V5 {
		rc = mqtt.NoMatchingSubscribers
	}
	forwarded := !sh.b.alone && sh.croute.Remote() // sh.croute is m's route
	t := mqtt.TypePuback
	switch p.QoS {
	case 0:
		return nil
	case 2:
		s.awaitRelease(p.PacketID, now.UnixNano())
		t = mqtt.TypePubrec
	}
	if s.cfg.Durability == store.DurabilitySync {
		sh.syncAck(s, c, t, p.PacketID, rc, sh.posts != posts)
		return nil
	}
	sh.ackPublish(s, c, t, p.PacketID, rc, forwarded)
	return nil
}

// refuseFull refuses a QoS 1/2 PUBLISH that would reach a session the
// store keeps while the store's disk is full: MQTT 5 gets PUBACK or
// PUBREC 0x97 (the exchange ends there); MQTT 3 has no code for it, so
// the connection closes and the client sends the message again when it
// reconnects. Counted in Broker.DiskFullRefused.
func (sh *shard) refuseFull(s *session, c *netio.Conn, v mqtt.Version, p *mqtt.Publish) error {
	sh.b.fullRefused.Add(1)
	s.drops().RecvMsgDropped++
	if v != mqtt.V5 {
		return mqtt.QuotaExceeded
	}
	t := mqtt.TypePuback
	if p.QoS == 2 {
		t = mqtt.TypePubrec
	}
	sh.ackPublish(s, c, t, p.PacketID, mqtt.QuotaExceeded, false)
	return nil
}

// awaitingRel reports whether the inbound QoS 2 PUBLISH id awaits its
// PUBREL.
func (s *session) awaitingRel(id uint16) bool {
	if s.x == nil {
		return false
	}
	_, ok := s.x.awaitRel[id]
	return ok
}

// awaitRelease records that the inbound QoS 2 PUBLISH id, which arrived
// at (Unix ns), awaits its PUBREL, and schedules its timeout.
func (s *session) awaitRelease(id uint16, at int64) {
	x := s.extra()
	if x.awaitRel == nil {
		x.awaitRel = make(map[uint16]int64)
	}
	x.awaitRel[id] = at
	s.storeAwaitRel(id, false)
	if len(x.awaitRel) == 1 {
		s.reschedule()
	}
}

// ack sends a PUBACK, PUBREC, PUBREL or PUBCOMP.
func (sh *shard) ack(s *session, c *netio.Conn, t mqtt.PacketType, id uint16, rc mqtt.ReasonCode) {
	start := len(sh.enc)
	v := s.version
	switch t {
	case mqtt.TypePuback:
		sh.enc = mqtt.AppendPuback(sh.enc, &mqtt.Puback{PacketID: id, ReasonCode: rc}, v)
	case mqtt.TypePubrec:
		sh.enc = mqtt.AppendPubrec(sh.enc, &mqtt.Pubrec{PacketID: id, ReasonCode: rc}, v)
	case mqtt.TypePubrel:
		sh.enc = mqtt.AppendPubrel(sh.enc, &mqtt.Pubrel{PacketID: id, ReasonCode: rc}, v)
	case mqtt.TypePubcomp:
		sh.enc = mqtt.AppendPubcomp(sh.enc, &mqtt.Pubcomp{PacketID: id, ReasonCode: rc}, v)
	}
	sh.emit(c, s, start)
}

// onPubrel completes an inbound QoS 2 exchange.
func (s *session) onPubrel(id uint16) {
	rc := mqtt.Success
	if s.awaitingRel(id) {
		delete(s.x.awaitRel, id)
		s.storeAwaitRel(id, true)
		s.releaseExtra()
	} else {
		rc = mqtt.PacketIdentifierNotFound
	}
	s.sh.ack(s, s.conn, mqtt.TypePubcomp, id, rc)
}

// publish routes m to every matching subscription and returns how many
// matched (another node that wants m counts as one). The index's Folder
// makes one delivery per client at the highest granted QoS with every
// subscription identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3] (one per
// subscription with CopyPerSubscription) and skips the publisher's No
// Local subscriptions [MQTT-3.8.3-3]. Sessions of this shard get their
// delivery at once; others in this batch's outbox, which takes a reference
// per delivery; other nodes through the Cluster. It borrows the caller's
// reference to m.
func (sh *shard) publish(m *message) int {
	m.mustLive()
	remote := 0
	if !sh.b.alone {
		sh.b.cluster.Route(m.topic, m.from, &sh.croute)
		if sh.croute.Remote() {
			sh.cout.Add(m.stored(), &sh.croute)
			remote = 1
			sh.acked.awaited = sh.acked.awaited || m.qos > 0
		}
	}
	return remote + sh.route(m, false, nil)
}

// route delivers m to this node's matching sessions and returns how many
// subscriptions matched. In a cluster the shared groups another node
// serves are left out: for a local publish the ones the cluster's Route
// chose another node for, for a message forwarded by another node
// (forwarded) all but the groups fwd names.
func (sh *shard) route(m *message, forwarded bool, fwd []cluster.Group) int {
	ix := sh.b.index
	sh.hits = ix.Match(m.topic, sh.hits[:0])
	if !sh.b.alone {
		sh.keepGroups(forwarded, fwd)
	}
	sh.hits, sh.unserved = ix.Resolve(sh.hits, m.from, sessionOnline, sh.unserved[:0])
	for _, g := range sh.unserved {
		// No member online and within budget: one member's queue takes it.
		if sub, opts, ok := ix.Pick(g, m.from, nil); ok {
			sh.hits = append(sh.hits, index.Hit[*session]{Sub: sub, Opts: opts})
		}
	}
	matched := len(sh.hits)
	ds := sh.fold.Fold(sh.hits, m.sender)
	for i := range ds {
		f := &ds[i]
		r := routed{s: f.Sub, d: delivery{msg: m, qos: min(m.qos, f.QoS),
			retain: m.retain && f.RetainAsPublished}} // [MQTT-3.3.1-12]
		if len(f.IDs) > 0 {
			// The Folder's IDs are valid until its next Fold; the
			// delivery may wait in a queue or an outbox.
			r.d.subID = f.IDs[0]
			if len(f.IDs) > 1 {
				r.d.moreIDs = slices.Clone(f.IDs[1:])
			}
		}
		if r.s.sh == sh {
			r.s.deliver(r.d)
		} else {
			sh.post(r)
		}
	}
	sh.fold.Clear()
	clear(sh.hits)
	return matched
}

// sessionOnline tells a shared group whether a member can take a message
// now; it reads only the atomic mirror, so any shard may call it.
func sessionOnline(s *session) bool { return s.online.Load() && !s.busy.Load() }
