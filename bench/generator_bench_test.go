package bench

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
)

// receiveFixture returns a flow with one QoS 0 publisher and one
// subscriber, and a buffer of n encoded PUBLISH frames of payload bytes.
func receiveFixture(n, payload int) (*flow, *subscriber, []byte) {
	f := &flow{spec: flowSpec{fanout: 1, window: 1 << 30}, cfg: Config{Version: mqtt.V311}}
	p := &publisher{idx: 0, wake: make(chan struct{}, 1), resume: 1 << 29}
	f.pubs = []*publisher{p}
	f.measure.Store(true)
	s := &subscriber{hist: NewHistogram()}
	msg := mqtt.Publish{Topic: []byte("bench/p2p/0"), Payload: make([]byte, payload)}
	var buf []byte
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(msg.Payload, uint64(now()))
		buf = mqtt.AppendPublish(buf, &msg, mqtt.V311)
	}
	return f, s, buf
}

// receiveAll runs the subscriber's per-frame work over buf: framing,
// decoding and accounting, as readSubscriber does.
func receiveAll(f *flow, s *subscriber, msg *mqtt.Publish, buf []byte) int {
	n := 0
	for len(buf) > 0 {
		h, fl, err := mqtt.Frame(buf, 0)
		if err != nil || fl == 0 {
			panic(fmt.Sprint("bad frame: ", err))
		}
		if err := msg.Decode(h, buf[h.HeaderLen:fl], f.cfg.Version); err != nil {
			panic(err)
		}
		f.received(s, msg.Payload)
		buf = buf[fl:]
		n++
	}
	return n
}

// TestGeneratorHotPathAllocs holds the generator's per-message budget:
// encoding into a reused buffer and receiving (frame, decode, account)
// allocate nothing, so the generator stays light next to the broker.
func TestGeneratorHotPathAllocs(t *testing.T) {
	f, s, frames := receiveFixture(16, 64)
	var msg mqtt.Publish
	if n := testing.AllocsPerRun(100, func() { receiveAll(f, s, &msg, frames) }); n != 0 {
		t.Errorf("receiving 16 frames allocates %v times, want 0", n)
	}
	if s.delivered == 0 || s.hist.Count() == 0 {
		t.Fatal("receive path counted nothing")
	}
	pub := mqtt.Publish{Topic: []byte("bench/p2p/0"), Payload: make([]byte, 64)}
	buf := make([]byte, 0, 16*pub.Size(mqtt.V311))
	if n := testing.AllocsPerRun(100, func() {
		buf = buf[:0]
		for j := 0; j < 16; j++ {
			binary.BigEndian.PutUint64(pub.Payload, uint64(now()))
			buf = mqtt.AppendPublish(buf, &pub, mqtt.V311)
		}
	}); n != 0 {
		t.Errorf("encoding a batch of 16 allocates %v times, want 0", n)
	}
}

func BenchmarkGeneratorReceive(b *testing.B) {
	for _, size := range []int{16, 64, 1024} {
		b.Run(fmt.Sprintf("payload=%db", size), func(b *testing.B) {
			f, s, frames := receiveFixture(64, size)
			var msg mqtt.Publish
			b.ReportAllocs()
			b.SetBytes(int64(len(frames)))
			for b.Loop() {
				receiveAll(f, s, &msg, frames)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/msg")
		})
	}
}

func BenchmarkGeneratorEncode(b *testing.B) {
	for _, size := range []int{16, 64, 1024} {
		b.Run(fmt.Sprintf("payload=%db", size), func(b *testing.B) {
			pub := mqtt.Publish{Topic: []byte("bench/p2p/0"), Payload: make([]byte, size)}
			buf := make([]byte, 0, pubBatch*pub.Size(mqtt.V311))
			b.ReportAllocs()
			b.SetBytes(int64(pubBatch * pub.Size(mqtt.V311)))
			for b.Loop() {
				buf = buf[:0]
				for j := 0; j < pubBatch; j++ {
					binary.BigEndian.PutUint64(pub.Payload, uint64(now()))
					buf = mqtt.AppendPublish(buf, &pub, mqtt.V311)
				}
			}
		})
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	b.ReportAllocs()
	v := int64(1)
	for b.Loop() {
		h.Record(v)
		v = v*31 + 7&(1<<30-1)
	}
}
