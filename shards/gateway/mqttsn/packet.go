package mqttsn

import (
	"encoding/binary"
	"errors"
)

// Message types of MQTT-SN 1.2 (section 5.2.2).
const (
	tAdvertise    byte = 0x00
	tSearchGW     byte = 0x01
	tGWInfo       byte = 0x02
	tConnect      byte = 0x04
	tConnack      byte = 0x05
	tWillTopicReq byte = 0x06
	tWillTopic    byte = 0x07
	tWillMsgReq   byte = 0x08
	tWillMsg      byte = 0x09
	tRegister     byte = 0x0A
	tRegack       byte = 0x0B
	tPublish      byte = 0x0C
	tPuback       byte = 0x0D
	tPubcomp      byte = 0x0E
	tPubrec       byte = 0x0F
	tPubrel       byte = 0x10
	tSubscribe    byte = 0x12
	tSuback       byte = 0x13
	tUnsubscribe  byte = 0x14
	tUnsuback     byte = 0x15
	tPingreq      byte = 0x16
	tPingresp     byte = 0x17
	tDisconnect   byte = 0x18
	tWillTopicUpd byte = 0x1A
	tWillTopicRes byte = 0x1B
	tWillMsgUpd   byte = 0x1C
	tWillMsgResp  byte = 0x1D
	// tEncapsulated is the Forwarder Encapsulation (section 5.4.19): a
	// forwarder relays its wireless nodes' messages inside it.
	tEncapsulated byte = 0xFE
)

// Return codes (section 5.3.10).
const (
	rcAccepted       byte = 0x00
	rcCongestion     byte = 0x01
	rcInvalidTopicID byte = 0x02
	rcNotSupported   byte = 0x03
)

// Flags (section 5.3.4).
const (
	flagDup          byte = 0x80
	flagQoSMask      byte = 0x60
	flagRetain       byte = 0x10
	flagWill         byte = 0x08
	flagCleanSession byte = 0x04
	flagTopicMask    byte = 0x03
)

// Topic id types, the low two bits of the flags.
const (
	topicNormal     byte = 0
	topicPredefined byte = 1
	topicShort      byte = 2
)

// protocolID is the CONNECT's ProtocolId of MQTT-SN 1.2.
const protocolID = 0x01

// qosMinus1 is QoS −1 (flags 0b11), the connectionless publish.
const qosMinus1 = 3

var (
	errTruncated = errors.New("mqttsn: truncated message")
	errLength    = errors.New("mqttsn: length field does not match the datagram")
	errNodeID    = errors.New("mqttsn: encapsulation without a wireless node id")
	errNested    = errors.New("mqttsn: encapsulation inside an encapsulation")
	errNotEncap  = errors.New("mqttsn: not an encapsulated message")
)

// frame splits a datagram into its message type and body: the Length
// field (one octet, or 0x01 and two octets) must be the datagram's size.
// One datagram carries one message (section 5.2).
func frame(b []byte) (typ byte, body []byte, err error) {
	if len(b) < 2 {
		return 0, nil, errTruncated
	}
	n, hdr := int(b[0]), 1
	if b[0] == 0x01 {
		if len(b) < 4 {
			return 0, nil, errTruncated
		}
		n, hdr = int(binary.BigEndian.Uint16(b[1:3])), 3
	}
	if n != len(b) || n < hdr+1 {
		return 0, nil, errLength
	}
	return b[hdr], b[hdr+1:], nil
}

// appendHeader appends the Length and MsgType of a message whose body is
// n octets.
func appendHeader(dst []byte, typ byte, n int) []byte {
	if n+2 < 256 {
		return append(dst, byte(n+2), typ)
	}
	return append(dst, 0x01, byte((n+4)>>8), byte(n+4), typ)
}

// maxBody is the largest body a message may carry: the three-octet
// Length counts up to 65535 with itself and the type.
const maxBody = 65535 - 4

// msg builds a message of type typ from parts.
func msg(dst []byte, typ byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	dst = appendHeader(dst, typ, n)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// encodeQoS returns the flags' QoS bits for an MQTT QoS (0..2) or −1.
func encodeQoS(q int) byte {
	if q < 0 {
		return qosMinus1 << 5
	}
	return byte(q) << 5
}

// publishMsg builds a PUBLISH.
func publishMsg(dst []byte, flags byte, topicID, msgID uint16, data []byte) []byte {
	dst = appendHeader(dst, tPublish, 5+len(data))
	dst = append(dst, flags, byte(topicID>>8), byte(topicID), byte(msgID>>8), byte(msgID))
	return append(dst, data...)
}

// ackMsg builds a PUBACK or REGACK: TopicId, MsgId, ReturnCode.
func ackMsg(dst []byte, typ byte, topicID, msgID uint16, rc byte) []byte {
	return append(appendHeader(dst, typ, 5), byte(topicID>>8), byte(topicID), byte(msgID>>8), byte(msgID), rc)
}

// idMsg builds a PUBREC, PUBREL, PUBCOMP or UNSUBACK: MsgId alone.
func idMsg(dst []byte, typ byte, msgID uint16) []byte {
	return append(appendHeader(dst, typ, 2), byte(msgID>>8), byte(msgID))
}

// shortTopic returns the two-character topic name of a short topic id.
func shortTopic(id uint16) string { return string([]byte{byte(id >> 8), byte(id)}) }

// encapsulation is the header a forwarder puts before a wireless node's
// message (section 5.5): Length (one octet, counting the header alone),
// MsgType 0xFE, Ctrl, Wireless Node Id.
type encapsulation struct {
	ctrl byte   // bits 1..0: the broadcast radius, gateway to forwarder
	node []byte // the Wireless Node Id, aliasing the datagram
}

// radiusMask is the Ctrl octet's Radius field.
const radiusMask = 0x03

// unwrap splits an encapsulated datagram into its header and the message
// it carries; the Wireless Node Id must not be empty (it tells the
// forwarder's nodes apart), and the message must not be encapsulated
// again.
func unwrap(b []byte) (encapsulation, []byte, error) {
	if len(b) < 3 {
		return encapsulation{}, nil, errTruncated
	}
	if b[1] != tEncapsulated {
		return encapsulation{}, nil, errNotEncap
	}
	n := int(b[0])
	switch {
	case n > len(b):
		return encapsulation{}, nil, errLength
	case n < 4:
		return encapsulation{}, nil, errNodeID
	}
	inner := b[n:]
	if len(inner) >= 2 && inner[1] == tEncapsulated {
		return encapsulation{}, nil, errNested
	}
	return encapsulation{ctrl: b[2], node: b[3:n]}, inner, nil
}

// appendEncapsulated appends message m encapsulated for wireless node
// node with Ctrl ctrl.
func appendEncapsulated(dst []byte, ctrl byte, node string, m []byte) []byte {
	dst = append(dst, byte(3+len(node)), tEncapsulated, ctrl)
	dst = append(dst, node...)
	return append(dst, m...)
}
