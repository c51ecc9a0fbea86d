package natscluster

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// BenchmarkForward measures a message from one node to a subscriber's node
// (in one process: the route is loopback TCP between two embedded
// servers): QoS 0 open loop, and QoS 1 where every Flush waits for the
// remote node's acknowledgement, batch messages per Flush (one loop turn).
func BenchmarkForward(b *testing.B) {
	nodes := startCluster(b, 2)
	a, dst := nodes[0], nodes[1]
	dst.b.countOnly.Store(true)
	dst.Interest("bench/#", true)
	waitRemote(b, a, "bench/1", true)
	payload := make([]byte, 64)
	for _, qos := range []byte{0, 1} {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("qos=%d/batch=%d/msgSz=64b", qos, batch), func(b *testing.B) {
				ob := a.NewOutbox()
				var r cluster.Route
				m := &store.Message{Topic: "bench/1", Payload: payload, QoS: qos, From: "pub"}
				start := dst.b.got.Load()
				acked := make(chan error, 1)
				b.ReportAllocs()
				b.SetBytes(int64(len(payload)))
				b.ResetTimer()
				for i := 0; i < b.N; {
					for k := 0; k < batch && i < b.N; k++ {
						a.Route([]byte(m.Topic), []byte(m.From), &r)
						ob.Add(m, &r)
						i++
					}
					if qos == 0 {
						ob.Flush(nil)
						continue
					}
					ob.Flush(func(err error) { acked <- err })
					if err := <-acked; err != nil {
						b.Fatal(err)
					}
				}
				deadline := time.Now().Add(30 * time.Second)
				for dst.b.got.Load()-start < int64(b.N) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				if got := dst.b.got.Load() - start; got < int64(b.N) {
					b.Logf("delivered %d of %d (QoS 0 over a saturated route may drop)", got, b.N)
				}
			})
		}
	}
}

// BenchmarkRegistry measures the session registry on three nodes with
// three replicas: a claim of a new client id (Acquire: a read and a
// create), and a takeover that moves a client id between two nodes (a
// read, a request to the owner, a compare-and-set).
func BenchmarkRegistry(b *testing.B) {
	nodes := startCluster(b, 3)
	ctx := context.Background()
	b.Run("op=claim", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := nodes[i%3].Acquire(ctx, fmt.Sprintf("claim-%d", i), false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=takeover", func(b *testing.B) {
		if _, err := nodes[0].Acquire(ctx, "moving", false); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 1; b.Loop(); i++ {
			if _, err := nodes[i%2].Acquire(ctx, "moving", false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRegistryClaims measures a connect storm's claims of new client
// ids on three nodes with three replicas: 32 claims at a time spread over
// the nodes, with the registry in one bucket and split over four (each
// bucket's stream has its own raft leader). ns/op is the cluster's time
// per claim, so 1e9/ns is claims per second.
func BenchmarkRegistryClaims(b *testing.B) {
	for _, buckets := range []int{1, 4} {
		b.Run(fmt.Sprintf("buckets=%d", buckets), func(b *testing.B) {
			nodes := startClusterWith(b, 3, func(c *Config) { c.RegistryBuckets = buckets })
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					if _, err := nodes[i%3].Acquire(ctx, fmt.Sprintf("storm-%d", i), false); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRetained measures writing retained messages into the replicated
// bucket (three nodes, three replicas): one synchronous put at a time, and
// the asynchronous batch SetRetained's writer uses.
func BenchmarkRetained(b *testing.B) {
	nodes := startCluster(b, 3)
	n := nodes[0]
	waitFor(b, 10*time.Second, "the retained bucket", func() bool { return n.retained.kv.Load() != nil })
	kv := n.retained.kv.Load()
	ctx := context.Background()
	value := appendMessage(nil, &store.Message{Topic: "t", Payload: make([]byte, 64)}, nil)
	b.Run("op=put-sync", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := kv.Put(ctx, retainedKey(fmt.Sprintf("sync/%d", i%1000)), value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=put-async/batch=256", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i += 256 {
			batch := map[string]*store.Message{}
			for k := i; k < min(i+256, b.N); k++ {
				topic := fmt.Sprintf("async/%d", k%1000)
				batch[topic] = &store.Message{Topic: topic, Payload: value}
			}
			if failed := n.putRetained(kv, batch); len(failed) > 0 {
				b.Fatalf("%d failed", len(failed))
			}
		}
	})
}

// listRows makes perNode rows of about 400 bytes for each node, client ids
// interleaved across the nodes.
func listRows(node, nodes, perNode int) []cluster.Row {
	rows := make([]cluster.Row, perNode)
	filler := make([]byte, 380)
	for i := range filler {
		filler[i] = 'x'
	}
	for k := range rows {
		id := fmt.Sprintf("client-%07d", k*nodes+node)
		rows[k] = cluster.Row{Key: []byte(id), Data: append([]byte(id), filler...)}
	}
	return rows
}

// BenchmarkList measures the cluster-wide listing by scatter-gather at
// 3 × 15k clients: page 1 (100 rows, exact count), a cursor page in the
// middle, and offset page 50. The nodes' Handler.List answer from sorted
// memory, so the figure is the cluster's cost on top of each node's own
// catalog query. p99-ns is the 99th percentile of the calls.
func BenchmarkList(b *testing.B) {
	nodes := startCluster(b, 3)
	for i, tn := range nodes {
		tn.b.setRows(listRows(i, 3, 15000))
	}
	ctx := context.Background()
	cases := []struct {
		name string
		q    cluster.Query
	}{
		{"page=1", cluster.Query{Limit: 100}},
		{"page=cursor-mid", cluster.Query{After: []byte("client-0022500"), Limit: 100}},
		{"page=50-offset", cluster.Query{Skip: 49 * 100, Limit: 100}},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/clients=45000/limit=100", func(b *testing.B) {
			b.ReportAllocs()
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				p, err := nodes[0].List(ctx, tc.q)
				lat = append(lat, time.Since(t0))
				if err != nil || p.Count != 45000 || len(p.Rows) != 100 {
					b.Fatalf("count %d rows %d err %v", p.Count, len(p.Rows), err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
		})
	}
}

// BenchmarkReplicateRows measures the alternative to scatter-gather: a
// catalog replicated to every node, fed with row changes over NATS. One
// op ships one node's 15k rows (400 B each) to the two other nodes, the
// cost of a full refresh of one node's rows (a node joining, or counters
// that all changed within a stats interval).
func BenchmarkReplicateRows(b *testing.B) {
	nodes := startCluster(b, 3)
	rows := listRows(0, 3, 15000)
	subject := "bench.rows"
	got := make(chan struct{}, 2)
	for _, tn := range nodes[1:] {
		var n int
		s, err := tn.nc.Subscribe(subject, func(m *nats.Msg) {
			n++
			if n%15000 == 0 {
				got <- struct{}{}
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.SetPendingLimits(-1, -1)
		defer func() { _ = s.Unsubscribe() }()
	}
	waitFor(b, 10*time.Second, "both subscriptions known on the publishing node", func() bool {
		return nodes[0].srv.GlobalAccount().Interest(subject) >= 2
	})
	b.ReportAllocs()
	b.SetBytes(int64(15000 * 400))
	var buf []byte
	for b.Loop() {
		for _, r := range rows {
			buf = appendString(appendString(buf[:0], r.Key), r.Data)
			if err := nodes[0].nc.Publish(subject, buf); err != nil {
				b.Fatal(err)
			}
		}
		<-got
		<-got
	}
}

// BenchmarkSnapshot measures what a node joining (or resyncing) pays per
// other node: fetching its whole interest (filters=100000 of
// dev/NNNNNNN/cmd, in 256 KiB chunks) and applying it to an empty table.
func BenchmarkSnapshot(b *testing.B) {
	nodes := startCluster(b, 2)
	src, dst := nodes[0], nodes[1]
	const filters = 100000
	for i := range filters {
		src.Interest(fmt.Sprintf("dev/%07d/cmd", i), true)
	}
	b.Run(fmt.Sprintf("filters=%d", filters), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, _, _, err := dst.requestSnapshot(src.cfg.Node)
			if err != nil || len(got) != filters {
				b.Fatalf("%d filters, %v", len(got), err)
			}
			node := &Node{}
			m := &member{slot: 1, filters: make(map[string]struct{})}
			for f := range got {
				node.applyChangeLocked(m, f, true)
			}
		}
	})
}
