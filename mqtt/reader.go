package mqtt

import "encoding/binary"

// reader reads the fields of a packet body [MQTT-1.5]. It lives on the stack
// of a Decode method; the slices it returns alias b, with their capacity cut
// to their length so that appending to one never overwrites the body.
type reader struct {
	b []byte
	i int
}

// rest returns the unread bytes.
func (r *reader) rest() []byte { return r.b[r.i:len(r.b):len(r.b)] }

// done reports whether every byte has been read.
func (r *reader) done() bool { return r.i == len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, ErrTruncated
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *reader) uint16() (uint16, error) {
	if len(r.b)-r.i < 2 {
		return 0, ErrTruncated
	}
	v := binary.BigEndian.Uint16(r.b[r.i:])
	r.i += 2
	return v, nil
}

func (r *reader) uint32() (uint32, error) {
	if len(r.b)-r.i < 4 {
		return 0, ErrTruncated
	}
	v := binary.BigEndian.Uint32(r.b[r.i:])
	r.i += 4
	return v, nil
}

func (r *reader) varint() (int, error) {
	v, n, err := ReadVarint(r.b[r.i:])
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, ErrTruncated
	}
	r.i += n
	return v, nil
}

// binary reads binary data: a two-byte length and that many bytes
// [MQTT-1.5.6].
func (r *reader) binary() ([]byte, error) {
	n, err := r.uint16()
	if err != nil {
		return nil, err
	}
	if len(r.b)-r.i < int(n) {
		return nil, ErrTruncated
	}
	j := r.i + int(n)
	s := r.b[r.i:j:j]
	r.i = j
	return s, nil
}

// str reads a UTF-8 encoded string [MQTT-1.5.4].
func (r *reader) str() ([]byte, error) {
	s, err := r.binary()
	if err != nil {
		return nil, err
	}
	if err := ValidUTF8String(s); err != nil {
		return nil, err
	}
	return s, nil
}

// appendBytes appends b as binary data or a UTF-8 string: a two-byte length
// and the bytes. It panics if b is longer than 65535 bytes, which is a
// programming error: nothing that long can be encoded.
func appendBytes(dst, b []byte) []byte {
	if len(b) > 0xffff {
		panic("mqtt: string or binary field longer than 65535 bytes")
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// readIDAndProperties reads the variable header SUBSCRIBE, UNSUBSCRIBE,
// SUBACK and UNSUBACK share: a non-zero packet identifier [MQTT-2.2.1-3]
// and, on MQTT 5, the properties allowed on typ (reset otherwise). It
// returns a reader positioned at the payload.
func readIDAndProperties(body []byte, v Version, typ PacketType, id *uint16, props *Properties) (reader, error) {
	r := reader{b: body}
	var err error
	if *id, err = r.uint16(); err != nil {
		return r, err
	}
	if *id == 0 {
		return r, ErrPacketID
	}
	if v != V5 {
		props.Reset()
		return r, nil
	}
	n, err := props.decode(r.rest(), int(typ))
	if err != nil {
		return r, err
	}
	r.i += n
	return r, nil
}
