package mqtt

import "errors"

// Error is a codec failure: a message for people and the ReasonCode a broker
// sends for it. errors.Is(err, code) and errors.As(err, &code) find the code
// through Unwrap.
type Error struct {
	// Code is the reason code the failure maps to.
	Code ReasonCode
	msg  string
}

// Error returns the message, which starts with "mqtt: ".
func (e *Error) Error() string { return e.msg }

// Unwrap returns e.Code.
func (e *Error) Unwrap() error { return e.Code }

// Code returns the ReasonCode err carries, or UnspecifiedError when err is
// not nil and carries none, or Success when err is nil.
func Code(err error) ReasonCode {
	if err == nil {
		return Success
	}
	var rc ReasonCode
	if errors.As(err, &rc) {
		return rc
	}
	return UnspecifiedError
}

// Errors returned by the decoders. Each wraps the ReasonCode the
// specification assigns to the failure.
var (
	// ErrVarint reports a variable byte integer longer than four bytes or
	// not in its shortest form [MQTT-1.5.5-1].
	ErrVarint = &Error{MalformedPacket, "mqtt: malformed variable byte integer"}
	// ErrPacketTooLarge reports a packet larger than the maximum packet size.
	ErrPacketTooLarge = &Error{PacketTooLarge, "mqtt: packet exceeds the maximum packet size"}
	// ErrPacketType reports the reserved packet type 0, or AUTH before MQTT 5.
	ErrPacketType = &Error{MalformedPacket, "mqtt: reserved packet type"}
	// ErrFlags reports fixed-header flags other than the ones the packet type
	// requires [MQTT-2.1.3-1].
	ErrFlags = &Error{MalformedPacket, "mqtt: invalid fixed header flags"}
	// ErrQoS reports the reserved QoS value 3 [MQTT-3.3.1-4].
	ErrQoS = &Error{MalformedPacket, "mqtt: QoS 3 is reserved"}
	// ErrDupQoS0 reports a QoS 0 PUBLISH with DUP set [MQTT-3.3.1-2].
	ErrDupQoS0 = &Error{MalformedPacket, "mqtt: DUP set on a QoS 0 PUBLISH"}
	// ErrTruncated reports a packet that ends inside a field.
	ErrTruncated = &Error{MalformedPacket, "mqtt: packet ends inside a field"}
	// ErrTrailing reports bytes after the last field of a packet.
	ErrTrailing = &Error{MalformedPacket, "mqtt: unexpected bytes after the last field"}
	// ErrUTF8 reports a string that is ill-formed UTF-8, encodes a surrogate,
	// or contains U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2].
	ErrUTF8 = &Error{MalformedPacket, "mqtt: malformed UTF-8 string"}
	// ErrProtocolName reports a CONNECT whose protocol name is neither "MQTT"
	// nor "MQIsdp" [MQTT-3.1.2-1].
	ErrProtocolName = &Error{ProtocolError, "mqtt: unknown protocol name"}
	// ErrProtocolVersion reports a protocol level this package does not speak,
	// or one that does not go with the protocol name [MQTT-3.1.2-2].
	ErrProtocolVersion = &Error{UnsupportedProtocolVersion, "mqtt: unsupported protocol version"}
	// ErrConnectReserved reports the CONNECT reserved flag set [MQTT-3.1.2-3].
	ErrConnectReserved = &Error{MalformedPacket, "mqtt: CONNECT reserved flag is set"}
	// ErrWillFlags reports will QoS or will retain set without the will flag
	// [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15].
	ErrWillFlags = &Error{MalformedPacket, "mqtt: will QoS or retain set without a will"}
	// ErrPasswordFlag reports a password without a user name before MQTT 5
	// [MQTT-3.1.2-22].
	ErrPasswordFlag = &Error{MalformedPacket, "mqtt: password flag set without user name flag"}
	// ErrClientID reports a client identifier the protocol version does not
	// accept: an MQTT 3.1 identifier not 1 to 23 bytes long, or an empty
	// 3.1.1 identifier without clean session [MQTT-3.1.3-8].
	ErrClientID = &Error{ClientIdentifierNotValid, "mqtt: client identifier not valid"}
	// ErrPacketID reports a zero packet identifier where one is required
	// [MQTT-2.2.1-3].
	ErrPacketID = &Error{ProtocolError, "mqtt: packet identifier is zero"}
	// ErrNoTopics reports a SUBSCRIBE or UNSUBSCRIBE without topic filters
	// [MQTT-3.8.3-3] [MQTT-3.10.3-2].
	ErrNoTopics = &Error{ProtocolError, "mqtt: no topic filters"}
	// ErrNoReasonCodes reports a SUBACK or UNSUBACK without return or reason
	// codes.
	ErrNoReasonCodes = &Error{ProtocolError, "mqtt: no reason codes"}
	// ErrSubOptions reports reserved bits set in subscription options
	// [MQTT-3.8.3-5].
	ErrSubOptions = &Error{MalformedPacket, "mqtt: reserved subscription option bits set"}
	// ErrRetainHandling reports the reserved retain handling value 3.
	ErrRetainHandling = &Error{ProtocolError, "mqtt: retain handling 3 is reserved"}
	// ErrSharedNoLocal reports No Local on a shared subscription [MQTT-3.8.3-4].
	ErrSharedNoLocal = &Error{ProtocolError, "mqtt: no local set on a shared subscription"}
	// ErrPropertyID reports a property identifier the specification does not
	// define [MQTT-2.2.2.2].
	ErrPropertyID = &Error{MalformedPacket, "mqtt: unknown property identifier"}
	// ErrPropertyNotAllowed reports a property that the packet may not carry
	// [MQTT-2.2.2.2].
	ErrPropertyNotAllowed = &Error{MalformedPacket, "mqtt: property not allowed on this packet"}
	// ErrPropertyDuplicate reports a property that appears more than once
	// where the specification allows it once.
	ErrPropertyDuplicate = &Error{ProtocolError, "mqtt: property included more than once"}
	// ErrPropertyValue reports a property value the specification forbids
	// (a zero Receive Maximum, Maximum QoS 2, a flag other than 0 or 1, ...).
	ErrPropertyValue = &Error{ProtocolError, "mqtt: invalid property value"}
	// ErrTopicAlias reports a Topic Alias of 0 [MQTT-3.3.2-8].
	ErrTopicAlias = &Error{TopicAliasInvalid, "mqtt: topic alias 0"}
	// ErrEmptyTopic reports an MQTT 5 PUBLISH with an empty topic name and no
	// topic alias.
	ErrEmptyTopic = &Error{ProtocolError, "mqtt: empty topic name without topic alias"}
	// ErrReasonCode reports a reason code the packet type does not define.
	ErrReasonCode = &Error{MalformedPacket, "mqtt: invalid reason code for this packet"}
	// ErrAuthData reports Authentication Data without Authentication Method.
	ErrAuthData = &Error{ProtocolError, "mqtt: authentication data without authentication method"}
	// ErrPayloadFormat reports a PUBLISH whose Payload Format Indicator says
	// UTF-8 and whose payload is not well-formed UTF-8.
	ErrPayloadFormat = &Error{PayloadFormatInvalid, "mqtt: payload is not UTF-8 as its payload format indicator says"}
	// ErrConnackFlags reports reserved CONNACK acknowledge flags, or session
	// present with a refusing return code [MQTT-3.2.2-1] [MQTT-3.2.2-4].
	ErrConnackFlags = &Error{MalformedPacket, "mqtt: invalid CONNACK acknowledge flags"}
)
