package mqtt

import (
	"bytes"
	"fmt"
	"testing"
)

// benchPublish returns a PUBLISH with the given payload size; for MQTT 5 it
// carries the properties a typical request/response publisher sends.
func benchPublish(v Version, payload int) *Publish {
	p := &Publish{QoS: 1, Topic: b("sensors/building-7/floor-3/temperature"), PacketID: 42,
		Payload: bytes.Repeat([]byte{'x'}, payload)}
	if v == V5 {
		p.Properties = props(Properties{
			PayloadFormat:   1,
			MessageExpiry:   3600,
			ContentType:     b("application/json"),
			ResponseTopic:   b("replies/client-17"),
			CorrelationData: b("req-000123"),
			SubscriptionIDs: []uint32{7},
			User:            []UserProperty{{b("trace-id"), b("4bf92f3577b34da6")}, {b("tenant"), b("acme")}},
		}, PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic, PropCorrelationData)
	}
	return p
}

var benchCases = []struct {
	v       Version
	payload int
}{{V311, 16}, {V311, 1024}, {V5, 16}, {V5, 1024}}

func benchName(v Version, payload int) string {
	return fmt.Sprintf("version=%v/payload=%dB", v, payload)
}

// BenchmarkDecodePublish frames and decodes a PUBLISH into a reused value.
func BenchmarkDecodePublish(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(benchName(bc.v, bc.payload), func(b *testing.B) {
			frame := AppendPublish(nil, benchPublish(bc.v, bc.payload), bc.v)
			var p Publish
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				h, n, err := Frame(frame, 0)
				if err != nil || n == 0 {
					b.Fatal(err)
				}
				if err := p.Decode(h, frame[h.HeaderLen:n], bc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodePublish encodes a PUBLISH into a reused buffer.
func BenchmarkEncodePublish(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(benchName(bc.v, bc.payload), func(b *testing.B) {
			p := benchPublish(bc.v, bc.payload)
			buf := AppendPublish(nil, p, bc.v)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = AppendPublish(buf[:0], p, bc.v)
			}
		})
	}
}

// BenchmarkDecodeSubscribe decodes a five-filter MQTT 5 SUBSCRIBE into a
// reused value.
func BenchmarkDecodeSubscribe(b *testing.B) {
	s := &Subscribe{PacketID: 9, Properties: Properties{SubscriptionIDs: []uint32{3}}}
	for _, f := range []string{"a/b/c", "a/+/c", "devices/#", "$share/g/jobs/+", "x"} {
		s.Subscriptions = append(s.Subscriptions, Subscription{Filter: []byte(f), QoS: 1})
	}
	frame := AppendSubscribe(nil, s, V5)
	var p Subscribe
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		h, n, _ := Frame(frame, 0)
		if err := p.Decode(h, frame[h.HeaderLen:n], V5); err != nil {
			b.Fatal(err)
		}
	}
}

// TestZeroAllocs asserts the allocation budgets of the hot path: framing
// and decoding into a reused value, and encoding into a reused buffer.
func TestZeroAllocs(t *testing.T) {
	for _, bc := range benchCases {
		t.Run(benchName(bc.v, bc.payload), func(t *testing.T) {
			src := benchPublish(bc.v, bc.payload)
			frame := AppendPublish(nil, src, bc.v)
			var p Publish
			decode := func() {
				h, n, err := Frame(frame, 0)
				if err != nil || n == 0 {
					t.Fatal(err)
				}
				if err := p.Decode(h, frame[h.HeaderLen:n], bc.v); err != nil {
					t.Fatal(err)
				}
			}
			decode() // grow the property slices once
			if a := testing.AllocsPerRun(100, decode); a != 0 {
				t.Errorf("decode: %v allocs/op, want 0", a)
			}
			buf := AppendPublish(nil, src, bc.v)
			if a := testing.AllocsPerRun(100, func() { buf = AppendPublish(buf[:0], src, bc.v) }); a != 0 {
				t.Errorf("encode: %v allocs/op, want 0", a)
			}
			if !bytes.Equal(buf, frame) {
				t.Fatal("reused-buffer encoding differs")
			}
		})
	}
	t.Run("decode-every-vector-reused", func(t *testing.T) {
		for _, tc := range vectors {
			h, n, err := Frame(tc.raw, 0)
			if err != nil || n != len(tc.raw) {
				t.Fatalf("%s: Frame = %d, %v", tc.name, n, err)
			}
			p := newPacket(h.Type)
			body := tc.raw[h.HeaderLen:n]
			if err := decodeInto(p, h, body, tc.v); err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(20, func() { _ = decodeInto(p, h, body, tc.v) }); a != 0 {
				t.Errorf("%s: %v allocs/op, want 0", tc.name, a)
			}
			buf := encode(nil, p, tc.v)
			if a := testing.AllocsPerRun(20, func() { buf = encode(buf[:0], p, tc.v) }); a != 0 {
				t.Errorf("%s: encode %v allocs/op, want 0", tc.name, a)
			}
		}
	})
}
