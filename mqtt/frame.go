package mqtt

// MaxPacketSize is the largest packet MQTT can frame: a one-byte packet type,
// a four-byte remaining length and MaxVarint bytes of body.
const MaxPacketSize = 1 + 4 + MaxVarint

// FixedHeader is the first two to five bytes of every packet [MQTT-2.1].
type FixedHeader struct {
	// Type is the control packet type (high nibble of the first byte).
	Type PacketType
	// Flags is the low nibble of the first byte.
	Flags byte
	// RemainingLength is the length of the body that follows the header.
	RemainingLength int
	// HeaderLen is the length of the fixed header itself (2 to 5 bytes).
	HeaderLen int
}

// Frame inspects the start of b. When a complete packet is present it returns
// the fixed header and the whole frame length (header plus body), so that
// b[h.HeaderLen:frameLen] is the body to pass to a Decode method. frameLen ==
// 0 with a nil error means "need more bytes"; h is then filled in if the
// fixed header itself is complete.
//
// A packet that would be larger than maxPacketSize bytes (0 means
// MaxPacketSize) is rejected with ErrPacketTooLarge from the fixed header
// alone, before its body arrives, and as soon as the bytes of a partial
// remaining length prove it too large. A malformed remaining length is
// ErrVarint and the reserved packet type 0 is ErrPacketType. Fixed-header
// flags are checked by the Decode methods (and by CheckFlags), not by Frame.
// Frame never copies and never allocates.
func Frame(b []byte, maxPacketSize int) (h FixedHeader, frameLen int, err error) {
	if maxPacketSize <= 0 || maxPacketSize > MaxPacketSize {
		maxPacketSize = MaxPacketSize
	}
	if len(b) == 0 {
		return h, 0, nil
	}
	h.Type = PacketType(b[0] >> 4)
	h.Flags = b[0] & 0x0f
	if h.Type == 0 {
		return h, 0, ErrPacketType
	}
	rl := 0
	for i := 1; ; i++ {
		if i > 4 {
			return h, 0, ErrVarint
		}
		if i >= len(b) {
			// The smallest remaining length the bytes read so far allow
			// already decides whether the packet can fit.
			if i > 1 && 1+i+rl+(1<<(7*(i-1))) > maxPacketSize {
				return h, 0, ErrPacketTooLarge
			}
			return h, 0, nil
		}
		c := b[i]
		rl |= int(c&0x7f) << (7 * (i - 1))
		if c&0x80 == 0 {
			if c == 0 && i > 1 {
				return h, 0, ErrVarint // [MQTT-1.5.5-1] not the shortest form
			}
			h.HeaderLen = i + 1
			break
		}
	}
	h.RemainingLength = rl
	total := h.HeaderLen + rl
	if total > maxPacketSize {
		return h, 0, ErrPacketTooLarge
	}
	if len(b) < total {
		return h, 0, nil
	}
	return h, total, nil
}

// CheckFlags reports whether the fixed-header flags are the ones the packet
// type requires [MQTT-2.1.3-1]: 0b0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE,
// any DUP/retain with a QoS other than 3 for PUBLISH [MQTT-3.3.1-4], and 0
// for every other type. It returns nil, ErrFlags or ErrQoS.
func CheckFlags(h FixedHeader) error {
	switch h.Type {
	case TypePublish:
		if h.Flags&0x06 == 0x06 {
			return ErrQoS
		}
		return nil
	case TypePubrel, TypeSubscribe, TypeUnsubscribe:
		if h.Flags != 0x02 {
			return ErrFlags
		}
		return nil
	}
	if h.Flags != 0 {
		return ErrFlags
	}
	return nil
}

// checkHeader checks that h is a header of type t with valid flags.
func checkHeader(h FixedHeader, t PacketType) error {
	if h.Type != t {
		return ErrPacketType
	}
	return CheckFlags(h)
}

// appendHeader appends a fixed header with the given type, flags and
// remaining length.
func appendHeader(dst []byte, t PacketType, flags byte, rl int) []byte {
	dst = append(dst, byte(t)<<4|flags)
	return AppendVarint(dst, rl)
}

// packetLen returns the whole encoded length of a packet whose body is rl
// bytes long.
func packetLen(rl int) int { return 1 + VarintLen(rl) + rl }
