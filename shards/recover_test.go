package shards

import (
	"context"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
	"github.com/shardmq/shardmq/shards/store/disk"
)

// durableBroker is a broker on the disk store in dir, recovered from it,
// served on 127.0.0.1 with two loops.
type durableBroker struct {
	*testBroker
	db  *disk.DB
	rec Recovered
}

// startDurable opens dir, recovers a broker from it and serves it; stop
// (or the test's end) shuts it down and closes the store.
func startDurable(t *testing.T, dir string, cfg Config, opts ...func(*store.Config)) *durableBroker {
	t.Helper()
	sc := store.Config{Dir: dir, FlushInterval: 10 * time.Millisecond}
	for _, o := range opts {
		o(&sc)
	}
	db, err := disk.Open(sc)
	if err != nil {
		t.Fatal(err)
	}
	sink := newMemSink()
	cfg.Store, cfg.Sink = db, sink
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const loops = 2
	rec, err := b.Recover(db, loops)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: "127.0.0.1:0"}}, Loops: loops,
		TickInterval: 20 * time.Millisecond}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Bind(ctx, srv.Loops()); err != nil {
		t.Fatal(err)
	}
	d := &durableBroker{testBroker: &testBroker{Broker: b, srv: srv, addr: srv.Addr().String(), sink: sink}, db: db, rec: rec}
	t.Cleanup(d.stop)
	return d
}

func (d *durableBroker) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
	_ = d.db.Close()
}

// TestRecover restarts a broker on its store and checks, through real
// connections, everything a persistent session and the retained store
// keep: subscriptions with options and identifiers, queued QoS 1 and 2
// messages, the outbound in-flight window (same packet ids, DUP), a QoS 2
// delivery whose PUBREC came (PUBREL resent), an inbound QoS 2 exchange
// awaiting PUBREL (a resent PUBLISH is not routed again), retained
// messages with MQTT 5 properties and expiry, the session's row.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	b1 := startDurable(t, dir, Config{})

	// An MQTT 5 session: subscription identifier, No Local, QoS 2.
	c5 := conn5("v5")
	c5.CleanStart = false
	c5.Properties.Present.Add(mqtt.PropSessionExpiry)
	c5.Properties.SessionExpiry = 3600
	s5, _ := connectRaw(t, b1.addr, c5)
	s5.write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1,
		Subscriptions: []mqtt.Subscription{{Filter: []byte("r/#"), QoS: 2, NoLocal: true}},
		Properties:    mqtt.Properties{SubscriptionIDs: []uint32{42}}}, mqtt.V5))
	if h, _ := s5.read(); h.Type != mqtt.TypeSuback {
		t.Fatalf("got %v, want SUBACK", h.Type)
	}
	// An MQTT 3.1.1 session with clean session 0.
	s3, _ := connectRaw(t, b1.addr, conn311("v3", false))
	s3.subscribe(1, sub("r/#", 1))

	pub, _ := connectRaw(t, b1.addr, conn311("pub", true))
	// Two messages reach both sessions while they are online and are not
	// acknowledged: in flight at the restart.
	pub.publish("r/1", "one", 1, false, 1)
	pub.read()
	pub.publish("r/2", "two", 2, false, 2)
	pub.read() // PUBREC
	p31, p32 := s3.readPublish(), s3.readPublish()
	p51, p52 := s5.readPublish(), s5.readPublish()
	// v5 acknowledges the QoS 2 delivery's PUBLISH (PUBREC) but not yet
	// the PUBREL.
	s5.write(mqtt.AppendPubrec(nil, &mqtt.Pubrec{PacketID: p52.PacketID}, mqtt.V5))
	if h, _ := s5.read(); h.Type != mqtt.TypePubrel {
		t.Fatalf("got %v, want PUBREL", h.Type)
	}
	// The publisher's QoS 2 PUBLISH awaits its PUBREL; pub is a clean
	// session, so a persistent one publishes the next QoS 2 exchange.
	ppub := conn311("ppub", false)
	pp, _ := connectRaw(t, b1.addr, ppub)
	pp.publish("r/3", "three", 2, false, 9)
	if h, _ := pp.read(); h.Type != mqtt.TypePubrec {
		t.Fatalf("got %v, want PUBREC", h.Type)
	}
	p33, p53 := s3.readPublish(), s5.readPublish()
	s3.c.Close()
	s5.c.Close()
	pp.c.Close()
	waitFor(t, "v3 and v5 offline", func() bool {
		return b1.info(t, "v3").ConnState == "disconnected" && b1.info(t, "v5").ConnState == "disconnected"
	})
	// Queued while offline.
	pub.publish("r/4", "four", 1, false, 3)
	pub.read()
	// Retained with properties and an expiry interval.
	rp := &mqtt.Publish{Topic: []byte("ret/a"), Payload: []byte("kept"), QoS: 1, Retain: true, PacketID: 4}
	c5p := conn5("pub5")
	p5, _ := connectRaw(t, b1.addr, c5p)
	rp.Properties.Present.Add(mqtt.PropContentType)
	rp.Properties.ContentType = []byte("text/plain")
	rp.Properties.Present.Add(mqtt.PropMessageExpiry)
	rp.Properties.MessageExpiry = 3600
	rp.Properties.User = []mqtt.UserProperty{{Key: []byte("k"), Value: []byte("v")}}
	p5.write(mqtt.AppendPublish(nil, rp, mqtt.V5))
	p5.read()
	p5.publish("ret/gone", "short", 0, true, 0)
	info := b1.info(t, "v3")
	b1.stop()

	b2 := startDurable(t, dir, Config{})
	if b2.rec.Sessions != 3 || b2.rec.Retained != 2 || b2.rec.AwaitRel != 1 {
		t.Fatalf("recovered %+v, want 3 sessions, 2 retained, 1 awaiting PUBREL", b2.rec.LoadStats)
	}
	row := b2.info(t, "v3")
	if row.Connected || row.CreatedAt != info.CreatedAt || row.SubscriptionsCnt != 1 || row.MqueueLen != 1 || row.InflightCnt != 3 {
		t.Fatalf("v3's row after the restart: connected %v created %d (want %d) subs %d mqueue %d inflight %d",
			row.Connected, row.CreatedAt, info.CreatedAt, row.SubscriptionsCnt, row.MqueueLen, row.InflightCnt)
	}

	// v3: the in-flight messages again with DUP and their packet ids,
	// then the queued ones.
	s3b, ack := connectRaw(t, b2.addr, conn311("v3", false))
	if !ack.SessionPresent {
		t.Fatal("v3: session not present")
	}
	for _, want := range []*mqtt.Publish{p31, p32, p33} {
		got := s3b.readPublish()
		if !got.Dup || got.PacketID != want.PacketID || string(got.Payload) != string(want.Payload) {
			t.Fatalf("v3 resend: got %q id %d dup %v, want %q id %d with DUP", got.Payload, got.PacketID, got.Dup,
				want.Payload, want.PacketID)
		}
		s3b.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: got.PacketID}, mqtt.V311))
	}
	for _, want := range []string{"four"} {
		got := s3b.readPublish()
		if string(got.Payload) != want || got.Dup {
			t.Fatalf("v3 queue: got %q dup %v, want %q", got.Payload, got.Dup, want)
		}
		s3b.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: got.PacketID}, mqtt.V311))
	}

	// v5: the QoS 1 resend, the PUBREL of the released QoS 2, the queue,
	// each with its subscription identifier.
	c5.CleanStart = false
	s5b, ack5 := connectRaw(t, b2.addr, c5)
	if !ack5.SessionPresent {
		t.Fatal("v5: session not present")
	}
	got := s5b.readPublish()
	if !got.Dup || got.PacketID != p51.PacketID || len(got.Properties.SubscriptionIDs) != 1 || got.Properties.SubscriptionIDs[0] != 42 {
		t.Fatalf("v5 resend: got %q id %d dup %v ids %v", got.Payload, got.PacketID, got.Dup, got.Properties.SubscriptionIDs)
	}
	if h, body := s5b.read(); h.Type != mqtt.TypePubrel {
		t.Fatalf("got %v, want PUBREL", h.Type)
	} else {
		var rel mqtt.Pubrel
		if err := rel.Decode(h, body, mqtt.V5); err != nil || rel.PacketID != p52.PacketID {
			t.Fatalf("PUBREL %d (%v), want %d", rel.PacketID, err, p52.PacketID)
		}
	}
	if got := s5b.readPublish(); !got.Dup || got.PacketID != p53.PacketID || got.QoS != 2 {
		t.Fatalf("v5 resend: got %q id %d dup %v qos %d, want id %d", got.Payload, got.PacketID, got.Dup, got.QoS, p53.PacketID)
	}
	if got := s5b.readPublish(); string(got.Payload) != "four" || got.Dup {
		t.Fatalf("v5 queue: got %q dup %v, want four", got.Payload, got.Dup)
	}

	// The publisher's QoS 2 exchange: the resent PUBLISH is acknowledged
	// and not routed again; PUBREL completes it.
	ppb, _ := connectRaw(t, b2.addr, ppub)
	ppb.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("r/3"), Payload: []byte("three"), QoS: 2,
		PacketID: 9, Dup: true}, mqtt.V311))
	if h, _ := ppb.read(); h.Type != mqtt.TypePubrec {
		t.Fatalf("got %v, want PUBREC", h.Type)
	}
	ppb.write(mqtt.AppendPubrel(nil, &mqtt.Pubrel{PacketID: 9}, mqtt.V311))
	if h, _ := ppb.read(); h.Type != mqtt.TypePubcomp {
		t.Fatalf("got %v, want PUBCOMP", h.Type)
	}
	s3b.expectSilence(200 * time.Millisecond)

	// The retained message with its properties, its expiry counting on.
	r5, _ := connectRaw(t, b2.addr, conn5("reader"))
	r5.subscribe(1, sub("ret/a", 1))
	rm := r5.readPublish()
	if string(rm.Payload) != "kept" || !rm.Retain || string(rm.Properties.ContentType) != "text/plain" ||
		len(rm.Properties.User) != 1 || string(rm.Properties.User[0].Value) != "v" ||
		rm.Properties.MessageExpiry == 0 || rm.Properties.MessageExpiry > 3600 {
		t.Fatalf("retained after restart: %q retain %v content type %q user %v expiry %d", rm.Payload, rm.Retain,
			rm.Properties.ContentType, rm.Properties.User, rm.Properties.MessageExpiry)
	}
}

// TestRecoverExpiry: a session whose expiry passes while the broker is
// down is dropped and counted at recovery, and its pending will is
// published; a session connected at a crash lost its connection then, so
// its delayed will is published after its delay.
func TestRecoverExpiry(t *testing.T) {
	dir := t.TempDir()
	b1 := startDurable(t, dir, Config{})
	willConn := func(id string, expiry, delay uint32) *mqtt.Connect {
		c := conn5(id)
		c.CleanStart = false
		c.Properties.Present.Add(mqtt.PropSessionExpiry)
		c.Properties.SessionExpiry = expiry
		c.HasWill = true
		c.Will = mqtt.Will{Topic: []byte("will/" + id), Payload: []byte(id), QoS: 1, Retain: true}
		c.Will.Properties.Present.Add(mqtt.PropWillDelay)
		c.Will.Properties.WillDelay = delay
		return c
	}
	// gone: offline (lost abnormally) with a will waiting for a delay
	// longer than the session lives.
	gone, _ := connectRaw(t, b1.addr, willConn("gone", 1, 3600))
	gone.c.Close()
	waitFor(t, "gone offline", func() bool { return b1.info(t, "gone").ConnState == "disconnected" })
	// crash: connected when the broker dies.
	connectRaw(t, b1.addr, willConn("crash", 3600, 1))
	waitFor(t, "crash saved", func() bool { return b1.info(t, "crash").Connected })
	time.Sleep(100 * time.Millisecond) // its batch committed
	// The store closes under the broker: nothing of the shutdown reaches
	// it, as after a kill.
	if err := b1.db.Close(); err != nil {
		t.Fatal(err)
	}
	b1.stop()
	time.Sleep(1100 * time.Millisecond) // gone's expiry passes

	b2 := startDurable(t, dir, Config{})
	if b2.rec.ExpiredSessions != 1 || b2.rec.Sessions != 1 || b2.rec.Wills != 1 {
		t.Fatalf("recovered %+v, %d wills; want 1 session, 1 expired with its will", b2.rec.LoadStats, b2.rec.Wills)
	}
	if _, ok := b2.registry.Load("gone"); ok {
		t.Fatal("the expired session was recovered")
	}
	start := time.Now()
	waitFor(t, "gone's will published at once", func() bool { return b2.Retained().Get("will/gone") != nil })
	waitFor(t, "crash's will published after its delay", func() bool { return b2.Retained().Get("will/crash") != nil })
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("crash's will came %v after the restart, before its 1 s delay", d)
	}
}
