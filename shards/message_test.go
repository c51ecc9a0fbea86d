package shards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// mustPanic runs fn and fails the test unless it panics with want.
func mustPanic(t *testing.T, what string, want error, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("%s: no panic", what)
		}
		if err, ok := r.(error); !ok || !errors.Is(err, want) {
			t.Fatalf("%s: panic %v, want %v", what, r, want)
		}
	}()
	fn()
}

// TestMessageChecks shows that the lifetime checks the whole test suite
// runs with catch a second release, a late reference, a late use and a
// write after release, and that a released message is poisoned.
func TestMessageChecks(t *testing.T) {
	if !checkMessages {
		t.Fatal("the tests run without checkMessages")
	}
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sh := newShard(b, &netio.Loop{}, 0)
	s := newSession(sh, "checked", sh.loop.Now())
	sh.sessions[s.id] = s
	p := &mqtt.Publish{QoS: 1, Topic: []byte("c/d"), Payload: []byte("secret")}
	newMsg := func() *message { return b.newMessage(p, p.Topic, []byte("pub"), nil, sh.loop.Now()) }

	m := newMsg()
	m.ref()
	m.release()
	if string(m.payload) != "secret" || b.msgLive.Load() != 1 {
		t.Fatalf("live message: payload %q, %d live", m.payload, b.msgLive.Load())
	}
	payload := m.payload
	m.release()
	if b.msgLive.Load() != 0 {
		t.Fatalf("%d live after the last release", b.msgLive.Load())
	}
	if len(payload) == 0 || bytes.Count(payload, []byte{poisonByte}) != len(payload) {
		t.Fatalf("released payload not poisoned (every byte %#x): % x", poisonByte, payload)
	}
	mustPanic(t, "second release", errMessageTwice, m.release)
	mustPanic(t, "ref after release", errMessageReleased, m.ref)
	mustPanic(t, "publish after release", errMessageReleased, func() { sh.publish(m) })
	mustPanic(t, "deliver after release", errMessageReleased, func() { s.deliver(delivery{msg: m, qos: 1}) })
	mustPanic(t, "retain after release", errMessageReleased, func() { sh.storeRetained(m) })

	// A write after release is found when the message leaves quarantine.
	w := newMsg()
	w.release()
	w.buf[0] = 's'
	mustPanic(t, "write after release", errMessagePoisoned, w.checkPoison)
	w.buf[0] = poisonByte

	// A queued delivery keeps its message alive after the publisher's
	// reference is gone; the session's end releases it.
	q := newMsg()
	s.deliver(delivery{msg: q, qos: 1}) // offline: queued
	q.release()
	if got := s.x.queue[s.x.queueHead].msg; string(got.payload) != "secret" {
		t.Fatalf("queued payload %q", got.payload)
	}
	s.end()
	if b.msgLive.Load() != 0 {
		t.Fatalf("%d live after the session ended", b.msgLive.Load())
	}
}

// TestMessageClasses checks the pools' size classes: small and large
// messages never share a buffer, and bytes above maxPooled are the
// message's own.
func TestMessageClasses(t *testing.T) {
	for _, tc := range []struct {
		n, class int
	}{{0, 0}, {1, 0}, {64, 0}, {65, 1}, {128, 1}, {129, 2}, {1024, 4}, {1025, 5},
		{maxPooled, bigClass - 1}, {maxPooled + 1, bigClass}, {256 << 10, bigClass}} {
		if got := classOf(tc.n); got != tc.class {
			t.Errorf("classOf(%d) = %d, want %d", tc.n, got, tc.class)
		}
	}
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{16, 64, 1000, 256 << 10} {
		t.Run(fmt.Sprintf("payload=%db", size), func(t *testing.T) {
			p := &mqtt.Publish{Topic: []byte("t"), Payload: make([]byte, size)}
			m := b.newMessage(p, p.Topic, nil, nil, time.Time{})
			defer m.release()
			n := size + 1
			if want := classOf(n); int(m.class) != want {
				t.Fatalf("class %d, want %d", m.class, want)
			}
			if m.class < bigClass && cap(m.buf) != 1<<(minClassShift+int(m.class)) {
				t.Fatalf("class %d buffer of %d B", m.class, cap(m.buf))
			}
			if m.class == bigClass && cap(m.buf) != n {
				t.Fatalf("big message buffer of %d B, want %d", cap(m.buf), n)
			}
			if len(m.payload) != size || len(m.topic) != 1 {
				t.Fatalf("topic %d B, payload %d B", len(m.topic), len(m.payload))
			}
		})
	}
}

// TestCrossShardAllocs holds the cross-shard path to zero allocations: a
// publish on one shard matched by ten sessions of another goes through the
// outbox and the target's receive (what Loop.Execute runs) without
// allocating in shards (netio's Execute itself is not part of it).
func TestCrossShardAllocs(t *testing.T) {
	b, err := New(Config{MqueueMax: 16})
	if err != nil {
		t.Fatal(err)
	}
	from := newShard(b, &netio.Loop{}, 0)
	to := newShard(b, &netio.Loop{}, 0)
	for i := 0; i < 10; i++ {
		s := newSession(to, fmt.Sprintf("cross-%d", i), to.loop.Now())
		to.sessions[s.id] = s
		if _, err := s.subscribe("x/+", SubOptions{QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	p := &mqtt.Publish{QoS: 1, Topic: []byte("x/y"), Payload: []byte("payload")}
	publish := func() {
		m := b.newMessage(p, p.Topic, []byte("pub"), nil, from.loop.Now())
		if n := from.publish(m); n != 10 {
			t.Fatalf("matched %d", n)
		}
		m.release()
		mb := from.outbox[to]
		if mb == nil || len(mb.batch) != 10 {
			t.Fatal("no batch for the other shard")
		}
		from.outbox[to] = nil
		mb.deliver()
	}
	assertNoAllocs(t, publish)
	for _, s := range to.sessions {
		if s.queueLen() != 16 {
			t.Fatalf("%s queued %d", s.id, s.queueLen())
		}
		s.end()
	}
	if n := b.msgLive.Load(); n != 0 {
		t.Fatalf("%d messages live after every session ended", n)
	}
}

// assertNoAllocs warms fn (a publish matched by ten sessions) up past the
// checks' quarantine (messages return to their pool only after
// quarantineLen later releases) and asserts it allocates nothing. The race
// detector allocates inside map operations and its sync.Pool drops a
// quarter of what it is given at random, so under -race the budget is
// half a delivery's worth: an allocation per delivery (ten per publish)
// still fails there.
func assertNoAllocs(t *testing.T, fn func()) {
	t.Helper()
	for i := 0; i < 2*quarantineLen; i++ {
		fn()
	}
	budget := 0.0
	if raceEnabled {
		budget = 5
	}
	if got := testing.AllocsPerRun(500, fn); got > budget {
		t.Fatalf("%.1f allocations per publish, want at most %.0f", got, budget)
	}
}

// ackUntilQuiet reads and acknowledges everything that arrives (PUBACK,
// PUBREC, PUBCOMP as the QoS asks) until nothing has arrived for quiet,
// and returns the payloads of the PUBLISHes.
func (rc *rawClient) ackUntilQuiet(quiet time.Duration) []string {
	rc.t.Helper()
	var got []string
	for {
		h, body, err := rc.readErr(quiet)
		if err != nil {
			return got
		}
		switch h.Type {
		case mqtt.TypePublish:
			var p mqtt.Publish
			if err := p.Decode(h, body, rc.v); err != nil {
				rc.t.Fatal(err)
			}
			got = append(got, string(p.Payload))
			switch p.QoS {
			case 1:
				rc.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, rc.v))
			case 2:
				rc.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: p.PacketID}, rc.v))
			}
		case mqtt.TypePubrel:
			var r mqtt.Pubrel
			if err := r.Decode(h, body, rc.v); err != nil {
				rc.t.Fatal(err)
			}
			rc.write(mqtt.AppendPubcomp(nil, &mqtt.Pubcomp{PacketID: r.PacketID}, rc.v))
		}
	}
}

// disconnect sends a normal DISCONNECT and closes the socket.
func (rc *rawClient) disconnect() {
	rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, rc.v))
	rc.c.Close()
}

// TestMessagesReleased drives a mixed workload through every holder of a
// message (deliveries at QoS 0, 1 and 2 on both loops, MQTT 3.1.1 and 5
// with properties, offline queues with overflow and expiry, inflight
// windows left unacknowledged, takeover with clean start, kicks, session
// expiry, shared subscriptions, wills immediate and delayed, retained
// messages set, replaced, deleted and delivered on subscribe, API
// publishes) and checks that once everything is acknowledged and every
// session is gone no message is left unreleased, and that the retained
// store's copies survived the messages' reuse.
func TestMessagesReleased(t *testing.T) {
	tb := startBroker(t, Config{MqueueMax: 4}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	props := func(expiry uint32) mqtt.Properties {
		pr := mqtt.Properties{ContentType: []byte("text/plain"), CorrelationData: []byte("corr"),
			User: []mqtt.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}
		pr.Present.Add(mqtt.PropContentType)
		pr.Present.Add(mqtt.PropCorrelationData)
		if expiry > 0 {
			pr.Present.Add(mqtt.PropMessageExpiry)
			pr.MessageExpiry = expiry
		}
		return pr
	}
	persistent5 := func(id string, expiry uint32) *mqtt.Connect {
		c := conn5(id)
		c.CleanStart = false
		c.Properties.Present.Add(mqtt.PropSessionExpiry)
		c.Properties.SessionExpiry = expiry
		return c
	}
	pub5 := func(rc *rawClient, topic, payload string, qos byte, retain bool, id uint16, expiry uint32) {
		rc.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte(topic), Payload: []byte(payload),
			QoS: qos, Retain: retain, PacketID: id, Properties: props(expiry)}, mqtt.V5))
	}

	// Subscribers that stay and acknowledge everything: MQTT 5 at QoS 2
	// with a subscription identifier, MQTT 3.1.1 at QoS 1 and 0, and two
	// members of a shared group.
	s5, _ := connectRaw(t, tb.addr, conn5("live5"))
	s5.write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{sub("mix/#", 2)},
		Properties: func() mqtt.Properties { var p mqtt.Properties; p.SubscriptionIDs = []uint32{7}; return p }()}, mqtt.V5))
	s3, _ := connectRaw(t, tb.addr, conn311("live3", true))
	s3.subscribe(1, sub("mix/#", 1), sub("mix/+", 0))
	g1, _ := connectRaw(t, tb.addr, conn311("share1", true))
	g1.subscribe(1, sub("$share/g/mix/#", 1))
	g2, _ := connectRaw(t, tb.addr, conn311("share2", true))
	g2.subscribe(1, sub("$share/g/mix/#", 2))

	// Sessions kept offline: one whose queue overflows and holds an
	// expiring message, one with unacknowledged inflight messages, one to
	// be taken over with clean start.
	off, _ := connectRaw(t, tb.addr, conn311("offline", false))
	off.subscribe(1, sub("mix/#", 1))
	off.disconnect()
	unacked, _ := connectRaw(t, tb.addr, persistent5("unacked", 3600))
	unacked.subscribe(1, sub("mix/#", 2))
	taken, _ := connectRaw(t, tb.addr, persistent5("taken", 3600))
	taken.subscribe(1, sub("mix/#", 1))

	// Wills: one published at once on a lost connection (retained), one
	// delayed and published early by its session's expiry.
	will := conn5("will-now")
	will.HasWill = true
	will.Will = mqtt.Will{QoS: 1, Retain: true, Topic: []byte("mix/will"), Payload: []byte("gone"), Properties: props(0)}
	wNow, _ := connectRaw(t, tb.addr, will)
	delayed := persistent5("will-later", 1)
	delayed.HasWill = true
	delayed.Will = mqtt.Will{QoS: 2, Topic: []byte("mix/will-later"), Payload: []byte("late")}
	delayed.Will.Properties.Present.Add(mqtt.PropWillDelay)
	delayed.Will.Properties.WillDelay = 3600
	wLater, _ := connectRaw(t, tb.addr, delayed)

	// Publishers on both protocol versions, retained messages set,
	// replaced and deleted, one with a short expiry.
	p5, _ := connectRaw(t, tb.addr, conn5("pub5"))
	p3, _ := connectRaw(t, tb.addr, conn311("pub3", true))
	pub5(p5, "r/keep", "first", 1, true, 1, 0)
	pub5(p5, "r/keep", "kept", 1, true, 2, 0)
	pub5(p5, "r/gone", "soon deleted", 0, true, 0, 0)
	pub5(p5, "r/gone", "", 0, true, 0, 0)
	pub5(p5, "r/short", "expires", 2, true, 3, 1)
	for i := 0; i < 20; i++ {
		pub5(p5, "mix/a", fmt.Sprintf("v5-%d", i), byte(i%3), false, uint16(10+i), uint32(i%2))
		p3.publish("mix/b", fmt.Sprintf("v3-%d", i), byte(i%3), false, uint16(10+i))
	}
	if _, err := tb.Publish(ctx, PublishRequest{Topic: "mix/api", Payload: []byte("api"), QoS: 1, Properties: props(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Publish(ctx, PublishRequest{Topic: "r/api", Payload: []byte("api-retained"), Retain: true}); err != nil {
		t.Fatal(err)
	}
	wNow.c.Close() // abnormal loss: the will goes out now
	wLater.c.Close()

	for _, rc := range []*rawClient{s5, s3, g1, g2} {
		if got := rc.ackUntilQuiet(300 * time.Millisecond); len(got) == 0 {
			t.Fatalf("%s: nothing delivered", rc.c.LocalAddr())
		}
	}
	// The unacknowledged and taken-over sessions keep what was sent to
	// them inflight.
	waitFor(t, "messages held by offline queues and inflight windows", func() bool {
		return tb.msgLive.Load() > 0 && tb.info(t, "offline").MqueueLen == 4 &&
			tb.info(t, "unacked").InflightCnt > 0 && tb.info(t, "taken").InflightCnt > 0
	})
	if tb.info(t, "offline").MqueueDropped == 0 {
		t.Fatal("the offline queue never overflowed")
	}
	// The newest queued message expires before its session comes back.
	pub5(p5, "mix/last", "expires queued", 1, false, 40, 1)
	sent := time.Now()
	unacked.c.Close()
	// Takeover with clean start ends the old session and its inflight
	// window.
	fresh := conn5("taken")
	taker, _ := connectRaw(t, tb.addr, fresh)
	// A retained subscription delivers copies rebuilt from the store.
	taker.subscribe(2, sub("r/#", 1))
	got := taker.ackUntilQuiet(300 * time.Millisecond)
	if !strings.Contains(strings.Join(got, ","), "kept") {
		t.Fatalf("retained on subscribe: %q", got)
	}
	taker.disconnect()

	// The offline session resumes after its expiring message ran out
	// (what is awaited is the passing of the expiry interval itself): it
	// drops that one, gets the rest of its queue and acknowledges it.
	waitFor(t, "mix/last's expiry interval", func() bool { return time.Since(sent) > 1200*time.Millisecond })
	back, _ := connectRaw(t, tb.addr, conn311("offline", false))
	if got := back.ackUntilQuiet(300 * time.Millisecond); len(got) == 0 {
		t.Fatal("the resumed session got nothing")
	}
	if tb.info(t, "offline").SendMsgDroppedExpired == 0 {
		t.Fatal("no queued message expired")
	}
	back.disconnect()
	for _, rc := range []*rawClient{s5, s3, g1, g2, p5, p3} {
		rc.disconnect()
	}
	for _, id := range []string{"offline", "unacked"} {
		if err := tb.Kick(ctx, id); err != nil {
			t.Fatalf("kick %s: %v", id, err)
		}
	}
	waitFor(t, "every session gone", func() bool { return tb.Sessions() == 0 })
	waitFor(t, "every message released", func() bool { return tb.msgLive.Load() == 0 })

	if r := tb.Retained().Get("r/keep"); r == nil || string(r.Payload) != "kept" {
		t.Fatalf("retained r/keep: %+v", r)
	}
	if r := tb.Retained().Get("mix/will"); r == nil || string(r.Payload) != "gone" {
		t.Fatalf("retained will: %+v", r)
	}
	if r := tb.Retained().Get("r/api"); r == nil || string(r.Payload) != "api-retained" {
		t.Fatalf("retained API publish: %+v", r)
	}
	if tb.Retained().Get("r/gone") != nil {
		t.Fatal("r/gone was not deleted")
	}
}
