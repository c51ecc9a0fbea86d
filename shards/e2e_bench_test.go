package shards

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// BenchmarkPublishDeliver measures the in-process path publish → route →
// deliver through real sockets on 127.0.0.1: one publisher pipelines b.N
// PUBLISHes, each of subs subscribers reads them all (acknowledging QoS 1).
// ns/op is per published message; clients share the machine's cores with
// the broker.
func BenchmarkPublishDeliver(b *testing.B) {
	for _, c := range []struct {
		qos     byte
		subs    int
		payload int
	}{{0, 1, 64}, {0, 10, 64}, {1, 1, 64}, {1, 10, 64}, {0, 1, 1024}} {
		b.Run(fmt.Sprintf("qos=%d/subs=%d/payload=%db", c.qos, c.subs, c.payload), func(b *testing.B) {
			benchPublishDeliver(b, c.qos, c.subs, c.payload)
		})
	}
}

func benchPublishDeliver(b *testing.B, qos byte, subs, payload int) {
	b.ReportAllocs()
	tb := startBroker(b, Config{MqueueMax: 1 << 20},
		netio.Config{OutboundSoftLimit: 256 << 20, OutboundHardLimit: 512 << 20})
	done := make(chan error, subs)
	for i := 0; i < subs; i++ {
		s, _ := connectRaw(b, tb.addr, conn311(fmt.Sprintf("bench-sub-%d", i), true))
		s.subscribe(1, sub("bench/t", qos))
		go func(c net.Conn, leftover []byte) { done <- countPublishes(c, leftover, b.N, qos) }(s.c, s.recv)
	}
	p, _ := connectRaw(b, tb.addr, conn311("bench-pub", true))
	go func() { _, _ = io.Copy(io.Discard, p.c) }() // PUBACKs
	msg := mqtt.Publish{QoS: qos, Topic: []byte("bench/t"), Payload: []byte(strings.Repeat("p", payload))}
	var batch []byte
	b.SetBytes(int64(payload))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if qos > 0 {
			msg.PacketID = uint16(i%65535 + 1)
		}
		batch = mqtt.AppendPublish(batch, &msg, mqtt.V311)
		if len(batch) > 32<<10 || i == b.N-1 {
			if _, err := p.c.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := 0; i < subs; i++ {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
}

// countPublishes reads from c until n PUBLISH packets arrived, answering
// QoS 1 ones with PUBACKs (one write per read).
func countPublishes(c net.Conn, buf []byte, n int, qos byte) error {
	tmp := make([]byte, 64<<10)
	var acks []byte
	got := 0
	for got < n {
		for {
			h, fl, err := mqtt.Frame(buf, 0)
			if err != nil {
				return err
			}
			if fl == 0 {
				break
			}
			if h.Type == mqtt.TypePublish {
				got++
				if qos > 0 {
					id := mqtt.PublishPacketIDOffset(buf[:fl])
					acks = append(acks, 0x40, 2, buf[id], buf[id+1])
				}
			}
			buf = buf[fl:]
		}
		if len(acks) > 0 {
			if _, err := c.Write(acks); err != nil {
				return err
			}
			acks = acks[:0]
		}
		if got >= n {
			break
		}
		m, err := c.Read(tmp)
		if err != nil {
			return fmt.Errorf("after %d of %d: %w", got, n, err)
		}
		buf = append(buf, tmp[:m]...)
	}
	return nil
}
