package mqtt

// Version is an MQTT protocol level as carried in CONNECT.
type Version byte

// Protocol levels.
const (
	// V31 is MQTT 3.1, protocol name "MQIsdp", level 3.
	V31 Version = 3
	// V311 is MQTT 3.1.1, protocol name "MQTT", level 4.
	V311 Version = 4
	// V5 is MQTT 5.0, protocol name "MQTT", level 5.
	V5 Version = 5
)

// Valid reports whether v is one of V31, V311 and V5.
func (v Version) Valid() bool { return v == V31 || v == V311 || v == V5 }

// String returns the version as people write it ("3.1", "3.1.1", "5.0").
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	}
	return "unknown"
}

// PacketType is the control packet type in the high nibble of the first byte
// of every packet.
type PacketType byte

// Control packet types [MQTT-2.1.2]. Type 0 is reserved.
const (
	TypeConnect     PacketType = 1
	TypeConnack     PacketType = 2
	TypePublish     PacketType = 3
	TypePuback      PacketType = 4
	TypePubrec      PacketType = 5
	TypePubrel      PacketType = 6
	TypePubcomp     PacketType = 7
	TypeSubscribe   PacketType = 8
	TypeSuback      PacketType = 9
	TypeUnsubscribe PacketType = 10
	TypeUnsuback    PacketType = 11
	TypePingreq     PacketType = 12
	TypePingresp    PacketType = 13
	TypeDisconnect  PacketType = 14
	// TypeAuth exists in MQTT 5 only; in 3.1 and 3.1.1 type 15 is reserved.
	TypeAuth PacketType = 15
)

var packetTypeNames = [16]string{
	"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
}

// String returns the packet type's name as the specification spells it.
func (t PacketType) String() string {
	if t < 16 {
		return packetTypeNames[t]
	}
	return "INVALID"
}
