package shards

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
	"github.com/shardmq/shardmq/shards/store/disk"
)

// BenchmarkPublishDeliver measures the in-process path publish → route →
// deliver through real sockets on 127.0.0.1: one publisher pipelines b.N
// PUBLISHes, each of subs subscribers reads them all (acknowledging QoS 1).
// ns/op is per published message; clients share the machine's cores with
// the broker. With ahead=0 the publisher runs as far ahead as it can (a
// QoS 1 subscriber's queue then holds nearly all b.N messages at once, each
// a live message); ahead=n keeps it at most n messages ahead of the
// slowest subscriber, the steady state of a broker whose clients keep up.
// The clients allocate nothing per message, so allocs/op is the broker's.
// proto=5 runs every client on MQTT 5 and gives each PUBLISH a content
// type, correlation data and a user property, which subscribers receive.
func BenchmarkPublishDeliver(b *testing.B) {
	for _, c := range []struct {
		qos     byte
		subs    int
		payload int
		ahead   int
		v       mqtt.Version
	}{{0, 1, 64, 0, mqtt.V311}, {0, 10, 64, 0, mqtt.V311}, {1, 1, 64, 0, mqtt.V311},
		{1, 10, 64, 0, mqtt.V311}, {0, 1, 1024, 0, mqtt.V311},
		{1, 1, 64, 4096, mqtt.V311}, {1, 10, 64, 4096, mqtt.V311}, {0, 1, 1024, 4096, mqtt.V311},
		{0, 1, 64, 4096, mqtt.V5}, {1, 1, 64, 4096, mqtt.V5}} {
		name := fmt.Sprintf("qos=%d/subs=%d/payload=%db", c.qos, c.subs, c.payload)
		if c.ahead > 0 {
			name += fmt.Sprintf("/ahead=%d", c.ahead)
		}
		if c.v == mqtt.V5 {
			name += "/proto=5"
		}
		b.Run(name, func(b *testing.B) {
			benchPublishDeliver(b, c.qos, c.subs, c.payload, c.ahead, c.v)
		})
	}
}

// BenchmarkPersistentP2P is point to point QoS 1 to a persistent
// subscriber (MQTT 3.1.1, clean session 0) that keeps up (ahead=4096),
// with the broker's store: durability=memory keeps nothing; batch and
// sync commit to the disk store in a temporary directory (sync reports
// the store's fsyncs per second).
//
// go test -run '^$' -bench BenchmarkPersistentP2P -benchtime=200000x ./shards/
func BenchmarkPersistentP2P(b *testing.B) {
	for _, d := range []store.Durability{store.DurabilityMemory, store.DurabilityBatch, store.DurabilitySync} {
		b.Run("durability="+string(d), func(b *testing.B) {
			cfg := Config{MqueueMax: 1 << 20}
			var db *disk.DB
			if d != store.DurabilityMemory {
				var err error
				if db, err = disk.Open(store.Config{Dir: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = db.Close() })
				cfg.Store, cfg.Durability = db, d
			}
			start := time.Now()
			benchDeliver(b, cfg, true, 1, 1, 64, 4096, mqtt.V311)
			if db != nil {
				b.ReportMetric(float64(db.Stats().Syncs)/time.Since(start).Seconds(), "fsyncs/s")
			}
		})
	}
}

func benchPublishDeliver(b *testing.B, qos byte, subs, payload, ahead int, v mqtt.Version) {
	benchDeliver(b, Config{MqueueMax: 1 << 20}, false, qos, subs, payload, ahead, v)
}

// benchDeliver runs BenchmarkPublishDeliver's load on a broker of cfg;
// persistent subscribers connect without clean session.
func benchDeliver(b *testing.B, cfg Config, persistent bool, qos byte, subs, payload, ahead int, v mqtt.Version) {
	connect := func(id string) *mqtt.Connect {
		if v == mqtt.V5 {
			return conn5(id)
		}
		return conn311(id, true)
	}
	b.ReportAllocs()
	tb := startBroker(b, cfg, netio.Config{OutboundSoftLimit: 256 << 20, OutboundHardLimit: 512 << 20})
	done := make(chan error, subs)
	progress := make([]atomic.Int64, subs)
	for i := 0; i < subs; i++ {
		cp := connect(fmt.Sprintf("bench-sub-%d", i))
		cp.CleanStart = !persistent
		if persistent && v == mqtt.V5 {
			cp.Properties.Present.Add(mqtt.PropSessionExpiry)
			cp.Properties.SessionExpiry = 3600
		}
		s, _ := connectRaw(b, tb.addr, cp)
		s.subscribe(1, sub("bench/t", qos))
		go func(c net.Conn, leftover []byte, got *atomic.Int64) {
			done <- countPublishes(c, leftover, b.N, qos, got)
		}(s.c, s.recv, &progress[i])
	}
	slowest := func() int64 {
		m := progress[0].Load()
		for i := range progress[1:] {
			m = min(m, progress[i+1].Load())
		}
		return m
	}
	p, _ := connectRaw(b, tb.addr, connect("bench-pub"))
	go func() { _, _ = io.Copy(io.Discard, p.c) }() // PUBACKs
	msg := mqtt.Publish{QoS: qos, Topic: []byte("bench/t"), Payload: []byte(strings.Repeat("p", payload))}
	if v == mqtt.V5 {
		pr := &msg.Properties
		pr.Present.Add(mqtt.PropContentType)
		pr.Present.Add(mqtt.PropCorrelationData)
		pr.ContentType, pr.CorrelationData = []byte("text/plain"), []byte("request-1")
		pr.User = []mqtt.UserProperty{{Key: []byte("trace"), Value: []byte("abc")}}
	}
	batch := make([]byte, 0, 64<<10)
	b.SetBytes(int64(payload))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if qos > 0 {
			msg.PacketID = uint16(i%65535 + 1)
		}
		batch = mqtt.AppendPublish(batch, &msg, v)
		if len(batch) > 32<<10 || i == b.N-1 {
			for ahead > 0 && int64(i)-slowest() > int64(ahead) {
				time.Sleep(50 * time.Microsecond)
			}
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
// QoS 1 ones with PUBACKs (one write per read) and adding to got as they
// arrive. It reads into one buffer, moving a partial frame to its front,
// so it allocates nothing per message.
func countPublishes(c net.Conn, leftover []byte, n int, qos byte, got *atomic.Int64) error {
	buf := make([]byte, 0, 256<<10)
	buf = append(buf, leftover...)
	acks := make([]byte, 0, 64<<10)
	count := 0
	for count < n {
		off := 0
		for {
			h, fl, err := mqtt.Frame(buf[off:], 0)
			if err != nil {
				return err
			}
			if fl == 0 {
				break
			}
			if h.Type == mqtt.TypePublish {
				count++
				if qos > 0 {
					id := off + mqtt.PublishPacketIDOffset(buf[off:off+fl])
					acks = append(acks, 0x40, 2, buf[id], buf[id+1])
				}
			}
			off += fl
		}
		buf = buf[:copy(buf, buf[off:])]
		got.Store(int64(count))
		if len(acks) > 0 {
			if _, err := c.Write(acks); err != nil {
				return err
			}
			acks = acks[:0]
		}
		if count >= n {
			break
		}
		m, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return fmt.Errorf("after %d of %d: %w", count, n, err)
		}
		buf = buf[:len(buf)+m]
	}
	return nil
}
