package mqtt

import "unicode/utf8"

// ValidUTF8String reports whether b may be the content of an MQTT UTF-8
// encoded string [MQTT-1.5.4]. It returns nil, or ErrUTF8 (MalformedPacket)
// when b is ill-formed UTF-8, encodes a UTF-16 surrogate (U+D800 to U+DFFF)
// [MQTT-1.5.4-1] or contains U+0000 [MQTT-1.5.4-2]. It does not allocate.
//
// Control characters and non-characters are allowed: the specification
// says only that senders should not use them.
func ValidUTF8String(b []byte) error {
	for i, c := range b {
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
