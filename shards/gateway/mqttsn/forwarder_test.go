package mqttsn_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// ENCAPSULATED is the Forwarder Encapsulation's MsgType (MQTT-SN 1.2,
// section 5.4.19).
const ENCAPSULATED = 0xFE

// encapsulate wraps message m for wireless node node (section 5.5):
// Length (the header's octets: itself, MsgType, Ctrl and the node id),
// MsgType 0xFE, Ctrl (bits 1..0 the radius), Wireless Node Id, then the
// MQTT-SN message unchanged.
func encapsulate(radius byte, node string, m []byte) []byte {
	b := []byte{byte(3 + len(node)), ENCAPSULATED, radius & 0b11}
	return append(append(b, node...), m...)
}

// forwarded is a message the gateway sent through the forwarder.
type forwarded struct {
	ctrl byte
	node string
	msg  packet
}

// decapsulate reads an encapsulated datagram.
func decapsulate(b []byte) (forwarded, error) {
	if len(b) < 4 || b[1] != ENCAPSULATED || int(b[0]) > len(b) || b[0] < 4 {
		return forwarded{}, fmt.Errorf("not an encapsulation: % x", b)
	}
	n := int(b[0])
	p, err := decode(b[n:])
	if err != nil {
		return forwarded{}, err
	}
	return forwarded{ctrl: b[2], node: string(b[3:n]), msg: p}, nil
}

// forwarder is a forwarder's UDP socket with the wireless nodes behind it.
type forwarder struct {
	t  testing.TB
	sn *snclient
}

// node is one wireless node behind a forwarder.
type node struct {
	f  *forwarder
	id string
}

func (f *forwarder) node(id string) *node { return &node{f: f, id: id} }

func (n *node) send(m []byte) { n.f.sn.send(encapsulate(0, n.id, m)) }

// recvRaw returns the next datagram the forwarder gets.
func (f *forwarder) recvRaw() []byte {
	f.t.Helper()
	buf := make([]byte, 70000)
	_ = f.sn.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, err := f.sn.conn.Read(buf)
	if err != nil {
		f.t.Fatalf("forwarder recv: %v", err)
	}
	return buf[:k]
}

// expect receives the next datagram and checks that it is encapsulated
// for node and carries a message of type typ.
func (n *node) expect(typ byte) packet {
	n.f.t.Helper()
	fw, err := decapsulate(n.f.recvRaw())
	if err != nil {
		n.f.t.Fatal(err)
	}
	if fw.node != n.id || fw.msg.Type != typ {
		n.f.t.Fatalf("got %v for node %q, want type 0x%02x for node %q", fw.msg, fw.node, typ, n.id)
	}
	return fw.msg
}

// TestForwarder: two wireless nodes behind one forwarder and a client that
// talks to the gateway directly are three clients; everything the gateway
// sends a node goes through the forwarder, encapsulated with the node's
// id, and what a node publishes reaches MQTT.
func TestForwarder(t *testing.T) {
	e := start(t, mqttsn.Config{GatewayID: 4}, nil)
	f := &forwarder{t: t, sn: dialSN(t, e.udp)}
	a, b := f.node("\x00\x01"), f.node("node-b")

	// SEARCHGW broadcast with radius 2: GWINFO comes back encapsulated,
	// with the same radius for the forwarder's broadcast.
	f.sn.send(encapsulate(2, a.id, encode(SEARCHGW, []byte{2})))
	fw, err := decapsulate(f.recvRaw())
	if err != nil {
		t.Fatal(err)
	}
	if fw.node != a.id || fw.ctrl&0b11 != 2 || fw.msg.Type != GWINFO || fw.msg.Body[0] != 4 {
		t.Fatalf("GWINFO through the forwarder: %+v", fw)
	}

	a.send(encode(CONNECT, []byte{fClean, 0x01}, be16(30), []byte("fwd-a")))
	if p := a.expect(CONNACK); p.Body[0] != 0 {
		t.Fatalf("CONNACK %v", p)
	}
	b.send(encode(CONNECT, []byte{fClean, 0x01}, be16(30), []byte("fwd-b")))
	if p := b.expect(CONNACK); p.Body[0] != 0 {
		t.Fatalf("CONNACK %v", p)
	}
	direct := dialSN(t, e.udp)
	direct.mustConnect("direct", true, 30)

	// Node b subscribes; an MQTT publish reaches it through the forwarder.
	b.send(encode(SUBSCRIBE, []byte{qosBits(1) | tidNormal}, be16(1), []byte("fwd/in")))
	sa := b.expect(SUBACK)
	tid := sa.u16(1)
	if tid == 0 || sa.u16(3) != 1 || sa.Body[5] != 0 {
		t.Fatalf("SUBACK %v", sa)
	}
	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("fwd/in", 1, false, "to-b"))
	m := b.expect(PUBLISH).publish()
	if m.topicID != tid || m.data != "to-b" || m.qos() != 1 {
		t.Fatalf("PUBLISH through the forwarder %+v", m)
	}
	b.send(encode(PUBACK, be16(m.topicID), be16(m.msgID), []byte{0}))

	// Node a publishes at QoS 1: PUBACK through the forwarder, the message
	// on MQTT.
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "fwd/out", 1)
	a.send(encode(REGISTER, be16(0), be16(7), []byte("fwd/out")))
	ra := a.expect(REGACK)
	if ra.u16(2) != 7 || ra.Body[4] != 0 {
		t.Fatalf("REGACK %v", ra)
	}
	a.send(encode(PUBLISH, []byte{qosBits(1) | tidNormal}, be16(ra.u16(0)), be16(8), []byte("from-a")))
	if p := a.expect(PUBACK); p.u16(2) != 8 || p.Body[4] != 0 {
		t.Fatalf("PUBACK %v", p)
	}
	if got := rec.Wait(t, 1); got[0] != "fwd/out 1 from-a" {
		t.Fatalf("MQTT got %q", got)
	}

	// The nodes are clients of their own, at the forwarder's address.
	for _, id := range []string{"fwd-a", "fwd-b"} {
		row, err := e.b.ClientInfo(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if row.ProtoName != "MQTT-SN" || row.IPAddress != "127.0.0.1" || row.Port != int64(f.sn.port()) {
			t.Fatalf("row of %s: %+v", id, row)
		}
	}
	if n := e.gw.Stats().Clients; n != 3 {
		t.Fatalf("gateway clients = %d, want 3", n)
	}

	// PINGREQ and DISCONNECT through the forwarder concern its node alone.
	a.send(encode(PINGREQ))
	a.expect(PINGRESP)
	a.send(encode(DISCONNECT))
	a.expect(DISCONNECT)
	gatewaytest.WaitFor(t, "node a gone", func() bool { return e.gw.Stats().Clients == 2 })
	b.send(encode(PINGREQ))
	b.expect(PINGRESP)
	direct.send(encode(PINGREQ))
	direct.expect(PINGRESP)
	// A node the gateway does not know hears DISCONNECT, encapsulated.
	a.send(encode(PINGREQ))
	a.expect(DISCONNECT)
}

// TestForwarderMalformed: encapsulations without a node id, cut short, or
// nested are dropped and counted; a good one after them is served.
func TestForwarderMalformed(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	f := &forwarder{t: t, sn: dialSN(t, e.udp)}
	f.sn.send([]byte{0x03, ENCAPSULATED, 0x00})                                      // empty node id
	f.sn.send([]byte{0x09, ENCAPSULATED, 0x00, 0x01})                                // Length past the datagram
	f.sn.send(encapsulate(0, "n", []byte{0x05, PINGREQ}))                            // inner Length 5 of 2 octets
	f.sn.send(encapsulate(0, "n", encapsulate(0, "m", encode(SEARCHGW, []byte{0})))) // nested
	f.sn.send([]byte{0x04, ENCAPSULATED})                                            // cut in the header
	gatewaytest.WaitFor(t, "5 malformed", func() bool { return dropped(e.gw, "malformed") == 5 })
	n := f.node("n")
	n.send(encode(SEARCHGW, []byte{0}))
	n.expect(GWINFO)
	// The test codec's encapsulation, octet by octet (section 5.5).
	want := []byte{
		5,        // Length: the header's five octets
		0xFE,     // MsgType: Encapsulated message
		1,        // Ctrl: radius 1
		'a', 'b', // Wireless Node Id
		2, 0x16, // PINGREQ
	}
	if got := encapsulate(1, "ab", []byte{2, PINGREQ}); !bytes.Equal(got, want) {
		t.Fatalf("test codec: encapsulation % x, want % x", got, want)
	}
}

// TestForwardedSleeperWakesDirect: a node that slept behind a forwarder
// and wakes talking to the gateway directly gets what waited there,
// unencapsulated, and the forwarder hears nothing more for it.
func TestForwardedSleeperWakesDirect(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	f := &forwarder{t: t, sn: dialSN(t, e.udp)}
	n := f.node("n1")
	n.send(encode(CONNECT, []byte{0, 0x01}, be16(30), []byte("fwd-sleep")))
	if p := n.expect(CONNACK); p.Body[0] != 0 {
		t.Fatalf("CONNACK %v", p)
	}
	n.send(encode(SUBSCRIBE, []byte{qosBits(0) | tidNormal}, be16(1), []byte("fs/+")))
	n.expect(SUBACK)
	n.send(encode(DISCONNECT, be16(60)))
	n.expect(DISCONNECT)

	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("fs/a", 0, false, "waited"))
	sentTo(t, e, "fwd-sleep", 1)
	direct := dialSN(t, e.udp)
	direct.send(encode(PINGREQ, []byte("fwd-sleep")))
	names := map[uint16]string{}
	if m := direct.recvPublish(names); names[m.topicID] != "fs/a" || m.data != "waited" {
		t.Fatalf("woken directly: %+v %v", m, names)
	}
	direct.expect(PINGRESP)
	f.sn.silent(100 * time.Millisecond)
	// The node's old place is nobody's now.
	n.send(encode(PINGREQ))
	n.expect(DISCONNECT)
	if c := e.gw.Stats().Clients; c != 1 {
		t.Fatalf("gateway clients = %d, want 1", c)
	}
}

// sentTo waits until the broker has sent the session of client id id n
// messages (the gateway holds them while the client sleeps).
func sentTo(t *testing.T, e *env, id string, n int64) {
	t.Helper()
	gatewaytest.WaitFor(t, fmt.Sprintf("%d messages sent to %s", n, id), func() bool {
		row, err := e.b.ClientInfo(context.Background(), id)
		return err == nil && row.Counters.SendMsg >= n
	})
}
