package mqttsn_test

import (
	"context"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// TestSleepWakeElsewhere: a sleeping client that wakes from another UDP
// address with PINGREQ and its client id gets the messages buffered while
// it slept there, and its session follows it (section 6.14); a CONNECT
// from a third address takes it back to active there. Another client's
// id, or a client that is not asleep, gives no one a way in.
func TestSleepWakeElsewhere(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-roam", false, 30)
	c.subscribe("home/+", 1, 1)
	active := dialSN(t, e.udp)
	active.mustConnect("sn-awake", true, 30)
	c.send(encode(DISCONNECT, be16(60)))
	c.expect(DISCONNECT)

	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("home/a", 0, false, "m0"))
	ok(t, pub.Publish("home/b", 1, false, "m1"))
	sentTo(t, e, "sn-roam", 2)
	c.silent(100 * time.Millisecond)

	// Not asleep, or unknown: DISCONNECT to the new address.
	stranger := dialSN(t, e.udp)
	stranger.send(encode(PINGREQ, []byte("sn-awake")))
	stranger.expect(DISCONNECT)
	stranger.send(encode(PINGREQ, []byte("nobody")))
	stranger.expect(DISCONNECT)

	moved := dialSN(t, e.udp)
	moved.send(encode(PINGREQ, []byte("sn-roam")))
	names := map[uint16]string{}
	moved.recvWoken(names)
	c.silent(100 * time.Millisecond) // the old address hears nothing more

	gatewaytest.WaitFor(t, "the row at the new port", func() bool {
		row, err := e.b.ClientInfo(context.Background(), "sn-roam")
		return err == nil && row.Connected && row.Port == int64(moved.port())
	})
	// The old address is no client any more.
	c.send(encode(PINGREQ))
	c.expect(DISCONNECT)

	// Asleep again; CONNECT (no clean session, no will) from a third
	// address: active there, with what waited.
	ok(t, pub.Publish("home/a", 0, false, "later"))
	sentTo(t, e, "sn-roam", 3)
	moved.silent(100 * time.Millisecond)
	third := dialSN(t, e.udp)
	third.connect("sn-roam", 0, 30)
	if p := third.expect(CONNACK); p.Body[0] != 0 {
		t.Fatalf("CONNACK %v", p)
	}
	if m := third.recvPublish(names); m.data != "later" {
		t.Fatalf("after CONNECT %+v", m)
	}
	ok(t, pub.Publish("home/b", 0, false, "active"))
	if m := third.recvPublish(names); m.data != "active" {
		t.Fatalf("active %+v", m)
	}
	// Active now: a PINGREQ with its id from elsewhere does not move it.
	moved.send(encode(PINGREQ, []byte("sn-roam")))
	moved.expect(DISCONNECT)
	if n := e.gw.Stats().Clients; n != 2 {
		t.Fatalf("gateway clients = %d, want 2", n)
	}
}
