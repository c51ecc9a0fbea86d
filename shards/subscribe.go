package shards

import (
	"bytes"
	"errors"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/retained"
)

// SubOptions are the options of one subscription: see index.SubOptions.
// The API's SubscribeRequest and Subscription carry them.
type SubOptions = index.SubOptions

// onSubscribe handles SUBSCRIBE: every filter is added to the index, SUBACK
// reports the granted QoS, then retained messages follow as each
// subscription's Retain Handling asks [MQTT-3.8.4].
func (sh *shard) onSubscribe(s *session, h mqtt.FixedHeader, body []byte) error {
	p := &sh.sub
	if err := p.Decode(h, body, s.version); err != nil {
		return err
	}
	var id uint32
	if len(p.Properties.SubscriptionIDs) > 0 {
		id = p.Properties.SubscriptionIDs[0]
	}
	ack := mqtt.Suback{PacketID: p.PacketID, ReasonCodes: make([]mqtt.ReasonCode, len(p.Subscriptions))}
	type pending struct {
		filter string
		opts   SubOptions
	}
	var toRetain []pending
	for i, sub := range p.Subscriptions {
		opts := SubOptions{QoS: sub.QoS, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished,
			RetainHandling: sub.RetainHandling, ID: id}
		if !s.allowed(auth.Subscribe, sub.Filter) {
			ack.ReasonCodes[i] = mqtt.NotAuthorized // 0x80 before MQTT 5
			continue
		}
		filter := string(sub.Filter)
		res, err := s.subscribe(filter, opts)
		if err != nil {
			ack.ReasonCodes[i] = failureCode(err)
			continue
		}
		ack.ReasonCodes[i] = mqtt.ReasonCode(sub.QoS)
		if !res.Shared && (opts.RetainHandling == 0 || (opts.RetainHandling == 1 && !res.Existed)) {
			toRetain = append(toRetain, pending{filter, opts})
		}
	}
	if cs := s.cstate(); s.version == mqtt.V5 && cs != nil && !cs.noProblemInfo {
		suback5Reason(s, &ack, p.Subscriptions)
	}
	start := len(sh.enc)
	sh.enc = mqtt.AppendSuback(sh.enc, &ack, s.version)
	sh.emit(s.conn, s, start)
	for _, r := range toRetain {
		sh.sendRetained(s, r.filter, r.opts)
	}
	return nil
}

// suback5Reason gives an MQTT 5 SUBACK with a refused filter a Reason
// String naming the first one and why, when it fits the client's Maximum
// Packet Size (the caller checked Request Problem Information
// [MQTT-3.1.2-29]).
func suback5Reason(s *session, ack *mqtt.Suback, subs []mqtt.Subscription) {
	for i, rc := range ack.ReasonCodes {
		if rc < 0x80 {
			continue
		}
		text := rc.String() + ": " + string(subs[i].Filter)
		if s.maxOut == 0 || 5+len(ack.ReasonCodes)+4+len(text)+4 <= int(s.maxOut) {
			ack.Properties.Present.Add(mqtt.PropReasonString)
			ack.Properties.ReasonString = []byte(text)
		}
		return
	}
}

// failureCode maps a subscribe error to its SUBACK code (MQTT 3 codecs
// turn every failure into 0x80).
func failureCode(err error) mqtt.ReasonCode {
	switch {
	case errors.Is(err, index.ErrBadFilter):
		return mqtt.TopicFilterInvalid
	case errors.Is(err, ErrTooManySubscriptions):
		return mqtt.QuotaExceeded
	case errors.Is(err, index.ErrShareNoLocal):
		return mqtt.ProtocolError
	}
	return mqtt.UnspecifiedError
}

// subscribe adds filter with opts to s.
func (s *session) subscribe(filter string, opts SubOptions) (index.SubscribeResult, error) {
	max := s.cfg.SubscriptionsMax
	if _, ok := s.subs.Get(filter); !ok && max > 0 && s.subs.Len() >= max {
		return index.SubscribeResult{}, ErrTooManySubscriptions
	}
	res, err := s.sh.b.index.Subscribe(s, filter, opts)
	if err != nil {
		return res, err
	}
	s.subs.Set(filter, opts)
	s.sh.b.subsN.set(int64(s.sh.b.index.Len()))
	s.markLife()
	return res, nil
}

// unsubscribe removes filter from s and reports whether it was there.
func (s *session) unsubscribe(filter string) bool {
	if !s.subs.Delete(filter) {
		return false
	}
	_, _ = s.sh.b.index.Unsubscribe(s, filter)
	s.markLife()
	return true
}

// onUnsubscribe handles UNSUBSCRIBE.
func (sh *shard) onUnsubscribe(s *session, h mqtt.FixedHeader, body []byte) error {
	p := &sh.unsub
	if err := p.Decode(h, body, s.version); err != nil {
		return err
	}
	ack := mqtt.Unsuback{PacketID: p.PacketID, ReasonCodes: make([]mqtt.ReasonCode, len(p.Filters))}
	for i, f := range p.Filters {
		if !s.unsubscribe(string(f)) {
			ack.ReasonCodes[i] = mqtt.NoSubscriptionExisted
		}
	}
	start := len(sh.enc)
	sh.enc = mqtt.AppendUnsuback(sh.enc, &ack, s.version)
	sh.emit(s.conn, s, start)
	return nil
}

// sendRetained delivers the retained messages matching filter to s, with
// the retain flag set [MQTT-3.3.1-8].
func (sh *shard) sendRetained(s *session, filter string, opts SubOptions) {
	now := sh.loop.Now()
	sh.ret = sh.b.retain.Match(filter, now, sh.ret[:0])
	for i, r := range sh.ret {
		sh.ret[i] = nil
		m := sh.retainedMessage(r)
		s.deliver(delivery{msg: m, qos: min(r.QoS, opts.QoS), retain: true, subID: opts.ID})
		m.release()
	}
}

// storeRetained stores (or, with an empty payload, deletes) m as the
// retained message of its topic [MQTT-3.3.1-5] [MQTT-3.3.1-6]. The store
// keeps copies: it holds no reference to m, whose bytes return to the
// pool once it is delivered.
func (sh *shard) storeRetained(m *message) {
	r := m.retained(sh.loop.Now())
	if sh.b.retain.Set(r) == nil {
		sh.storeRetainedOp(r)
		if !sh.b.alone {
			// Every node's store follows the cluster's (Broker.Retained).
			sh.b.cluster.SetRetained(m.stored())
		}
	}
}

// retained returns a copy of m as the retained store keeps it, stored at
// stored; it holds no reference to m.
func (m *message) retained(stored time.Time) *retained.Message {
	m.mustLive()
	r := &retained.Message{Topic: string(m.topic), Payload: bytes.Clone(m.payload), QoS: m.qos,
		Stored: stored, ExpiryInterval: m.expiry, From: string(m.from)}
	if len(m.payload) > 0 {
		r.Properties = encodeProps(m.props)
	}
	return r
}

// encodeProps returns the forwarded properties of a message in their MQTT
// 5 wire form (length prefix included), as retained.Message.Properties keeps them.
func encodeProps(pr *mqtt.Properties) []byte {
	if pr == nil || pr.Present == 0 && len(pr.User) == 0 {
		return nil
	}
	// A PUBLISH to topic "a" with no payload: header, 2+1 bytes of topic,
	// then exactly the property block.
	frame := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("a"), Properties: *pr}, mqtt.V5)
	h, _, _ := mqtt.Frame(frame, 0)
	return frame[h.HeaderLen+3:]
}

// retainedMessage rebuilds a routable message from a retained one; the
// caller holds its one reference.
func (sh *shard) retainedMessage(r *retained.Message) *message {
	var p mqtt.Publish
	p.QoS = r.QoS
	p.Retain = true
	p.Payload = r.Payload
	if len(r.Properties) > 0 {
		body := append([]byte{0, 1, 'a'}, r.Properties...)
		h := mqtt.FixedHeader{Type: mqtt.TypePublish, RemainingLength: len(body), HeaderLen: 2}
		var q mqtt.Publish
		if q.Decode(h, body, mqtt.V5) == nil {
			p.Properties = q.Properties
		}
	}
	m := sh.b.newMessage(&p, []byte(r.Topic), nil, nil, r.Stored)
	if r.ExpiryInterval > 0 {
		m.expiry = r.ExpiryInterval
		m.expireAt = r.Stored.Add(time.Duration(r.ExpiryInterval) * time.Second).UnixNano()
	}
	return m
}
