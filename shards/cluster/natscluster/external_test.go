package natscluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/shardmq/shardmq/shards/store"
)

// TestExternalNATS runs two nodes on one external NATS server (with
// JetStream, not clustered) instead of embedded ones.
func TestExternalNATS(t *testing.T) {
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("external server did not start")
	}
	external := func(c *Config) {
		c.ClusterListen, c.Join, c.StoreDir = "", nil, ""
		c.ExternalURLs = []string{s.ClientURL()}
		c.Replicas = 1
	}
	a := startNode(t, "a", "", nil, "", external)
	b := startNode(t, "b", "", nil, "", external)
	waitMesh(t, []*testNode{a, b})

	b.Interest("e/+", true)
	waitRemote(t, a, "e/1", true)
	if err := publish(t, a, a.NewOutbox(), &store.Message{Topic: "e/1", Payload: []byte("x"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if d := b.b.deliveries(); len(d) != 1 || d[0].payload != "x" {
		t.Fatalf("b got %+v", d)
	}
	a.SetRetained(&store.Message{Topic: "e/r", Payload: []byte("kept"), Retain: true})
	waitFor(t, 10*time.Second, "b has e/r", func() bool { return b.b.retainedOf("e/r") == "kept" })
	if _, err := a.Acquire(context.Background(), "c", false); err != nil {
		t.Fatal(err)
	}
	if owner, err := b.Owner(context.Background(), "c"); err != nil || owner != "a" {
		t.Fatalf("Owner = %q, %v", owner, err)
	}
}
