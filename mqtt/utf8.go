package mqtt

import (
	"encoding/binary"
	"unicode/utf8"
)

// Word-at-a-time constants: one in every byte, and the top bit of every byte.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasZeroByte reports whether some byte of x is zero.
func hasZeroByte(x uint64) bool { return (x-lsb)&^x&msb != 0 }

// ValidUTF8String reports whether b may be the content of an MQTT UTF-8
// encoded string [MQTT-1.5.4]. It returns nil, or ErrUTF8 (MalformedPacket)
// when b is ill-formed UTF-8, encodes a UTF-16 surrogate (U+D800 to U+DFFF)
// [MQTT-1.5.4-1] or contains U+0000 [MQTT-1.5.4-2]. It does not allocate.
//
// Control characters and non-characters are allowed: the specification
// says only that senders should not use them.
func ValidUTF8String(b []byte) error {
	i := 0
	// ASCII without NUL, eight bytes at a time.
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if x&msb != 0 || hasZeroByte(x) {
			break
		}
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == 0 {
			return ErrUTF8
		}
		if c >= utf8.RuneSelf {
			// utf8.Valid rejects ill-formed sequences, overlong forms and
			// surrogates; a multi-byte sequence never contains a zero byte.
			for _, c := range b[i:] {
				if c == 0 {
					return ErrUTF8
				}
			}
			if !utf8.Valid(b[i:]) {
				return ErrUTF8
			}
			return nil
		}
	}
	return nil
}

// plainTopicName reports whether t is a non-empty ASCII topic name without
// NUL, '+' or '#', which makes it a valid topic name; false means "check
// with ValidUTF8String and ValidTopicName", not "invalid". It is the fast
// path of PUBLISH decoding: one pass instead of two.
func plainTopicName(t []byte) bool {
	if len(t) == 0 || len(t) > 0xffff {
		return false
	}
	const plus, hash = '+' * lsb, '#' * lsb
	i := 0
	for ; i+8 <= len(t); i += 8 {
		x := binary.LittleEndian.Uint64(t[i:])
		if x&msb != 0 || hasZeroByte(x) || hasZeroByte(x^plus) || hasZeroByte(x^hash) {
			return false
		}
	}
	for ; i < len(t); i++ {
		if c := t[i]; c == 0 || c == '+' || c == '#' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
