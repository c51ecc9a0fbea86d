package disk

import (
	"fmt"
	"sync"
	"testing"

	"github.com/shardmq/shardmq/shards/store"
)

// TestConcurrentCommit commits from several goroutines at once, each for
// its own clients as shards do (run with -race), while one of them sets
// retained messages; everything is there after a reopen.
func TestConcurrentCommit(t *testing.T) {
	for _, mode := range []store.Durability{store.DurabilityBatch, store.DurabilitySync} {
		t.Run("durability="+string(mode), func(t *testing.T) {
			const shards, clients, msgs = 4, 8, 50
			db := open(t, t.TempDir(), func(c *store.Config) { c.Durability = mode })
			var wg sync.WaitGroup
			errs := make(chan error, shards)
			for sh := range shards {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := uint64(1); k <= msgs; k++ {
						b := &store.Batch{Shard: sh}
						for c := range clients {
							id := fmt.Sprintf("s%d-c%d", sh, c)
							if k == 1 {
								b.Ops = append(b.Ops, saved(session(id, "a/b")))
							}
							b.Ops = append(b.Ops, queued(id, k, msg("a/b", id)), sent(id, k, uint16(k)))
							if k%2 == 0 {
								b.Ops = append(b.Ops, acked(id, k-1))
							}
						}
						b.Ops = append(b.Ops, store.Op{Kind: store.RetainedSet, Message: msg(fmt.Sprintf("r/%d", sh), fmt.Sprint(k))})
						if err := db.Commit(b); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			db = reopen(t, db)
			got := load(t, db, now)
			if len(got.sessions) != shards*clients || len(got.retained) != shards {
				t.Fatalf("%d sessions, %d retained", len(got.sessions), len(got.retained))
			}
			for id, ss := range got.sessions {
				if len(ss.Queue) != msgs/2 {
					t.Fatalf("%s: %d messages, want %d", id, len(ss.Queue), msgs/2)
				}
				for i, d := range ss.Queue {
					if d.Seq != uint64(2*i+2) || string(d.Message.Payload) != id || d.PacketID != uint16(d.Seq) {
						t.Fatalf("%s: message %d is %+v", id, i, d)
					}
				}
			}
			for topic, m := range got.retained {
				if string(m.Payload) != fmt.Sprint(msgs) {
					t.Errorf("%s: retained %q, want the last", topic, m.Payload)
				}
			}
		})
	}
}
