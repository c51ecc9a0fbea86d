package mqtt

// MaxVarint is the largest value a variable byte integer can hold: four bytes
// of seven bits [MQTT-1.5.5].
const MaxVarint = 268_435_455

// AppendVarint appends v as a variable byte integer [MQTT-1.5.5] in its
// shortest form. It panics if v is negative or larger than MaxVarint, which
// is a programming error.
func AppendVarint(dst []byte, v int) []byte {
	if v < 0 || v > MaxVarint {
		panic("mqtt: variable byte integer out of range")
	}
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// VarintLen returns the number of bytes AppendVarint writes for v.
func VarintLen(v int) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<21:
		return 3
	}
	return 4
}

// ReadVarint reads a variable byte integer from the start of b. It returns
// the value and the number of bytes it used; n == 0 with a nil error means b
// ends before the integer does. An integer longer than four bytes, or not in
// its shortest form [MQTT-1.5.5-1], is ErrVarint (MalformedPacket).
func ReadVarint(b []byte) (v, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, nil
		}
		c := b[i]
		v |= int(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				// A zero last byte adds nothing: the encoding is not the
				// shortest one.
				return 0, 0, ErrVarint
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, ErrVarint
}
