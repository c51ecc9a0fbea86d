package mqttsn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// env is a broker with a tcp listener and an MQTT-SN gateway.
type env struct {
	b   *shards.Broker
	srv *netio.Server
	gw  *mqttsn.Gateway
	tcp string // MQTT address
	udp string // MQTT-SN address
}

func start(t testing.TB, gcfg mqttsn.Config, mut func(*shards.Config)) *env {
	t.Helper()
	gw, err := mqttsn.New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	e := gatewaytest.Start(t, gw, "sn", "MQTT-SN", mut)
	return &env{b: e.Broker, srv: e.Server, gw: gw, tcp: e.TCP, udp: e.UDP}
}

// received collects an MQTT client's messages.
type received = gatewaytest.Received

// mqttClient connects a paho.mqtt.golang (MQTT 3.1.1) client; rec, when
// not nil, collects what it receives.
func mqttClient(t *testing.T, addr, id string, rec *received) pahov3.Client {
	t.Helper()
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetOrderMatters(true)
	if rec != nil {
		o.SetDefaultPublishHandler(rec.Add)
	}
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func ok(t *testing.T, tok pahov3.Token) {
	t.Helper()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("token: %v", tok.Error())
	}
}

func subscribe(t *testing.T, c pahov3.Client, filter string, qos byte) {
	t.Helper()
	ok(t, c.Subscribe(filter, qos, nil))
}

func TestSearchGW(t *testing.T) {
	e := start(t, mqttsn.Config{GatewayID: 7}, nil)
	c := dialSN(t, e.udp)
	c.send(encode(SEARCHGW, []byte{1}))
	p := c.expect(GWINFO)
	if len(p.Body) != 1 || p.Body[0] != 7 {
		t.Fatalf("GWINFO %v, want gateway 7", p)
	}
}

func TestAdvertise(t *testing.T) {
	l := dialSN(t, "127.0.0.1:9") // a socket to learn a free port from
	to := l.conn.LocalAddr().String()
	l.conn.Close()
	rx := listenUDP(t, to)
	e := start(t, mqttsn.Config{GatewayID: 3, AdvertiseInterval: time.Second, AdvertiseTo: mustAddrPort(t, to)}, nil)
	_ = e
	p := rx.expect(ADVERTISE)
	if p.Body[0] != 3 || p.u16(1) != 1 {
		t.Fatalf("ADVERTISE %v, want gateway 3 and duration 1", p)
	}
}

// TestPublishToMQTT publishes at QoS 0, 1 and 2 on a registered topic id,
// a short topic and a predefined one; an MQTT subscriber gets each.
func TestPublishToMQTT(t *testing.T) {
	e := start(t, mqttsn.Config{Predefined: map[uint16]string{5: "pre/defined"}}, nil)
	rec := &received{}
	sub := mqttClient(t, e.tcp, "sub", rec)
	subscribe(t, sub, "#", 2)

	c := dialSN(t, e.udp)
	c.mustConnect("sn-pub", true, 30)
	tid := c.register("sensors/1/temp", 1)
	if tid == 0 {
		t.Fatal("topic id 0")
	}
	c.publish(qosBits(0)|tidNormal, tid, 0, "q0")
	c.publish(qosBits(1)|tidNormal, tid, 2, "q1")
	p := c.expect(PUBACK)
	if p.u16(0) != tid || p.u16(2) != 2 || p.Body[4] != 0 {
		t.Fatalf("PUBACK %v", p)
	}
	c.publish(qosBits(2)|tidNormal, tid, 3, "q2")
	if p := c.expect(PUBREC); p.u16(0) != 3 {
		t.Fatalf("PUBREC %v", p)
	}
	c.send(encode(PUBREL, be16(3)))
	if p := c.expect(PUBCOMP); p.u16(0) != 3 {
		t.Fatalf("PUBCOMP %v", p)
	}
	c.publish(qosBits(0)|tidShort, uint16('a')<<8|'b', 0, "short")
	c.publish(qosBits(1)|tidPre, 5, 4, "pre")
	c.expect(PUBACK)
	got := rec.Wait(t, 5)
	want := []string{"sensors/1/temp 0 q0", "sensors/1/temp 1 q1", "sensors/1/temp 2 q2", "ab 0 short", "pre/defined 1 pre"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("MQTT subscriber got %q, want %q", got, want)
	}
}

// TestSubscribeFromMQTT subscribes with a wildcard, a topic name, a short
// and a predefined topic; MQTT publishes reach the client at each QoS with
// the gateway's REGISTER for new topics.
func TestSubscribeFromMQTT(t *testing.T) {
	e := start(t, mqttsn.Config{Predefined: map[uint16]string{9: "pre/nine"}}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-sub", true, 30)
	if p := c.subscribe("a/+/c", 2, 1); p.Body[5] != 0 || p.u16(1) != 0 {
		t.Fatalf("SUBACK for a wildcard: %v (want accepted, topic id 0)", p)
	}
	p := c.subscribe("exact/topic", 1, 2)
	exact := p.u16(1)
	if exact == 0 || (p.Body[0]>>5)&3 != 1 {
		t.Fatalf("SUBACK for a topic name: %v (want its id, QoS 1)", p)
	}
	c.send(encode(SUBSCRIBE, []byte{qosBits(0) | tidShort}, be16(3), []byte("zz")))
	c.expect(SUBACK)
	c.send(encode(SUBSCRIBE, []byte{qosBits(0) | tidPre}, be16(4), be16(9)))
	if p := c.expect(SUBACK); p.u16(1) != 9 || p.Body[5] != 0 {
		t.Fatalf("SUBACK for a predefined id: %v", p)
	}

	pub := mqttClient(t, e.tcp, "pub", nil)
	names := map[uint16]string{}
	ok(t, pub.Publish("a/b/c", 0, false, "w0"))
	m := c.recvPublish(names)
	if names[m.topicID] != "a/b/c" || m.data != "w0" || m.qos() != 0 {
		t.Fatalf("got %+v names %v", m, names)
	}
	ok(t, pub.Publish("exact/topic", 1, false, "e1"))
	m = c.recvPublish(names)
	if m.topicID != exact || m.data != "e1" || m.qos() != 1 || m.flags&0b11 != tidNormal {
		t.Fatalf("got %+v, want topic id %d QoS 1", m, exact)
	}
	c.send(encode(PUBACK, be16(m.topicID), be16(m.msgID), []byte{0}))
	ok(t, pub.Publish("a/x/c", 2, false, "w2"))
	m = c.recvPublish(names)
	if names[m.topicID] != "a/x/c" || m.qos() != 2 {
		t.Fatalf("got %+v", m)
	}
	c.send(encode(PUBREC, be16(m.msgID)))
	if p := c.expect(PUBREL); p.u16(0) != m.msgID {
		t.Fatalf("PUBREL %v", p)
	}
	c.send(encode(PUBCOMP, be16(m.msgID)))
	ok(t, pub.Publish("zz", 0, false, "s"))
	m = c.recvPublish(names)
	if m.flags&0b11 != tidShort || m.topicID != uint16('z')<<8|'z' {
		t.Fatalf("short topic %+v", m)
	}
	ok(t, pub.Publish("pre/nine", 0, false, "p"))
	m = c.recvPublish(names)
	if m.flags&0b11 != tidPre || m.topicID != 9 {
		t.Fatalf("predefined topic %+v", m)
	}
	// UNSUBSCRIBE: nothing more arrives.
	c.send(encode(UNSUBSCRIBE, []byte{tidNormal}, be16(5), []byte("a/+/c")))
	if p := c.expect(UNSUBACK); p.u16(0) != 5 {
		t.Fatalf("UNSUBACK %v", p)
	}
	ok(t, pub.Publish("a/b/c", 0, false, "gone"))
	c.silent(300 * time.Millisecond)
}

func TestRow(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-row", false, 45)
	row, err := e.b.ClientInfo(context.Background(), "sn-row")
	if err != nil {
		t.Fatal(err)
	}
	if row.ProtoName != "MQTT-SN" || row.ProtoVer != 1 || row.Listener != "udp:sn" || row.IPAddress != "127.0.0.1" ||
		row.Port != int64(c.port()) || row.Keepalive != 45 || row.CleanStart || !row.Connected {
		t.Fatalf("row %+v", row)
	}
}

func TestInvalidTopicID(t *testing.T) {
	e := start(t, mqttsn.Config{}, nil)
	c := dialSN(t, e.udp)
	c.mustConnect("sn-bad", true, 30)
	c.publish(qosBits(1)|tidNormal, 77, 1, "x")
	p := c.expect(PUBACK)
	if p.u16(0) != 77 || p.Body[4] != 0x02 {
		t.Fatalf("PUBACK %v, want return code 0x02 (invalid topic id)", p)
	}
	c.publish(qosBits(0)|tidPre, 12, 0, "x")
	if p := c.expect(PUBACK); p.Body[4] != 0x02 {
		t.Fatalf("PUBACK %v", p)
	}
	// A short name with a wildcard is no topic name.
	c.publish(qosBits(1)|tidShort, uint16('a')<<8|'+', 2, "x")
	if p := c.expect(PUBACK); p.Body[4] != 0x02 {
		t.Fatalf("PUBACK %v", p)
	}
	if n := e.gw.Stats().Dropped[4]; n != 3 {
		t.Fatalf("invalid_topic_id = %d, want 3", n)
	}
	// The connection is still up: a valid short name goes through.
	c.publish(qosBits(1)|tidShort, uint16('o')<<8|'k', 3, "x")
	if p := c.expect(PUBACK); p.Body[4] != 0 {
		t.Fatalf("PUBACK %v", p)
	}
	if _, err := mqttsn.New(mqttsn.Config{Predefined: map[uint16]string{1: "a/+"}}); err == nil {
		t.Fatal("a predefined filter with a wildcard was accepted")
	}
}

func listenUDP(t testing.TB, addr string) *snclient {
	t.Helper()
	ra, err := netResolve(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := listenUDPAddr(ra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &snclient{t: t, conn: c}
}
