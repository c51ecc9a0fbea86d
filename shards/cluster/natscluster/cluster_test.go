package natscluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// TestCluster runs three nodes in this process, each with its own embedded
// nats-server on 127.0.0.1 and routes between them, and drives every part
// of the cluster through them.
func TestCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()

	t.Run("interest", func(t *testing.T) {
		n2.Interest("a/+/c", true)
		n3.Interest("a/#", true)
		waitRemote(t, n1, "a/b/c", true)
		waitFor(t, 5*time.Second, "both nodes in NodesOf", func() bool {
			got := n1.NodesOf([]byte("a/b/c"), nil)
			return slices.Equal(got, []string{"n2", "n3"}) || slices.Equal(got, []string{"n3", "n2"})
		})
		if n1.Remote([]byte("b/x")) {
			t.Fatal("Remote(b/x) with no subscriber anywhere")
		}
		if got := n2.NodesOf([]byte("a/x"), nil); !slices.Equal(got, []string{"n3"}) {
			waitFor(t, 5*time.Second, "n2 sees n3's a/#", func() bool {
				return slices.Equal(n2.NodesOf([]byte("a/x"), nil), []string{"n3"})
			})
		}
		n2.Interest("a/+/c", false)
		n3.Interest("a/#", false)
		waitRemote(t, n1, "a/b/c", false)
	})

	t.Run("forward qos0", func(t *testing.T) {
		n2.Interest("q0/#", true)
		waitRemote(t, n1, "q0/x", true)
		ob := n1.NewOutbox()
		for i := range 10 {
			if err := publish(t, n1, ob, &store.Message{Topic: "q0/x", Payload: fmt.Appendf(nil, "m%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 5*time.Second, "10 messages on n2", func() bool { return len(n2.b.deliveries()) == 10 })
		for i, d := range n2.b.deliveries() {
			if d.topic != "q0/x" || d.payload != fmt.Sprintf("m%d", i) || d.qos != 0 {
				t.Fatalf("delivery %d = %+v", i, d)
			}
		}
		if len(n3.b.deliveries()) != 0 {
			t.Fatalf("n3 got %v without interest", n3.b.deliveries())
		}
		n2.Interest("q0/#", false)
		waitRemote(t, n1, "q0/x", false)
	})

	t.Run("forward qos1 acked after Deliver", func(t *testing.T) {
		n2.Interest("q1/+", true)
		n3.Interest("q1/+", true)
		waitFor(t, 5*time.Second, "n1 sees both", func() bool { return len(n1.NodesOf([]byte("q1/x"), nil)) == 2 })
		before2, before3 := len(n2.b.deliveries()), len(n3.b.deliveries())
		g := newGate()
		n2.b.gate.Store(g)
		ob := n1.NewOutbox()
		var r cluster.Route
		n1.Route([]byte("q1/x"), nil, &r)
		ob.Add(&store.Message{Topic: "q1/x", Payload: []byte("one"), QoS: 1}, &r)
		acked := make(chan error, 1)
		ob.Flush(func(err error) { acked <- err })
		<-g.entered
		select {
		case err := <-acked:
			t.Fatalf("acked (%v) while n2's Deliver had not returned", err)
		default:
		}
		// Hold n2 until n1 has sent the batch again (the ack timed out):
		// the copy must be acknowledged without a second delivery.
		fwd := n2.subs[3]
		// Pending counts the message Deliver holds, and the copy behind it.
		waitFor(t, 5*time.Second, "the batch sent again", func() bool { n, _, _ := fwd.Pending(); return n > 1 })
		n2.b.gate.Store(nil)
		close(g.release)
		select {
		case err := <-acked:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ack")
		}
		waitFor(t, 5*time.Second, "n2 drained", func() bool { n, _, _ := fwd.Pending(); return n == 0 })
		if d2, d3 := len(n2.b.deliveries())-before2, len(n3.b.deliveries())-before3; d2 != 1 || d3 != 1 {
			t.Fatalf("delivered %d on n2 and %d on n3, want exactly 1 each", d2, d3)
		}
		n2.Interest("q1/+", false)
		n3.Interest("q1/+", false)
	})

	t.Run("shared group once across nodes", func(t *testing.T) {
		for _, tn := range nodes {
			tn.Interest("$share/g/s/#", true)
		}
		waitFor(t, 5*time.Second, "n1 sees the group on 3 nodes", func() bool { return len(n1.NodesOf([]byte("s/1"), nil)) == 3 })
		before := map[string]int{}
		for _, tn := range nodes[1:] {
			before[tn.cfg.Node] = len(tn.b.deliveries())
		}
		ob := n1.NewOutbox()
		local := 0
		const msgs = 30
		for i := range msgs {
			var r cluster.Route
			n1.Route([]byte("s/1"), []byte("pub"), &r)
			if r.ServeLocal("g", "s/#") {
				local++
			}
			ob.Add(&store.Message{Topic: "s/1", Payload: fmt.Appendf(nil, "%d", i), QoS: 1}, &r)
			done := make(chan error, 1)
			ob.Flush(func(err error) { done <- err })
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		counts := map[string]int{"n1": local}
		for _, tn := range nodes[1:] {
			for _, d := range tn.b.deliveries()[before[tn.cfg.Node]:] {
				if len(d.groups) != 1 || d.groups[0] != (cluster.Group{Name: "g", Filter: "s/#"}) {
					t.Fatalf("%s got %+v without the group", tn.cfg.Node, d)
				}
				counts[tn.cfg.Node]++
			}
		}
		if counts["n1"]+counts["n2"]+counts["n3"] != msgs || counts["n1"] != msgs/3 || counts["n2"] != msgs/3 {
			t.Fatalf("deliveries per node %v, want %d each (round robin)", counts, msgs/3)
		}
		for _, tn := range nodes {
			tn.Interest("$share/g/s/#", false)
		}
	})

	t.Run("takeover", func(t *testing.T) {
		sess := &cluster.Session{
			Session: &store.Session{ClientID: "c1", Version: 5, Expiry: 3600,
				Subscriptions: []store.Subscription{{Filter: "x/#", QoS: 1, ID: 4}}},
			Queue: []cluster.Delivery{
				{Seq: 1, Message: &store.Message{Topic: "x/2", Payload: []byte("sent"), QoS: 2}, QoS: 2, PacketID: 7, Released: true},
				{Seq: 2, Message: &store.Message{Topic: "x/1", Payload: []byte("queued"), QoS: 1}, QoS: 1, SubIDs: []uint32{4}},
			},
			AwaitRel: []uint16{9},
		}
		if s, err := n1.Acquire(ctx, "c1", false); err != nil || s != nil {
			t.Fatalf("first Acquire = %v, %v", s, err)
		}
		n1.b.mu.Lock()
		n1.b.sessions["c1"] = sess
		n1.b.mu.Unlock()
		// Owner reads any replica: it may lag the claim by milliseconds.
		waitFor(t, 5*time.Second, "n3 sees n1 own c1", func() bool {
			owner, err := n3.Owner(ctx, "c1")
			return err == nil && owner == "n1"
		})
		got, err := n2.Acquire(ctx, "c1", false)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.Session.ClientID != "c1" || len(got.Session.Subscriptions) != 1 || len(got.Queue) != 2 ||
			got.Queue[0].PacketID != 7 || !got.Queue[0].Released || string(got.Queue[1].Message.Payload) != "queued" ||
			got.Queue[1].Seq != 2 || len(got.Queue[1].SubIDs) != 1 || len(got.AwaitRel) != 1 {
			t.Fatalf("adopted %+v", got)
		}
		waitFor(t, 5*time.Second, "n1 sees n2 own c1", func() bool {
			owner, err := n1.Owner(ctx, "c1")
			return err == nil && owner == "n2"
		})
		// Clean start: n2 ends its session, n3 gets nothing.
		if s, err := n3.Acquire(ctx, "c1", true); err != nil || s != nil {
			t.Fatalf("clean-start Acquire = %+v, %v", s, err)
		}
		n1.b.mu.Lock()
		t1 := slices.Clone(n1.b.takeovers)
		n1.b.mu.Unlock()
		n2.b.mu.Lock()
		t2 := slices.Clone(n2.b.takeovers)
		n2.b.mu.Unlock()
		if !slices.Equal(t1, []string{"c1"}) || !slices.Equal(t2, []string{"c1"}) {
			t.Fatalf("takeovers n1 %v n2 %v", t1, t2)
		}
		n1.Release("c1") // not n1's any more: no effect
		n3.Release("c1")
		waitFor(t, 5*time.Second, "the registry entry released", func() bool {
			owner, err := n1.Owner(ctx, "c1")
			return err == nil && owner == ""
		})
	})

	t.Run("retained", func(t *testing.T) {
		n1.SetRetained(&store.Message{Topic: "r/1", Payload: []byte("v1"), QoS: 1, Retain: true})
		for _, tn := range nodes {
			waitFor(t, 5*time.Second, tn.cfg.Node+" has r/1", func() bool { return tn.b.retainedOf("r/1") == "v1" })
		}
		n2.SetRetained(&store.Message{Topic: "r/1"})
		for _, tn := range nodes {
			waitFor(t, 5*time.Second, tn.cfg.Node+" cleared r/1", func() bool { return tn.b.retainedOf("r/1") == "" })
		}
	})

	t.Run("call", func(t *testing.T) {
		out, err := n1.Call(ctx, "n2", "echo", []byte("x"))
		if err != nil || string(out) != "n2:x" {
			t.Fatalf("Call = %q, %v", out, err)
		}
		if out, err := n1.Call(ctx, "n1", "echo", []byte("y")); err != nil || string(out) != "n1:y" {
			t.Fatalf("local Call = %q, %v", out, err)
		}
		if _, err := n1.Call(ctx, "n3", "nope", nil); !errors.Is(err, ErrRemote) {
			t.Fatalf("remote error = %v", err)
		}
		if _, err := n1.Call(ctx, "n9", "echo", nil); !errors.Is(err, cluster.ErrUnknownNode) {
			t.Fatalf("unknown node = %v", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		for i, tn := range nodes {
			var rows []cluster.Row
			for k := range 50 {
				id := fmt.Sprintf("c%05d", 3*k+i) // interleaved across the nodes
				tag := "even"
				if k%2 == 1 {
					tag = "odd"
				}
				rows = append(rows, cluster.Row{Key: []byte(id), Data: []byte(tag + " " + id + " " + tn.cfg.Node)})
			}
			tn.b.setRows(rows)
		}
		var all []string
		var after []byte
		for page := 0; page < 20; page++ {
			p, err := n2.List(ctx, cluster.Query{After: after, Limit: 20})
			if err != nil || p.Count != 150 || len(p.Missing) != 0 {
				t.Fatalf("page %d: count %d missing %v err %v", page, p.Count, p.Missing, err)
			}
			for _, r := range p.Rows {
				all = append(all, string(r.Key))
			}
			if len(p.Rows) < 20 {
				break
			}
			after = p.Rows[len(p.Rows)-1].Key
		}
		if len(all) != 150 || !slices.IsSorted(all) || all[0] != "c00000" || all[149] != "c00149" {
			t.Fatalf("cursor pages gave %d rows: %v ...", len(all), all[:min(5, len(all))])
		}
		p, err := n3.List(ctx, cluster.Query{Filter: []byte("odd"), Skip: 10, Limit: 5})
		if err != nil || p.Count != 75 || len(p.Rows) != 5 {
			t.Fatalf("filtered offset page: %+v, %v", p, err)
		}
		// Odd rows are k = 1, 3, 5, ...: ids 3k, 3k+1, 3k+2, so the merge
		// runs c00003 c00004 c00005 c00009 ... and the 11th is c00022.
		if string(p.Rows[0].Key) != "c00022" {
			t.Fatalf("offset 10 starts at %s", p.Rows[0].Key)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		n2.b.conns.Store(42)
		waitFor(t, 5*time.Second, "n2's connections in n1's view", func() bool {
			for _, ni := range n1.Nodes() {
				if ni.Name == "n2" {
					return ni.Connections == 42
				}
			}
			return false
		})
		ns := n1.Nodes()
		if len(ns) != 3 || ns[0].Name != "n1" || ns[1].Name != "n2" || ns[2].Name != "n3" {
			t.Fatalf("Nodes = %+v", ns)
		}
		for _, ni := range ns {
			if !ni.Running || ni.NodeStatus() != "running" || ni.Version != "test" || ni.Started == 0 {
				t.Fatalf("node %+v", ni)
			}
		}
	})
}
