package shards

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// countingClient is a rawClient that counts the bytes it writes and reads
// and its writes (each answered before the next, so the broker sees one
// read per write).
type countingClient struct {
	*rawClient
	out, in int64
	writes  int64
}

func (cc *countingClient) send(b []byte) {
	cc.write(b)
	cc.out += int64(len(b))
	cc.writes++
}

func (cc *countingClient) recv(t *testing.T, want mqtt.PacketType) []byte {
	t.Helper()
	h, body := cc.read()
	if h.Type != want {
		t.Fatalf("got %v, want %v", h.Type, want)
	}
	cc.in += int64(h.HeaderLen + len(body))
	return body
}

// TestStatsExact drives known traffic and checks every counter of the
// client object.
func TestStatsExact(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	v := mqtt.V311
	cc := &countingClient{rawClient: dialRaw(t, tb.addr, v)}
	cc.send(mqtt.AppendConnect(nil, conn311("stats", true), v))
	cc.recv(t, mqtt.TypeConnack)
	cc.send(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{sub("st/#", 2)}}, v))
	cc.recv(t, mqtt.TypeSuback)
	settle := func(what string, cond func(ClientRow) bool) {
		t.Helper()
		waitFor(t, what, func() bool { return cond(tb.info(t, "stats")) })
	}
	// QoS 0 to itself: one PUBLISH back.
	cc.send(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("st/0"), Payload: []byte("zero")}, v))
	cc.recv(t, mqtt.TypePublish)
	// QoS 1: PUBACK and the PUBLISH back, in one batch.
	cc.send(mqtt.AppendPublish(nil, &mqtt.Publish{QoS: 1, PacketID: 2, Topic: []byte("st/1"), Payload: []byte("one")}, v))
	got1, n := cc.readPublishAck(mqtt.TypePuback)
	cc.in += int64(n)
	cc.send(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: got1.PacketID}, v))
	settle("puback", func(r ClientRow) bool { return r.InflightCnt == 0 })
	// QoS 2 both ways.
	cc.send(mqtt.AppendPublish(nil, &mqtt.Publish{QoS: 2, PacketID: 3, Topic: []byte("st/2"), Payload: []byte("two")}, v))
	got2, n := cc.readPublishAck(mqtt.TypePubrec)
	cc.in += int64(n)
	cc.send(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 3}, v))
	cc.recv(t, mqtt.TypePubcomp)
	cc.send(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: got2.PacketID}, v))
	cc.recv(t, mqtt.TypePubrel)
	cc.send(mqtt.AppendPubcomp(nil, &mqtt.Pubcomp{PacketID: got2.PacketID}, v))
	settle("pubcomp", func(r ClientRow) bool { return r.InflightCnt == 0 })
	cc.send([]byte{0xc0, 0x00})
	cc.recv(t, mqtt.TypePingresp)

	r := tb.info(t, "stats")
	want := Counters{
		SubscriptionsCnt: 1, InflightMax: 32, MqueueMax: 1000, AwaitingRelMax: 100,
		RecvOct: cc.out, RecvCnt: cc.writes, RecvPkt: 10, // CONNECT SUBSCRIBE 3×PUBLISH PUBACK PUBREL PUBREC PUBCOMP PINGREQ
		RecvMsg: 3, RecvMsgQoS0: 1, RecvMsgQoS1: 1, RecvMsgQoS2: 1,
		SendOct: cc.in, SendCnt: 8, // CONNACK, SUBACK, q0, q1+PUBACK, q2+PUBREC, PUBCOMP, PUBREL, PINGRESP
		SendPkt: 10, // CONNACK SUBACK 3×PUBLISH PUBACK PUBREC PUBCOMP PUBREL PINGRESP
		SendMsg: 3, SendMsgQoS0: 1, SendMsgQoS1: 1, SendMsgQoS2: 1,
		Reductions: 13, // 10 packets + 3 deliveries
	}
	if !reflect.DeepEqual(r.Counters, want) {
		t.Fatalf("counters\n got %+v\nwant %+v", r.Counters, want)
	}
	if r.ProtoVer != 4 || r.ProtoName != "MQTT" || !r.Connected || r.ConnState != "connected" || r.Keepalive != 60 ||
		!r.CleanStart || r.IsPersistent || r.IPAddress != "127.0.0.1" || r.Node != "shardmq@127.0.0.1" ||
		r.Zone != "default" || r.DisconnectedAt != nil || r.CreatedAt == 0 || r.ConnectedAt == 0 {
		t.Fatalf("row %+v", r)
	}
}

// TestStatsDrops checks the drop counters: too large for the client,
// expired while queued, and await_pubrel_timeout.
func TestStatsDrops(t *testing.T) {
	tb := startBroker(t, Config{AwaitPubrelTimeout: 200 * time.Millisecond}, netio.Config{TickInterval: 10 * time.Millisecond})
	cp := conn5("drops")
	cp.CleanStart = false
	cp.Properties.Present.Add(mqtt.PropSessionExpiry)
	cp.Properties.SessionExpiry = 60
	cp.Properties.Present.Add(mqtt.PropMaximumPacketSize)
	cp.Properties.MaximumPacketSize = 100
	c, _ := connectRaw(t, tb.addr, cp)
	c.subscribe(1, sub("dr/#", 1))
	p, _ := connectRaw(t, tb.addr, conn5("drops-pub"))
	p.publish("dr/big", strings.Repeat("b", 200), 0, false, 0)
	waitFor(t, "too_large", func() bool { return tb.info(t, "drops").SendMsgDroppedTooLarge == 1 })
	c.c.Close()
	waitFor(t, "offline", func() bool { return !tb.info(t, "drops").Connected })
	exp := &mqtt.Publish{QoS: 1, PacketID: 9, Topic: []byte("dr/exp"), Payload: []byte("e")}
	exp.Properties.Present.Add(mqtt.PropMessageExpiry)
	exp.Properties.MessageExpiry = 1
	p.write(mqtt.AppendPublish(nil, exp, mqtt.V5))
	p.read()
	waitFor(t, "queued", func() bool { return tb.info(t, "drops").MqueueLen == 1 })
	time.Sleep(1100 * time.Millisecond) // the message's own expiry interval must pass
	c2, _ := connectRaw(t, tb.addr, cp)
	// QoS 2 without PUBREL: dropped after await_pubrel_timeout.
	c2.publish("elsewhere", "q2", 2, false, 4)
	c2.read()
	waitFor(t, "pubrel timeout", func() bool {
		r := tb.info(t, "drops")
		return r.RecvMsgDroppedAwaitPubrelTimeout == 1 && r.AwaitingRelCnt == 0
	})
	r := tb.info(t, "drops")
	if r.SendMsgDroppedExpired != 1 || r.SendMsgDroppedTooLarge != 1 || r.SendMsgDropped != 2 ||
		r.RecvMsgDropped != 1 || r.MqueueLen != 0 || r.SendMsg != 0 || !r.IsPersistent || r.ExpiryInterval != 60 {
		t.Fatalf("counters %+v", r.Counters)
	}
}
