package mqttsn_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

func dropped(g *mqttsn.Gateway, reason string) int64 {
	s := g.Stats()
	for i, r := range mqttsn.DropReasons() {
		if r == reason {
			return s.Dropped[i]
		}
	}
	panic("no reason " + reason)
}

// TestMalformed: truncated datagrams, wrong lengths, unknown types and
// oversized datagrams are dropped and counted; the gateway and a
// connected client go on.
func TestMalformed(t *testing.T) {
	e := start(t, mqttsn.Config{MaxDatagram: 512}, nil)
	c := dialSN(t, e.udp)
	c.send([]byte{0x05})                   // one octet
	c.send([]byte{0x09, PUBLISH, 0, 0})    // length says 9, datagram is 4
	c.send([]byte{0x01, 0x00})             // three-octet length cut short
	c.send([]byte{0x01, 0x00, 0x10, 0x0C}) // three-octet length 16, datagram 4
	gatewaytest.WaitFor(t, "4 malformed", func() bool { return dropped(e.gw, "malformed") == 4 })
	c.send(encode(0x03)) // reserved type
	c.send(encode(0xFD, []byte{0}))
	gatewaytest.WaitFor(t, "2 unknown types", func() bool { return dropped(e.gw, "unknown_type") == 2 })
	c.send(encode(PUBLISH, make([]byte, 600)))
	gatewaytest.WaitFor(t, "1 oversized", func() bool { return dropped(e.gw, "oversized") == 1 })
	// Messages that need a connection, from a peer without one: DISCONNECT.
	c.send(encode(PINGREQ))
	c.expect(DISCONNECT)
	c.send(encode(CONNECT, []byte{0})) // too short
	c.silent(100 * time.Millisecond)

	c.mustConnect("sn-ok", true, 30)
	// Truncated or overlong messages of every type from a connected
	// client: counted, never fatal.
	for typ := byte(0); typ < 0x1E; typ++ {
		if typ == CONNECT || typ == DISCONNECT || typ == PINGREQ || typ == SEARCHGW {
			continue
		}
		c.send(encode(typ))
		c.send(encode(typ, []byte{0xFF}))
		c.send(encode(typ, []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		b := make([]byte, 1+rng.IntN(20))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		typ := byte(rng.UintN(0x1E))
		if typ == CONNECT || typ == DISCONNECT {
			continue
		}
		c.send(encode(typ, b))
	}
	// Drain what the gateway answered, then check the client still works.
	for {
		if _, err := c.tryRecv(300 * time.Millisecond); err != nil {
			break
		}
	}
	c2 := dialSN(t, e.udp)
	c2.send(encode(SEARCHGW, []byte{0}))
	c2.expect(GWINFO)
	if s := e.gw.Stats(); s.Received < 500 {
		t.Fatalf("received %d", s.Received)
	}
}

// TestConnectFlood: CONNECTs from many ports that never finish their
// will dialogue hold at most MaxPending clients; the rest are answered
// congestion and counted, and the half-open ones expire.
func TestConnectFlood(t *testing.T) {
	e := start(t, mqttsn.Config{MaxPending: 50, ConnectTimeout: 500 * time.Millisecond}, nil)
	var refused int
	clients := make([]*snclient, 200)
	for i := range clients {
		clients[i] = dialSN(t, e.udp)
		clients[i].connect("flood", fWill|fClean, 30)
	}
	for _, c := range clients {
		p := c.recv(5 * time.Second)
		switch {
		case p.Type == CONNACK && p.Body[0] == 0x01:
			refused++
		case p.Type == WILLTOPICREQ:
		default:
			t.Fatalf("got %v", p)
		}
	}
	if refused != 150 || dropped(e.gw, "pending_full") != 150 {
		t.Fatalf("refused %d, counted %d; want 150", refused, dropped(e.gw, "pending_full"))
	}
	if n := e.gw.Stats().Clients; n != 50 {
		t.Fatalf("%d clients held, want 50", n)
	}
	gatewaytest.WaitFor(t, "half-open clients expired", func() bool { return e.gw.Stats().Clients == 0 })
	if n := dropped(e.gw, "expired"); n != 50 {
		t.Fatalf("expired %d, want 50", n)
	}
	// The gateway takes new clients again.
	c := dialSN(t, e.udp)
	c.mustConnect("after-flood", true, 30)
}

// TestOutboundTooLarge: a broker message over MaxDatagram is dropped,
// counted and acknowledged to the broker, so the ones after it flow.
func TestOutboundTooLarge(t *testing.T) {
	e := start(t, mqttsn.Config{MaxDatagram: 256}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-small", true, 30)
	c.send(encode(SUBSCRIBE, []byte{qosBits(1) | tidShort}, be16(1), []byte("bg")))
	c.expect(SUBACK)
	pub := mqttClient(t, e.tcp, "pub", nil)
	big := make([]byte, 300)
	ok(t, pub.Publish("bg", 1, false, big))
	ok(t, pub.Publish("bg", 1, false, "small"))
	m := c.expect(PUBLISH).publish()
	if m.data != "small" {
		t.Fatalf("got %+v", m)
	}
	if n := dropped(e.gw, "too_large"); n != 1 {
		t.Fatalf("too_large %d", n)
	}
}
