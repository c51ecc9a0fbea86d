package mqtt

import "encoding/binary"

// Suback is a SUBACK packet [MQTT-3.9].
type Suback struct {
	// PacketID is the packet identifier of the acknowledged SUBSCRIBE.
	PacketID uint16
	// Properties are the MQTT 5 properties.
	Properties Properties
	// ReasonCodes holds one code per subscription, in order: GrantedQoS0 to
	// GrantedQoS2 or a failure.
	ReasonCodes []ReasonCode
}

// Decode parses the body of a SUBACK frame for protocol version v. The byte
// slices in p.Properties alias body; p.ReasonCodes is re-sliced and appended
// to. It checks the packet identifier (ErrPacketID), that there is at least
// one code (ErrNoReasonCodes), each code (ErrReasonCode: 0, 1, 2 and 0x80
// before 5.0) and the properties.
func (p *Suback) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeCodeList(h, body, v, TypeSuback, &subackCodes, &subackV3Codes,
		&p.PacketID, &p.Properties, &p.ReasonCodes)
}

// decodeCodeList parses the body of a SUBACK or UNSUBACK: a packet
// identifier, MQTT 5 properties and a list of codes (none before 5.0 when
// v3 is nil).
func decodeCodeList(h FixedHeader, body []byte, v Version, t PacketType, v5, v3 *codeSet,
	id *uint16, props *Properties, list *[]ReasonCode) error {
	if err := checkHeader(h, t); err != nil {
		return err
	}
	r, err := readIDAndProperties(body, v, t, id, props)
	if err != nil {
		return err
	}
	valid := v3
	if v == V5 {
		valid = v5
	}
	*list = (*list)[:0]
	if valid == nil {
		// A 3.1/3.1.1 UNSUBACK is the packet identifier alone.
		if !r.done() {
			return ErrTrailing
		}
		return nil
	}
	for _, c := range r.rest() {
		if !valid.has(ReasonCode(c)) {
			return ErrReasonCode
		}
		*list = append(*list, ReasonCode(c))
	}
	if len(*list) == 0 {
		return ErrNoReasonCodes
	}
	return nil
}

// codeListLens returns the remaining length of a SUBACK or UNSUBACK and the
// length of its properties.
func codeListLens(v Version, t PacketType, props *Properties, n int) (rl, pl int) {
	if v != V5 {
		if t == TypeUnsuback {
			return 2, 0
		}
		return 2 + n, 0
	}
	pl = props.len(int(t))
	return 2 + VarintLen(pl) + pl + n, pl
}

// AppendSuback appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 every failure code is written as 0x80
// (SubackFailure) and no properties are written.
func AppendSuback(dst []byte, p *Suback, v Version) []byte {
	rl, pl := codeListLens(v, TypeSuback, &p.Properties, len(p.ReasonCodes))
	dst = appendHeader(dst, TypeSuback, 0, rl)
	dst = binary.BigEndian.AppendUint16(dst, p.PacketID)
	if v == V5 {
		dst = p.Properties.append(dst, int(TypeSuback), pl)
	}
	for _, rc := range p.ReasonCodes {
		if v != V5 && rc.IsError() {
			rc = SubackFailure
		}
		dst = append(dst, byte(rc))
	}
	return dst
}
