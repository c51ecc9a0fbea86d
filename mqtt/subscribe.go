package mqtt

import (
	"bytes"
	"encoding/binary"
)

// Subscription is one topic filter of a SUBSCRIBE with its options
// [MQTT-3.8.3.1].
type Subscription struct {
	// Filter is the topic filter, possibly "$share/{group}/{filter}".
	Filter []byte
	// QoS is the maximum QoS, 0 to 2.
	QoS byte
	// NoLocal (MQTT 5) asks not to receive the client's own messages.
	NoLocal bool
	// RetainAsPublished (MQTT 5) keeps the RETAIN flag of forwarded messages.
	RetainAsPublished bool
	// RetainHandling (MQTT 5) is 0 (send retained messages on subscribe),
	// 1 (only for a new subscription) or 2 (never).
	RetainHandling byte
}

// options returns the subscription options byte for version v.
func (s *Subscription) options(v Version) byte {
	o := s.QoS & 3
	if v == V5 {
		if s.NoLocal {
			o |= 0x04
		}
		if s.RetainAsPublished {
			o |= 0x08
		}
		o |= (s.RetainHandling & 3) << 4
	}
	return o
}

// Subscribe is a SUBSCRIBE packet [MQTT-3.8].
type Subscribe struct {
	// PacketID is the packet identifier.
	PacketID uint16
	// Properties are the MQTT 5 properties (a Subscription Identifier and
	// user properties).
	Properties Properties
	// Subscriptions are the topic filters with their options, in order.
	Subscriptions []Subscription
}

// sharePrefixBytes starts the topic filter of a shared subscription.
var sharePrefixBytes = []byte("$share/")

// Decode parses the body of a SUBSCRIBE frame for protocol version v. The
// filters and the byte slices in p.Properties alias body; p.Subscriptions is
// re-sliced and appended to, so decoding into a reused value does not
// allocate once it has grown to size.
//
// It checks the flags (ErrFlags), the packet identifier (ErrPacketID), that
// there is at least one filter (ErrNoTopics), each filter (ErrUTF8,
// TopicFilterInvalid from ValidTopicFilter), the options (ErrQoS,
// ErrSubOptions, ErrRetainHandling, ErrSharedNoLocal) and the properties
// (at most one non-zero Subscription Identifier).
func (p *Subscribe) Decode(h FixedHeader, body []byte, v Version) error {
	if err := checkHeader(h, TypeSubscribe); err != nil {
		return err
	}
	r, err := readIDAndProperties(body, v, TypeSubscribe, &p.PacketID, &p.Properties)
	if err != nil {
		return err
	}
	p.Subscriptions = p.Subscriptions[:0]
	for !r.done() {
		var s Subscription
		if s.Filter, err = r.str(); err != nil {
			return err
		}
		o, err := r.byte()
		if err != nil {
			return err
		}
		if err := ValidTopicFilter(s.Filter); err != nil {
			return err
		}
		s.QoS = o & 3
		if s.QoS == 3 {
			return ErrQoS // [MQTT-3-8.3-4]
		}
		if v == V5 {
			if o&0xc0 != 0 {
				return ErrSubOptions // [MQTT-3.8.3-5]
			}
			s.NoLocal = o&0x04 != 0
			s.RetainAsPublished = o&0x08 != 0
			s.RetainHandling = o >> 4 & 3
			if s.RetainHandling == 3 {
				return ErrRetainHandling
			}
			if s.NoLocal && bytes.HasPrefix(s.Filter, sharePrefixBytes) {
				return ErrSharedNoLocal // [MQTT-3.8.3-4]
			}
		} else if o&0xfc != 0 {
			return ErrSubOptions // [MQTT-3-8.3-4] reserved bits
		}
		p.Subscriptions = append(p.Subscriptions, s)
	}
	if len(p.Subscriptions) == 0 {
		return ErrNoTopics // [MQTT-3.8.3-3]
	}
	return nil
}

func (p *Subscribe) lens(v Version) (rl, pl int) {
	rl = 2
	if v == V5 {
		pl = p.Properties.len(int(TypeSubscribe))
		rl += VarintLen(pl) + pl
	}
	for i := range p.Subscriptions {
		rl += 2 + len(p.Subscriptions[i].Filter) + 1
	}
	return rl, pl
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Subscribe) Size(v Version) int {
	rl, _ := p.lens(v)
	return packetLen(rl)
}

// AppendSubscribe appends p encoded for protocol version v to dst and
// returns the extended slice. Before 5.0 only the QoS of each subscription's
// options and no properties are written.
func AppendSubscribe(dst []byte, p *Subscribe, v Version) []byte {
	rl, pl := p.lens(v)
	dst = appendHeader(dst, TypeSubscribe, 0x02, rl)
	dst = binary.BigEndian.AppendUint16(dst, p.PacketID)
	if v == V5 {
		dst = p.Properties.append(dst, int(TypeSubscribe), pl)
	}
	for i := range p.Subscriptions {
		s := &p.Subscriptions[i]
		dst = appendBytes(dst, s.Filter)
		dst = append(dst, s.options(v))
	}
	return dst
}
