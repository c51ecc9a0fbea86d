package mqtt

import "encoding/binary"

// Puback is a PUBACK packet [MQTT-3.4], the answer to a QoS 1 PUBLISH.
type Puback struct {
	// PacketID is the packet identifier of the acknowledged PUBLISH.
	PacketID uint16
	// ReasonCode is the MQTT 5 reason code (Success before 5.0).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// Pubrec is a PUBREC packet [MQTT-3.5], the first answer to a QoS 2 PUBLISH.
type Pubrec struct {
	// PacketID is the packet identifier of the acknowledged PUBLISH.
	PacketID uint16
	// ReasonCode is the MQTT 5 reason code (Success before 5.0).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// Pubrel is a PUBREL packet [MQTT-3.6], the answer to a PUBREC.
type Pubrel struct {
	// PacketID is the packet identifier of the QoS 2 exchange.
	PacketID uint16
	// ReasonCode is the MQTT 5 reason code (Success before 5.0).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// Pubcomp is a PUBCOMP packet [MQTT-3.7], the answer to a PUBREL.
type Pubcomp struct {
	// PacketID is the packet identifier of the QoS 2 exchange.
	PacketID uint16
	// ReasonCode is the MQTT 5 reason code (Success before 5.0).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// decodeAck parses the body of PUBACK, PUBREC, PUBREL or PUBCOMP: a packet
// identifier, then in MQTT 5 an optional reason code and optional
// properties [MQTT-3.4.2.1] (a remaining length of 2 means Success and no
// properties, 3 means no properties).
func decodeAck(h FixedHeader, body []byte, v Version, t PacketType, valid *codeSet,
	id *uint16, rc *ReasonCode, props *Properties) error {
	if err := checkHeader(h, t); err != nil {
		return err
	}
	r := reader{b: body}
	var err error
	if *id, err = r.uint16(); err != nil {
		return err
	}
	if *id == 0 {
		return ErrPacketID // [MQTT-2.2.1-3]
	}
	*rc = Success
	props.Reset()
	if v == V5 && !r.done() {
		c, _ := r.byte()
		*rc = ReasonCode(c)
		if !valid.has(*rc) {
			return ErrReasonCode
		}
		if !r.done() {
			n, err := props.decode(r.rest(), int(t))
			if err != nil {
				return err
			}
			r.i += n
		}
	}
	if !r.done() {
		return ErrTrailing
	}
	return nil
}

// ackLens returns the remaining length of an acknowledgement and the length
// of its properties. MQTT 5 omits the properties when there are none and the
// reason code too when it is Success [MQTT-3.4.2.1].
func ackLens(v Version, t PacketType, rc ReasonCode, props *Properties) (rl, pl int) {
	if v != V5 {
		return 2, 0
	}
	pl = props.len(int(t))
	switch {
	case pl > 0:
		return 3 + VarintLen(pl) + pl, pl
	case rc != Success:
		return 3, 0
	}
	return 2, 0
}

// appendAck appends an acknowledgement of type t with the given fixed-header
// flags.
func appendAck(dst []byte, v Version, t PacketType, flags byte, id uint16, rc ReasonCode, props *Properties) []byte {
	rl, pl := ackLens(v, t, rc, props)
	dst = appendHeader(dst, t, flags, rl)
	dst = binary.BigEndian.AppendUint16(dst, id)
	if rl > 2 {
		dst = append(dst, byte(rc))
	}
	if rl > 3 {
		dst = props.append(dst, int(t), pl)
	}
	return dst
}

// Decode parses the body of a PUBACK frame for protocol version v. The byte
// slices in p.Properties alias body. It checks the packet identifier
// (ErrPacketID), the reason code (ErrReasonCode), the length and the
// properties.
func (p *Puback) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeAck(h, body, v, TypePuback, &pubackCodes, &p.PacketID, &p.ReasonCode, &p.Properties)
}

// AppendPuback appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 only the packet identifier is written.
func AppendPuback(dst []byte, p *Puback, v Version) []byte {
	return appendAck(dst, v, TypePuback, 0, p.PacketID, p.ReasonCode, &p.Properties)
}

// Decode parses the body of a PUBREC frame for protocol version v, with the
// checks of Puback.Decode.
func (p *Pubrec) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeAck(h, body, v, TypePubrec, &pubackCodes, &p.PacketID, &p.ReasonCode, &p.Properties)
}

// AppendPubrec appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 only the packet identifier is written.
func AppendPubrec(dst []byte, p *Pubrec, v Version) []byte {
	return appendAck(dst, v, TypePubrec, 0, p.PacketID, p.ReasonCode, &p.Properties)
}

// Decode parses the body of a PUBREL frame for protocol version v, with the
// checks of Puback.Decode; its fixed-header flags must be 0b0010
// [MQTT-3.6.1-1].
func (p *Pubrel) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeAck(h, body, v, TypePubrel, &pubrelCodes, &p.PacketID, &p.ReasonCode, &p.Properties)
}

// AppendPubrel appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 only the packet identifier is written.
func AppendPubrel(dst []byte, p *Pubrel, v Version) []byte {
	return appendAck(dst, v, TypePubrel, 0x02, p.PacketID, p.ReasonCode, &p.Properties)
}

// Decode parses the body of a PUBCOMP frame for protocol version v, with the
// checks of Puback.Decode.
func (p *Pubcomp) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeAck(h, body, v, TypePubcomp, &pubrelCodes, &p.PacketID, &p.ReasonCode, &p.Properties)
}

// AppendPubcomp appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 only the packet identifier is written.
func AppendPubcomp(dst []byte, p *Pubcomp, v Version) []byte {
	return appendAck(dst, v, TypePubcomp, 0, p.PacketID, p.ReasonCode, &p.Properties)
}
