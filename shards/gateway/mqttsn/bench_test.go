package mqttsn_test

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// BenchmarkFanIn publishes b.N QoS 0 messages from 200 MQTT-SN clients
// through the gateway to one MQTT subscriber, with at most 3,200
// messages in flight (fanin-qos0's window), and reports the deliveries
// per second.
func BenchmarkFanIn(b *testing.B) {
	e := start(b, mqttsn.Config{}, nil)
	sub, err := net.Dial("tcp", e.tcp)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	sub.Write(mqtt.AppendConnect(nil, &mqtt.Connect{Version: mqtt.V311, CleanStart: true, ClientID: []byte("sub")}, mqtt.V311))
	sub.Write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: []byte("fan/+")}}}, mqtt.V311))
	var got atomic.Int64
	go func() {
		buf := make([]byte, 1<<20)
		var carry []byte
		for {
			n, err := sub.Read(buf)
			if err != nil {
				return
			}
			carry = append(carry, buf[:n]...)
			for {
				h, fl, err := mqtt.Frame(carry, 0)
				if err != nil || fl == 0 {
					break
				}
				if h.Type == mqtt.TypePublish {
					got.Add(1)
				}
				carry = carry[fl:]
			}
			carry = append([]byte(nil), carry...)
		}
	}()
	const pubs = 200
	var cs []*snclient
	var ids []uint16
	for i := 0; i < pubs; i++ {
		c := dialSN(b, e.udp)
		c.mustConnect(fmt.Sprintf("p%d", i), true, 600)
		ids = append(ids, c.register(fmt.Sprintf("fan/%d", i), 1))
		cs = append(cs, c)
	}
	payload := make([]byte, 64)
	var sent atomic.Int64
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := encode(PUBLISH, []byte{0}, be16(ids[i]), be16(0), payload)
			for sent.Add(1) <= int64(b.N) {
				for sent.Load()-got.Load() > 3200 {
					time.Sleep(50 * time.Microsecond)
				}
				c.conn.Write(msg)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < int64(b.N)*9/10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(got.Load())/time.Since(t0).Seconds(), "deliveries/s")
}

// BenchmarkIdleClient connects b.N MQTT-SN clients and reports the live
// heap per idle client (broker and gateway; the test clients' sockets
// are outside the heap).
func BenchmarkIdleClient(b *testing.B) {
	e := start(b, mqttsn.Config{}, nil)
	_ = e
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cs := make([]*net.UDPConn, b.N)
	buf := make([]byte, 64)
	for i := range cs {
		c, err := net.Dial("udp", e.udp)
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c.(*net.UDPConn)
		c.Write(encode(CONNECT, []byte{fClean, 1}, be16(600), []byte(fmt.Sprintf("idle-%d", i))))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // rows reach the sink
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(b.N), "heap-B/client")
	for _, c := range cs {
		c.Close()
	}
}
