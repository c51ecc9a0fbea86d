package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/index"
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
			sh.ack(s, c, mqtt.TypePubrec, p.PacketID, mqtt.Success)
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
	if p.Retain {
		sh.storeRetained(m)
	}
	matched := sh.publish(m)
	m.release()
	rc := mqtt.Success
	if matched == 0 && v == mqtt.V5 {
		rc = mqtt.NoMatchingSubscribers
	}
	switch p.QoS {
	case 1:
		sh.ack(s, c, mqtt.TypePuback, p.PacketID, rc)
	case 2:
		s.awaitRelease(p.PacketID, now.UnixNano())
		sh.ack(s, c, mqtt.TypePubrec, p.PacketID, rc)
	}
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
		s.releaseExtra()
	} else {
		rc = mqtt.PacketIdentifierNotFound
	}
	s.sh.ack(s, s.conn, mqtt.TypePubcomp, id, rc)
}

// publish routes m to every matching subscription and returns how many
// matched (another node that wants m counts as one). Sessions of this
// shard get it at once; others in this batch's outbox, which takes a
// reference per delivery; other nodes through the Cluster. It borrows the
// caller's reference to m.
func (sh *shard) publish(m *message) int {
	m.mustLive()
	remote := 0
	if !sh.b.alone && sh.b.cluster.Remote(m.topic) {
		sh.b.cluster.Forward(m.stored())
		remote = 1
	}
	return remote + sh.route(m)
}

// route delivers m to this node's matching sessions and returns how many
// subscriptions matched.
func (sh *shard) route(m *message) int {
	ix := sh.b.index
	sh.hits = ix.Match(m.topic, sh.hits[:0])
	sh.hits, sh.unserved = ix.Resolve(sh.hits, m.from, sessionOnline, sh.unserved[:0])
	for _, g := range sh.unserved {
		// No member online and within budget: one member's queue takes it.
		if sub, opts, ok := ix.Pick(g, m.from, nil); ok {
			sh.hits = append(sh.hits, index.Hit[*session]{Sub: sub, Opts: opts})
		}
	}
	matched := len(sh.hits)
	routes := sh.routes[:0]
	// Few hits: find a client's earlier route by scanning; many: by map.
	useMap := len(sh.hits) > 16
	for _, h := range sh.hits {
		s := h.Sub
		if h.Opts.NoLocal && s == m.sender {
			continue // [MQTT-3.8.3-3]
		}
		qos := min(m.qos, h.Opts.QoS)
		retain := m.retain && h.Opts.RetainAsPublished // [MQTT-3.3.1-12]
		if !sh.b.cfg.CopyPerSubscription {
			if i, ok := sh.routeOf(s, routes, useMap); ok {
				// Overlapping subscriptions: one copy at the highest QoS
				// carrying every identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3].
				r := &routes[i].d
				r.qos = max(r.qos, qos)
				r.retain = r.retain || retain
				if h.Opts.ID > 0 {
					r.addID(h.Opts.ID)
				}
				continue
			}
			if useMap {
				sh.agg[s] = len(routes)
			}
		}
		d := delivery{msg: m, qos: qos, retain: retain, subID: h.Opts.ID}
		routes = append(routes, routed{s: s, d: d})
	}
	if useMap {
		clear(sh.agg)
	}
	for i, r := range routes {
		if r.s.sh == sh {
			r.s.deliver(r.d)
		} else {
			sh.post(r)
		}
		routes[i] = routed{}
	}
	sh.routes = routes[:0]
	for i := range sh.hits {
		sh.hits[i] = index.Hit[*session]{}
	}
	return matched
}

// routeOf finds the route already made for s in this publish.
func (sh *shard) routeOf(s *session, routes []routed, useMap bool) (int, bool) {
	if useMap {
		i, ok := sh.agg[s]
		return i, ok
	}
	for i := range routes {
		if routes[i].s == s {
			return i, true
		}
	}
	return 0, false
}

// sessionOnline tells a shared group whether a member can take a message
// now; it reads only the atomic mirror, so any shard may call it.
func sessionOnline(s *session) bool { return s.online.Load() && !s.busy.Load() }
