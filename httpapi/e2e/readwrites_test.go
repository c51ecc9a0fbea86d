package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// fanIn runs n publishers sending QoS 0 messages to one subscriber
// (topic fan/in) until ctx ends, and returns when they have stopped.
func fanIn(ctx context.Context, t *testing.T, addr string, n int) (stop func()) {
	t.Helper()
	sub := dial(t, addr, connect(mqtt.V311, "fan-sub", "", true, 0))
	sub.c.Write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1,
		Subscriptions: []mqtt.Subscription{{Filter: []byte("fan/in")}}}, mqtt.V311))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // drain the subscriber
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for ctx.Err() == nil {
			sub.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			sub.c.Read(buf)
		}
	}()
	msg := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("fan/in"), Payload: make([]byte, 64)}, mqtt.V311)
	batch := make([]byte, 0, 64*len(msg))
	for range 64 {
		batch = append(batch, msg...)
	}
	for i := range n {
		pub := dial(t, addr, connect(mqtt.V311, fmt.Sprintf("fan-pub-%d", i), "", true, 0))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				pub.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := pub.c.Write(batch); err != nil && !isTimeout(err) {
					return
				}
				time.Sleep(time.Millisecond) // bounded: at most ~64 messages per ms per publisher
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestReadYourWrites checks decision 15 under a fan-in load: as soon as a
// client has its CONNACK, GET /clients lists it as connected, and as
// soon as DELETE /clients/{id} has answered 204, GET /clients no longer
// lists it. Every one of 100 rounds must hold; the latencies of the
// lists are logged.
func TestReadYourWrites(t *testing.T) {
	e := start(t, shards.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := fanIn(ctx, t, e.mqttAddr, 8)
	defer stop()
	var lat []time.Duration
	listed := func(id string) (page, time.Duration) {
		start := time.Now()
		p := e.list(t, "clientid="+id)
		return p, time.Since(start)
	}
	for i := range 100 {
		id := fmt.Sprintf("ryw-%03d", i)
		c := dial(t, e.mqttAddr, connect(mqtt.V5, id, "u", false, 300)) // CONNACK received
		p, d := listed(id)
		lat = append(lat, d)
		if p.Meta.Count != 1 || p.Data[0]["connected"] != true {
			t.Fatalf("%s right after its CONNACK: %+v", id, p)
		}
		if status, body := e.call(t, "DELETE", "/clients/"+id, ""); status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", id, status, body)
		}
		p, d = listed(id)
		lat = append(lat, d)
		if p.Meta.Count != 0 || len(p.Data) != 0 {
			t.Fatalf("%s right after DELETE's 204: %+v", id, p)
		}
		c.c.Close()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("GET /clients?clientid= right after the change, %d lists under fan-in: p50 %v, p99 %v, max %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
