package disk

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shardmq/shardmq/shards/store"
)

// committer is an engine under BenchmarkCommit: this package's DB, or
// go.etcd.io/bbolt holding the same keys and records.
type committer interface {
	Commit(*store.Batch) error
	syncs() uint64
	Close() error
}

type pebbleCommitter struct{ *DB }

func (p pebbleCommitter) syncs() uint64 { return p.Stats().Syncs }

// boltCommitter writes a Batch as one bbolt read-write transaction (one
// writer at a time, bbolt's only way): with durability sync, bbolt
// fdatasyncs the data pages and then the meta page of every transaction;
// with batch it skips both (NoSync) and a flusher calls Sync every
// interval.
type boltCommitter struct {
	db      *bolt.DB
	txs     atomic.Uint64
	flushes atomic.Uint64
	stop    chan struct{}
	done    sync.WaitGroup
	sync    bool
}

var boltBucket = []byte("c")

func openBolt(b testing.TB, dir string, mode store.Durability, interval time.Duration) *boltCommitter {
	db, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o644, &bolt.Options{NoSync: mode == store.DurabilityBatch,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(boltBucket); return err }); err != nil {
		b.Fatal(err)
	}
	c := &boltCommitter{db: db, stop: make(chan struct{}), sync: mode == store.DurabilitySync}
	if !c.sync {
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-c.stop:
					return
				case <-t.C:
					db.Sync()
					c.flushes.Add(1)
				}
			}
		}()
	}
	return c
}

func (c *boltCommitter) Commit(b *store.Batch) error {
	c.txs.Add(1)
	return c.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		for i := range b.Ops {
			op := &b.Ops[i]
			// bbolt keeps the key and value slices until the transaction
			// ends: each gets its own.
			switch op.Kind {
			case store.SessionSaved:
				if err := bk.Put(appendSessionKey(nil, op.ClientID), appendSession(nil, op.Session)); err != nil {
					return err
				}
			case store.Queued:
				if err := bk.Put(appendMessageKey(nil, op.ClientID, op.Seq, seqBody), appendDelivery(nil, op, 0)); err != nil {
					return err
				}
			case store.Sent:
				if err := bk.Put(appendMessageKey(nil, op.ClientID, op.Seq, seqFlight), appendFlight(nil, op.PacketID, false)); err != nil {
					return err
				}
			case store.Acked:
				if err := bk.Delete(appendMessageKey(nil, op.ClientID, op.Seq, seqBody)); err != nil {
					return err
				}
				if err := bk.Delete(appendMessageKey(nil, op.ClientID, op.Seq, seqFlight)); err != nil {
					return err
				}
			default:
				return fmt.Errorf("bbolt bench: %v not implemented", op.Kind)
			}
		}
		return nil
	})
}

// syncs counts two fdatasyncs per transaction in sync durability (data
// pages, then meta page; bbolt has no hook to count them) and one per
// flush in batch.
func (c *boltCommitter) syncs() uint64 {
	if c.sync {
		return 2 * c.txs.Load()
	}
	return c.flushes.Load()
}

func (c *boltCommitter) Close() error {
	close(c.stop)
	c.done.Wait()
	return c.db.Close()
}

// BenchmarkCommit measures the workload the issue names: QoS 1 messages
// point to point to persistent sessions. Each of `shards` goroutines owns
// 100 clients and commits Batches, as a shard does once per loop turn:
// a Batch carries `msgs` new messages (Queued and Sent, as for a
// connected subscriber) and the Acked of the previous Batch's messages,
// so 3×msgs ops. One op of the benchmark is one message (64 B payload).
// With stored=N the store holds N other sessions (and N retained
// messages) before the timer starts.
func BenchmarkCommit(b *testing.B) {
	for _, engine := range []string{"pebble", "bbolt"} {
		for _, mode := range []store.Durability{store.DurabilityBatch, store.DurabilitySync} {
			for _, msgs := range []int{1, 10, 100, 333} {
				for _, stored := range []int{0, 1_000_000} {
					if stored > 0 && msgs != 100 {
						continue
					}
					name := fmt.Sprintf("engine=%s/durability=%s/msgs=%d/shards=2/stored=%d", engine, mode, msgs, stored)
					b.Run(name, func(b *testing.B) { benchCommit(b, engine, mode, msgs, 2, stored) })
				}
			}
		}
	}
}

func benchCommit(b *testing.B, engine string, mode store.Durability, msgs, shards, stored int) {
	dir := b.TempDir()
	if stored > 0 {
		buildStore(b, engine, dir, stored, stored)
	}
	var c committer
	switch engine {
	case "pebble":
		c = pebbleCommitter{open(b, dir, func(cfg *store.Config) { cfg.Durability = mode; cfg.Logf = nil })}
	case "bbolt":
		c = openBolt(b, dir, mode, store.DefaultFlushInterval)
	}
	defer c.Close()
	const clients = 100
	payload := string(make([]byte, 64))
	// Sessions first, outside the timer.
	for sh := range shards {
		bt := &store.Batch{Shard: sh}
		for i := range clients {
			bt.Ops = append(bt.Ops, saved(session(fmt.Sprintf("s%d-%d", sh, i), "dev/+/up")))
		}
		if err := c.Commit(bt); err != nil {
			b.Fatal(err)
		}
	}
	perShard := (b.N + shards - 1) / shards
	b.ReportAllocs()
	b.SetBytes(64)
	syncs0 := c.syncs()
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]string, clients)
			for i := range ids {
				ids[i] = fmt.Sprintf("s%d-%d", sh, i)
			}
			// Point to point: every message of a Batch is another one.
			ms := make([]store.Message, msgs)
			for j := range ms {
				ms[j] = *msg("dev/1/up", payload)
			}
			bt := &store.Batch{Shard: sh, Ops: make([]store.Op, 0, 3*msgs)}
			var seq uint64
			var prev []store.Op
			for done := 0; done < perShard; done += msgs {
				bt.Ops = bt.Ops[:0]
				for _, p := range prev {
					bt.Ops = append(bt.Ops, acked(p.ClientID, p.Seq))
				}
				prev = prev[:0]
				for j := 0; j < msgs && done+j < perShard; j++ {
					seq++
					id := ids[seq%clients]
					q := queued(id, seq, &ms[j])
					bt.Ops = append(bt.Ops, q, sent(id, seq, uint16(seq)))
					prev = append(prev, q)
				}
				if err := c.Commit(bt); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(c.syncs()-syncs0)/secs, "fsyncs/s")
	b.ReportMetric(float64(b.N)/secs, "msgs/s")
}

// BenchmarkFanout measures one QoS 1 message queued for `subs` offline
// persistent sessions of one shard in one Batch (batch durability): with
// body=shared every Queued carries the same *store.Message, so the
// message is written once as a body that the deliveries name (what the
// shards should do); with body=inline each carries its own copy, so
// every delivery holds the message. One op is one published message.
func BenchmarkFanout(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, subs := range []int{10, 100, 1000} {
			for _, body := range []string{"inline", "shared"} {
				b.Run(fmt.Sprintf("body=%s/payload=%d/subs=%d", body, size, subs), func(b *testing.B) {
					db := open(b, b.TempDir(), func(c *store.Config) { c.Logf = nil })
					m := msg("fleet/cmd", string(make([]byte, size)))
					copies := make([]store.Message, subs)
					ids := make([]string, subs)
					for i := range ids {
						ids[i] = fmt.Sprintf("dev-%06d", i)
						copies[i] = *m
					}
					bt := &store.Batch{Ops: make([]store.Op, subs)}
					b.ReportAllocs()
					b.SetBytes(int64(size))
					bytes0 := db.Stats().Bytes
					b.ResetTimer()
					for n := range b.N {
						for i, id := range ids {
							bt.Ops[i] = queued(id, uint64(n+1), m)
							if body == "inline" {
								bt.Ops[i].Message = &copies[i]
							}
						}
						if err := db.Commit(bt); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(db.Stats().Bytes-bytes0)/float64(b.N), "written-B/op")
				})
			}
		}
	}
}
