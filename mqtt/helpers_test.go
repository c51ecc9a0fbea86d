package mqtt

import (
	"fmt"
	"testing"
)

// newPacket returns a zero packet value of type t.
func newPacket(t PacketType) any {
	switch t {
	case TypeConnect:
		return new(Connect)
	case TypeConnack:
		return new(Connack)
	case TypePublish:
		return new(Publish)
	case TypePuback:
		return new(Puback)
	case TypePubrec:
		return new(Pubrec)
	case TypePubrel:
		return new(Pubrel)
	case TypePubcomp:
		return new(Pubcomp)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeSuback:
		return new(Suback)
	case TypeUnsubscribe:
		return new(Unsubscribe)
	case TypeUnsuback:
		return new(Unsuback)
	case TypePingreq:
		return new(Pingreq)
	case TypePingresp:
		return new(Pingresp)
	case TypeDisconnect:
		return new(Disconnect)
	case TypeAuth:
		return new(Auth)
	}
	return nil
}

// decodeInto decodes body into p, a pointer returned by newPacket.
func decodeInto(p any, h FixedHeader, body []byte, v Version) error {
	switch p := p.(type) {
	case *Connect:
		return p.Decode(h, body)
	case *Connack:
		return p.Decode(h, body, v)
	case *Publish:
		return p.Decode(h, body, v)
	case *Puback:
		return p.Decode(h, body, v)
	case *Pubrec:
		return p.Decode(h, body, v)
	case *Pubrel:
		return p.Decode(h, body, v)
	case *Pubcomp:
		return p.Decode(h, body, v)
	case *Subscribe:
		return p.Decode(h, body, v)
	case *Suback:
		return p.Decode(h, body, v)
	case *Unsubscribe:
		return p.Decode(h, body, v)
	case *Unsuback:
		return p.Decode(h, body, v)
	case *Pingreq:
		return p.Decode(h, body, v)
	case *Pingresp:
		return p.Decode(h, body, v)
	case *Disconnect:
		return p.Decode(h, body, v)
	case *Auth:
		return p.Decode(h, body, v)
	}
	panic(fmt.Sprintf("decodeInto: %T", p))
}

// decodeFrame frames b, which must hold exactly one packet, and decodes it.
func decodeFrame(b []byte, v Version, maxSize int) (any, error) {
	h, n, err := Frame(b, maxSize)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("frame length %d, have %d bytes", n, len(b))
	}
	p := newPacket(h.Type)
	return p, decodeInto(p, h, b[h.HeaderLen:n], v)
}

// encode appends p encoded for v.
func encode(dst []byte, p any, v Version) []byte {
	switch p := p.(type) {
	case *Connect:
		return AppendConnect(dst, p, v)
	case *Connack:
		return AppendConnack(dst, p, v)
	case *Publish:
		return AppendPublish(dst, p, v)
	case *Puback:
		return AppendPuback(dst, p, v)
	case *Pubrec:
		return AppendPubrec(dst, p, v)
	case *Pubrel:
		return AppendPubrel(dst, p, v)
	case *Pubcomp:
		return AppendPubcomp(dst, p, v)
	case *Subscribe:
		return AppendSubscribe(dst, p, v)
	case *Suback:
		return AppendSuback(dst, p, v)
	case *Unsubscribe:
		return AppendUnsubscribe(dst, p, v)
	case *Unsuback:
		return AppendUnsuback(dst, p, v)
	case *Pingreq:
		return AppendPingreq(dst, p, v)
	case *Pingresp:
		return AppendPingresp(dst, p, v)
	case *Disconnect:
		return AppendDisconnect(dst, p, v)
	case *Auth:
		return AppendAuth(dst, p, v)
	}
	panic(fmt.Sprintf("encode: %T", p))
}

// sizer is implemented by every packet type.
type sizer interface{ Size(Version) int }

// show renders a packet for comparison: nil and empty slices look alike,
// which is what aliasing decoders and hand-written expectations need.
func show(p any) string { return fmt.Sprintf("%+v", p) }

// mustEqual fails t when got and want render differently.
func mustEqual(t *testing.T, got, want any) {
	t.Helper()
	if g, w := show(got), show(want); g != w {
		t.Fatalf("decoded packet differs\n got: %s\nwant: %s", g, w)
	}
}

// b is shorthand for a byte slice from a string.
func b(s string) []byte { return []byte(s) }

// props builds a Properties value with the given single-valued properties
// marked present.
func props(p Properties, ids ...PropertyID) Properties {
	for _, id := range ids {
		p.Present.Add(id)
	}
	return p
}
