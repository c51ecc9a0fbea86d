package mqtt

// ReasonCode is an MQTT 5 reason code, or an MQTT 3 CONNACK return code or
// SUBACK return code. Codes of 0x80 and above report failures; every
// ReasonCode implements error so that a decoder can return one and the
// broker can find it with errors.Is or errors.As.
//
// Several names share a value because the specification gives one byte
// different meanings in different packets (0x00 is Success, NormalDisconnection
// and GrantedQoS0).
type ReasonCode byte

// MQTT 5 reason codes [MQTT-2.4].
const (
	Success                             ReasonCode = 0x00
	NormalDisconnection                 ReasonCode = 0x00
	GrantedQoS0                         ReasonCode = 0x00
	GrantedQoS1                         ReasonCode = 0x01
	GrantedQoS2                         ReasonCode = 0x02
	DisconnectWithWill                  ReasonCode = 0x04
	NoMatchingSubscribers               ReasonCode = 0x10
	NoSubscriptionExisted               ReasonCode = 0x11
	ContinueAuthentication              ReasonCode = 0x18
	ReAuthenticate                      ReasonCode = 0x19
	UnspecifiedError                    ReasonCode = 0x80
	MalformedPacket                     ReasonCode = 0x81
	ProtocolError                       ReasonCode = 0x82
	ImplementationSpecificError         ReasonCode = 0x83
	UnsupportedProtocolVersion          ReasonCode = 0x84
	ClientIdentifierNotValid            ReasonCode = 0x85
	BadUserNameOrPassword               ReasonCode = 0x86
	NotAuthorized                       ReasonCode = 0x87
	ServerUnavailable                   ReasonCode = 0x88
	ServerBusy                          ReasonCode = 0x89
	Banned                              ReasonCode = 0x8A
	ServerShuttingDown                  ReasonCode = 0x8B
	BadAuthenticationMethod             ReasonCode = 0x8C
	KeepAliveTimeout                    ReasonCode = 0x8D
	SessionTakenOver                    ReasonCode = 0x8E
	TopicFilterInvalid                  ReasonCode = 0x8F
	TopicNameInvalid                    ReasonCode = 0x90
	PacketIdentifierInUse               ReasonCode = 0x91
	PacketIdentifierNotFound            ReasonCode = 0x92
	ReceiveMaximumExceeded              ReasonCode = 0x93
	TopicAliasInvalid                   ReasonCode = 0x94
	PacketTooLarge                      ReasonCode = 0x95
	MessageRateTooHigh                  ReasonCode = 0x96
	QuotaExceeded                       ReasonCode = 0x97
	AdministrativeAction                ReasonCode = 0x98
	PayloadFormatInvalid                ReasonCode = 0x99
	RetainNotSupported                  ReasonCode = 0x9A
	QoSNotSupported                     ReasonCode = 0x9B
	UseAnotherServer                    ReasonCode = 0x9C
	ServerMoved                         ReasonCode = 0x9D
	SharedSubscriptionsNotSupported     ReasonCode = 0x9E
	ConnectionRateExceeded              ReasonCode = 0x9F
	MaximumConnectTime                  ReasonCode = 0xA0
	SubscriptionIdentifiersNotSupported ReasonCode = 0xA1
	WildcardSubscriptionsNotSupported   ReasonCode = 0xA2
)

// MQTT 3.1 and 3.1.1 CONNACK return codes [MQTT-3.2.2.3] and the SUBACK
// failure code [MQTT-3.9.3].
const (
	ConnAccepted                     ReasonCode = 0x00
	ConnRefusedUnacceptableProtocol  ReasonCode = 0x01
	ConnRefusedIdentifierRejected    ReasonCode = 0x02
	ConnRefusedServerUnavailable     ReasonCode = 0x03
	ConnRefusedBadUserNameOrPassword ReasonCode = 0x04
	ConnRefusedNotAuthorized         ReasonCode = 0x05
	SubackFailure                    ReasonCode = 0x80
)

// reasonText holds the specification's name of each MQTT 5 reason code.
var reasonText = map[ReasonCode]string{
	0x00: "success",
	0x01: "granted QoS 1",
	0x02: "granted QoS 2",
	0x04: "disconnect with will message",
	0x10: "no matching subscribers",
	0x11: "no subscription existed",
	0x18: "continue authentication",
	0x19: "re-authenticate",
	0x80: "unspecified error",
	0x81: "malformed packet",
	0x82: "protocol error",
	0x83: "implementation specific error",
	0x84: "unsupported protocol version",
	0x85: "client identifier not valid",
	0x86: "bad user name or password",
	0x87: "not authorized",
	0x88: "server unavailable",
	0x89: "server busy",
	0x8A: "banned",
	0x8B: "server shutting down",
	0x8C: "bad authentication method",
	0x8D: "keep alive timeout",
	0x8E: "session taken over",
	0x8F: "topic filter invalid",
	0x90: "topic name invalid",
	0x91: "packet identifier in use",
	0x92: "packet identifier not found",
	0x93: "receive maximum exceeded",
	0x94: "topic alias invalid",
	0x95: "packet too large",
	0x96: "message rate too high",
	0x97: "quota exceeded",
	0x98: "administrative action",
	0x99: "payload format invalid",
	0x9A: "retain not supported",
	0x9B: "QoS not supported",
	0x9C: "use another server",
	0x9D: "server moved",
	0x9E: "shared subscriptions not supported",
	0x9F: "connection rate exceeded",
	0xA0: "maximum connect time",
	0xA1: "subscription identifiers not supported",
	0xA2: "wildcard subscriptions not supported",
}

// String returns the MQTT 5 name of the code in lower case, or its value in
// hexadecimal when the code has no name.
func (r ReasonCode) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	const hex = "0123456789abcdef"
	return "reason code 0x" + string([]byte{hex[r>>4], hex[r&15]})
}

// Error returns "mqtt: " followed by the code's MQTT 5 name.
func (r ReasonCode) Error() string { return "mqtt: " + r.String() }

// IsError reports whether r reports a failure (0x80 and above).
func (r ReasonCode) IsError() bool { return r >= 0x80 }

// ConnackV3 maps an MQTT 5 CONNACK reason code to the MQTT 3.1/3.1.1 return
// code with the closest meaning [MQTT-3.2.2.3]. Codes below 0x80 (including
// v3 return codes 0x01 to 0x05) are returned unchanged.
func ConnackV3(r ReasonCode) ReasonCode {
	switch {
	case r < 0x80:
		return r
	case r == UnsupportedProtocolVersion:
		return ConnRefusedUnacceptableProtocol
	case r == ClientIdentifierNotValid:
		return ConnRefusedIdentifierRejected
	case r == BadUserNameOrPassword || r == BadAuthenticationMethod:
		return ConnRefusedBadUserNameOrPassword
	case r == NotAuthorized || r == Banned:
		return ConnRefusedNotAuthorized
	}
	return ConnRefusedServerUnavailable
}
