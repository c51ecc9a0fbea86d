package mqttsn_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// connectWill runs the will dialogue of CONNECT (section 6.3).
func (c *snclient) connectWill(id string, topic, msg string, qos int, duration uint16) {
	c.t.Helper()
	c.connect(id, fWill|fClean, duration)
	c.expect(WILLTOPICREQ)
	c.send(encode(WILLTOPIC, []byte{qosBits(qos)}, []byte(topic)))
	c.expect(WILLMSGREQ)
	c.send(encode(WILLMSG, []byte(msg)))
	if p := c.expect(CONNACK); p.Body[0] != 0 {
		c.t.Fatalf("CONNACK %v", p)
	}
}

// TestWillOnKick: the will set in the CONNECT dialogue is published when
// the client is kicked through the broker's API, which the client hears
// as DISCONNECT.
func TestWillOnKick(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "will/#", 1)
	c := dialSN(t, e.udp)
	c.connectWill("sn-will", "will/sn", "gone", 1, 30)
	if err := e.b.Kick(context.Background(), "sn-will"); err != nil {
		t.Fatal(err)
	}
	c.expect(DISCONNECT)
	if got := rec.Wait(t, 1); got[0] != "will/sn 1 gone" {
		t.Fatalf("will %q", got)
	}
	gatewaytest.WaitFor(t, "the client forgotten", func() bool { return e.gw.Stats().Clients == 0 })
}

// TestWillUpdate: WILLTOPICUPD and WILLMSGUPD replace the will; a normal
// DISCONNECT publishes none.
func TestWillUpdate(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "will/#", 1)
	c := dialSN(t, e.udp)
	c.connectWill("sn-upd", "will/old", "old", 0, 30)
	c.send(encode(WILLTOPICUPD, []byte{qosBits(1) | fRetain}, []byte("will/new")))
	if p := c.expect(WILLTOPICRESP); p.Body[0] != 0 {
		t.Fatalf("WILLTOPICRESP %v", p)
	}
	c.send(encode(WILLMSGUPD, []byte("new")))
	if p := c.expect(WILLMSGRESP); p.Body[0] != 0 {
		t.Fatalf("WILLMSGRESP %v", p)
	}
	if err := e.b.Kick(context.Background(), "sn-upd"); err != nil {
		t.Fatal(err)
	}
	if got := rec.Wait(t, 1); got[0] != "will/new 1 new" {
		t.Fatalf("will %q", got)
	}
	// The will was retained: a new subscriber gets it.
	rec2 := &received{}
	subscribe(t, mqttClient(t, e.tcp, "late", rec2), "will/new", 0)
	rec2.Wait(t, 1)

	// A normal DISCONNECT: no will.
	c2 := dialSN(t, e.udp)
	c2.connectWill("sn-bye", "will/bye", "bye", 0, 30)
	c2.send(encode(WILLTOPICUPD)) // empty: no will at all
	c2.expect(WILLTOPICRESP)
	c2.send(encode(DISCONNECT))
	c2.expect(DISCONNECT)
	time.Sleep(200 * time.Millisecond)
	if got := rec.Wait(t, 1); len(got) != 1 {
		t.Fatalf("got %q after a normal DISCONNECT", got)
	}
}

// recvWoken receives, after a wake-up PINGREQ, what the sleep tests
// buffer (home/a "m0" at QoS 0, home/b "m1" at QoS 1, acknowledged) and
// then PINGRESP.
func (c *snclient) recvWoken(names map[uint16]string) {
	c.t.Helper()
	m := c.recvPublish(names)
	if names[m.topicID] != "home/a" || m.data != "m0" {
		c.t.Fatalf("first %+v %v", m, names)
	}
	m = c.recvPublish(names)
	if names[m.topicID] != "home/b" || m.data != "m1" || m.qos() != 1 {
		c.t.Fatalf("second %+v %v", m, names)
	}
	c.send(encode(PUBACK, be16(m.topicID), be16(m.msgID), []byte{0}))
	c.expect(PINGRESP)
}

// TestSleep: a sleeping client's messages wait for its PINGREQ, which
// gets them and then PINGRESP; it sleeps again after.
func TestSleep(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-sleep", false, 30)
	c.subscribe("home/+", 1, 1)
	c.send(encode(DISCONNECT, be16(60)))
	c.expect(DISCONNECT)

	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("home/a", 0, false, "m0"))
	ok(t, pub.Publish("home/b", 1, false, "m1"))
	c.silent(300 * time.Millisecond) // asleep: nothing comes
	row, err := e.b.ClientInfo(context.Background(), "sn-sleep")
	if err != nil || !row.Connected {
		t.Fatalf("asleep client row %+v, %v (want connected)", row, err)
	}

	c.send(encode(PINGREQ, []byte("sn-sleep")))
	names := map[uint16]string{}
	c.recvWoken(names)

	// Asleep again.
	ok(t, pub.Publish("home/a", 0, false, "later"))
	c.silent(300 * time.Millisecond)
	// CONNECT without clean session or will: awake for good.
	c.connect("sn-sleep", 0, 30)
	c.expect(CONNACK)
	m := c.recvPublish(names)
	if m.data != "later" {
		t.Fatalf("after CONNECT %+v", m)
	}
	ok(t, pub.Publish("home/a", 0, false, "active"))
	if m = c.recvPublish(names); m.data != "active" {
		t.Fatalf("active %+v", m)
	}
}

// TestSleepExpiry: a client that sleeps past its duration (× 1.5) is lost
// and its will published.
func TestSleepExpiry(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "will/#", 0)
	c := dialSN(t, e.udp)
	c.connectWill("sn-nap", "will/nap", "overslept", 0, 30)
	c.send(encode(DISCONNECT, be16(1)))
	c.expect(DISCONNECT)
	if got := rec.Wait(t, 1); got[0] != "will/nap 0 overslept" {
		t.Fatalf("will %q", got)
	}
}

// TestKeepAlive: a client silent past its duration × 1.5 is lost.
func TestKeepAlive(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "will/#", 0)
	c := dialSN(t, e.udp)
	c.connectWill("sn-ka", "will/ka", "silent", 0, 1)
	start := time.Now()
	if got := rec.Wait(t, 1); got[0] != "will/ka 0 silent" {
		t.Fatalf("will %q", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("lost after %v, before the keep-alive", d)
	}
	c.expect(DISCONNECT)
}

// TestRetransmission: an unacknowledged QoS 1 PUBLISH is sent again with
// DUP after RetryInterval, and after MaxRetries the client is lost.
func TestRetransmission(t *testing.T) {
	e := start(t, mqttsn.Config{RetryInterval: 300 * time.Millisecond, MaxRetries: 2}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "will/#", 0)
	c := dialSN(t, e.udp)
	c.connectWill("sn-deaf", "will/deaf", "lost", 0, 60)
	c.send(encode(SUBSCRIBE, []byte{qosBits(1) | tidShort}, be16(1), []byte("ab")))
	c.expect(SUBACK)
	pub := mqttClient(t, e.tcp, "pub", nil)
	ok(t, pub.Publish("ab", 1, false, "x"))
	first := c.expect(PUBLISH).publish()
	if first.flags&fDUP != 0 {
		t.Fatal("DUP on the first send")
	}
	for i := 0; i < 2; i++ {
		again := c.expect(PUBLISH).publish()
		if again.flags&fDUP == 0 || again.msgID != first.msgID || again.data != "x" {
			t.Fatalf("retransmission %d: %+v", i, again)
		}
	}
	if got := rec.Wait(t, 1); got[0] != "will/deaf 0 lost" {
		t.Fatalf("will %q", got)
	}
	if s := e.gw.Stats(); s.Retransmitted != 2 || s.Dropped[7] != 1 {
		t.Fatalf("stats %+v: want 2 retransmissions and 1 lost", s)
	}
}

// TestQoSMinus1 publishes without a connection to a predefined and a
// short topic id.
func TestQoSMinus1(t *testing.T) {
	e := start(t, mqttsn.Config{Predefined: map[uint16]string{1: "meter/reading"}}, nil)
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "sub", rec), "#", 0)
	c := dialSN(t, e.udp)
	c.publish(qosBits(-1)|tidPre, 1, 0, "42")
	c.publish(qosBits(-1)|tidShort, uint16('q')<<8|'m', 0, "short")
	got := rec.Wait(t, 2)
	if got[0] != "meter/reading 0 42" || got[1] != "qm 0 short" {
		t.Fatalf("got %q", got)
	}
	c.publish(qosBits(-1)|tidNormal, 1, 0, "no") // a normal id needs a connection
	gatewaytest.WaitFor(t, "the refused QoS -1", func() bool { return e.gw.Stats().Dropped[4] == 1 })
}

// TestAPISubscribe subscribes a gateway client through the broker's API.
func TestAPISubscribe(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-api", true, 30)
	if _, err := e.b.Subscribe(context.Background(), "sn-api", []shards.SubscribeRequest{{Topic: "cmd/#"}}); err != nil {
		t.Fatal(err)
	}
	ok(t, mqttClient(t, e.tcp, "pub", nil).Publish("cmd/reboot", 0, false, "now"))
	names := map[uint16]string{}
	if m := c.recvPublish(names); names[m.topicID] != "cmd/reboot" || m.data != "now" {
		t.Fatalf("got %+v %v", m, names)
	}
}

// TestTakeoverAcrossLoops: a client id first held by an MQTT client is
// taken over by an MQTT-SN client, and then by another MQTT-SN peer,
// whatever loops they land on; the session's subscriptions stay.
func TestTakeoverAcrossLoops(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	// Client ids until one session sits on another loop than the one its
	// MQTT-SN client is placed on, so that its connection migrates.
	for i := 0; i < 4 || e.srv.Migrations() == 0; i++ {
		if i == 32 {
			t.Fatal("no migration in 32 client ids")
		}
		id := fmt.Sprintf("shared-%d", i)
		m := mqttClient(t, e.tcp, id, nil)
		_ = m
		c := dialSN(t, e.udp)
		c.mustConnect(id, false, 30)
		c.subscribe("t/"+id, 0, 1)
		c2 := dialSN(t, e.udp)
		c2.mustConnect(id, false, 30)
		c.expect(DISCONNECT)
		ok(t, mqttClient(t, e.tcp, "pub-"+id, nil).Publish("t/"+id, 0, false, "to-"+id))
		names := map[uint16]string{}
		if got := c2.recvPublish(names); got.data != "to-"+id {
			t.Fatalf("got %+v", got)
		}
		row, err := e.b.ClientInfo(context.Background(), id)
		if err != nil || row.ProtoName != "MQTT-SN" || row.Port != int64(c2.port()) {
			t.Fatalf("row %+v %v", row, err)
		}
	}
}

// TestAuthAndACL: a listener without anonymous clients refuses MQTT-SN
// CONNECTs (which carry no credentials); the ACL governs publishes and
// subscriptions as for MQTT clients.
func TestAuthAndACL(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("allow clientid sn-acl publish open/#\nallow clientid sn-acl subscribe open/#\nallow all all #\ndeny all all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(acl, []byte("allow clientid sn-acl all open/#\nallow clientid watch all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	az, err := auth.New(auth.Config{ACLFile: acl})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, mqttsn.Config{}, func(c *shards.Config) { c.Auth = az })
	rec := &received{}
	subscribe(t, mqttClient(t, e.tcp, "watch", rec), "#", 0)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-acl", true, 30)
	closed := c.register("closed/x", 1)
	open := c.register("open/x", 2)
	c.publish(qosBits(0)|tidNormal, closed, 0, "denied")
	c.publish(qosBits(0)|tidNormal, open, 0, "allowed")
	if got := rec.Wait(t, 1); len(got) != 1 || got[0] != "open/x 0 allowed" {
		t.Fatalf("got %q", got)
	}
	if p := c.subscribe("closed/#", 0, 3); p.Body[5] != 0x03 {
		t.Fatalf("SUBACK for a denied filter %v, want return code 0x03", p)
	}

	no := false
	e2 := start(t, mqttsn.Config{}, func(c *shards.Config) { c.Listeners[1].AllowAnonymous = &no })
	c2 := dialSN(t, e2.udp)
	c2.connect("sn-anon", fClean, 30)
	if p := c2.expect(CONNACK); p.Body[0] != 0x03 {
		t.Fatalf("CONNACK %v, want 0x03 (refused)", p)
	}
	gatewaytest.WaitFor(t, "the refused client forgotten", func() bool { return e2.gw.Stats().Clients == 0 })
}
