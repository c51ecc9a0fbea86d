package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestVectors(t *testing.T) {
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeFrame(tc.raw, tc.v, 0)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			mustEqual(t, got, tc.want)

			want := tc.raw
			if tc.lenient {
				want = tc.canon
			}
			enc := encode(nil, tc.want, tc.v)
			if !bytes.Equal(enc, want) {
				t.Fatalf("encode\n got: % x\nwant: % x", enc, want)
			}
			if n := tc.want.(sizer).Size(tc.v); n != len(want) {
				t.Fatalf("Size = %d, encoded %d bytes", n, len(want))
			}
			// Encoding after other bytes appends and leaves them alone.
			prefix := []byte{0xaa, 0xbb}
			if enc := encode(prefix, got, tc.v); !bytes.Equal(enc[:2], prefix) || !bytes.Equal(enc[2:], want) {
				t.Fatalf("encode after prefix: % x", enc)
			}
		})
	}
}

// TestVectorsSplit feeds every vector to Frame cut at every byte: each
// prefix is "need more", and the whole packet decodes as before.
func TestVectorsSplit(t *testing.T) {
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; cut < len(tc.raw); cut++ {
				buf := append([]byte(nil), tc.raw[:cut]...)
				h, n, err := Frame(buf, 0)
				if err != nil || n != 0 {
					t.Fatalf("cut %d: Frame = %d, %v; want need more", cut, n, err)
				}
				if cut >= 2 && h.HeaderLen != 2 {
					t.Fatalf("cut %d: header not reported: %+v", cut, h)
				}
				buf = append(buf, tc.raw[cut:]...)
				got, err := decodeFrame(buf, tc.v, 0)
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				mustEqual(t, got, tc.want)
			}
		})
	}
}

// TestStreamSplit concatenates every vector of a version into one stream
// and reads it back through Frame from two reads cut at every byte.
func TestStreamSplit(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		t.Run("version="+v.String(), func(t *testing.T) {
			var stream []byte
			var want []vector
			for _, tc := range vectors {
				if tc.v == v {
					stream = append(stream, tc.raw...)
					want = append(want, tc)
				}
			}
			for cut := 0; cut <= len(stream); cut++ {
				var buf []byte
				i := 0
				for _, chunk := range [][]byte{stream[:cut], stream[cut:]} {
					buf = append(buf, chunk...)
					for {
						h, n, err := Frame(buf, 0)
						if err != nil {
							t.Fatalf("cut %d: %v", cut, err)
						}
						if n == 0 {
							break
						}
						p := newPacket(h.Type)
						if err := decodeInto(p, h, buf[h.HeaderLen:n], v); err != nil {
							t.Fatalf("cut %d packet %d: %v", cut, i, err)
						}
						mustEqual(t, p, want[i].want)
						i++
						buf = buf[n:]
					}
				}
				if i != len(want) || len(buf) != 0 {
					t.Fatalf("cut %d: decoded %d of %d packets, %d bytes left", cut, i, len(want), len(buf))
				}
			}
		})
	}
}

func TestFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantH   FixedHeader
		wantLen int
		wantErr error
	}{
		{name: "empty", in: nil},
		{name: "first-byte-only", in: []byte{0x30}, wantH: FixedHeader{Type: TypePublish}},
		{name: "partial-varint", in: []byte{0x30, 0x80}, wantH: FixedHeader{Type: TypePublish}},
		{name: "header-without-body", in: []byte{0x30, 0x05, 0x00}, wantH: FixedHeader{Type: TypePublish, RemainingLength: 5, HeaderLen: 2}},
		{name: "complete-with-next", in: []byte{0xc0, 0x00, 0xd0}, wantH: FixedHeader{Type: TypePingreq, HeaderLen: 2}, wantLen: 2},
		{name: "flags-reported", in: []byte{0x3d, 0x00}, wantH: FixedHeader{Type: TypePublish, Flags: 0x0d, HeaderLen: 2}, wantLen: 2},
		{name: "two-byte-length", in: append([]byte{0x30, 0x80, 0x01}, make([]byte, 128)...),
			wantH: FixedHeader{Type: TypePublish, RemainingLength: 128, HeaderLen: 3}, wantLen: 131},
		{name: "four-byte-max-length-needs-more", in: []byte{0x30, 0xff, 0xff, 0xff, 0x7f},
			wantH: FixedHeader{Type: TypePublish, RemainingLength: MaxVarint, HeaderLen: 5}},
		{name: "five-byte-length", in: []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}, wantErr: ErrVarint},
		{name: "non-minimal-length", in: []byte{0x30, 0x80, 0x00}, wantErr: ErrVarint},
		{name: "reserved-type-0", in: []byte{0x00, 0x00}, wantErr: ErrPacketType},
		{name: "too-large-from-header", in: []byte{0x30, 0x09}, max: 10, wantErr: ErrPacketTooLarge},
		{name: "exactly-max", in: []byte{0x30, 0x08, 0, 1, 't', 1, 2, 3, 4, 5}, max: 10,
			wantH: FixedHeader{Type: TypePublish, RemainingLength: 8, HeaderLen: 2}, wantLen: 10},
		{name: "too-large-from-partial-length", in: []byte{0x30, 0x80, 0x80}, max: 16387, wantErr: ErrPacketTooLarge},
		{name: "partial-length-may-still-fit", in: []byte{0x30, 0x80, 0x80}, max: 16388, wantH: FixedHeader{Type: TypePublish}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := Frame(tc.in, tc.max)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if h != tc.wantH || n != tc.wantLen {
				t.Fatalf("Frame = %+v, %d; want %+v, %d", h, n, tc.wantH, tc.wantLen)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	for typ := TypeConnect; typ <= TypeAuth; typ++ {
		for flags := byte(0); flags < 16; flags++ {
			var want error
			switch typ {
			case TypePublish:
				if flags&6 == 6 {
					want = ErrQoS
				}
			case TypePubrel, TypeSubscribe, TypeUnsubscribe:
				if flags != 2 {
					want = ErrFlags
				}
			default:
				if flags != 0 {
					want = ErrFlags
				}
			}
			if got := CheckFlags(FixedHeader{Type: typ, Flags: flags}); got != want {
				t.Errorf("%v flags %04b: %v, want %v", typ, flags, got, want)
			}
		}
	}
}

func TestVarint(t *testing.T) {
	tests := []struct {
		v   int
		enc []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{MaxVarint, []byte{0xff, 0xff, 0xff, 0x7f}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("v=%d", tc.v), func(t *testing.T) {
			if got := AppendVarint(nil, tc.v); !bytes.Equal(got, tc.enc) {
				t.Fatalf("AppendVarint(%d) = % x, want % x", tc.v, got, tc.enc)
			}
			if VarintLen(tc.v) != len(tc.enc) {
				t.Fatalf("VarintLen(%d) = %d", tc.v, VarintLen(tc.v))
			}
			v, n, err := ReadVarint(append(tc.enc, 0xee))
			if v != tc.v || n != len(tc.enc) || err != nil {
				t.Fatalf("ReadVarint = %d, %d, %v", v, n, err)
			}
			if _, n, err := ReadVarint(tc.enc[:len(tc.enc)-1]); n != 0 || err != nil {
				t.Fatalf("truncated ReadVarint = %d, %v; want need more", n, err)
			}
		})
	}
	for _, bad := range [][]byte{{0x80, 0x80, 0x80, 0x80, 0x01}, {0x80, 0x00}, {0xff, 0x80, 0x00}} {
		if _, _, err := ReadVarint(bad); err != ErrVarint {
			t.Errorf("ReadVarint(% x) err = %v, want ErrVarint", bad, err)
		}
	}
	for _, v := range []int{-1, MaxVarint + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendVarint(%d) did not panic", v)
				}
			}()
			AppendVarint(nil, v)
		}()
	}
}

func TestValidUTF8String(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"empty", nil, true},
		{"ascii", b("hello/world"), true},
		{"two-byte", b("é"), true},
		{"four-byte", b("a😀b"), true},
		{"control-allowed", b("a\x01b\x7f"), true},
		{"noncharacter-allowed", b("\uffff"), true},
		{"nul", b("a\x00b"), false},
		{"nul-after-non-ascii", b("é\x00"), false},
		{"ill-formed", []byte{0xc3, 0x28}, false},
		{"lone-continuation", []byte{0x80}, false},
		{"truncated", []byte{0xe2, 0x82}, false},
		{"overlong-nul", []byte{0xc0, 0x80}, false},
		{"surrogate-high", []byte{0xed, 0xa0, 0x80}, false},
		{"surrogate-low", []byte{0xed, 0xbf, 0xbf}, false},
		{"beyond-unicode", []byte{0xf4, 0x90, 0x80, 0x80}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidUTF8String(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidUTF8String(% x) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && Code(err) != MalformedPacket {
				t.Fatalf("code %v, want malformed packet", Code(err))
			}
		})
	}
}

func TestErrorsCarryReasonCodes(t *testing.T) {
	var err error = ErrPropertyDuplicate
	if !errors.Is(err, ProtocolError) || errors.Is(err, MalformedPacket) {
		t.Fatal("errors.Is does not see the reason code")
	}
	var rc ReasonCode
	if !errors.As(err, &rc) || rc != ProtocolError {
		t.Fatalf("errors.As = %v", rc)
	}
	if Code(nil) != Success || Code(errors.New("x")) != UnspecifiedError || Code(TopicNameInvalid) != TopicNameInvalid {
		t.Fatal("Code maps wrongly")
	}
	if TopicNameInvalid.Error() != "mqtt: topic name invalid" || ReasonCode(0x03).String() != "reason code 0x03" {
		t.Fatalf("texts: %q %q", TopicNameInvalid.Error(), ReasonCode(3).String())
	}
}

func TestConnackV3(t *testing.T) {
	tests := []struct{ in, want ReasonCode }{
		{Success, ConnAccepted},
		{ConnRefusedNotAuthorized, ConnRefusedNotAuthorized},
		{UnsupportedProtocolVersion, ConnRefusedUnacceptableProtocol},
		{ClientIdentifierNotValid, ConnRefusedIdentifierRejected},
		{BadUserNameOrPassword, ConnRefusedBadUserNameOrPassword},
		{NotAuthorized, ConnRefusedNotAuthorized},
		{Banned, ConnRefusedNotAuthorized},
		{ServerBusy, ConnRefusedServerUnavailable},
		{ServerUnavailable, ConnRefusedServerUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.in.String(), func(t *testing.T) {
			if got := ConnackV3(tc.in); got != tc.want {
				t.Fatalf("ConnackV3 = %#x, want %#x", byte(got), byte(tc.want))
			}
			enc := AppendConnack(nil, &Connack{ReasonCode: tc.in}, V311)
			if !bytes.Equal(enc, []byte{0x20, 0x02, 0x00, byte(tc.want)}) {
				t.Fatalf("AppendConnack v3.1.1 = % x", enc)
			}
		})
	}
}

func TestSubackV3MapsFailures(t *testing.T) {
	p := &Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1, NotAuthorized, TopicFilterInvalid}}
	want := []byte{0x90, 0x05, 0x00, 0x01, 0x01, 0x80, 0x80}
	if got := AppendSuback(nil, p, V311); !bytes.Equal(got, want) {
		t.Fatalf("AppendSuback v3.1.1 = % x, want % x", got, want)
	}
}

// TestEncodeSkipsDisallowedProperties checks that the encoders write only
// the properties the packet may carry, so a will's properties can be reused
// for the PUBLISH that delivers it.
func TestEncodeSkipsDisallowedProperties(t *testing.T) {
	will := props(Properties{WillDelay: 30, MessageExpiry: 9, SessionExpiry: 5}, PropWillDelay, PropMessageExpiry, PropSessionExpiry)
	p := &Publish{Topic: b("t"), Properties: will}
	want := []byte{
		0x30, 0x09, // PUBLISH QoS 0, remaining length 9
		0x00, 0x01, 't', // topic "t"
		0x05,                         // property length 5
		0x02, 0x00, 0x00, 0x00, 0x09, // message expiry interval 9; will delay and session expiry skipped
	}
	if got := AppendPublish(nil, p, V5); !bytes.Equal(got, want) {
		t.Fatalf("AppendPublish = % x, want % x", got, want)
	}
	// Before 5.0 no properties are written at all.
	if got := AppendPublish(nil, p, V311); !bytes.Equal(got, []byte{0x30, 0x03, 0x00, 0x01, 't'}) {
		t.Fatalf("AppendPublish v3.1.1 = % x", got)
	}
	if got, want := p.Size(V5), len(AppendPublish(nil, p, V5)); got != want {
		t.Fatalf("Size = %d, want %d", got, want)
	}
}

func TestPropertyAllowList(t *testing.T) {
	tests := []struct {
		id   PropertyID
		t    PacketType
		want bool
	}{
		{PropTopicAlias, TypePublish, true},
		{PropTopicAlias, TypeConnect, false},
		{PropSubscriptionID, TypeSubscribe, true},
		{PropSubscriptionID, TypeUnsubscribe, false},
		{PropReasonString, TypePuback, true},
		{PropReasonString, TypePublish, false},
		{PropUserProperty, TypeAuth, true},
		{PropUserProperty, TypePingreq, false},
		{PropWillDelay, TypePublish, false},
		{PropSessionExpiry, TypeDisconnect, true},
		{PropertyID(0x04), TypePublish, false},
		{PropertyID(0x7f), TypePublish, false},
	}
	for _, tc := range tests {
		if got := PropertyAllowed(tc.id, tc.t); got != tc.want {
			t.Errorf("PropertyAllowed(%#x, %v) = %v", byte(tc.id), tc.t, got)
		}
	}
	if !WillPropertyAllowed(PropWillDelay) || WillPropertyAllowed(PropTopicAlias) || PropertyAllowed(PropWillDelay, 0) {
		t.Error("will allow-list wrong")
	}
}

func TestPublishPacketIDOffset(t *testing.T) {
	p := &Publish{QoS: 1, Topic: b("a/b"), PacketID: 0x1234, Payload: b("data")}
	for _, v := range []Version{V311, V5} {
		frame := AppendPublish(nil, p, v)
		off := PublishPacketIDOffset(frame)
		if off < 0 || frame[off] != 0x12 || frame[off+1] != 0x34 {
			t.Fatalf("v%v: offset %d in % x", v, off, frame)
		}
	}
	if off := PublishPacketIDOffset(AppendPublish(nil, &Publish{Topic: b("t")}, V311)); off != -1 {
		t.Fatalf("QoS 0 offset = %d", off)
	}
	if off := PublishPacketIDOffset([]byte{0x32, 0x03, 0x00, 0x05, 'a'}); off != -1 {
		t.Fatalf("short frame offset = %d", off)
	}
}

// TestDecodeReusedValue checks that decoding into a value that held another
// packet leaves nothing of the old one behind.
func TestDecodeReusedValue(t *testing.T) {
	var rich, plain vector
	for _, tc := range vectors {
		switch tc.name {
		case "publish/v5/qos1-all-properties":
			rich = tc
		case "publish/v5/no-properties":
			plain = tc
		}
	}
	var p Publish
	for _, tc := range []vector{rich, plain, rich} {
		h, n, err := Frame(tc.raw, 0)
		if err != nil || n == 0 {
			t.Fatalf("Frame: %v", err)
		}
		if err := p.Decode(h, tc.raw[h.HeaderLen:n], tc.v); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, &p, tc.want)
	}
	var c Connect
	for _, name := range []string{"connect/v5/properties-will", "connect/v3.1.1/minimal", "connect/v3.1.1/will-user-password", "connect/v3.1"} {
		for _, tc := range vectors {
			if tc.name == name {
				if _, err := decodeFrame(tc.raw, tc.v, 0); err != nil {
					t.Fatal(err)
				}
				h, n, _ := Frame(tc.raw, 0)
				if err := c.Decode(h, tc.raw[h.HeaderLen:n]); err != nil {
					t.Fatal(err)
				}
				mustEqual(t, &c, tc.want)
			}
		}
	}
}

// TestDecodedSlicesDoNotOverwriteBody checks that appending to a decoded
// slice cannot change the bytes that follow it in the body.
func TestDecodedSlicesDoNotOverwriteBody(t *testing.T) {
	raw := []byte{0x30, 0x05, 0x00, 0x01, 't', 'h', 'i'}
	var p Publish
	h, n, _ := Frame(raw, 0)
	if err := p.Decode(h, raw[h.HeaderLen:n], V311); err != nil {
		t.Fatal(err)
	}
	_ = append(p.Topic, 'X')
	if !bytes.Equal(p.Payload, b("hi")) {
		t.Fatalf("payload overwritten: %q", p.Payload)
	}
}

// TestPlainTopicName checks the PUBLISH fast path against the full rules:
// it may only say yes to names ValidTopicName accepts.
func TestPlainTopicName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"sensors/building-7/floor-3/temperature", true},
		{"abcdefgh", true},
		{"abcdefg+", false},
		{"abcdefgh#", false},
		{"abc\x00defgh", false},
		{"/", true},
		{"é/abcdefgh", false},
		{"$SYS/broker/uptime", true},
		{"abcdefghabcdefg#abcdefgh", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := plainTopicName([]byte(tc.in))
			if got != tc.want {
				t.Fatalf("plainTopicName(%q) = %v", tc.in, got)
			}
			if got && (ValidTopicName([]byte(tc.in)) != nil || ValidUTF8String([]byte(tc.in)) != nil) {
				t.Fatalf("fast path accepts %q, full rules refuse it", tc.in)
			}
		})
	}
}

func TestEncodePanicsOnOversizedField(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendPublish with a 65536-byte topic did not panic")
		}
	}()
	AppendPublish(nil, &Publish{Topic: make([]byte, 65536)}, V311)
}

func TestNames(t *testing.T) {
	if TypeConnect.String() != "CONNECT" || TypeAuth.String() != "AUTH" || PacketType(0).String() != "RESERVED" || PacketType(16).String() != "INVALID" {
		t.Error("packet type names")
	}
	if V31.String() != "3.1" || V311.String() != "3.1.1" || V5.String() != "5.0" || Version(6).String() != "unknown" {
		t.Error("version names")
	}
	if !V31.Valid() || !V5.Valid() || Version(2).Valid() || Version(6).Valid() {
		t.Error("Version.Valid")
	}
	// Every code a packet may carry has a name.
	for _, set := range []*codeSet{&connackCodes, &pubackCodes, &pubrelCodes, &subackCodes, &unsubackCodes, &disconnectCodes, &authCodes} {
		for c := 0; c < 256; c++ {
			if set.has(ReasonCode(c)) {
				if _, ok := reasonText[ReasonCode(c)]; !ok {
					t.Errorf("reason code %#x has no name", c)
				}
			}
		}
	}
}

// TestDecodeWrongType checks that each Decode refuses a header of another
// packet type, and that Properties.Has sees the slices.
func TestDecodeWrongType(t *testing.T) {
	h := FixedHeader{Type: TypePuback, HeaderLen: 2, RemainingLength: 2}
	for typ := TypeConnect; typ <= TypeAuth; typ++ {
		if typ == TypePuback {
			continue
		}
		if err := decodeInto(newPacket(typ), h, []byte{0, 1}, V5); err != ErrPacketType {
			t.Errorf("%v.Decode of a PUBACK header: %v", typ, err)
		}
	}
	p := Properties{User: []UserProperty{{b("k"), b("v")}}, SubscriptionIDs: []uint32{1}}
	p.Present.Add(PropTopicAlias)
	if !p.Has(PropUserProperty) || !p.Has(PropSubscriptionID) || !p.Has(PropTopicAlias) || p.Has(PropContentType) {
		t.Error("Properties.Has")
	}
	p.Present.Remove(PropTopicAlias)
	p.Reset()
	if p.Has(PropUserProperty) || p.Has(PropTopicAlias) || cap(p.User) == 0 {
		t.Error("Properties.Reset")
	}
	if ErrTruncated.Error() != "mqtt: packet ends inside a field" {
		t.Errorf("message %q", ErrTruncated.Error())
	}
}

func TestCheckPayloadFormat(t *testing.T) {
	utf8Format := props(Properties{PayloadFormat: 1}, PropPayloadFormat)
	tests := []struct {
		name string
		p    Publish
		want error
	}{
		{"no-indicator", Publish{Payload: []byte{0xff}}, nil},
		{"bytes", Publish{Payload: []byte{0xff}, Properties: props(Properties{}, PropPayloadFormat)}, nil},
		{"utf8-valid", Publish{Payload: b("héllo"), Properties: utf8Format}, nil},
		{"utf8-invalid", Publish{Payload: []byte{0xc3, 0x28}, Properties: utf8Format}, ErrPayloadFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.CheckPayloadFormat(); err != tc.want {
				t.Fatalf("CheckPayloadFormat = %v, want %v", err, tc.want)
			}
			if tc.want != nil && Code(tc.want) != PayloadFormatInvalid {
				t.Fatal("wrong code")
			}
		})
	}
}
