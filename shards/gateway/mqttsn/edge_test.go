package mqttsn_test

import (
	"context"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// TestRegackRefused: a client that refuses the gateway's REGISTER does not
// get the messages of that topic (QoS 1 ones are acknowledged to the
// broker for it, so its window moves on); the next topic flows.
func TestRegackRefused(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-picky", true, 30)
	c.subscribe("news/+", 1, 1)
	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("news/spam", 1, false, "no"))
	r := c.expect(REGISTER)
	c.send(encode(REGACK, r.Body[0:2], r.Body[2:4], []byte{0x03})) // refused
	ok(t, pub.Publish("news/good", 1, false, "yes"))
	names := map[uint16]string{}
	m := c.recvPublish(names)
	if names[m.topicID] != "news/good" || m.data != "yes" {
		t.Fatalf("got %+v %v", m, names)
	}
	c.send(encode(PUBACK, be16(m.topicID), be16(m.msgID), []byte{0}))
	gatewaytest.WaitFor(t, "the refused message acknowledged", func() bool {
		row, err := e.b.ClientInfo(context.Background(), "sn-picky")
		return err == nil && row.Counters.InflightCnt == 0
	})
}

// TestSleepBufferBound: a sleeping client's buffer keeps the newest
// SleepBuffer messages; the oldest are dropped and counted.
func TestSleepBufferBound(t *testing.T) {
	e := start(t, mqttsn.Config{SleepBuffer: 2}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-nap", false, 30)
	c.send(encode(SUBSCRIBE, []byte{qosBits(0) | tidShort}, be16(1), []byte("zz")))
	c.expect(SUBACK)
	c.send(encode(DISCONNECT, be16(60)))
	c.expect(DISCONNECT)
	pub := mqttClient(t, e.tcp, "pub", nil)
	for _, m := range []string{"1", "2", "3"} {
		ok(t, pub.Publish("zz", 0, false, m))
	}
	gatewaytest.WaitFor(t, "one message dropped", func() bool { return dropped(e.gw, "sleep_buffer") == 1 })
	c.send(encode(PINGREQ, []byte("sn-nap")))
	for _, want := range []string{"2", "3"} {
		if m := c.expect(PUBLISH).publish(); m.data != want {
			t.Fatalf("got %+v, want %s", m, want)
		}
	}
	c.expect(PINGRESP)
}

// TestDisconnectAndReconnect: a normal DISCONNECT is answered and the
// client forgotten; a CONNECT from a connected client replaces its
// connection and keeps a persistent session.
func TestDisconnectAndReconnect(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-again", false, 30)
	c.send(encode(SUBSCRIBE, []byte{qosBits(1) | tidShort}, be16(1), []byte("rc")))
	c.expect(SUBACK)
	c.mustConnect("sn-again", false, 30) // again, while connected
	ok(t, mqttClient(t, e.tcp, "pub", nil).Publish("rc", 1, false, "kept"))
	if m := c.expect(PUBLISH).publish(); m.data != "kept" {
		t.Fatalf("got %+v", m)
	}
	c.send(encode(DISCONNECT))
	c.expect(DISCONNECT)
	gatewaytest.WaitFor(t, "the client forgotten", func() bool { return e.gw.Stats().Clients == 0 })
	gatewaytest.WaitFor(t, "the session offline", func() bool {
		row, err := e.b.ClientInfo(context.Background(), "sn-again")
		return err == nil && !row.Connected
	})
	c.send(encode(PINGREQ))
	c.expect(DISCONNECT) // unknown now: told to connect
	time.Sleep(10 * time.Millisecond)
}
