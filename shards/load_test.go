package shards

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestThousandClientsQoS1 connects 1,000 paho.golang clients that each
// subscribe to their own topic and publish three QoS 1 messages to their
// neighbour's: every message arrives exactly once (no disconnects happen,
// so not even a DUP redelivery is allowed).
func TestThousandClientsQoS1(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const clients, perClient = 1000, 3
	tb := startBroker(t, Config{}, netio.Config{Loops: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	got := make([]map[string]int, clients)
	cs := make([]*paho.Client, clients)
	connect := func(i int) error {
		conn, err := net.Dial("tcp", tb.addr)
		if err != nil {
			return err
		}
		got[i] = map[string]int{}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				mu.Lock()
				got[i][string(pr.Packet.Payload)]++
				mu.Unlock()
				return true, nil
			}}})
		id := fmt.Sprintf("load-%d", i)
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 60}); err != nil {
			return err
		}
		cs[i] = c
		_, err = c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "load/" + fmt.Sprint(i), QoS: 1}}})
		return err
	}
	parallel := func(fn func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		work := make(chan int)
		for w := 0; w < 50; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					if err := fn(i); err != nil {
						errs <- fmt.Errorf("client %d: %w", i, err)
					}
				}
			}()
		}
		for i := 0; i < clients; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range cs {
			if c != nil {
				_ = c.Disconnect(&paho.Disconnect{})
				<-c.Done()
			}
		}
	}()
	parallel(connect)
	t.Logf("goroutines with %d clients: %d", clients, runtime.NumGoroutine())
	parallel(func(i int) error {
		for k := 0; k < perClient; k++ {
			to := fmt.Sprintf("load/%d", (i+1)%clients)
			if _, err := cs[i].Publish(ctx, &paho.Publish{Topic: to, QoS: 1, Payload: []byte(fmt.Sprintf("%d-%d", i, k))}); err != nil {
				return err
			}
		}
		return nil
	})
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range got {
			for _, c := range m {
				n += c
			}
		}
		return n
	}
	waitFor(t, "all deliveries", func() bool { return total() >= clients*perClient })
	mu.Lock()
	defer mu.Unlock()
	for i, m := range got {
		from := (i + clients - 1) % clients
		if len(m) != perClient {
			t.Fatalf("client %d got %v", i, m)
		}
		for k := 0; k < perClient; k++ {
			if n := m[fmt.Sprintf("%d-%d", from, k)]; n != 1 {
				t.Fatalf("client %d got message %d-%d %d times", i, from, k, n)
			}
		}
	}
}

// TestOrderAcrossLoops checks per-publisher ordering of QoS 1 messages
// [MQTT-4.6.0-6] when publishers and subscribers are spread over four
// loops (so most deliveries cross loops) and the inflight window is small
// (so most wait in queues, sized here to keep every message).
func TestOrderAcrossLoops(t *testing.T) {
	const pubs, subs, each = 12, 4, 150
	tb := startBroker(t, Config{InflightMax: 4, MqueueMax: 10000}, netio.Config{Loops: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	next := make([]map[int]int, subs) // subscriber → publisher → next expected seq
	var bad []string
	delivered := 0
	for i := 0; i < subs; i++ {
		next[i] = map[int]int{}
		i := i
		conn, err := net.Dial("tcp", tb.addr)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				var p, seq int
				fmt.Sscanf(string(pr.Packet.Payload), "%d-%d", &p, &seq)
				mu.Lock()
				if next[i][p] != seq {
					bad = append(bad, fmt.Sprintf("sub %d: publisher %d seq %d, want %d", i, p, seq, next[i][p]))
				}
				next[i][p] = seq + 1
				delivered++
				mu.Unlock()
				return true, nil
			}}})
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("ord-sub-%d", i), CleanStart: true, KeepAlive: 60}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ord/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Disconnect(&paho.Disconnect{}); <-c.Done() }()
	}
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		rc, _ := connectRaw(t, tb.addr, conn311(fmt.Sprintf("ord-pub-%d", p), true))
		wg.Add(1)
		go func(p int, rc *rawClient) {
			defer wg.Done()
			// Pipeline everything, then collect the PUBACKs.
			var b []byte
			for seq := 0; seq < each; seq++ {
				b = mqtt.AppendPublish(b, &mqtt.Publish{QoS: 1, PacketID: uint16(seq + 1), Topic: []byte(fmt.Sprintf("ord/%d", p)),
					Payload: []byte(fmt.Sprintf("%d-%d", p, seq))}, mqtt.V311)
			}
			_, _ = rc.c.Write(b)
			for seq := 0; seq < each; seq++ {
				if h, _, err := rc.readErr(30 * time.Second); err != nil || h.Type != mqtt.TypePuback {
					return
				}
			}
		}(p, rc)
	}
	wg.Wait()
	waitFor(t, "all deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return delivered >= pubs*subs*each || len(bad) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d out of order, first: %s", len(bad), bad[0])
	}
	if delivered != pubs*subs*each {
		t.Fatalf("delivered %d, want %d", delivered, pubs*subs*each)
	}
}
