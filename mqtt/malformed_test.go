package mqtt

import (
	"errors"
	"testing"
)

// malformed is a complete frame that breaks one rule of the specification,
// and the reason code (and error) the decoders must report for it.
type malformed struct {
	name string
	v    Version
	raw  []byte
	code ReasonCode
	err  error // the sentinel, or nil when the code itself is returned
}

var malformedTests = []malformed{
	// ---- fixed header ----
	{"frame/five-byte-length", V5, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, MalformedPacket, ErrVarint},
	{"frame/non-minimal-length", V311, []byte{0xc0, 0x80, 0x00}, MalformedPacket, ErrVarint},
	{"frame/reserved-type-0", V311, []byte{0x00, 0x00}, MalformedPacket, ErrPacketType},
	{"publish/qos3", V311, []byte{0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}, MalformedPacket, ErrQoS},
	{"publish/dup-qos0", V311, []byte{0x38, 0x03, 0x00, 0x01, 't'}, MalformedPacket, ErrDupQoS0},
	{"connect/flags", V311, []byte{0x11, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0}, MalformedPacket, ErrFlags},
	{"connack/flags", V311, []byte{0x28, 0x02, 0x00, 0x00}, MalformedPacket, ErrFlags},
	{"puback/flags", V311, []byte{0x41, 0x02, 0x00, 0x01}, MalformedPacket, ErrFlags},
	{"pubrec/flags", V311, []byte{0x52, 0x02, 0x00, 0x01}, MalformedPacket, ErrFlags},
	{"pubrel/flags-0000", V311, []byte{0x60, 0x02, 0x00, 0x01}, MalformedPacket, ErrFlags},
	{"pubcomp/flags", V5, []byte{0x72, 0x02, 0x00, 0x01}, MalformedPacket, ErrFlags},
	{"subscribe/flags-0000", V311, []byte{0x80, 0x06, 0x00, 0x01, 0x00, 0x01, '#', 0x00}, MalformedPacket, ErrFlags},
	{"suback/flags", V311, []byte{0x92, 0x03, 0x00, 0x01, 0x00}, MalformedPacket, ErrFlags},
	{"unsubscribe/flags-0011", V311, []byte{0xa3, 0x05, 0x00, 0x01, 0x00, 0x01, '#'}, MalformedPacket, ErrFlags},
	{"unsuback/flags", V311, []byte{0xb1, 0x02, 0x00, 0x01}, MalformedPacket, ErrFlags},
	{"pingreq/flags", V311, []byte{0xc1, 0x00}, MalformedPacket, ErrFlags},
	{"pingresp/flags", V311, []byte{0xd8, 0x00}, MalformedPacket, ErrFlags},
	{"disconnect/flags", V5, []byte{0xe4, 0x00}, MalformedPacket, ErrFlags},
	{"auth/flags", V5, []byte{0xf1, 0x00}, MalformedPacket, ErrFlags},
	{"auth/before-v5", V311, []byte{0xf0, 0x00}, MalformedPacket, ErrPacketType},

	// ---- strings and lengths ----
	{"publish/truncated-topic", V311, []byte{0x30, 0x02, 0x00, 0x05}, MalformedPacket, ErrTruncated},
	{"publish/truncated-packet-id", V311, []byte{0x32, 0x04, 0x00, 0x01, 't', 0x00}, MalformedPacket, ErrTruncated},
	{"publish/nul-in-topic", V311, []byte{0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'}, MalformedPacket, ErrUTF8},
	{"publish/ill-formed-utf8", V311, []byte{0x30, 0x04, 0x00, 0x02, 0xc3, 0x28}, MalformedPacket, ErrUTF8},
	{"publish/surrogate", V5, []byte{0x30, 0x06, 0x00, 0x03, 0xed, 0xa0, 0x80, 0x00}, MalformedPacket, ErrUTF8},
	{"publish/user-property-bad-utf8", V5, []byte{0x30, 0x0b, 0x00, 0x01, 't', 0x07, 0x26, 0x00, 0x01, 0xff, 0x00, 0x01, 'v'}, MalformedPacket, ErrUTF8},
	{"pingreq/body", V311, []byte{0xc0, 0x01, 0x00}, MalformedPacket, ErrTrailing},
	{"pingresp/body", V5, []byte{0xd0, 0x01, 0x00}, MalformedPacket, ErrTrailing},

	// ---- topic names and packet identifiers ----
	{"publish/wildcard-topic", V311, []byte{0x30, 0x03, 0x00, 0x01, '#'}, TopicNameInvalid, nil},
	{"publish/plus-topic", V5, []byte{0x30, 0x06, 0x00, 0x03, 'a', '/', '+', 0x00}, TopicNameInvalid, nil},
	{"publish/empty-topic-v3", V311, []byte{0x30, 0x02, 0x00, 0x00}, TopicNameInvalid, nil},
	{"publish/empty-topic-v5-no-alias", V5, []byte{0x30, 0x03, 0x00, 0x00, 0x00}, ProtocolError, ErrEmptyTopic},
	{"publish/packet-id-0", V311, []byte{0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"puback/packet-id-0", V311, []byte{0x40, 0x02, 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"pubrec/packet-id-0", V5, []byte{0x50, 0x02, 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"pubrel/packet-id-0", V5, []byte{0x62, 0x02, 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"pubcomp/packet-id-0", V311, []byte{0x70, 0x02, 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"subscribe/packet-id-0", V311, []byte{0x82, 0x06, 0x00, 0x00, 0x00, 0x01, '#', 0x00}, ProtocolError, ErrPacketID},
	{"suback/packet-id-0", V311, []byte{0x90, 0x03, 0x00, 0x00, 0x00}, ProtocolError, ErrPacketID},
	{"unsubscribe/packet-id-0", V5, []byte{0xa2, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, '#'}, ProtocolError, ErrPacketID},
	{"unsuback/packet-id-0", V311, []byte{0xb0, 0x02, 0x00, 0x00}, ProtocolError, ErrPacketID},

	// ---- properties ----
	{"publish/unknown-property", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x7f, 0x00}, MalformedPacket, ErrPropertyID},
	{"publish/property-id-0x04", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x04, 0x00}, MalformedPacket, ErrPropertyID},
	{"publish/property-not-allowed", V5, []byte{0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}, MalformedPacket, ErrPropertyNotAllowed},
	{"publish/duplicate-message-expiry", V5, []byte{0x30, 0x0e, 0x00, 0x01, 't', 0x0a,
		0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02}, ProtocolError, ErrPropertyDuplicate},
	{"publish/duplicate-topic-alias", V5, []byte{0x30, 0x0a, 0x00, 0x01, 't', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02}, ProtocolError, ErrPropertyDuplicate},
	{"publish/property-length-beyond-body", V5, []byte{0x30, 0x05, 0x00, 0x01, 't', 0x05, 0x01}, MalformedPacket, ErrTruncated},
	{"publish/property-value-truncated", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x02, 0x00}, MalformedPacket, ErrTruncated},
	{"publish/property-length-bad-varint", V5, []byte{0x30, 0x05, 0x00, 0x01, 't', 0x80, 0x00}, MalformedPacket, ErrVarint},
	{"publish/subscription-id-truncated", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x0b, 0x80}, MalformedPacket, ErrTruncated},
	{"publish/subscription-id-five-bytes", V5, []byte{0x30, 0x0a, 0x00, 0x01, 't', 0x06, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x01}, MalformedPacket, ErrVarint},
	{"publish/user-property-value-truncated", V5, []byte{0x30, 0x0a, 0x00, 0x01, 't', 0x06, 0x26, 0x00, 0x01, 'k', 0x00, 0x05}, MalformedPacket, ErrTruncated},
	{"publish/payload-format-2", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x01, 0x02}, ProtocolError, ErrPropertyValue},
	{"publish/subscription-id-0", V5, []byte{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x0b, 0x00}, ProtocolError, ErrPropertyValue},
	{"publish/topic-alias-0", V5, []byte{0x30, 0x07, 0x00, 0x01, 't', 0x03, 0x23, 0x00, 0x00}, TopicAliasInvalid, ErrTopicAlias},
	{"publish/response-topic-wildcard", V5, []byte{0x30, 0x08, 0x00, 0x01, 't', 0x04, 0x08, 0x00, 0x01, '#'}, TopicNameInvalid, nil},
	{"puback/property-not-allowed", V5, []byte{0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01}, MalformedPacket, ErrPropertyNotAllowed},
	{"puback/duplicate-reason-string", V5, []byte{0x40, 0x0c, 0x00, 0x01, 0x00, 0x08,
		0x1f, 0x00, 0x01, 'a', 0x1f, 0x00, 0x01, 'b'}, ProtocolError, ErrPropertyDuplicate},
	{"subscribe/two-subscription-ids", V5, []byte{0x82, 0x0b, 0x00, 0x01, 0x04, 0x0b, 0x01, 0x0b, 0x02,
		0x00, 0x01, '#', 0x00}, ProtocolError, ErrPropertyDuplicate},
	{"unsubscribe/subscription-id-not-allowed", V5, []byte{0xa2, 0x08, 0x00, 0x01, 0x02, 0x0b, 0x01, 0x00, 0x01, '#'}, MalformedPacket, ErrPropertyNotAllowed},
	{"disconnect/property-not-allowed", V5, []byte{0xe0, 0x05, 0x00, 0x03, 0x21, 0x00, 0x01}, MalformedPacket, ErrPropertyNotAllowed},
	{"disconnect/trailing-after-properties", V5, []byte{0xe0, 0x03, 0x00, 0x00, 0x00}, MalformedPacket, ErrTrailing},
	{"connack/maximum-qos-2", V5, []byte{0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02}, ProtocolError, ErrPropertyValue},
	{"connack/retain-available-2", V5, []byte{0x20, 0x05, 0x00, 0x00, 0x02, 0x25, 0x02}, ProtocolError, ErrPropertyValue},
	{"connack/receive-maximum-0", V5, []byte{0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00}, ProtocolError, ErrPropertyValue},
	{"connack/auth-data-without-method", V5, []byte{0x20, 0x07, 0x00, 0x00, 0x04, 0x16, 0x00, 0x01, 0x01}, ProtocolError, ErrAuthData},
	{"auth/auth-data-without-method", V5, []byte{0xf0, 0x06, 0x18, 0x04, 0x16, 0x00, 0x01, 0x01}, ProtocolError, ErrAuthData},
	{"auth/property-not-allowed", V5, []byte{0xf0, 0x04, 0x18, 0x02, 0x24, 0x01}, MalformedPacket, ErrPropertyNotAllowed},

	// ---- CONNECT ----
	{"connect/protocol-name", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'X', 4, 2, 0, 0, 0, 0}, ProtocolError, ErrProtocolName},
	{"connect/level-6", V5, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 0, 0, 0}, UnsupportedProtocolVersion, ErrProtocolVersion},
	{"connect/level-3-with-MQTT", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 0, 0, 0}, UnsupportedProtocolVersion, ErrProtocolVersion},
	{"connect/MQIsdp-level-4", V31, []byte{0x10, 0x0f, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 2, 0, 0, 0, 1, 'a'}, UnsupportedProtocolVersion, ErrProtocolVersion},
	{"connect/reserved-flag", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 0, 0, 0}, MalformedPacket, ErrConnectReserved},
	{"connect/will-qos-without-will", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0a, 0, 0, 0, 0}, MalformedPacket, ErrWillFlags},
	{"connect/will-retain-without-will", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x22, 0, 0, 0, 0}, MalformedPacket, ErrWillFlags},
	{"connect/will-qos-3", V311, []byte{0x10, 0x12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1e, 0, 0, 0, 0,
		0, 1, 't', 0, 1, 'x'}, MalformedPacket, ErrQoS},
	{"connect/password-without-user-v3.1.1", V311, []byte{0x10, 0x0f, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 0, 0, 0,
		0, 1, 'p'}, MalformedPacket, ErrPasswordFlag},
	{"connect/password-without-user-v3.1", V31, []byte{0x10, 0x12, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x42, 0, 0, 0, 1, 'a',
		0, 1, 'p'}, MalformedPacket, ErrPasswordFlag},
	{"connect/v3.1-empty-client-id", V31, []byte{0x10, 0x0e, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 0, 0, 0}, ClientIdentifierNotValid, ErrClientID},
	{"connect/v3.1-client-id-24-bytes", V31, append([]byte{0x10, 0x26, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 0, 0, 24},
		b("abcdefghijklmnopqrstuvwx")...), ClientIdentifierNotValid, ErrClientID},
	{"connect/v3.1.1-empty-client-id-persistent", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 0}, ClientIdentifierNotValid, ErrClientID},
	{"connect/trailing-bytes", V311, []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0, 0xff}, MalformedPacket, ErrTrailing},
	{"connect/missing-user-name", V311, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x82, 0, 0, 0, 0}, MalformedPacket, ErrTruncated},
	{"connect/will-topic-wildcard", V311, []byte{0x10, 0x12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x06, 0, 0, 0, 0,
		0, 1, '+', 0, 1, 'x'}, TopicNameInvalid, nil},
	{"connect/client-id-nul", V311, []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 1, 0}, MalformedPacket, ErrUTF8},
	{"connect/v5-auth-data-without-method", V5, []byte{0x10, 0x11, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0,
		0x04, 0x16, 0x00, 0x01, 0x01, 0, 0}, ProtocolError, ErrAuthData},
	{"connect/v5-receive-maximum-0", V5, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0,
		0x03, 0x21, 0x00, 0x00, 0, 0}, ProtocolError, ErrPropertyValue},
	{"connect/v5-maximum-packet-size-0", V5, []byte{0x10, 0x12, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0,
		0x05, 0x27, 0, 0, 0, 0, 0, 0}, ProtocolError, ErrPropertyValue},
	{"connect/v5-request-problem-info-2", V5, []byte{0x10, 0x0f, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0,
		0x02, 0x17, 0x02, 0, 0}, ProtocolError, ErrPropertyValue},
	{"connect/v5-will-delay-outside-will", V5, []byte{0x10, 0x12, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0,
		0x05, 0x18, 0, 0, 0, 1, 0, 0}, MalformedPacket, ErrPropertyNotAllowed},
	{"connect/v5-topic-alias-in-will", V5, []byte{0x10, 0x16, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x06, 0, 0, 0x00, 0, 0,
		0x03, 0x23, 0x00, 0x01, 0, 1, 't', 0, 0}, MalformedPacket, ErrPropertyNotAllowed},

	// ---- CONNACK ----
	{"connack/reserved-ack-flags", V311, []byte{0x20, 0x02, 0x02, 0x00}, MalformedPacket, ErrConnackFlags},
	{"connack/session-present-refused-v3", V311, []byte{0x20, 0x02, 0x01, 0x05}, MalformedPacket, ErrConnackFlags},
	{"connack/session-present-refused-v5", V5, []byte{0x20, 0x03, 0x01, 0x87, 0x00}, MalformedPacket, ErrConnackFlags},
	{"connack/return-code-6", V311, []byte{0x20, 0x02, 0x00, 0x06}, MalformedPacket, ErrReasonCode},
	{"connack/v5-reason-0x01", V5, []byte{0x20, 0x03, 0x00, 0x01, 0x00}, MalformedPacket, ErrReasonCode},
	{"connack/v3-trailing", V311, []byte{0x20, 0x03, 0x00, 0x00, 0x00}, MalformedPacket, ErrTrailing},
	{"connack/truncated", V311, []byte{0x20, 0x01, 0x00}, MalformedPacket, ErrTruncated},

	// ---- acknowledgements ----
	{"puback/v3-trailing", V311, []byte{0x40, 0x03, 0x00, 0x01, 0x00}, MalformedPacket, ErrTrailing},
	{"puback/truncated", V5, []byte{0x40, 0x01, 0x00}, MalformedPacket, ErrTruncated},
	{"puback/v5-reason-0x92", V5, []byte{0x40, 0x03, 0x00, 0x01, 0x92}, MalformedPacket, ErrReasonCode},
	{"pubrec/v5-reason-0x04", V5, []byte{0x50, 0x03, 0x00, 0x01, 0x04}, MalformedPacket, ErrReasonCode},
	{"pubrel/v5-reason-0x10", V5, []byte{0x62, 0x03, 0x00, 0x01, 0x10}, MalformedPacket, ErrReasonCode},
	{"pubcomp/v5-reason-0x80", V5, []byte{0x70, 0x03, 0x00, 0x01, 0x80}, MalformedPacket, ErrReasonCode},
	{"pubcomp/v5-trailing", V5, []byte{0x70, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}, MalformedPacket, ErrTrailing},

	// ---- SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK ----
	{"subscribe/no-filters-v3", V311, []byte{0x82, 0x02, 0x00, 0x01}, ProtocolError, ErrNoTopics},
	{"subscribe/no-filters-v5", V5, []byte{0x82, 0x03, 0x00, 0x01, 0x00}, ProtocolError, ErrNoTopics},
	{"subscribe/missing-options", V311, []byte{0x82, 0x05, 0x00, 0x01, 0x00, 0x01, '#'}, MalformedPacket, ErrTruncated},
	{"subscribe/v3-reserved-option-bits", V311, []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, '#', 0x04}, MalformedPacket, ErrSubOptions},
	{"subscribe/v5-reserved-option-bits", V5, []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, '#', 0x40}, MalformedPacket, ErrSubOptions},
	{"subscribe/qos3", V311, []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, '#', 0x03}, MalformedPacket, ErrQoS},
	{"subscribe/retain-handling-3", V5, []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, '#', 0x30}, ProtocolError, ErrRetainHandling},
	{"subscribe/shared-no-local", V5, []byte{0x82, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0a,
		'$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't', 0x04}, ProtocolError, ErrSharedNoLocal},
	{"subscribe/invalid-filter", V311, []byte{0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00}, TopicFilterInvalid, nil},
	{"subscribe/empty-filter", V311, []byte{0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}, TopicFilterInvalid, nil},
	{"subscribe/filter-bad-utf8", V311, []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0xff, 0x00}, MalformedPacket, ErrUTF8},
	{"suback/no-codes", V311, []byte{0x90, 0x02, 0x00, 0x01}, ProtocolError, ErrNoReasonCodes},
	{"suback/v3-code-3", V311, []byte{0x90, 0x03, 0x00, 0x01, 0x03}, MalformedPacket, ErrReasonCode},
	{"suback/v3-code-0x87", V311, []byte{0x90, 0x03, 0x00, 0x01, 0x87}, MalformedPacket, ErrReasonCode},
	{"suback/v5-code-0x11", V5, []byte{0x90, 0x04, 0x00, 0x01, 0x00, 0x11}, MalformedPacket, ErrReasonCode},
	{"unsubscribe/no-filters", V311, []byte{0xa2, 0x02, 0x00, 0x01}, ProtocolError, ErrNoTopics},
	{"unsubscribe/invalid-filter", V5, []byte{0xa2, 0x07, 0x00, 0x01, 0x00, 0x00, 0x02, 'a', '+'}, TopicFilterInvalid, nil},
	{"unsubscribe/truncated-filter", V311, []byte{0xa2, 0x05, 0x00, 0x01, 0x00, 0x05, 'a'}, MalformedPacket, ErrTruncated},
	{"unsuback/v3-trailing", V311, []byte{0xb0, 0x03, 0x00, 0x01, 0x00}, MalformedPacket, ErrTrailing},
	{"unsuback/v5-no-codes", V5, []byte{0xb0, 0x03, 0x00, 0x01, 0x00}, ProtocolError, ErrNoReasonCodes},
	{"unsuback/v5-code-0x01", V5, []byte{0xb0, 0x04, 0x00, 0x01, 0x00, 0x01}, MalformedPacket, ErrReasonCode},

	// ---- DISCONNECT, AUTH ----
	{"disconnect/v3-body", V311, []byte{0xe0, 0x01, 0x00}, MalformedPacket, ErrTrailing},
	{"disconnect/v5-reason-0x01", V5, []byte{0xe0, 0x01, 0x01}, MalformedPacket, ErrReasonCode},
	{"disconnect/v5-reason-0x84", V5, []byte{0xe0, 0x01, 0x84}, MalformedPacket, ErrReasonCode},
	{"auth/reason-0x87", V5, []byte{0xf0, 0x01, 0x87}, MalformedPacket, ErrReasonCode},
}

func TestMalformed(t *testing.T) {
	for _, tc := range malformedTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeFrame(tc.raw, tc.v, 0)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if got := Code(err); got != tc.code {
				t.Fatalf("code = %#x (%v), want %#x (%v); err %v", byte(got), got, byte(tc.code), tc.code, err)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestPacketTooLargeBeforeBody checks that an oversized packet is refused
// when only its fixed header has arrived.
func TestPacketTooLargeBeforeBody(t *testing.T) {
	header := AppendVarint([]byte{0x30}, 1000)
	for _, max := range []int{100, 1000 + len(header) - 1} {
		_, n, err := Frame(header, max)
		if n != 0 || err != ErrPacketTooLarge || Code(err) != PacketTooLarge {
			t.Fatalf("max %d: Frame = %d, %v; want PacketTooLarge", max, n, err)
		}
	}
	if _, n, err := Frame(header, 1000+len(header)); n != 0 || err != nil {
		t.Fatalf("exact max: Frame = %d, %v; want need more", n, err)
	}
}
