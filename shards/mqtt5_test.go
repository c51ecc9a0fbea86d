package shards

import (
	"fmt"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestSharedSubscription checks that each message to a $share group goes to
// exactly one member, that members share the load, and that a shared
// subscribe gets no retained messages.
func TestSharedSubscription(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	p, _ := connectRaw(t, tb.addr, conn5("share-pub"))
	// QoS 1 and wait for the PUBACK: the retained message must be stored before the
	// members subscribe, or it is delivered live to one of them.
	p.publish("sh/t", "retained", 1, true, 1000)
	p.read()
	// Stored before anyone subscribes, so it cannot arrive as a live message.
	waitFor(t, "retained stored", func() bool { return tb.Retained().Len() == 1 })
	var members []*rawClient
	for i := 0; i < 3; i++ {
		m, _ := connectRaw(t, tb.addr, conn5(fmt.Sprintf("share-%d", i)))
		if codes := m.subscribe(1, sub("$share/g/sh/+", 1)); codes[0] != mqtt.GrantedQoS1 {
			t.Fatalf("suback %v", codes)
		}
		members = append(members, m)
	}
	for _, m := range members {
		m.expectSilence(50 * time.Millisecond) // no retained on a shared subscribe
	}
	const n = 30
	for i := 0; i < n; i++ {
		p.publish("sh/t", fmt.Sprint(i), 1, false, uint16(i+1))
		p.read()
	}
	total := 0
	for i, m := range members {
		got := 0
		for {
			h, body, err := m.readErr(200 * time.Millisecond)
			if err != nil {
				break
			}
			var pub mqtt.Publish
			if h.Type != mqtt.TypePublish || pub.Decode(h, body, mqtt.V5) != nil {
				t.Fatalf("member %d got %v", i, h.Type)
			}
			m.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: pub.PacketID}, mqtt.V5))
			got++
		}
		if got == 0 {
			t.Fatalf("member %d got nothing (round robin)", i)
		}
		total += got
	}
	if total != n {
		t.Fatalf("members got %d messages in all, want %d", total, n)
	}
}

// TestInboundTopicAlias sets an alias with a topic and then publishes by
// alias alone.
func TestInboundTopicAlias(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	s, _ := connectRaw(t, tb.addr, conn5("alias-sub"))
	s.subscribe(1, sub("alias/t", 0))
	p, ack := connectRaw(t, tb.addr, conn5("alias-pub"))
	if ack.Properties.TopicAliasMaximum != 65535 {
		t.Fatalf("topic alias maximum %d", ack.Properties.TopicAliasMaximum)
	}
	first := &mqtt.Publish{Topic: []byte("alias/t"), Payload: []byte("1")}
	first.Properties.Present.Add(mqtt.PropTopicAlias)
	first.Properties.TopicAlias = 3
	p.write(mqtt.AppendPublish(nil, first, mqtt.V5))
	second := &mqtt.Publish{Payload: []byte("2")}
	second.Properties.Present.Add(mqtt.PropTopicAlias)
	second.Properties.TopicAlias = 3
	p.write(mqtt.AppendPublish(nil, second, mqtt.V5))
	for _, want := range []string{"1", "2"} {
		m := s.readPublish()
		if string(m.Topic) != "alias/t" || string(m.Payload) != want || m.Properties.Present.Has(mqtt.PropTopicAlias) {
			t.Fatalf("got %s %q alias %v", m.Topic, m.Payload, m.Properties.Present.Has(mqtt.PropTopicAlias))
		}
	}
}

// TestServerReceiveMaximum: an MQTT 5 client with more QoS 2 exchanges
// open than the broker's Receive Maximum is disconnected with 0x93.
func TestServerReceiveMaximum(t *testing.T) {
	tb := startBroker(t, Config{AwaitingRelMax: 2}, netio.Config{})
	p, ack := connectRaw(t, tb.addr, conn5("rm"))
	if ack.Properties.ReceiveMaximum != 2 {
		t.Fatalf("receive maximum %d", ack.Properties.ReceiveMaximum)
	}
	for i := 1; i <= 3; i++ {
		p.publish("rm/t", "x", 2, false, uint16(i))
	}
	p.read()
	p.read()
	if code, ok := p.expectClosed(); !ok || code != mqtt.ReceiveMaximumExceeded {
		t.Fatalf("code %v %v", code, ok)
	}
}

// TestOutboundTopicAlias checks that the broker assigns topic aliases to
// an MQTT 5 client that allows them (topic once, then the alias alone, up
// to the client's maximum) and never to one that does not.
func TestOutboundTopicAlias(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	cp := conn5("oa")
	cp.Properties.Present.Add(mqtt.PropTopicAliasMaximum)
	cp.Properties.TopicAliasMaximum = 1
	s, _ := connectRaw(t, tb.addr, cp)
	s.subscribe(1, sub("oa/#", 0))
	plain, _ := connectRaw(t, tb.addr, conn5("oa-plain"))
	plain.subscribe(1, sub("oa/#", 0))
	p, _ := connectRaw(t, tb.addr, conn5("oa-p"))
	for _, topic := range []string{"oa/a", "oa/a", "oa/b"} {
		p.publish(topic, "m", 0, false, 0)
	}
	want := []struct {
		topic string
		alias uint16
	}{{"oa/a", 1}, {"", 1}, {"oa/b", 0}}
	for i, w := range want {
		m := s.readPublish()
		if string(m.Topic) != w.topic || m.Properties.TopicAlias != w.alias {
			t.Fatalf("message %d: topic %q alias %d, want %q %d", i, m.Topic, m.Properties.TopicAlias, w.topic, w.alias)
		}
		if m := plain.readPublish(); m.Properties.Present.Has(mqtt.PropTopicAlias) || len(m.Topic) == 0 {
			t.Fatalf("client without aliases got %+v", m)
		}
	}
	// Aliases reset with the connection.
	s.c.Close()
	s2, _ := connectRaw(t, tb.addr, cp)
	s2.subscribe(1, sub("oa/#", 0))
	p.publish("oa/a", "m", 0, false, 0)
	if m := s2.readPublish(); string(m.Topic) != "oa/a" || m.Properties.TopicAlias != 1 {
		t.Fatalf("after reconnect: %q %d", m.Topic, m.Properties.TopicAlias)
	}
}

// TestSharedSkipsBusyMember: a member whose inflight window is full is
// skipped while another member can take the message.
func TestSharedSkipsBusyMember(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 1})
	cp := conn5("busy-a")
	cp.Properties.Present.Add(mqtt.PropReceiveMaximum)
	cp.Properties.ReceiveMaximum = 1
	a, _ := connectRaw(t, tb.addr, cp) // never acknowledges
	a.subscribe(1, sub("$share/g/busy/t", 1))
	b, _ := connectRaw(t, tb.addr, conn5("busy-b"))
	b.subscribe(1, sub("$share/g/busy/t", 1))
	p, _ := connectRaw(t, tb.addr, conn5("busy-p"))
	const n = 10
	for i := 0; i < n; i++ {
		p.publish("busy/t", fmt.Sprint(i), 1, false, uint16(i+1))
		p.read()
	}
	got := 0
	for got < n-1 {
		m := b.readPublish()
		b.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: m.PacketID}, mqtt.V5))
		got++
	}
	if r := tb.info(t, "busy-a"); r.InflightCnt != 1 || r.MqueueLen != 0 {
		t.Fatalf("busy member: inflight %d queued %d, want 1 and 0", r.InflightCnt, r.MqueueLen)
	}
}

// TestRetainHandling checks Retain Handling 0 (always), 1 (only for a new
// subscription) and 2 (never) [MQTT-3.3.1-9..11].
func TestRetainHandling(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	p, _ := connectRaw(t, tb.addr, conn5("rh-p"))
	p.publish("rh/t", "kept", 0, true, 0)
	waitFor(t, "retained", func() bool { return tb.Retained().Len() == 1 })
	for _, tc := range []struct {
		rh           byte
		first, again bool // retained sent on the first subscribe, on a repeat
	}{{0, true, true}, {1, true, false}, {2, false, false}} {
		t.Run(fmt.Sprintf("rh=%d", tc.rh), func(t *testing.T) {
			c, _ := connectRaw(t, tb.addr, conn5(fmt.Sprintf("rh-%d", tc.rh)))
			s := mqtt.Subscription{Filter: []byte("rh/t"), RetainHandling: tc.rh}
			for i, want := range []bool{tc.first, tc.again} {
				c.subscribe(uint16(i+1), s)
				// A live message after the SUBACK orders the check: the
				// retained copy, if any, comes before it.
				p.publish("rh/t", "live", 0, false, 0)
				m := c.readPublish()
				if got := string(m.Payload) == "kept"; got != want {
					t.Fatalf("subscribe %d: retained sent %v, want %v", i+1, got, want)
				}
				if want {
					if m := c.readPublish(); string(m.Payload) != "live" {
						t.Fatalf("got %q", m.Payload)
					}
				}
			}
		})
	}
}

// TestSharedNoLocalIsProtocolError: No Local on a shared subscription is a
// protocol error [MQTT-3.8.3-4].
func TestSharedNoLocalIsProtocolError(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	c, _ := connectRaw(t, tb.addr, conn5("share-nl"))
	c.write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{
		{Filter: []byte("$share/g/x"), NoLocal: true}}}, mqtt.V5))
	if code, ok := c.expectClosed(); !ok || code != mqtt.ProtocolError {
		t.Fatalf("code %v (%v), want 0x82", code, ok)
	}
}
