package natscluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// running reports whether tn sees the node called name running.
func seesRunning(tn *testNode, name string) bool {
	for _, ni := range tn.Nodes() {
		if ni.Name == name {
			return ni.Running
		}
	}
	return false
}

// TestNodeStopped kills a node's server without a goodbye (as SIGKILL
// would: its routes close, its heartbeats stop) and checks that the others
// mark it stopped, drop its interest and fail acks for it at once, and that
// it rejoins when it starts again.
func TestNodeStopped(t *testing.T) {
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n3.Interest("k/#", true)
	waitRemote(t, n1, "k/1", true)

	n3.srv.Shutdown()
	for _, tn := range nodes[:2] {
		waitFor(t, 10*time.Second, tn.cfg.Node+" marks n3 stopped", func() bool { return !seesRunning(tn, "n3") })
	}
	for _, ni := range n1.Nodes() {
		if ni.Name == "n3" && ni.NodeStatus() != "stopped" {
			t.Fatalf("n3 listed as %+v", ni)
		}
	}
	waitRemote(t, n1, "k/1", false)
	if _, err := n1.Call(context.Background(), "n3", "echo", nil); !errors.Is(err, cluster.ErrNodeStopped) {
		t.Fatalf("Call to a stopped node = %v", err)
	}
	// A QoS 1 batch routed to n3 just before it was marked stopped fails
	// its ack with ErrNodeStopped instead of waiting.
	ob := n1.NewOutbox()
	ob.Add(&store.Message{Topic: "k/1", QoS: 1}, &cluster.Route{Nodes: 1 << n1.members["n3"].slot})
	errc := make(chan error, 1)
	ob.Flush(func(err error) { errc <- err })
	if err := <-errc; !errors.Is(err, cluster.ErrNodeStopped) {
		t.Fatalf("ack for a stopped node = %v", err)
	}

	n3.shutdown(t)
	back := startNode(t, "n3", n3.addr, n3.join, n3.dir, nil)
	back.Interest("k/#", true)
	waitMesh(t, []*testNode{n1, n2, back})
	waitRemote(t, n1, "k/1", true)
	waitRemote(t, n2, "k/1", true)
	if err := publish(t, n1, n1.NewOutbox(), &store.Message{Topic: "k/1", Payload: []byte("again"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if d := back.b.deliveries(); len(d) != 1 || d[0].payload != "again" {
		t.Fatalf("restarted n3 got %+v", d)
	}
}

// TestRetainedAfterRestart sets retained messages while a node runs and
// while it is down, and checks it has both after it starts again from its
// store directory.
func TestRetainedAfterRestart(t *testing.T) {
	nodes := startCluster(t, 3)
	n1 := nodes[0]
	n1.SetRetained(&store.Message{Topic: "r/a", Payload: []byte("1"), Retain: true})
	for _, tn := range nodes {
		waitFor(t, 5*time.Second, tn.cfg.Node+" has r/a", func() bool { return tn.b.retainedOf("r/a") == "1" })
	}
	// Restart a node that leads neither JetStream's metadata nor the
	// bucket: losing a leader costs a raft election (seconds), which is
	// NATS's business, not this test's.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := n1.js.Stream(ctx, "KV_shardmq_retained")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Of three nodes at least one leads nothing; the other two publish and
	// check.
	var restart *testNode
	var others []*testNode
	for _, tn := range nodes {
		if restart == nil && tn.cfg.Node != info.Cluster.Leader && !tn.srv.JetStreamIsLeader() {
			restart = tn
		} else {
			others = append(others, tn)
		}
	}
	pub := others[0]

	restart.shutdown(t)
	pub.SetRetained(&store.Message{Topic: "r/b", Payload: []byte("2"), Retain: true, QoS: 1})
	// Wait for the write as the stream's leader has it: a follower that
	// was catching up when the node left may trail (docs/cluster.md).
	waitFor(t, 20*time.Second, "r/b stored", func() bool {
		last, err := pub.lastRevision(ctx, pub.retained.kv.Load())
		return err == nil && last >= 2
	})
	back := startNode(t, restart.cfg.Node, restart.addr, restart.join, restart.dir, nil)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel2()
	if err := back.WaitRetained(ctx2); err != nil {
		t.Fatal(err)
	}
	if a, b := back.b.retainedOf("r/a"), back.b.retainedOf("r/b"); a != "1" || b != "2" {
		t.Fatalf("after restart r/a = %q, r/b = %q", a, b)
	}
}

// TestPartitionHeal joins two nodes through a proxy, cuts it, and checks
// that each marks the other stopped, and that after the heal the routes,
// the interest (including a change made during the partition) and QoS 1
// forwarding come back with no action.
func TestPartitionHeal(t *testing.T) {
	replicas := func(c *Config) { c.Replicas = 1 }
	b := startNode(t, "b", freeAddr(t), nil, t.TempDir(), replicas)
	p := newProxy(t, b.addr)
	a := startNode(t, "a", freeAddr(t), []string{p.addr()}, t.TempDir(), replicas)
	waitMesh(t, []*testNode{a, b})
	b.Interest("p/#", true)
	waitRemote(t, a, "p/1", true)

	p.partition()
	waitFor(t, 10*time.Second, "a marks b stopped", func() bool { return !seesRunning(a, "b") })
	waitFor(t, 10*time.Second, "b marks a stopped", func() bool { return !seesRunning(b, "a") })
	waitRemote(t, a, "p/1", false)
	b.Interest("p2/#", true) // made while a cannot hear it

	p.heal()
	waitMesh(t, []*testNode{a, b})
	waitRemote(t, a, "p/1", true)
	waitRemote(t, a, "p2/x", true)
	if err := publish(t, a, a.NewOutbox(), &store.Message{Topic: "p2/x", Payload: []byte("healed"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if d := b.b.deliveries(); len(d) != 1 || d[0].payload != "healed" {
		t.Fatalf("b got %+v", d)
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAloneThenJoin starts a node whose seed is down: it runs alone (and
// says so), owns every session without JetStream, and joins the seed once
// the seed starts.
func TestAloneThenJoin(t *testing.T) {
	seed := freeAddr(t)
	var logs syncBuffer
	a := startNode(t, "a", freeAddr(t), []string{seed}, t.TempDir(), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Replicas = 1
	})
	waitFor(t, 10*time.Second, "the warning that a runs alone", func() bool {
		return strings.Contains(logs.String(), "running alone")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := a.Acquire(ctx, "c", false); s != nil || err != nil {
		t.Fatalf("Acquire alone = %v, %v", s, err)
	}
	if ns := a.Nodes(); len(ns) != 1 || !ns[0].Running {
		t.Fatalf("Nodes alone = %+v", ns)
	}
	a.Interest("x", true)
	if a.Remote([]byte("x")) {
		t.Fatal("a routes to itself")
	}

	b := startNode(t, "b", seed, nil, t.TempDir(), func(c *Config) { c.Replicas = 1 })
	waitMesh(t, []*testNode{a, b})
	waitRemote(t, b, "x", true)
	waitFor(t, 10*time.Second, "the log that routes are up", func() bool {
		return strings.Contains(logs.String(), "routes to other nodes are up")
	})
}
