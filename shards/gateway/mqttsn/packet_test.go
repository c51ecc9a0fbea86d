package mqttsn

import (
	"bytes"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
)

// TestFrameVectors checks the Length field of section 5.2.1 both ways: one
// octet up to 255, else 0x01 and two octets counting themselves.
func TestFrameVectors(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 300)
	for _, tc := range []struct {
		name string
		in   []byte
		typ  byte
		body []byte
		err  error
	}{
		{"PINGREQ", []byte{0x02, 0x16}, tPingreq, []byte{}, nil},
		{"SEARCHGW radius 1", []byte{0x03, 0x01, 0x01}, tSearchGW, []byte{1}, nil},
		{"PUBACK", []byte{0x07, 0x0D, 0x00, 0x01, 0x00, 0x02, 0x00}, tPuback, []byte{0, 1, 0, 2, 0}, nil},
		{"long PUBLISH", append([]byte{0x01, 0x01, 0x35, 0x0C, 0, 0, 1, 0, 0}, long[:300]...), tPublish,
			append([]byte{0, 0, 1, 0, 0}, long[:300]...), nil},
		{"one octet", []byte{0x02}, 0, nil, errTruncated},
		{"length over the datagram", []byte{0x05, 0x16, 0x00}, 0, nil, errLength},
		{"length under the datagram", []byte{0x02, 0x16, 0x00}, 0, nil, errLength},
		{"three-octet length cut", []byte{0x01, 0x00}, 0, nil, errTruncated},
		{"three-octet length of 3", []byte{0x01, 0x00, 0x03, 0x16}, 0, nil, errLength},
	} {
		typ, body, err := frame(tc.in)
		if err != tc.err || typ != tc.typ || !bytes.Equal(body, tc.body) {
			t.Errorf("%s: frame = %x % x %v, want %x % x %v", tc.name, typ, body, err, tc.typ, tc.body, tc.err)
		}
	}
	if got := msg(nil, tPublish, []byte{0, 0, 1, 0, 0}, long[:300]); !bytes.Equal(got[:4], []byte{0x01, 0x01, 0x35, 0x0C}) || len(got) != 0x135 {
		t.Errorf("long message header % x, length %d", got[:4], len(got))
	}
	if got := msg(nil, tRegack, []byte{0, 5, 0, 9, 0}); !bytes.Equal(got, []byte{0x07, 0x0B, 0, 5, 0, 9, 0}) {
		t.Errorf("REGACK % x", got)
	}
	if got := publishMsg(nil, flagRetain|1<<5|topicShort, 0x6162, 7, []byte("hi")); !bytes.Equal(got,
		[]byte{0x09, 0x0C, 0x32, 0x61, 0x62, 0x00, 0x07, 'h', 'i'}) {
		t.Errorf("PUBLISH % x", got)
	}
}

// TestAppendPublish: the gateway's PUBLISH encoder writes what the mqtt
// package's does.
func TestAppendPublish(t *testing.T) {
	for _, p := range []mqtt.Publish{
		{Topic: []byte("a/b"), Payload: []byte("x")},
		{QoS: 1, Retain: true, Dup: true, Topic: []byte("sensors/1"), PacketID: 7, Payload: bytes.Repeat([]byte{1}, 200)},
		{QoS: 2, Topic: []byte("t"), PacketID: 65535},
	} {
		want := mqtt.AppendPublish(nil, &p, mqtt.V311)
		got := appendPublish(nil, p.QoS, p.Retain, p.Dup, string(p.Topic), p.PacketID, p.Payload)
		if !bytes.Equal(got, want) {
			t.Errorf("%+v:\ngot  % x\nwant % x", p, got, want)
		}
	}
}

// TestEncapsulationVectors checks the Forwarder Encapsulation of section
// 5.5 both ways: Length counts the header alone (itself, MsgType, Ctrl
// and the Wireless Node Id), the message follows unchanged.
func TestEncapsulationVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		ctrl  byte
		node  string
		inner []byte
		err   error
	}{
		{"PINGREQ of node 0x0001, radius 3", []byte{0x05, 0xFE, 0x03, 0x00, 0x01, 0x02, 0x16}, 3, "\x00\x01", []byte{0x02, 0x16}, nil},
		{"one-octet node id", []byte{0x04, 0xFE, 0x00, 0x09, 0x03, 0x01, 0x00}, 0, "\x09", []byte{0x03, 0x01, 0x00}, nil},
		{"no message", []byte{0x04, 0xFE, 0x00, 0x09}, 0, "\x09", []byte{}, nil},
		{"empty node id", []byte{0x03, 0xFE, 0x00, 0x02, 0x16}, 0, "", nil, errNodeID},
		{"Length past the datagram", []byte{0x08, 0xFE, 0x00, 0x01}, 0, "", nil, errLength},
		{"cut in the header", []byte{0x04, 0xFE}, 0, "", nil, errTruncated},
		{"nested", []byte{0x04, 0xFE, 0x00, 0x01, 0x04, 0xFE, 0x00, 0x02}, 0, "", nil, errNested},
	} {
		enc, inner, err := unwrap(tc.in)
		if err != tc.err || enc.ctrl != tc.ctrl || string(enc.node) != tc.node || !bytes.Equal(inner, tc.inner) {
			t.Errorf("%s: unwrap = %x %q % x %v, want %x %q % x %v", tc.name, enc.ctrl, enc.node, inner, err,
				tc.ctrl, tc.node, tc.inner, tc.err)
		}
		if tc.err == nil {
			if got := appendEncapsulated(nil, tc.ctrl, tc.node, tc.inner); !bytes.Equal(got, tc.in) {
				t.Errorf("%s: appendEncapsulated = % x, want % x", tc.name, got, tc.in)
			}
		}
	}
}

// FuzzUnwrap: any datagram either fails to unwrap or gives a node id and
// message that encapsulate back to the same octets.
func FuzzUnwrap(f *testing.F) {
	for _, seed := range [][]byte{
		{0x05, 0xFE, 0x03, 0x00, 0x01, 0x02, 0x16},
		{0x04, 0xFE, 0x00, 0x09, 0x03, 0x01, 0x00},
		{0x04, 0xFE, 0x00, 0x01, 0x04, 0xFE, 0x00, 0x02},
	} {
		for i := 0; i <= len(seed); i++ {
			f.Add(seed[:i])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		enc, inner, err := unwrap(b)
		if err != nil {
			return
		}
		if len(enc.node) == 0 {
			t.Fatalf("% x: empty node id accepted", b)
		}
		if got := appendEncapsulated(nil, enc.ctrl, string(enc.node), inner); !bytes.Equal(got, b) {
			t.Fatalf("% x: encapsulates back to % x", b, got)
		}
	})
}
