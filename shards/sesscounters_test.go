package shards

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// counterNames are the Counters fields of the narrow counters, by index.
var counterNames = [nCounters]string{
	cRecvOct: "RecvOct", cRecvCnt: "RecvCnt", cRecvPkt: "RecvPkt", cRecvMsg: "RecvMsg",
	cRecvMsgQoS0: "RecvMsgQoS0", cRecvMsgQoS1: "RecvMsgQoS1", cRecvMsgQoS2: "RecvMsgQoS2",
	cSendOct: "SendOct", cSendCnt: "SendCnt", cSendPkt: "SendPkt", cSendMsg: "SendMsg",
	cSendMsgQoS0: "SendMsgQoS0", cSendMsgQoS1: "SendMsgQoS1", cSendMsgQoS2: "SendMsgQoS2",
	cReductions: "Reductions",
}

// TestCounterCarry drives every 32-bit counter past 2^32-1, by one and by
// a large n, and checks that Counters shows each exact value in its own
// field while the other counters stay zero.
func TestCounterCarry(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sh := newShard(b, &netio.Loop{}, 0)
	for i := counter(0); i < nCounters; i++ {
		t.Run("counter="+counterNames[i], func(t *testing.T) {
			s := newSession(sh, "carry", time.Now())
			check := func(step string, want int64) {
				t.Helper()
				got := reflect.ValueOf(s.stats())
				for j := counter(0); j < nCounters; j++ {
					w := int64(0)
					if j == i {
						w = want
					}
					if v := got.FieldByName(counterNames[j]).Int(); v != w {
						t.Fatalf("%s: %s = %d, want %d", step, counterNames[j], v, w)
					}
				}
			}
			s.countN(i, math.MaxUint32-1)
			s.count(i)
			check("at 2^32-1", math.MaxUint32)
			if s.x != nil {
				t.Fatal("a session below 2^32 holds a sessExtra")
			}
			s.count(i)
			check("at 2^32", 1<<32)
			s.count(i)
			check("at 2^32+1", 1<<32+1)
			s.countN(i, 3<<32)
			check("at 4<<32+1", 4<<32+1)
			s.countN(i, math.MaxUint32)
			check("at 5<<32", 5<<32)
			s.countN(i, 7)
			check("at 5<<32+7", 5<<32+7)
			s.releaseExtra()
			if s.x == nil {
				t.Fatal("releaseExtra dropped the counters' high parts")
			}
		})
	}
}

// TestSessExtraReleased checks that a session holds a sessExtra only
// while it has QoS 1/2 state (outbound inflight, inbound awaiting PUBREL)
// and gives it back when the exchanges end, unless a drop was counted.
func TestSessExtraReleased(t *testing.T) {
	tb := startBroker(t, Config{AwaitingRelMax: 1}, netio.Config{})
	v := mqtt.V311
	rc, _ := connectRaw(t, tb.addr, conn311("extra", true))
	rc.subscribe(1, sub("x/#", 2))
	hasExtra := func() bool {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var has bool
		if err := tb.onOwnerCounted(ctx, "extra", false, func(s *session) { has = s.x != nil }); err != nil {
			t.Fatal(err)
		}
		return has
	}
	if hasExtra() {
		t.Fatal("an idle subscribed session holds a sessExtra")
	}
	// readPair reads the acknowledgement of the client's PUBLISH and the
	// PUBLISH routed back to it, returning the latter's packet id.
	readPair := func(ack mqtt.PacketType) uint16 {
		t.Helper()
		p, _ := rc.readPublishAck(ack)
		if p.PacketID == 0 {
			t.Fatalf("routed PUBLISH has packet id 0")
		}
		return p.PacketID
	}

	rc.publish("x/1", "one", 1, false, 2)
	id := readPair(mqtt.TypePuback)
	if !hasExtra() {
		t.Fatal("no sessExtra with a QoS 1 message inflight")
	}
	rc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: id}, v))
	waitFor(t, "sessExtra released after PUBACK", func() bool { return !hasExtra() })

	rc.publish("x/2", "two", 2, false, 3)
	id = readPair(mqtt.TypePubrec)
	rc.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 3}, v))
	if h, _ := rc.read(); h.Type != mqtt.TypePubcomp {
		t.Fatalf("got %v, want PUBCOMP", h.Type)
	}
	if !hasExtra() {
		t.Fatal("no sessExtra with a QoS 2 message inflight")
	}
	rc.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: id}, v))
	if h, _ := rc.read(); h.Type != mqtt.TypePubrel {
		t.Fatalf("got %v, want PUBREL", h.Type)
	}
	rc.write(mqtt.AppendPubcomp(nil, &mqtt.Pubcomp{PacketID: id}, v))
	waitFor(t, "sessExtra released after PUBCOMP", func() bool { return !hasExtra() })

	// Inbound QoS 2 awaiting PUBREL holds it; a second one over
	// AwaitingRelMax is dropped (MQTT 3.1.1: no reason code to refuse it),
	// and that count keeps it after the first exchange ends.
	rc.publish("y/1", "a", 2, false, 10)
	if h, _ := rc.read(); h.Type != mqtt.TypePubrec {
		t.Fatalf("got %v, want PUBREC", h.Type)
	}
	if !hasExtra() {
		t.Fatal("no sessExtra with a PUBREL awaited")
	}
	rc.publish("y/2", "b", 2, false, 11)
	rc.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 10}, v))
	if h, _ := rc.read(); h.Type != mqtt.TypePubcomp {
		t.Fatalf("got %v, want PUBCOMP", h.Type)
	}
	r := tb.info(t, "extra")
	if r.RecvMsgDropped != 1 || r.AwaitingRelCnt != 0 || r.InflightCnt != 0 {
		t.Fatalf("recv_msg.dropped %d, awaiting_rel %d, inflight %d; want 1, 0, 0",
			r.RecvMsgDropped, r.AwaitingRelCnt, r.InflightCnt)
	}
	if !hasExtra() {
		t.Fatal("the sessExtra holding a drop count was released")
	}
}
