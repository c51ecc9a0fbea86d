package shards

import (
	"strings"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestSlowSubscriber has one QoS 0 and one QoS 1 subscriber that never
// read: the QoS 0 one loses messages to the outbound soft limit, the QoS 1
// one to its bounded queue, every drop counted exactly, while a fast
// subscriber receives everything.
func TestSlowSubscriber(t *testing.T) {
	const perRound, maxRounds = 1000, 20
	tb := startBroker(t, Config{InflightMax: 16, MqueueMax: 50},
		netio.Config{OutboundSoftLimit: 32 << 10, OutboundHardLimit: 64 << 20})
	slow0 := dialRaw(t, tb.addr, mqtt.V311)
	_ = slow0.c.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)
	slow0.write(mqtt.AppendConnect(nil, conn311("slow0", true), mqtt.V311))
	slow0.read()
	slow0.subscribe(1, sub("slow/t", 0))
	slow1, _ := connectRaw(t, tb.addr, conn311("slow1", true))
	slow1.subscribe(1, sub("slow/t", 1))

	rec := &received{}
	fast := v3Client(t, tb.addr, "fast", true, rec)
	v3Wait(t, fast.Subscribe("slow/t", 0, nil))

	pub, _ := connectRaw(t, tb.addr, conn311("slow-pub", true))
	payload := strings.Repeat("x", 2048)
	// Publish in rounds until the never-reading subscriber has lost some
	// (how much the kernel buffers first depends on the machine), at most
	// maxRounds rounds.
	var n int64
	for round := 0; round < maxRounds; round++ {
		for i := 0; i < perRound; i++ {
			pub.publish("slow/t", payload, 1, false, uint16(n%60000+1))
			pub.read() // PUBACK: paces the publisher so the fast reader keeps up
			n++
		}
		if tb.info(t, "slow0").SendMsgDroppedQueueFull > 0 {
			break
		}
	}
	rec.waitN(t, int(n))
	r0 := tb.info(t, "slow0")
	if r0.SendMsgDroppedQueueFull == 0 {
		t.Fatal("no QoS 0 drops counted for a subscriber that never reads")
	}
	if r0.SendMsg+r0.SendMsgDroppedQueueFull != n || r0.SendMsgDropped != r0.SendMsgDroppedQueueFull {
		t.Fatalf("slow0 sent %d + dropped %d != %d", r0.SendMsg, r0.SendMsgDroppedQueueFull, n)
	}
	r1 := tb.info(t, "slow1")
	if r1.InflightCnt != 16 || r1.MqueueLen != 50 || r1.MqueueDropped != n-66 || r1.SendMsgQoS1 != 16 {
		t.Fatalf("slow1 inflight %d queue %d dropped %d sent %d", r1.InflightCnt, r1.MqueueLen, r1.MqueueDropped, r1.SendMsgQoS1)
	}
	if r1.HeapSize <= 0 || r1.HeapSize > 66*3000 {
		t.Fatalf("slow1 heap %d bytes for 66 messages held", r1.HeapSize)
	}
}
