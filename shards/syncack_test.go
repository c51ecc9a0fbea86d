package shards

import (
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
)

// gatedStore is a modelStore whose Commits of a batch queuing a message
// for gated wait until open is called, as a slow disk would; it counts
// the synced Batches.
type gatedStore struct {
	*modelStore
	gated  string
	mu     sync.Mutex
	gate   chan struct{}
	synced int
}

func (g *gatedStore) Commit(b *store.Batch) error {
	for _, op := range b.Ops {
		if op.Kind == store.Queued && op.ClientID == g.gated {
			g.mu.Lock()
			gate := g.gate
			g.mu.Unlock()
			<-gate
			break
		}
	}
	if b.Sync {
		g.mu.Lock()
		g.synced++
		g.mu.Unlock()
	}
	return g.modelStore.Commit(b)
}

// TestSyncAckWaitsForOtherShards: under durability sync a QoS 1 PUBLISH
// routed to a persistent session of another shard is acknowledged only
// after that shard's commit of the delivery (a synced one); under batch
// the acknowledgement does not wait.
func TestSyncAckWaitsForOtherShards(t *testing.T) {
	for _, d := range []store.Durability{store.DurabilitySync, store.DurabilityBatch} {
		t.Run(string(d), func(t *testing.T) {
			gs := &gatedStore{modelStore: newModelStore(), gated: "sub", gate: make(chan struct{})}
			tb := startBroker(t, Config{Store: gs, Durability: d}, netio.Config{Loops: 2})
			s, _ := connectRaw(t, tb.addr, conn311("sub", false))
			s.subscribe(1, sub("sync/#", 1))
			// A publisher on the other loop.
			var pub *rawClient
			for i := 0; pub == nil; i++ {
				if i > 20 {
					t.Fatal("no publisher on the subscriber's other loop")
				}
				c, _ := connectRaw(t, tb.addr, conn311("pub", true))
				ps, _ := tb.registry.Load("pub")
				ss, _ := tb.registry.Load("sub")
				if ps.sh != ss.sh {
					pub = c
				} else {
					c.c.Close()
					waitFor(t, "pub gone", func() bool { _, ok := tb.registry.Load("pub"); return !ok })
				}
			}
			pub.publish("sync/a", "m", 1, false, 1)
			h, _, err := pub.readErr(300 * time.Millisecond)
			if d == store.DurabilitySync {
				if err == nil {
					t.Fatalf("got %v while the subscriber's shard had not committed", h.Type)
				}
			} else if err != nil || h.Type != mqtt.TypePuback {
				t.Fatalf("batch: got %v, %v; want the PUBACK at once", h.Type, err)
			}
			close(gs.gate)
			if d == store.DurabilitySync {
				if h, _ := pub.read(); h.Type != mqtt.TypePuback {
					t.Fatalf("got %v, want PUBACK after the commit", h.Type)
				}
				gs.mu.Lock()
				synced := gs.synced
				gs.mu.Unlock()
				if synced == 0 {
					t.Fatal("no synced Batch under durability sync")
				}
			}
			if p := s.readPublish(); string(p.Payload) != "m" {
				t.Fatalf("subscriber got %q", p.Payload)
			}
		})
	}
}
