package mqtt

import "encoding/binary"

// Unsuback is an UNSUBACK packet [MQTT-3.11].
type Unsuback struct {
	// PacketID is the packet identifier of the acknowledged UNSUBSCRIBE.
	PacketID uint16
	// Properties are the MQTT 5 properties.
	Properties Properties
	// ReasonCodes (MQTT 5 only) holds one code per filter, in order.
	ReasonCodes []ReasonCode
}

// AppendUnsuback appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 only the packet identifier is written.
func AppendUnsuback(dst []byte, p *Unsuback, v Version) []byte {
	rl, pl := codeListLens(v, TypeUnsuback, &p.Properties, len(p.ReasonCodes))
	dst = appendHeader(dst, TypeUnsuback, 0, rl)
	dst = binary.BigEndian.AppendUint16(dst, p.PacketID)
	if v != V5 {
		return dst
	}
	dst = p.Properties.append(dst, int(TypeUnsuback), pl)
	for _, rc := range p.ReasonCodes {
		dst = append(dst, byte(rc))
	}
	return dst
}
