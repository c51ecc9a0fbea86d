package shards

import (
	"strconv"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestTotals checks the broker-wide sums: messages by QoS both ways, the
// current subscription level, and that an ended session's counts stay in
// the totals (they are counters: they never go down).
func TestTotals(t *testing.T) {
	tb := startBroker(t, Config{StatsInterval: 20 * time.Millisecond}, netio.Config{})
	v := mqtt.V311
	subc, _ := connectRaw(t, tb.addr, conn311("tot-sub", true))
	subc.subscribe(1, sub("tot/#", 1))
	pub, _ := connectRaw(t, tb.addr, conn311("tot-pub", true))
	pub.publish("tot/a", "zero", 0, false, 0)
	if p := subc.readPublish(); string(p.Payload) != "zero" {
		t.Fatalf("payload %q", p.Payload)
	}
	pub.publish("tot/b", "one", 1, false, 7)
	if h, _ := pub.read(); h.Type != mqtt.TypePuback {
		t.Fatalf("got %v, want PUBACK", h.Type)
	}
	p := subc.readPublish()
	subc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, v))

	want := func(c Counters) bool {
		return c.RecvMsg == 2 && c.RecvMsgQoS0 == 1 && c.RecvMsgQoS1 == 1 &&
			c.SendMsg == 2 && c.SendMsgQoS0 == 1 && c.SendMsgQoS1 == 1 &&
			c.RecvPkt >= 5 && c.SendPkt >= 5 && c.RecvOct > 0 && c.SendOct > 0
	}
	waitFor(t, "totals of both sessions", func() bool {
		c := tb.Totals()
		return want(c) && c.SubscriptionsCnt == 1 && c.InflightCnt == 0
	})

	// The publisher leaves (clean session: its session ends); its counts
	// stay in the totals.
	pub.write([]byte{0xe0, 0x00}) // DISCONNECT
	waitFor(t, "publisher's session to end", func() bool { return tb.Sessions() == 1 })
	// A PINGREQ moves the subscriber's counters: a sum that shows it was
	// taken after the publisher's session ended.
	before := tb.Totals().RecvPkt
	subc.write([]byte{0xc0, 0x00})
	if h, _ := subc.read(); h.Type != mqtt.TypePingresp {
		t.Fatalf("got %v, want PINGRESP", h.Type)
	}
	waitFor(t, "a sum taken after the end", func() bool { return tb.Totals().RecvPkt > before })
	c := tb.Totals()
	if !want(c) {
		t.Fatalf("totals after the publisher left: %+v", c)
	}
	if c.InflightMax != 0 || c.MqueueMax != 0 {
		t.Fatalf("limits summed: %+v", c)
	}
	// Levels: current counts with their high-water marks.
	pub2, _ := connectRaw(t, tb.addr, conn311("tot-pub2", true))
	pub2.publish("tot/r", "kept", 0, true, 0)
	waitFor(t, "the retained message", func() bool { return tb.Levels().Retained == 1 })
	pub2.write([]byte{0xe0, 0x00})
	waitFor(t, "pub2's session to end", func() bool { return tb.Levels().Sessions == 1 })
	l := tb.Levels()
	want2 := BrokerStats{Connections: 1, ConnectionsMax: 2, LiveConnections: 1, LiveConnectionsMax: 2,
		Sessions: 1, SessionsMax: 2, Subscriptions: 1, SubscriptionsMax: 1, Retained: 1, RetainedMax: 1}
	if l != want2 {
		t.Fatalf("levels\n got %+v\nwant %+v", l, want2)
	}
}

// BenchmarkShardTotals measures one shard's sum at the stats interval
// (once per second by default) over its sessions, and the scrape's read of
// the published sums.
func BenchmarkShardTotals(b *testing.B) {
	br, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 100000} {
		sh := &shard{b: br, sessions: make(map[string]*session, n)}
		for i := 0; i < n; i++ {
			id := strconv.Itoa(i)
			s := &session{id: id, cfg: &br.cfg, sh: sh}
			s.countN(cRecvMsg, uint64(i))
			s.countN(cSendOct, uint64(2*i))
			sh.sessions[id] = s
		}
		b.Run("op=publish/sessions="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sh.totals.last = time.Time{}
				sh.maybePublishTotals(time.Now())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/session")
		})
	}
	b.Run("op=read/shards=8", func(b *testing.B) {
		b2, _ := New(Config{})
		for i := 0; i < 8; i++ {
			sh := &shard{b: b2}
			sh.totals.published.Store(&Counters{RecvMsg: 1})
			b2.shards = append(b2.shards, sh)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if b2.Totals().RecvMsg != 8 {
				b.Fatal("sum")
			}
		}
	})
}
