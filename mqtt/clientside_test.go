package mqtt

import "encoding/binary"

// The broker only receives these packets (or only sends them) and never
// asks their size: the client side of the codec, which the tests use to
// encode and decode every packet both ways.

// Size returns the length of p encoded for v, fixed header included.
func (p *Puback) Size(v Version) int {
	rl, _ := ackLens(v, TypePuback, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Pubrec) Size(v Version) int {
	rl, _ := ackLens(v, TypePubrec, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Pubrel) Size(v Version) int {
	rl, _ := ackLens(v, TypePubrel, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Pubcomp) Size(v Version) int {
	rl, _ := ackLens(v, TypePubcomp, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Auth) Size(v Version) int {
	rl, _ := reasonPropsLens(V5, TypeAuth, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Disconnect) Size(v Version) int {
	rl, _ := reasonPropsLens(v, TypeDisconnect, p.ReasonCode, &p.Properties)
	return packetLen(rl)
}

// Decode checks a PINGRESP frame: flags 0 and an empty body (ErrTrailing).
func (p *Pingresp) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeEmpty(h, body, TypePingresp)
}

// Size returns 2, the length of every PINGREQ.
func (p *Pingreq) Size(v Version) int { return 2 }

// Size returns 2, the length of every PINGRESP.
func (p *Pingresp) Size(v Version) int { return 2 }

// AppendPingreq appends a PINGREQ to dst and returns the extended slice.
func AppendPingreq(dst []byte, p *Pingreq, v Version) []byte {
	return append(dst, byte(TypePingreq)<<4, 0)
}

// PropertyAllowed reports whether a packet of type t may carry property id
// [MQTT-2.2.2.2]. A property on a packet that may not carry it makes the
// packet malformed (ErrPropertyNotAllowed).
func PropertyAllowed(id PropertyID, t PacketType) bool {
	return t != targetWill && t < 16 && int(id) < len(propTable) && propTable[id].on&(1<<t) != 0
}

// WillPropertyAllowed reports whether the will properties of a CONNECT may
// carry property id [MQTT-3.1.3.2].
func WillPropertyAllowed(id PropertyID) bool {
	return int(id) < len(propTable) && propTable[id].on&(1<<targetWill) != 0
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Suback) Size(v Version) int {
	rl, _ := codeListLens(v, TypeSuback, &p.Properties, len(p.ReasonCodes))
	return packetLen(rl)
}

// Decode parses the body of an UNSUBACK frame for protocol version v. The
// byte slices in p.Properties alias body; p.ReasonCodes is re-sliced and
// appended to. Before 5.0 the body is the packet identifier alone
// (ErrTrailing otherwise); in 5.0 it checks that there is at least one code
// (ErrNoReasonCodes), each code (ErrReasonCode) and the properties.
func (p *Unsuback) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeCodeList(h, body, v, TypeUnsuback, &unsubackCodes, nil,
		&p.PacketID, &p.Properties, &p.ReasonCodes)
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Unsuback) Size(v Version) int {
	rl, _ := codeListLens(v, TypeUnsuback, &p.Properties, len(p.ReasonCodes))
	return packetLen(rl)
}

// AppendUnsubscribe appends p encoded for protocol version v to dst and
// returns the extended slice.
func AppendUnsubscribe(dst []byte, p *Unsubscribe, v Version) []byte {
	rl, pl := p.lens(v)
	dst = appendHeader(dst, TypeUnsubscribe, 0x02, rl)
	dst = binary.BigEndian.AppendUint16(dst, p.PacketID)
	if v == V5 {
		dst = p.Properties.append(dst, int(TypeUnsubscribe), pl)
	}
	for _, f := range p.Filters {
		dst = appendBytes(dst, f)
	}
	return dst
}
