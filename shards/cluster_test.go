package shards

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// fakeCluster is a cluster of this node and one other, "node-b", as the
// shards see it: node-b holds the session of "b-device" (one subscription,
// one queued and one in-flight message), cannot be reached for client ids
// that start with "b-down", wants the topics under "remote/", and serves
// the shared group g/shared/t.
type fakeCluster struct {
	mu        sync.Mutex
	interest  []string // "+filter" or "-filter", in call order
	forwarded []*store.Message
	acquired  []string // "id" or "id!" (discard), in call order
	released  []string
	retained  []*store.Message
	// hold keeps the acks of Flush for the test to call (held).
	hold bool
	held []func(error)
}

func (f *fakeCluster) Alone() bool { return false }

var errUnreachable = errors.New("registry unreachable")

func (f *fakeCluster) Acquire(_ context.Context, clientID string, discard bool) (*cluster.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if discard {
		f.acquired = append(f.acquired, clientID+"!")
	} else {
		f.acquired = append(f.acquired, clientID)
	}
	switch {
	case strings.HasPrefix(clientID, "b-down"):
		return nil, errUnreachable
	case clientID == "b-device" && !discard:
		return &cluster.Session{
			Session: &store.Session{ClientID: clientID, Version: 5, Expiry: 300,
				Subscriptions: []store.Subscription{{Filter: "moved/+", QoS: 1}}},
			Queue: []cluster.Delivery{
				{Seq: 1, Message: &store.Message{Topic: "moved/a", Payload: []byte("inflight"), QoS: 1}, QoS: 1, PacketID: 7},
				{Seq: 2, Message: &store.Message{Topic: "moved/b", Payload: []byte("queued"), QoS: 1}, QoS: 1},
			},
		}, nil
	}
	return nil, nil
}

func (f *fakeCluster) Release(clientID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, clientID)
}

func (f *fakeCluster) SetRetained(m *store.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retained = append(f.retained, m)
}

func (f *fakeCluster) Interest(filter string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sign := "-"
	if on {
		sign = "+"
	}
	f.interest = append(f.interest, sign+filter)
}

func (f *fakeCluster) Route(topic, _ []byte, r *cluster.Route) {
	r.Reset()
	switch {
	case strings.HasPrefix(string(topic), "remote/"):
		r.Nodes = 1 << 1 // node-b's slot
	case string(topic) == "shared/t":
		r.Nodes = 1 << 1
		r.Groups = append(r.Groups, cluster.GroupChoice{Group: cluster.Group{Name: "g", Filter: "shared/t"}, Slot: 1})
	}
}

func (f *fakeCluster) NewOutbox() cluster.Outbox { return fakeOutbox{f} }

// fakeOutbox records what a shard forwards.
type fakeOutbox struct{ f *fakeCluster }

func (o fakeOutbox) Add(m *store.Message, _ *cluster.Route) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	o.f.forwarded = append(o.f.forwarded, m)
}

func (o fakeOutbox) Flush(ack func(error)) {
	if ack == nil {
		return
	}
	o.f.mu.Lock()
	if o.f.hold {
		o.f.held = append(o.f.held, ack)
		o.f.mu.Unlock()
		return
	}
	o.f.mu.Unlock()
	ack(nil)
}

func (f *fakeCluster) calls() ([]string, []*store.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.interest), slices.Clone(f.forwarded)
}

func (f *fakeCluster) owners() (acquired, released []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acquired), slices.Clone(f.released)
}

// TestClusterSeam checks the calls the shards make on a cluster that is
// not alone: interest once per filter gained and lost (shared groups
// included, session end included), messages forwarded when another node
// wants their topic (which counts as a match for MQTT 5's PUBACK), an
// Acquire before every CONNACK (refused with server unavailable when the
// cluster cannot answer) and a Release when a session ends here.
func TestClusterSeam(t *testing.T) {
	fc := &fakeCluster{}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})

	a, _ := connectRaw(t, tb.addr, conn5("ca"))
	b, _ := connectRaw(t, tb.addr, conn5("cb"))
	a.subscribe(1, sub("x/+", 0), sub("$share/g/y", 0))
	b.subscribe(1, sub("x/+", 0), sub("$share/g/y", 0))
	a.write(unsubscribe5(2, "x/+"))
	a.read()
	waitFor(t, "interest gained", func() bool { in, _ := fc.calls(); return len(in) == 2 })
	b.c.Close() // its session ends: the last subscriber of both filters
	waitFor(t, "x/+ lost", func() bool { in, _ := fc.calls(); return len(in) == 3 })
	a.write(unsubscribe5(3, "$share/g/y"))
	a.read()
	waitFor(t, "$share/g/y lost", func() bool { in, _ := fc.calls(); return len(in) == 4 })
	in, _ := fc.calls()
	want := []string{"+x/+", "+$share/g/y", "-x/+", "-$share/g/y"}
	if strings.Join(in, " ") != strings.Join(want, " ") {
		t.Fatalf("interest calls %q, want %q", in, want)
	}

	a.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("remote/t"), Payload: []byte("over"), QoS: 1,
		PacketID: 9}, mqtt.V5))
	h, body := a.read()
	var ack mqtt.Puback
	if h.Type != mqtt.TypePuback || ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != mqtt.Success {
		t.Fatalf("PUBACK %v %+v, want Success (node-b wants the topic)", h.Type, ack)
	}
	_, fw := fc.calls()
	if len(fw) != 1 || fw[0].Topic != "remote/t" || string(fw[0].Payload) != "over" || fw[0].QoS != 1 || fw[0].From != "ca" {
		t.Fatalf("forwarded %+v", fw)
	}
	a.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("local/t"), QoS: 1, PacketID: 10}, mqtt.V5))
	h, body = a.read()
	if ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != mqtt.NoMatchingSubscribers {
		t.Fatalf("PUBACK %+v, want No matching subscribers", ack)
	}
	if _, fw := fc.calls(); len(fw) != 1 {
		t.Fatalf("a topic no node wants was forwarded: %d", len(fw))
	}

	for _, v := range []mqtt.Version{mqtt.V5, mqtt.V311} {
		p := conn5("b-down")
		p.Version = v
		_, cack := connectRaw(t, tb.addr, p)
		wantRC := mqtt.ServerUnavailable
		if v != mqtt.V5 {
			wantRC = mqtt.ReasonCode(mqtt.ConnRefusedServerUnavailable)
		}
		if cack.ReasonCode != wantRC {
			t.Fatalf("v%d CONNACK %v, want %v: the cluster could not tell who owns the client id", v, cack.ReasonCode, wantRC)
		}
	}
	if _, ok := tb.registry.Load("b-down"); ok {
		t.Fatal("a session was made for a client id the cluster could not acquire")
	}
	acq, rel := fc.owners()
	if want := "ca! cb! b-down! b-down!"; strings.Join(acq, " ") != want {
		t.Fatalf("Acquire calls %q, want %q", acq, want)
	}
	if want := "cb"; strings.Join(rel, " ") != want {
		t.Fatalf("Release calls %q, want %q (cb's session ended here)", rel, want)
	}
}

// TestClusterHeldAcks checks that the PUBACK of a QoS 1 message that went
// to another node waits for that node's acknowledgement, and that a later
// PUBACK of the same client waits behind it (the PUBLISHes' order), while
// another client's is not held.
func TestClusterHeldAcks(t *testing.T) {
	fc := &fakeCluster{hold: true}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})
	a, _ := connectRaw(t, tb.addr, conn5("held-a"))
	b, _ := connectRaw(t, tb.addr, conn5("held-b"))
	a.publish("remote/x", "far", 1, false, 1)
	a.expectSilence(200 * time.Millisecond)
	a.publish("local/x", "near", 1, false, 2)
	b.publish("local/y", "other", 1, false, 3)
	if h, _ := b.read(); h.Type != mqtt.TypePuback {
		t.Fatalf("%v, want held-b's PUBACK at once", h.Type)
	}
	a.expectSilence(200 * time.Millisecond)
	fc.mu.Lock()
	acks := fc.held
	fc.held = nil
	fc.mu.Unlock()
	if len(acks) != 1 {
		t.Fatalf("%d flushes wait for an ack, want 1", len(acks))
	}
	acks[0](nil)
	for _, want := range []uint16{1, 2} {
		h, body := a.read()
		var ack mqtt.Puback
		if h.Type != mqtt.TypePuback || ack.Decode(h, body, mqtt.V5) != nil || ack.PacketID != want {
			t.Fatalf("%v %+v, want the PUBACK of %d", h.Type, ack, want)
		}
	}
}

// TestClusterAdopt checks a session another node gave up: the CONNECT
// without clean start gets Session Present, the subscription it carried
// routes, the in-flight message is resent with DUP under its packet id
// and the queued one follows.
func TestClusterAdopt(t *testing.T) {
	fc := &fakeCluster{}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})
	p := conn5("b-device")
	p.CleanStart = false
	p.Properties.Present.Add(mqtt.PropSessionExpiry)
	p.Properties.SessionExpiry = 300
	c, ack := connectRaw(t, tb.addr, p)
	if ack.ReasonCode != mqtt.Success || !ack.SessionPresent {
		t.Fatalf("CONNACK %v present %v, want Success with the session present", ack.ReasonCode, ack.SessionPresent)
	}
	first := c.readPublish()
	if string(first.Payload) != "inflight" || !first.Dup || first.PacketID != 7 {
		t.Fatalf("first PUBLISH %q dup %v id %d, want the in-flight message resent with DUP as id 7",
			first.Payload, first.Dup, first.PacketID)
	}
	second := c.readPublish()
	if string(second.Payload) != "queued" || second.Dup {
		t.Fatalf("second PUBLISH %q dup %v, want the queued message", second.Payload, second.Dup)
	}
	pub, _ := connectRaw(t, tb.addr, conn5("pub"))
	pub.publish("moved/c", "routed", 0, false, 0)
	if got := c.readPublish(); string(got.Payload) != "routed" {
		t.Fatalf("PUBLISH %q, want the adopted subscription to route moved/c", got.Payload)
	}
	if row := tb.info(t, "b-device"); row.ExpiryInterval != 300 {
		t.Fatalf("expiry %d, want 300", row.ExpiryInterval)
	}
}

// TestClusterHandler checks the broker's side of cluster.Handler: a
// forwarded message reaches ordinary subscribers and only the shared
// groups the publishing node chose this node for; a local publish skips
// the groups the cluster gives another node; Takeover ends a connected
// session with DISCONNECT 0x8E and returns its subscriptions without
// telling the cluster it was released; Retained sets and clears the local
// store; a retained publish goes to the cluster.
func TestClusterHandler(t *testing.T) {
	fc := &fakeCluster{}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})
	h := tb.NodeHandler()
	p := conn5("member")
	p.CleanStart = false
	p.Properties.Present.Add(mqtt.PropSessionExpiry)
	p.Properties.SessionExpiry = 60
	m, _ := connectRaw(t, tb.addr, p)
	m.subscribe(1, sub("$share/g/shared/t", 0), sub("plain/#", 0))

	h.Deliver([]cluster.Forwarded{
		{Message: &store.Message{Topic: "shared/t", Payload: []byte("not-chosen")}},
		{Message: &store.Message{Topic: "shared/t", Payload: []byte("chosen")},
			Groups: []cluster.Group{{Name: "g", Filter: "shared/t"}}},
		{Message: &store.Message{Topic: "plain/x", Payload: []byte("plain"), From: "elsewhere"}},
	})
	if got := m.readPublish(); string(got.Payload) != "chosen" {
		t.Fatalf("PUBLISH %q, want the one the other node chose this node's group for", got.Payload)
	}
	if got := m.readPublish(); string(got.Payload) != "plain" {
		t.Fatalf("PUBLISH %q, want the ordinary subscription's", got.Payload)
	}
	pub, _ := connectRaw(t, tb.addr, conn5("pub"))
	pub.publish("shared/t", "served-remotely", 0, false, 0)
	m.expectSilence(200 * time.Millisecond)
	if _, fw := fc.calls(); len(fw) != 1 || fw[0].Topic != "shared/t" {
		t.Fatalf("forwarded %+v, want the shared/t publish", fw)
	}

	pub.publish("keep/r", "kept", 1, true, 5)
	pub.read() // PUBACK
	waitFor(t, "retained sent to the cluster", func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return len(fc.retained) == 1 && fc.retained[0].Topic == "keep/r" && string(fc.retained[0].Payload) == "kept"
	})
	h.Retained(&store.Message{Topic: "other/r", Payload: []byte("from-b"), QoS: 1})
	if r := tb.Retained().Get("other/r"); r == nil || string(r.Payload) != "from-b" {
		t.Fatalf("retained other/r %+v, want the cluster's", r)
	}
	h.Retained(&store.Message{Topic: "other/r"})
	if r := tb.Retained().Get("other/r"); r != nil {
		t.Fatalf("retained other/r %+v, want it cleared", r)
	}

	st, err := h.Takeover(context.Background(), "member", false)
	if err != nil || st == nil || st.Session == nil || len(st.Session.Subscriptions) != 2 {
		t.Fatalf("Takeover: %+v %v, want the session with its 2 subscriptions", st, err)
	}
	if rc, _ := m.expectClosed(); rc != mqtt.SessionTakenOver {
		t.Fatalf("DISCONNECT %v, want 0x8E", rc)
	}
	if _, ok := tb.registry.Load("member"); ok {
		t.Fatal("the session taken to another node is still here")
	}
	if _, rel := fc.owners(); slices.Contains(rel, "member") {
		t.Fatal("a session taken over by another node was released")
	}
	if st, err := h.Takeover(context.Background(), "nobody", false); st != nil || err != nil {
		t.Fatalf("Takeover of an unknown id: %+v %v, want nothing", st, err)
	}
}

// unsubscribe5 encodes an MQTT 5 UNSUBSCRIBE of one filter (the codec
// encodes UNSUBSCRIBE only in its own tests: the broker never sends one).
func unsubscribe5(id uint16, filter string) []byte {
	body := []byte{byte(id >> 8), byte(id), 0, byte(len(filter) >> 8), byte(len(filter))} // id, no properties
	body = append(body, filter...)
	return append([]byte{byte(mqtt.TypeUnsubscribe)<<4 | 0x02, byte(len(body))}, body...)
}

// TestDiscardStale checks NodeHandler.DiscardStale: an offline session
// ends without a release to the cluster and without its will; a connected
// one and an unknown id are left alone; SessionIDs lists what is there.
func TestDiscardStale(t *testing.T) {
	fc := &fakeCluster{}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})
	h := tb.NodeHandler()
	persistent := func(id string) *mqtt.Connect {
		p := conn5(id)
		p.CleanStart = false
		p.Properties.Present.Add(mqtt.PropSessionExpiry)
		p.Properties.SessionExpiry = 60
		return p
	}
	off, _ := connectRaw(t, tb.addr, persistent("stale"))
	off.subscribe(1, sub("stale/t", 1))
	on, _ := connectRaw(t, tb.addr, persistent("live"))
	if ids := h.SessionIDs(); !slices.Contains(ids, "stale") || !slices.Contains(ids, "live") {
		t.Fatalf("SessionIDs %q", ids)
	}
	if n, err := h.DiscardStale(context.Background(), []string{"live", "nobody"}); err != nil || n != 0 {
		t.Fatalf("DiscardStale of a connected session and an unknown id: %d, %v; want none ended", n, err)
	}
	off.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V5))
	// Once its connection is gone (the loop's close may follow the
	// client's view of it), the offline session ends.
	waitFor(t, "the offline session ended", func() bool {
		n, err := h.DiscardStale(context.Background(), []string{"stale"})
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	if _, ok := tb.registry.Load("stale"); ok {
		t.Fatal("the stale session is still here")
	}
	if _, ok := tb.registry.Load("live"); !ok {
		t.Fatal("the connected session was ended")
	}
	on.expectSilence(100 * time.Millisecond)
	if _, rel := fc.owners(); slices.Contains(rel, "stale") {
		t.Fatal("the stale session's id was released: the cluster's owner is another node's")
	}
	if _, err := tb.Subscriptions(context.Background(), "stale"); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("the stale session's subscriptions: %v, want ErrClientNotFound", err)
	}
}
