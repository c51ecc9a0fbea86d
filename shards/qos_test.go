package shards

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

func TestQoSExchangesRaw(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		for pubQoS := byte(0); pubQoS <= 2; pubQoS++ {
			for subQoS := byte(0); subQoS <= 2; subQoS++ {
				name := fmt.Sprintf("v=%s/pub=%d/sub=%d", v, pubQoS, subQoS)
				t.Run(name, func(t *testing.T) {
					topic := "q/" + name
					sp := &mqtt.Connect{Version: v, ClientID: []byte("s-" + name), CleanStart: true, KeepAlive: 30}
					s, _ := connectRaw(t, tb.addr, sp)
					if codes := s.subscribe(7, sub(topic, subQoS)); codes[0] != mqtt.ReasonCode(subQoS) {
						t.Fatalf("granted %v", codes)
					}
					pp := &mqtt.Connect{Version: v, ClientID: []byte("p-" + name), CleanStart: true, KeepAlive: 30}
					p, _ := connectRaw(t, tb.addr, pp)
					p.publish(topic, "hello", pubQoS, false, 11)
					switch pubQoS {
					case 1:
						if h, _ := p.read(); h.Type != mqtt.TypePuback {
							t.Fatalf("publisher got %v, want PUBACK", h.Type)
						}
					case 2:
						if h, _ := p.read(); h.Type != mqtt.TypePubrec {
							t.Fatalf("publisher got %v, want PUBREC", h.Type)
						}
						p.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 11}, v))
						if h, _ := p.read(); h.Type != mqtt.TypePubcomp {
							t.Fatalf("publisher got %v, want PUBCOMP", h.Type)
						}
					}
					m := s.readPublish()
					want := min(pubQoS, subQoS)
					if m.QoS != want || string(m.Payload) != "hello" || string(m.Topic) != topic || m.Dup || m.Retain {
						t.Fatalf("got %+v, want qos %d", m, want)
					}
					switch want {
					case 1:
						s.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: m.PacketID}, v))
					case 2:
						s.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: m.PacketID}, v))
						h, body := s.read()
						var rel mqtt.Pubrel
						if h.Type != mqtt.TypePubrel || rel.Decode(h, body, v) != nil || rel.PacketID != m.PacketID {
							t.Fatalf("subscriber got %v, want PUBREL %d", h.Type, m.PacketID)
						}
						s.write(mqtt.AppendPubcomp(nil, &mqtt.Pubcomp{PacketID: m.PacketID}, v))
					}
					waitFor(t, "inflight to empty", func() bool {
						return tb.info(t, "s-"+name).InflightCnt == 0
					})
				})
			}
		}
	}
}

// TestQoS2DuplicateNotRoutedTwice resends a QoS 2 PUBLISH before PUBREL:
// the broker acknowledges it again without a second delivery.
func TestQoS2DuplicateNotRoutedTwice(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	s, _ := connectRaw(t, tb.addr, conn311("dup-s", true))
	s.subscribe(1, sub("dup/t", 0))
	p, _ := connectRaw(t, tb.addr, conn311("dup-p", true))
	p.publish("dup/t", "once", 2, false, 5)
	p.read()
	p.write(mqtt.AppendPublish(nil, &mqtt.Publish{Dup: true, QoS: 2, PacketID: 5, Topic: []byte("dup/t"), Payload: []byte("once")}, mqtt.V311))
	if h, _ := p.read(); h.Type != mqtt.TypePubrec {
		t.Fatalf("got %v, want PUBREC", h.Type)
	}
	s.readPublish()
	s.expectSilence(200 * time.Millisecond)
}

// TestPersistentSessionResume queues QoS 1 and 2 messages while the client
// is offline, leaves one unacknowledged, and checks the redelivery with DUP
// on reconnect followed by the queue, in order.
func TestPersistentSessionResume(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 2})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		t.Run("version="+v.String(), func(t *testing.T) {
			id := "persist-" + v.String()
			cp := &mqtt.Connect{Version: v, ClientID: []byte(id), KeepAlive: 60}
			if v == mqtt.V5 {
				cp.Properties.Present.Add(mqtt.PropSessionExpiry)
				cp.Properties.SessionExpiry = 300
			}
			s, ack := connectRaw(t, tb.addr, cp)
			if ack.SessionPresent {
				t.Fatal("fresh session reported present")
			}
			s.subscribe(1, sub("persist/"+id+"/#", 2))
			p, _ := connectRaw(t, tb.addr, conn5("pub-"+id))
			p.publish("persist/"+id+"/a", "m1", 1, false, 1)
			p.read()
			// Receive m1 but do not acknowledge it, then vanish.
			first := s.readPublish()
			if string(first.Payload) != "m1" || first.Dup {
				t.Fatalf("first %+v", first)
			}
			s.c.Close()
			waitFor(t, "offline", func() bool { return !tb.info(t, id).Connected })
			p.publish("persist/"+id+"/b", "m2", 1, false, 2)
			p.read()
			p.publish("persist/"+id+"/c", "m3", 2, false, 3)
			p.read()
			p.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 3}, mqtt.V5))
			p.read()
			waitFor(t, "queued", func() bool { return tb.info(t, id).MqueueLen == 2 })

			s2, ack := connectRaw(t, tb.addr, cp)
			if !ack.SessionPresent {
				t.Fatal("session not present on reconnect")
			}
			re := s2.readPublish()
			if string(re.Payload) != "m1" || !re.Dup || re.PacketID != first.PacketID {
				t.Fatalf("redelivery %+v, want m1 with DUP and id %d", re, first.PacketID)
			}
			m2 := s2.readPublish()
			m3 := s2.readPublish()
			if string(m2.Payload) != "m2" || m2.QoS != 1 || string(m3.Payload) != "m3" || m3.QoS != 2 {
				t.Fatalf("queued %q/%d %q/%d", m2.Payload, m2.QoS, m3.Payload, m3.QoS)
			}
			s2.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: re.PacketID}, v))
			s2.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: m2.PacketID}, v))
			s2.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: m3.PacketID}, v))
			if h, _ := s2.read(); h.Type != mqtt.TypePubrel {
				t.Fatalf("got %v, want PUBREL", h.Type)
			}
			// Vanish between PUBREC and PUBCOMP: the PUBREL is resent.
			s2.c.Close()
			waitFor(t, "offline again", func() bool { return !tb.info(t, id).Connected })
			s3, _ := connectRaw(t, tb.addr, cp)
			h, body := s3.read()
			var rel mqtt.Pubrel
			if h.Type != mqtt.TypePubrel || rel.Decode(h, body, v) != nil || rel.PacketID != m3.PacketID {
				t.Fatalf("got %v, want PUBREL %d", h.Type, m3.PacketID)
			}
			s3.write(mqtt.AppendPubcomp(nil, &mqtt.Pubcomp{PacketID: m3.PacketID}, v))
			waitFor(t, "inflight empty", func() bool { return tb.info(t, id).InflightCnt == 0 })
		})
	}
}

func TestCleanStartDiscardsSession(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	s, _ := connectRaw(t, tb.addr, conn311("cs", false))
	s.subscribe(1, sub("cs/t", 1))
	s.c.Close()
	waitFor(t, "offline", func() bool { return !tb.info(t, "cs").Connected })
	s2, ack := connectRaw(t, tb.addr, conn311("cs", true))
	if ack.SessionPresent {
		t.Fatal("clean session reported present")
	}
	if n := tb.info(t, "cs").SubscriptionsCnt; n != 0 {
		t.Fatalf("subscriptions %d after clean start", n)
	}
	s2.write([]byte{0xe0, 0x00}) // DISCONNECT
	s2.expectClosed()
	waitFor(t, "session gone", func() bool { return tb.Sessions() == 0 })
}

// TestInflightWindowAndQueueLimit checks inflight_max and mqueue_max with
// drops counted, for a subscriber that never acknowledges.
func TestInflightWindowAndQueueLimit(t *testing.T) {
	tb := startBroker(t, Config{InflightMax: 3, MqueueMax: 4}, netio.Config{})
	s, _ := connectRaw(t, tb.addr, conn311("win", true))
	s.subscribe(1, sub("win/t", 1))
	p, _ := connectRaw(t, tb.addr, conn311("win-p", true))
	for i := 0; i < 10; i++ {
		p.publish("win/t", fmt.Sprint(i), 1, false, uint16(i+1))
		p.read()
	}
	for i := 0; i < 3; i++ {
		if m := s.readPublish(); string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("got %q want %d", m.Payload, i)
		}
	}
	s.expectSilence(100 * time.Millisecond)
	r := tb.info(t, "win")
	if r.InflightCnt != 3 || r.MqueueLen != 4 || r.MqueueDropped != 3 || r.SendMsgDroppedQueueFull != 3 {
		t.Fatalf("inflight %d queue %d dropped %d/%d", r.InflightCnt, r.MqueueLen, r.MqueueDropped, r.SendMsgDroppedQueueFull)
	}
	// Acknowledging one frees a slot: the oldest kept (6) follows.
	s.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: 1}, mqtt.V311))
	if m := s.readPublish(); string(m.Payload) != "6" {
		t.Fatalf("got %q want 6", m.Payload)
	}
}

// TestOverlappingSubscriptions checks one copy at the highest QoS carrying
// every matching Subscription Identifier, and the per-subscription mode.
func TestOverlappingSubscriptions(t *testing.T) {
	for _, perSub := range []bool{false, true} {
		t.Run(fmt.Sprintf("copy_per_subscription=%v", perSub), func(t *testing.T) {
			tb := startBroker(t, Config{CopyPerSubscription: perSub}, netio.Config{})
			s, _ := connectRaw(t, tb.addr, conn5("ov"))
			for i, f := range []string{"ov/+", "ov/#", "ov/a"} {
				sp := &mqtt.Subscribe{PacketID: uint16(i + 1), Subscriptions: []mqtt.Subscription{sub(f, byte(i))}}
				sp.Properties.SubscriptionIDs = []uint32{uint32(10 + i)}
				s.write(mqtt.AppendSubscribe(nil, sp, mqtt.V5))
				s.read()
			}
			p, _ := connectRaw(t, tb.addr, conn5("ov-p"))
			p.publish("ov/a", "m", 2, false, 1)
			if perSub {
				seen := map[uint32]byte{}
				for i := 0; i < 3; i++ {
					m := s.readPublish()
					seen[m.Properties.SubscriptionIDs[0]] = m.QoS
				}
				if seen[10] != 0 || seen[11] != 1 || seen[12] != 2 {
					t.Fatalf("copies %v", seen)
				}
				return
			}
			m := s.readPublish()
			slices.Sort(m.Properties.SubscriptionIDs) // any order [MQTT-3.3.4-4]
			if m.QoS != 2 || fmt.Sprint(m.Properties.SubscriptionIDs) != "[10 11 12]" {
				t.Fatalf("qos %d ids %v", m.QoS, m.Properties.SubscriptionIDs)
			}
			s.expectSilence(100 * time.Millisecond)
		})
	}
}

// TestSharedEncodingVariants delivers one QoS 0 message to subscribers of
// every variant (3.1.1, 5, 5 with Retain As Published, 5 with a
// subscription identifier), which share encodings only when identical.
func TestSharedEncodingVariants(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 1})
	a, _ := connectRaw(t, tb.addr, conn311("var-a", true))
	a.subscribe(1, sub("var/t", 0))
	b, _ := connectRaw(t, tb.addr, conn5("var-b"))
	b.subscribe(1, sub("var/t", 0))
	c, _ := connectRaw(t, tb.addr, conn5("var-c"))
	c.subscribe(1, mqtt.Subscription{Filter: []byte("var/t"), RetainAsPublished: true})
	d, _ := connectRaw(t, tb.addr, conn5("var-d"))
	sp := &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{sub("var/t", 0)}}
	sp.Properties.SubscriptionIDs = []uint32{7}
	d.write(mqtt.AppendSubscribe(nil, sp, mqtt.V5))
	d.read()
	p, _ := connectRaw(t, tb.addr, conn5("var-p"))
	p.publish("var/t", "v", 0, true, 0)
	for i, tc := range []struct {
		rc     *rawClient
		retain bool
		ids    int
	}{{a, false, 0}, {b, false, 0}, {c, true, 0}, {d, false, 1}} {
		m := tc.rc.readPublish()
		if string(m.Payload) != "v" || m.Retain != tc.retain || len(m.Properties.SubscriptionIDs) != tc.ids {
			t.Fatalf("subscriber %d: %+v", i, m)
		}
	}
}

// TestMessageExpiryForwarded: a subscriber receives the remaining Message
// Expiry Interval, and a retained message keeps counting down.
func TestMessageExpiryForwarded(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	s, _ := connectRaw(t, tb.addr, conn5("mx-s"))
	s.subscribe(1, sub("mx/#", 0))
	p, _ := connectRaw(t, tb.addr, conn5("mx-p"))
	m := &mqtt.Publish{Topic: []byte("mx/t"), Payload: []byte("e"), Retain: true}
	m.Properties.Present.Add(mqtt.PropMessageExpiry)
	m.Properties.MessageExpiry = 60
	p.write(mqtt.AppendPublish(nil, m, mqtt.V5))
	got := s.readPublish()
	if e := got.Properties.MessageExpiry; !got.Properties.Present.Has(mqtt.PropMessageExpiry) || e == 0 || e > 60 {
		t.Fatalf("expiry %d (present %v)", e, got.Properties.Present.Has(mqtt.PropMessageExpiry))
	}
	late, _ := connectRaw(t, tb.addr, conn5("mx-late"))
	late.subscribe(1, sub("mx/t", 0))
	r := late.readPublish()
	if !r.Retain || r.Properties.MessageExpiry == 0 || r.Properties.MessageExpiry > 60 {
		t.Fatalf("retained copy %+v", r)
	}
	// A 3.1.1 subscriber gets no properties at all.
	v3, _ := connectRaw(t, tb.addr, conn311("mx-v3", true))
	v3.subscribe(1, sub("mx/t", 0))
	if r := v3.readPublish(); string(r.Payload) != "e" {
		t.Fatalf("v3 %+v", r)
	}
}

// TestSharedEncodingQoS1 fans a QoS 1 message out to subscribers of one
// loop whose packet ids differ: each gets its own header and id, and the
// shared tail (properties, payload) intact.
func TestSharedEncodingQoS1(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 1})
	a, _ := connectRaw(t, tb.addr, conn311("sq-a", true))
	a.subscribe(1, sub("sq/t", 1))
	b, _ := connectRaw(t, tb.addr, conn311("sq-b", true))
	b.subscribe(1, sub("sq/#", 1))
	c, _ := connectRaw(t, tb.addr, conn5("sq-c"))
	c.subscribe(1, sub("sq/t", 2))
	d, _ := connectRaw(t, tb.addr, conn5("sq-d"))
	d.subscribe(1, sub("sq/t", 1))
	p, _ := connectRaw(t, tb.addr, conn5("sq-p"))
	p.publish("sq/other", "bump", 1, false, 1) // b's next id becomes 2
	p.read()
	if m := b.readPublish(); m.PacketID != 1 {
		t.Fatalf("b first id %d", m.PacketID)
	}
	m := &mqtt.Publish{QoS: 1, PacketID: 2, Topic: []byte("sq/t"), Payload: []byte("fan-out")}
	m.Properties.User = []mqtt.UserProperty{{Key: []byte("k"), Value: []byte("v")}}
	p.write(mqtt.AppendPublish(nil, m, mqtt.V5))
	for _, tc := range []struct {
		name string
		rc   *rawClient
		id   uint16
		user bool
	}{{"a", a, 1, false}, {"b", b, 2, false}, {"c", c, 1, true}, {"d", d, 1, true}} {
		got := tc.rc.readPublish()
		if got.PacketID != tc.id || got.QoS != 1 || string(got.Payload) != "fan-out" || string(got.Topic) != "sq/t" ||
			(len(got.Properties.User) == 1) != tc.user {
			t.Fatalf("%s: %+v", tc.name, got)
		}
		tc.rc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: got.PacketID}, tc.rc.v))
	}
	waitFor(t, "acknowledged", func() bool {
		return tb.info(t, "sq-a").InflightCnt == 0 && tb.info(t, "sq-c").InflightCnt == 0 && tb.info(t, "sq-d").InflightCnt == 0
	})
}

// expectNothingBefore sends PINGREQ and fails the test unless the next packet is
// its PINGRESP: nothing the broker sent for what the client wrote before
// (which it handles in order) is pending.
func (rc *rawClient) expectNothingBefore() {
	rc.t.Helper()
	rc.write([]byte{byte(mqtt.TypePingreq) << 4, 0}) // PINGREQ
	if h, _ := rc.read(); h.Type != mqtt.TypePingresp {
		rc.t.Fatalf("got %v, want nothing before PINGRESP", h.Type)
	}
}

// TestPubrecFailure: a PUBREC with a reason code of 0x80 or more ends the
// outbound QoS 2 exchange [MQTT-4.3.3-4]: no PUBREL follows, not even for
// an unknown packet id, the inflight slot is freed and the message is not
// sent again when the session resumes. A successful PUBREC for an unknown
// id still gets PUBREL 0x92.
func TestPubrecFailure(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	cp := conn5("rec-fail")
	cp.CleanStart = false
	cp.Properties.Present.Add(mqtt.PropSessionExpiry)
	cp.Properties.SessionExpiry = 60
	s, _ := connectRaw(t, tb.addr, cp)
	s.subscribe(1, sub("rec/t", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := tb.Publish(ctx, PublishRequest{Topic: "rec/t", Payload: []byte("x"), QoS: 2}); err != nil {
		t.Fatal(err)
	}
	m := s.readPublish()
	tests := []struct {
		name string
		id   uint16
		rc   mqtt.ReasonCode
		want mqtt.ReasonCode // PUBREL's reason code; 0xFF: no PUBREL
	}{
		{"known id, failure", m.PacketID, mqtt.UnspecifiedError, 0xFF},
		{"known id again, now unknown", m.PacketID, mqtt.ImplementationSpecificError, 0xFF},
		{"unknown id, failure", m.PacketID + 100, mqtt.QuotaExceeded, 0xFF},
		{"unknown id, success", m.PacketID + 101, mqtt.Success, mqtt.PacketIdentifierNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: tc.id, ReasonCode: tc.rc}, mqtt.V5))
			if tc.want != 0xFF {
				h, body := s.read()
				var rel mqtt.Pubrel
				if h.Type != mqtt.TypePubrel || rel.Decode(h, body, mqtt.V5) != nil || rel.ReasonCode != tc.want {
					t.Fatalf("got %v %+v, want PUBREL %v", h.Type, rel, tc.want)
				}
			}
			s.expectNothingBefore()
		})
	}
	if r := tb.info(t, "rec-fail"); r.InflightCnt != 0 {
		t.Fatalf("%d inflight after the failed PUBREC, want 0", r.InflightCnt)
	}
	s.c.Close()
	waitFor(t, "offline", func() bool { return !tb.info(t, "rec-fail").Connected })
	s2, ack := connectRaw(t, tb.addr, cp)
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	s2.expectNothingBefore() // the message is not resent
}

// TestFirstPacketID: a new session's first outbound packet id is 1, also
// when it takes the pooled state (sessExtra) another session gave back
// after using ids of its own.
func TestFirstPacketID(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 1}) // one shard: one free list
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	publish := func() {
		t.Helper()
		if _, err := tb.Publish(ctx, PublishRequest{Topic: "pid/t", Payload: []byte("x"), QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := connectRaw(t, tb.addr, conn311("pid-a", true))
	a.subscribe(1, sub("pid/t", 1))
	for range 3 {
		publish()
	}
	for want := uint16(1); want <= 3; want++ {
		if m := a.readPublish(); m.PacketID != want {
			t.Fatalf("session a: packet id %d, want %d", m.PacketID, want)
		}
	}
	for id := uint16(1); id <= 3; id++ {
		a.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: id}, mqtt.V311))
	}
	a.expectNothingBefore() // the PUBACKs were handled: a's extra is back in the pool
	a.c.Close()
	waitFor(t, "a gone", func() bool { return tb.Sessions() == 0 })
	b, _ := connectRaw(t, tb.addr, conn311("pid-b", true))
	b.subscribe(1, sub("pid/t", 1))
	publish()
	if m := b.readPublish(); m.PacketID != 1 {
		t.Fatalf("session b: first packet id %d, want 1", m.PacketID)
	}
}
