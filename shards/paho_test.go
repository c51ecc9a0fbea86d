package shards

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/netio"
)

// received collects messages delivered to a test client.
type received struct {
	mu   sync.Mutex
	msgs []string // "topic qos retain payload"
}

func (r *received) add(topic string, qos byte, retain bool, payload []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, fmt.Sprintf("%s %d %v %s", topic, qos, retain, payload))
	r.mu.Unlock()
}

func (r *received) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func (r *received) waitN(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d messages", n), func() bool { return len(r.snapshot()) >= n })
	return r.snapshot()
}

// v3Client connects a paho.mqtt.golang (MQTT 3.1.1) client.
func v3Client(t *testing.T, addr, id string, clean bool, rec *received) pahov3.Client {
	t.Helper()
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetProtocolVersion(4).SetAutoReconnect(false).SetKeepAlive(30 * time.Second).SetOrderMatters(true)
	if rec != nil {
		o.SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			rec.add(m.Topic(), m.Qos(), m.Retained(), m.Payload())
		})
	}
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func v3Wait(t *testing.T, tok pahov3.Token) {
	t.Helper()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("token: %v", tok.Error())
	}
}

// v5Client connects a paho.golang (MQTT 5) client.
func v5Client(t *testing.T, addr, id string, rec *received) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := paho.ClientConfig{ClientID: id, Conn: conn}
	if rec != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				p := pr.Packet
				payload := string(p.Payload)
				if p.Properties != nil && p.Properties.User != nil {
					for _, u := range p.Properties.User {
						payload += " " + u.Key + "=" + u.Value
					}
				}
				rec.add(p.Topic, p.QoS, p.Retain, []byte(payload))
				return true, nil
			}}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
	if err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %v", id, err, ack)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
		}
	})
	return c
}

func TestPahoV311EndToEnd(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	rec := &received{}
	s := v3Client(t, tb.addr, "paho3-sub", true, rec)
	for q := byte(0); q <= 2; q++ {
		v3Wait(t, s.Subscribe(fmt.Sprintf("p3/%d/#", q), q, nil))
	}
	p := v3Client(t, tb.addr, "paho3-pub", true, nil)
	for sq := byte(0); sq <= 2; sq++ {
		for pq := byte(0); pq <= 2; pq++ {
			v3Wait(t, p.Publish(fmt.Sprintf("p3/%d/%d", sq, pq), pq, false, "x"))
		}
	}
	got := rec.waitN(t, 9)
	sort.Strings(got)
	var want []string
	for sq := byte(0); sq <= 2; sq++ {
		for pq := byte(0); pq <= 2; pq++ {
			want = append(want, fmt.Sprintf("p3/%d/%d %d false x", sq, pq, min(sq, pq)))
		}
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRetained(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	p := v3Client(t, tb.addr, "ret-pub", true, nil)
	v3Wait(t, p.Publish("ret/a", 1, true, "first"))
	v3Wait(t, p.Publish("ret/a", 1, true, "second")) // replaces
	v3Wait(t, p.Publish("ret/b", 2, true, "bee"))
	v3Wait(t, p.Publish("ret/c", 0, true, "sea"))
	v3Wait(t, p.Publish("ret/c", 0, true, "")) // deletes
	rec := &received{}
	s := v3Client(t, tb.addr, "ret-sub", true, rec)
	v3Wait(t, s.Subscribe("ret/#", 2, nil))
	got := rec.waitN(t, 2)
	sort.Strings(got)
	want := []string{"ret/a 1 true second", "ret/b 2 true bee"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("retained %v, want %v", got, want)
	}
	// A live message to a subscribed topic does not carry the retain flag
	// [MQTT-3.3.1-9].
	v3Wait(t, p.Publish("ret/a", 1, true, "third"))
	got = rec.waitN(t, 3)
	if got[2] != "ret/a 1 false third" {
		t.Fatalf("live %q", got[2])
	}
	if n := tb.Retained().Len(); n != 2 {
		t.Fatalf("store holds %d, want 2", n)
	}
}

func TestWildcardMatrix(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	topics := []string{"a", "a/b", "a/b/c", "a/c", "b/b", "/a", "a/", "$SYS/x", "$other/a/b"}
	tests := []struct {
		filter string
		want   []string
	}{
		{"#", []string{"a", "a/b", "a/b/c", "a/c", "b/b", "/a", "a/"}},
		{"+", []string{"a"}},
		{"a/#", []string{"a", "a/b", "a/b/c", "a/c", "a/"}},
		{"a/+", []string{"a/b", "a/c", "a/"}},
		{"+/b", []string{"a/b", "b/b"}},
		{"+/+", []string{"a/b", "a/c", "b/b", "/a", "a/"}},
		{"/+", []string{"/a"}},
		{"a/+/c", []string{"a/b/c"}},
		{"+/#", []string{"a", "a/b", "a/b/c", "a/c", "b/b", "/a", "a/"}},
		{"$SYS/#", []string{"$SYS/x"}},
		{"$other/+/b", []string{"$other/a/b"}},
		{"a/b", []string{"a/b"}},
	}
	recs := make([]*received, len(tests))
	for i, tc := range tests {
		recs[i] = &received{}
		c := v3Client(t, tb.addr, fmt.Sprintf("wild-%d", i), true, recs[i])
		v3Wait(t, c.Subscribe(tc.filter, 1, nil))
		v3Wait(t, c.Subscribe(fmt.Sprintf("$marker/%d", i), 1, nil))
	}
	p := v3Client(t, tb.addr, "wild-pub", true, nil)
	for _, topic := range topics {
		v3Wait(t, p.Publish(topic, 1, false, "m"))
	}
	// Each subscriber's own marker comes after everything the publisher
	// sent it (one publisher to one subscriber keeps order), so when it
	// arrives nothing else can be on its way.
	for i := range tests {
		v3Wait(t, p.Publish(fmt.Sprintf("$marker/%d", i), 1, false, "end"))
	}
	for i, tc := range tests {
		t.Run("filter="+tc.filter, func(t *testing.T) {
			marker := fmt.Sprintf("$marker/%d 1 false end", i)
			waitFor(t, "marker", func() bool { return slices.Contains(recs[i].snapshot(), marker) })
			var topicsGot []string
			for _, m := range recs[i].snapshot() {
				if m != marker {
					topicsGot = append(topicsGot, strings.SplitN(m, " ", 2)[0])
				}
			}
			sort.Strings(topicsGot)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if strings.Join(topicsGot, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v want %v", topicsGot, want)
			}
		})
	}
}

func TestPahoV5Features(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := &received{}
	s := v5Client(t, tb.addr, "p5-sub", rec)
	id1, id2 := 1, 2
	if _, err := s.Subscribe(ctx, &paho.Subscribe{Properties: &paho.SubscribeProperties{SubscriptionIdentifier: &id1},
		Subscriptions: []paho.SubscribeOptions{{Topic: "p5/+", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, &paho.Subscribe{Properties: &paho.SubscribeProperties{SubscriptionIdentifier: &id2},
		Subscriptions: []paho.SubscribeOptions{{Topic: "p5/#", QoS: 2}, {Topic: "own/#", QoS: 1, NoLocal: true},
			{Topic: "rap/#", QoS: 1, RetainAsPublished: true}}}); err != nil {
		t.Fatal(err)
	}
	// Overlapping subscriptions: one copy at the highest QoS.
	var ids []int
	var mu sync.Mutex
	s.AddOnPublishReceived(func(pr paho.PublishReceived) (bool, error) {
		if pr.Packet.Topic == "p5/x" && pr.Packet.Properties != nil {
			mu.Lock()
			if pr.Packet.Properties.SubscriptionIdentifier != nil {
				ids = append(ids, *pr.Packet.Properties.SubscriptionIdentifier)
			}
			mu.Unlock()
		}
		return false, nil
	})
	p := v5Client(t, tb.addr, "p5-pub", nil)
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "p5/x", QoS: 2, Payload: []byte("hi"),
		Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: "k", Value: "v"}}}}); err != nil {
		t.Fatal(err)
	}
	// No Local: the subscriber's own message is not sent back.
	if _, err := s.Publish(ctx, &paho.Publish{Topic: "own/x", QoS: 1, Payload: []byte("mine")}); err != nil {
		t.Fatal(err)
	}
	// Retain As Published keeps the flag on a live message.
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "rap/x", QoS: 1, Retain: true, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	// A last message from the same publisher marks the end: everything
	// earlier (and the No Local message, acknowledged before) is in.
	if _, err := p.Publish(ctx, &paho.Publish{Topic: "p5/end", QoS: 1, Payload: []byte("end")}); err != nil {
		t.Fatal(err)
	}
	got := rec.waitN(t, 3)
	want := []string{"p5/x 2 false hi k=v", "rap/x 1 true r", "p5/end 1 false end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %v want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 1 {
		t.Fatalf("subscription ids seen: %v", ids)
	}
}
