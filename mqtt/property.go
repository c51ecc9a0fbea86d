package mqtt

import (
	"encoding/binary"
	"math/bits"
)

// PropertyID identifies an MQTT 5 property [MQTT-2.2.2.2].
type PropertyID byte

// MQTT 5 property identifiers.
const (
	PropPayloadFormat        PropertyID = 0x01 // byte; PUBLISH, will
	PropMessageExpiry        PropertyID = 0x02 // four-byte integer; PUBLISH, will
	PropContentType          PropertyID = 0x03 // UTF-8 string; PUBLISH, will
	PropResponseTopic        PropertyID = 0x08 // UTF-8 string; PUBLISH, will
	PropCorrelationData      PropertyID = 0x09 // binary data; PUBLISH, will
	PropSubscriptionID       PropertyID = 0x0B // variable byte integer; PUBLISH, SUBSCRIBE
	PropSessionExpiry        PropertyID = 0x11 // four-byte integer; CONNECT, CONNACK, DISCONNECT
	PropAssignedClientID     PropertyID = 0x12 // UTF-8 string; CONNACK
	PropServerKeepAlive      PropertyID = 0x13 // two-byte integer; CONNACK
	PropAuthMethod           PropertyID = 0x15 // UTF-8 string; CONNECT, CONNACK, AUTH
	PropAuthData             PropertyID = 0x16 // binary data; CONNECT, CONNACK, AUTH
	PropRequestProblemInfo   PropertyID = 0x17 // byte; CONNECT
	PropWillDelay            PropertyID = 0x18 // four-byte integer; will
	PropRequestResponseInfo  PropertyID = 0x19 // byte; CONNECT
	PropResponseInfo         PropertyID = 0x1A // UTF-8 string; CONNACK
	PropServerReference      PropertyID = 0x1C // UTF-8 string; CONNACK, DISCONNECT
	PropReasonString         PropertyID = 0x1F // UTF-8 string; acknowledgements, DISCONNECT, AUTH
	PropReceiveMaximum       PropertyID = 0x21 // two-byte integer; CONNECT, CONNACK
	PropTopicAliasMaximum    PropertyID = 0x22 // two-byte integer; CONNECT, CONNACK
	PropTopicAlias           PropertyID = 0x23 // two-byte integer; PUBLISH
	PropMaximumQoS           PropertyID = 0x24 // byte; CONNACK
	PropRetainAvailable      PropertyID = 0x25 // byte; CONNACK
	PropUserProperty         PropertyID = 0x26 // UTF-8 string pair; every packet with properties
	PropMaximumPacketSize    PropertyID = 0x27 // four-byte integer; CONNECT, CONNACK
	PropWildcardSubAvailable PropertyID = 0x28 // byte; CONNACK
	PropSubIDAvailable       PropertyID = 0x29 // byte; CONNACK
	PropSharedSubAvailable   PropertyID = 0x2A // byte; CONNACK
)

// propKind is the data type of a property's value [MQTT-1.5].
type propKind byte

const (
	kindNone propKind = iota
	kindByte
	kindUint16
	kindUint32
	kindVarint
	kindString
	kindBinary
	kindPair
)

// targetWill stands for the will properties of a CONNECT in the allow-list;
// the other targets are packet types, and type 0 is reserved.
const targetWill = 0

// propInfo is the data type of a property and the packets that may carry it.
type propInfo struct {
	kind propKind
	// on has bit 1<<PacketType for each packet that may carry the property
	// and bit 1<<targetWill if the will properties may.
	on uint32
}

func on(ts ...PacketType) uint32 {
	var m uint32
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

// acks are the packets whose properties are a reason string and user
// properties only.
var acks = on(TypePuback, TypePubrec, TypePubrel, TypePubcomp, TypeSuback, TypeUnsuback)

// propTable is the property table of [MQTT-2.2.2.2].
var propTable = [PropSharedSubAvailable + 1]propInfo{
	PropPayloadFormat:        {kindByte, on(TypePublish, targetWill)},
	PropMessageExpiry:        {kindUint32, on(TypePublish, targetWill)},
	PropContentType:          {kindString, on(TypePublish, targetWill)},
	PropResponseTopic:        {kindString, on(TypePublish, targetWill)},
	PropCorrelationData:      {kindBinary, on(TypePublish, targetWill)},
	PropSubscriptionID:       {kindVarint, on(TypePublish, TypeSubscribe)},
	PropSessionExpiry:        {kindUint32, on(TypeConnect, TypeConnack, TypeDisconnect)},
	PropAssignedClientID:     {kindString, on(TypeConnack)},
	PropServerKeepAlive:      {kindUint16, on(TypeConnack)},
	PropAuthMethod:           {kindString, on(TypeConnect, TypeConnack, TypeAuth)},
	PropAuthData:             {kindBinary, on(TypeConnect, TypeConnack, TypeAuth)},
	PropRequestProblemInfo:   {kindByte, on(TypeConnect)},
	PropWillDelay:            {kindUint32, on(targetWill)},
	PropRequestResponseInfo:  {kindByte, on(TypeConnect)},
	PropResponseInfo:         {kindString, on(TypeConnack)},
	PropServerReference:      {kindString, on(TypeConnack, TypeDisconnect)},
	PropReasonString:         {kindString, acks | on(TypeConnack, TypeDisconnect, TypeAuth)},
	PropReceiveMaximum:       {kindUint16, on(TypeConnect, TypeConnack)},
	PropTopicAliasMaximum:    {kindUint16, on(TypeConnect, TypeConnack)},
	PropTopicAlias:           {kindUint16, on(TypePublish)},
	PropMaximumQoS:           {kindByte, on(TypeConnack)},
	PropRetainAvailable:      {kindByte, on(TypeConnack)},
	PropUserProperty:         {kindPair, acks | on(targetWill, TypeConnect, TypeConnack, TypePublish, TypeSubscribe, TypeUnsubscribe, TypeDisconnect, TypeAuth)},
	PropMaximumPacketSize:    {kindUint32, on(TypeConnect, TypeConnack)},
	PropWildcardSubAvailable: {kindByte, on(TypeConnack)},
	PropSubIDAvailable:       {kindByte, on(TypeConnack)},
	PropSharedSubAvailable:   {kindByte, on(TypeConnack)},
}

// allowedSet[target] has bit 1<<id for each property the target may carry.
var allowedSet = func() (s [16]uint64) {
	for id, info := range propTable {
		for t := range s {
			if info.on&(1<<t) != 0 {
				s[t] |= 1 << id
			}
		}
	}
	return s
}()

// PropertySet is a set of property identifiers, one bit per identifier.
type PropertySet uint64

// Has reports whether id is in the set.
func (s PropertySet) Has(id PropertyID) bool { return id < 64 && s&(1<<id) != 0 }

// Add adds id to the set.
func (s *PropertySet) Add(id PropertyID) { *s |= 1 << (id & 63) }

// Remove removes id from the set.
func (s *PropertySet) Remove(id PropertyID) { *s &^= 1 << (id & 63) }

// UserProperty is one name/value pair of the User Property (0x26).
type UserProperty struct {
	Key, Value []byte
}

// Properties holds every MQTT 5 property. A single-valued property is
// present when its identifier is in Present; the typed field then holds its
// value. User properties keep their order, and PUBLISH may carry several
// subscription identifiers; both are present when their slice is not empty.
//
// Decoding sets Present and the fields; the byte slices alias the decoded
// packet's body. Encoding writes the properties in Present (and the slices)
// that the packet being encoded may carry, in identifier order, and skips
// the rest, so the properties of a will may be reused for the PUBLISH that
// delivers it.
type Properties struct {
	// Present holds the single-valued properties that are present.
	Present PropertySet

	PayloadFormat        byte   // 0x01: 0 unspecified bytes, 1 UTF-8
	MessageExpiry        uint32 // 0x02: seconds
	ContentType          []byte // 0x03
	ResponseTopic        []byte // 0x08
	CorrelationData      []byte // 0x09
	SessionExpiry        uint32 // 0x11: seconds
	AssignedClientID     []byte // 0x12
	ServerKeepAlive      uint16 // 0x13: seconds
	AuthMethod           []byte // 0x15
	AuthData             []byte // 0x16
	RequestProblemInfo   byte   // 0x17: 0 or 1
	WillDelay            uint32 // 0x18: seconds
	RequestResponseInfo  byte   // 0x19: 0 or 1
	ResponseInfo         []byte // 0x1A
	ServerReference      []byte // 0x1C
	ReasonString         []byte // 0x1F
	ReceiveMaximum       uint16 // 0x21: non-zero
	TopicAliasMaximum    uint16 // 0x22
	TopicAlias           uint16 // 0x23: non-zero
	MaximumQoS           byte   // 0x24: 0 or 1
	RetainAvailable      byte   // 0x25: 0 or 1
	MaximumPacketSize    uint32 // 0x27: non-zero
	WildcardSubAvailable byte   // 0x28: 0 or 1
	SubIDAvailable       byte   // 0x29: 0 or 1
	SharedSubAvailable   byte   // 0x2A: 0 or 1

	// SubscriptionIDs holds the Subscription Identifiers (0x0B) in order;
	// SUBSCRIBE carries at most one, PUBLISH any number.
	SubscriptionIDs []uint32
	// User holds the User Properties (0x26) in order.
	User []UserProperty
}

// Has reports whether property id is present.
func (p *Properties) Has(id PropertyID) bool {
	switch id {
	case PropUserProperty:
		return len(p.User) > 0
	case PropSubscriptionID:
		return len(p.SubscriptionIDs) > 0
	}
	return p.Present.Has(id)
}

// Reset empties p and keeps the capacity of its slices.
func (p *Properties) Reset() {
	*p = Properties{SubscriptionIDs: p.SubscriptionIDs[:0], User: p.User[:0]}
}

// decodeProperties resets p and decodes the property length and properties
// at the start of b for the given target (a packet type or targetWill). It
// returns the number of bytes used.
func (p *Properties) decode(b []byte, target int) (int, error) {
	p.Reset()
	l, n, err := ReadVarint(b)
	if err != nil {
		return 0, err
	}
	if n == 0 || len(b)-n < l {
		return 0, ErrTruncated
	}
	r := reader{b: b[n : n+l]}
	var seen uint64
	for r.i < len(r.b) {
		c := r.b[r.i]
		r.i++
		// Identifiers are variable byte integers but all defined ones fit in
		// one byte, so a continuation bit means an unknown identifier.
		if int(c) >= len(propTable) || propTable[c].kind == kindNone {
			return 0, ErrPropertyID
		}
		id := PropertyID(c)
		info := propTable[id]
		if info.on&(1<<target) == 0 {
			return 0, ErrPropertyNotAllowed
		}
		if seen&(1<<id) != 0 && id != PropUserProperty && !(id == PropSubscriptionID && target == int(TypePublish)) {
			return 0, ErrPropertyDuplicate
		}
		seen |= 1 << id
		if err := p.decodeValue(&r, id, info.kind); err != nil {
			return 0, err
		}
	}
	return n + l, nil
}

// decodeValue reads the value of property id from r into p.
func (p *Properties) decodeValue(r *reader, id PropertyID, kind propKind) error {
	var (
		u   uint32
		s   []byte
		err error
	)
	switch kind {
	case kindByte:
		var c byte
		c, err = r.byte()
		u = uint32(c)
		if err == nil && c > 1 {
			err = ErrPropertyValue // every byte property is 0 or 1
		}
	case kindUint16:
		var v uint16
		v, err = r.uint16()
		u = uint32(v)
	case kindUint32:
		u, err = r.uint32()
	case kindVarint:
		var v int
		v, err = r.varint()
		u = uint32(v)
	case kindString:
		s, err = r.str()
	case kindBinary:
		s, err = r.binary()
	case kindPair:
		var k, v []byte
		if k, err = r.str(); err != nil {
			return err
		}
		if v, err = r.str(); err != nil {
			return err
		}
		p.User = append(p.User, UserProperty{Key: k, Value: v})
		return nil
	}
	if err != nil {
		return err
	}
	p.Present.Add(id)
	switch id {
	case PropPayloadFormat:
		p.PayloadFormat = byte(u)
	case PropMessageExpiry:
		p.MessageExpiry = u
	case PropContentType:
		p.ContentType = s
	case PropResponseTopic:
		// [MQTT-3.3.2-14] the response topic is a topic name.
		if !plainTopicName(s) {
			if err := ValidTopicName(s); err != nil {
				return err
			}
		}
		p.ResponseTopic = s
	case PropCorrelationData:
		p.CorrelationData = s
	case PropSubscriptionID:
		if u == 0 {
			return ErrPropertyValue // [MQTT-3.8.2.1.2] 1 to 268,435,455
		}
		p.Present.Remove(id)
		p.SubscriptionIDs = append(p.SubscriptionIDs, u)
	case PropSessionExpiry:
		p.SessionExpiry = u
	case PropAssignedClientID:
		p.AssignedClientID = s
	case PropServerKeepAlive:
		p.ServerKeepAlive = uint16(u)
	case PropAuthMethod:
		p.AuthMethod = s
	case PropAuthData:
		p.AuthData = s
	case PropRequestProblemInfo:
		p.RequestProblemInfo = byte(u)
	case PropWillDelay:
		p.WillDelay = u
	case PropRequestResponseInfo:
		p.RequestResponseInfo = byte(u)
	case PropResponseInfo:
		p.ResponseInfo = s
	case PropServerReference:
		p.ServerReference = s
	case PropReasonString:
		p.ReasonString = s
	case PropReceiveMaximum:
		if u == 0 {
			return ErrPropertyValue // [MQTT-3.1.2.11.3] [MQTT-3.2.2.3.3]
		}
		p.ReceiveMaximum = uint16(u)
	case PropTopicAliasMaximum:
		p.TopicAliasMaximum = uint16(u)
	case PropTopicAlias:
		if u == 0 {
			return ErrTopicAlias // [MQTT-3.3.2-8]
		}
		p.TopicAlias = uint16(u)
	case PropMaximumQoS:
		p.MaximumQoS = byte(u)
	case PropRetainAvailable:
		p.RetainAvailable = byte(u)
	case PropMaximumPacketSize:
		if u == 0 {
			return ErrPropertyValue // [MQTT-3.1.2.11.4] [MQTT-3.2.2.3.6]
		}
		p.MaximumPacketSize = u
	case PropWildcardSubAvailable:
		p.WildcardSubAvailable = byte(u)
	case PropSubIDAvailable:
		p.SubIDAvailable = byte(u)
	case PropSharedSubAvailable:
		p.SharedSubAvailable = byte(u)
	}
	return nil
}

// present returns the single-valued properties of p that target may carry.
func (p *Properties) present(target int) uint64 {
	return uint64(p.Present) & allowedSet[target] &^ (1<<PropUserProperty | 1<<PropSubscriptionID)
}

// len returns the length of the encoded properties for target, without the
// property length in front of them.
func (p *Properties) len(target int) int {
	n := 0
	for set := p.present(target); set != 0; set &= set - 1 {
		id := PropertyID(bits.TrailingZeros64(set))
		n++
		switch propTable[id].kind {
		case kindByte:
			n++
		case kindUint16:
			n += 2
		case kindUint32:
			n += 4
		case kindString, kindBinary:
			n += 2 + len(p.bytesOf(id))
		}
	}
	if allowedSet[target]&(1<<PropSubscriptionID) != 0 {
		for _, v := range p.SubscriptionIDs {
			n += 1 + VarintLen(int(v))
		}
	}
	if allowedSet[target]&(1<<PropUserProperty) != 0 {
		for _, u := range p.User {
			n += 5 + len(u.Key) + len(u.Value)
		}
	}
	return n
}

// bytesOf returns the value of a string or binary property.
func (p *Properties) bytesOf(id PropertyID) []byte {
	switch id {
	case PropContentType:
		return p.ContentType
	case PropResponseTopic:
		return p.ResponseTopic
	case PropCorrelationData:
		return p.CorrelationData
	case PropAssignedClientID:
		return p.AssignedClientID
	case PropAuthMethod:
		return p.AuthMethod
	case PropAuthData:
		return p.AuthData
	case PropResponseInfo:
		return p.ResponseInfo
	case PropServerReference:
		return p.ServerReference
	case PropReasonString:
		return p.ReasonString
	}
	return nil
}

// intOf returns the value of an integer property.
func (p *Properties) intOf(id PropertyID) uint32 {
	switch id {
	case PropPayloadFormat:
		return uint32(p.PayloadFormat)
	case PropMessageExpiry:
		return p.MessageExpiry
	case PropSessionExpiry:
		return p.SessionExpiry
	case PropServerKeepAlive:
		return uint32(p.ServerKeepAlive)
	case PropRequestProblemInfo:
		return uint32(p.RequestProblemInfo)
	case PropWillDelay:
		return p.WillDelay
	case PropRequestResponseInfo:
		return uint32(p.RequestResponseInfo)
	case PropReceiveMaximum:
		return uint32(p.ReceiveMaximum)
	case PropTopicAliasMaximum:
		return uint32(p.TopicAliasMaximum)
	case PropTopicAlias:
		return uint32(p.TopicAlias)
	case PropMaximumQoS:
		return uint32(p.MaximumQoS)
	case PropRetainAvailable:
		return uint32(p.RetainAvailable)
	case PropMaximumPacketSize:
		return p.MaximumPacketSize
	case PropWildcardSubAvailable:
		return uint32(p.WildcardSubAvailable)
	case PropSubIDAvailable:
		return uint32(p.SubIDAvailable)
	case PropSharedSubAvailable:
		return uint32(p.SharedSubAvailable)
	}
	return 0
}

// append appends the property length l (from p.len(target)) and the
// properties target may carry.
func (p *Properties) append(dst []byte, target, l int) []byte {
	dst = AppendVarint(dst, l)
	for set := p.present(target); set != 0; set &= set - 1 {
		id := PropertyID(bits.TrailingZeros64(set))
		dst = append(dst, byte(id))
		switch propTable[id].kind {
		case kindByte:
			dst = append(dst, byte(p.intOf(id)))
		case kindUint16:
			dst = binary.BigEndian.AppendUint16(dst, uint16(p.intOf(id)))
		case kindUint32:
			dst = binary.BigEndian.AppendUint32(dst, p.intOf(id))
		case kindString, kindBinary:
			dst = appendBytes(dst, p.bytesOf(id))
		}
	}
	if allowedSet[target]&(1<<PropSubscriptionID) != 0 {
		for _, v := range p.SubscriptionIDs {
			dst = append(dst, byte(PropSubscriptionID))
			dst = AppendVarint(dst, int(v))
		}
	}
	if allowedSet[target]&(1<<PropUserProperty) != 0 {
		for _, u := range p.User {
			dst = append(dst, byte(PropUserProperty))
			dst = appendBytes(dst, u.Key)
			dst = appendBytes(dst, u.Value)
		}
	}
	return dst
}
