package mqtt

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// Publish is a PUBLISH packet [MQTT-3.3].
type Publish struct {
	// Dup is the DUP flag: the packet is a redelivery.
	Dup bool
	// QoS is the quality of service, 0 to 2.
	QoS byte
	// Retain is the RETAIN flag.
	Retain bool
	// Topic is the topic name. In MQTT 5 it may be empty when
	// Properties carries a Topic Alias.
	Topic []byte
	// PacketID is the packet identifier; it is present only when QoS > 0.
	PacketID uint16
	// Properties are the MQTT 5 properties.
	Properties Properties
	// Payload is the application message.
	Payload []byte
}

// Decode parses the body of a PUBLISH frame returned by Frame. Topic,
// Payload and the byte slices in Properties alias body: they stay valid only
// while body's bytes do. Decoding into a reused value does not allocate once
// its property slices have grown to size.
//
// Decode checks the flags (ErrQoS, ErrDupQoS0), the topic name (ErrUTF8,
// TopicNameInvalid from ValidTopicName, ErrEmptyTopic), the packet
// identifier (ErrPacketID) and the properties. It does not check what needs
// session state: topic alias ranges, receive maximum, or whether a client may
// send a Subscription Identifier [MQTT-3.3.4-6]; nor does it check that a
// payload with Payload Format 1 is UTF-8, which a receiver may do.
func (p *Publish) Decode(h FixedHeader, body []byte, v Version) error {
	if err := checkHeader(h, TypePublish); err != nil {
		return err
	}
	p.Dup = h.Flags&0x08 != 0
	p.QoS = h.Flags >> 1 & 3
	p.Retain = h.Flags&0x01 != 0
	if p.Dup && p.QoS == 0 {
		return ErrDupQoS0 // [MQTT-3.3.1-2]
	}
	r := reader{b: body}
	var err error
	if p.Topic, err = r.binary(); err != nil {
		return err
	}
	plain := plainTopicName(p.Topic)
	if !plain {
		if err := ValidUTF8String(p.Topic); err != nil {
			return err
		}
	}
	p.PacketID = 0
	if p.QoS > 0 {
		if p.PacketID, err = r.uint16(); err != nil {
			return err
		}
		if p.PacketID == 0 {
			return ErrPacketID // [MQTT-2.2.1-3]
		}
	}
	if v == V5 {
		n, err := p.Properties.decode(r.rest(), int(TypePublish))
		if err != nil {
			return err
		}
		r.i += n
	} else {
		p.Properties.Reset()
	}
	if len(p.Topic) == 0 && v == V5 {
		if !p.Properties.Present.Has(PropTopicAlias) {
			return ErrEmptyTopic // [MQTT-3.3.2-7]
		}
	} else if !plain {
		if err := ValidTopicName(p.Topic); err != nil {
			return err // [MQTT-3.3.2-2] [MQTT-4.7.3-1]
		}
	}
	p.Payload = r.rest()
	return nil
}

// flags returns the fixed-header flags of p.
func (p *Publish) flags() byte {
	var f byte
	if p.Dup {
		f |= 0x08
	}
	f |= (p.QoS & 3) << 1
	if p.Retain {
		f |= 0x01
	}
	return f
}

// bodyLen returns the remaining length of p and the length of its
// properties (without their length prefix).
func (p *Publish) bodyLen(v Version) (rl, pl int) {
	rl = 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		rl += 2
	}
	if v == V5 {
		pl = p.Properties.len(int(TypePublish))
		rl += VarintLen(pl) + pl
	}
	return rl, pl
}

// Size returns the length of p encoded for v, fixed header included, so a
// broker can compare it with a client's Maximum Packet Size without encoding.
func (p *Publish) Size(v Version) int {
	rl, _ := p.bodyLen(v)
	return packetLen(rl)
}

// AppendPublish appends p encoded for protocol version v to dst and returns
// the extended slice. Properties are written for V5 only, and only those a
// PUBLISH may carry. The packet identifier is written when QoS > 0; see
// PublishPacketIDOffset for patching it in shared bytes. It does not
// validate p (use Decode's rules); it panics on a field longer than 65535
// bytes or a packet longer than MaxPacketSize.
func AppendPublish(dst []byte, p *Publish, v Version) []byte {
	rl, pl := p.bodyLen(v)
	dst = slices.Grow(dst, packetLen(rl))
	dst = appendHeader(dst, TypePublish, p.flags(), rl)
	dst = appendBytes(dst, p.Topic)
	if p.QoS > 0 {
		dst = binary.BigEndian.AppendUint16(dst, p.PacketID)
	}
	if v == V5 {
		dst = p.Properties.append(dst, int(TypePublish), pl)
	}
	return append(dst, p.Payload...)
}

// PublishPacketIDOffset returns the offset of the packet identifier in an
// encoded PUBLISH frame with QoS > 0, so a broker can encode a message once
// and give each subscriber a copy of only the bytes up to and including the
// identifier. It returns -1 if frame is not a complete QoS 1 or 2 PUBLISH.
func PublishPacketIDOffset(frame []byte) int {
	h, n, err := Frame(frame, 0)
	if err != nil || n == 0 || h.Type != TypePublish || h.Flags&0x06 == 0 {
		return -1
	}
	if h.RemainingLength < 4 {
		return -1
	}
	off := h.HeaderLen + 2 + int(binary.BigEndian.Uint16(frame[h.HeaderLen:]))
	if off+2 > n {
		return -1
	}
	return off
}

// CheckPayloadFormat returns ErrPayloadFormat (PayloadFormatInvalid) when p
// carries Payload Format Indicator 1 (UTF-8 character data) and its payload
// is not well-formed UTF-8, and nil otherwise. Decode does not call it:
// the check is optional for a receiver [MQTT-3.3.2.3.2] and costs a pass
// over the payload.
func (p *Publish) CheckPayloadFormat() error {
	if p.Properties.Present.Has(PropPayloadFormat) && p.Properties.PayloadFormat == 1 && !utf8.Valid(p.Payload) {
		return ErrPayloadFormat
	}
	return nil
}
