package disk

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shardmq/shardmq/shards/store"
)

// BenchmarkRecovery measures the recovery target: `sessions`
// persistent sessions with one subscription each, `retained` retained
// messages (64 B payloads), and 1% of the sessions with 10 queued
// messages. The store is built outside the timer; one op is an Open and
// a Load whose callbacks keep everything, as the shards do. It reports
// the seconds, the process's RSS and Go heap in use after the Load (the
// records kept, pebble's cache and memtables, the test binary), and what
// was found.
//
// The 1M case takes minutes to build on a loaded 2-core machine; run it
// alone: go test -run '^$' -bench 'BenchmarkRecovery/engine=pebble/sessions=1000000' -benchtime=1x ./shards/store/disk
func BenchmarkRecovery(b *testing.B) {
	for _, engine := range []string{"pebble", "bbolt"} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("engine=%s/sessions=%d/retained=%d", engine, n, n), func(b *testing.B) {
				benchRecovery(b, engine, n, n)
			})
		}
	}
}

// recoveryBatches calls fn with the Batches that build the data set.
func recoveryBatches(sessions, retained int, fn func(*store.Batch)) {
	bt := &store.Batch{}
	flush := func(force bool) {
		if len(bt.Ops) >= 1000 || force && len(bt.Ops) > 0 {
			fn(bt)
			bt.Ops = bt.Ops[:0]
		}
	}
	payload := string(make([]byte, 64))
	for i := range sessions {
		id := fmt.Sprintf("device-%08d", i)
		s := session(id, "devices/"+id+"/cmd/#")
		s.ExpireAt = time.Now().Add(24 * time.Hour).UnixNano()
		bt.Ops = append(bt.Ops, saved(s))
		if i%100 == 0 {
			for k := uint64(1); k <= 10; k++ {
				bt.Ops = append(bt.Ops, queued(id, k, msg("devices/"+id+"/cmd/reboot", payload)))
			}
		}
		flush(false)
	}
	for i := range retained {
		bt.Ops = append(bt.Ops, store.Op{Kind: store.RetainedSet, Message: msg(fmt.Sprintf("sensors/%08d/state", i), payload)})
		flush(false)
	}
	flush(true)
}

func benchRecovery(b *testing.B, engine string, sessions, retained int) {
	dir := b.TempDir()
	buildStore(b, engine, dir, sessions, retained)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		b.StartTimer()
		start := time.Now()
		var kept []any
		var keptRetained []*store.Message
		var st store.LoadStats
		switch engine {
		case "pebble":
			db, err := Open(store.Config{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			st, err = db.Load(time.Now(), store.Loader{
				Session: func(ss *store.SessionState) error {
					kept = append(kept, ss.Session, append([]store.Delivery(nil), ss.Queue...))
					return nil
				},
				// Retained runs concurrently with Session.
				Retained: func(m *store.Message) error { keptRetained = append(keptRetained, m); return nil },
			})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
		case "bbolt":
			st = loadBolt(b, dir, &kept)
		}
		took := time.Since(start)
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(took.Seconds(), "load-s")
		b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.Logf("%s: %+v in %v", engine, st, took.Round(time.Millisecond))
		if st.Sessions != sessions || st.Retained != retained || st.Messages != 10*((sessions+99)/100) {
			b.Fatalf("found %+v", st)
		}
		runtime.KeepAlive(kept)
		runtime.KeepAlive(keptRetained)
		b.StartTimer()
	}
}

// loadBolt reads what benchRecovery wrote to bbolt with one cursor,
// decoding every record as Load does.
func loadBolt(b *testing.B, dir string, kept *[]any) (st store.LoadStats) {
	c := openBolt(b, dir, store.DurabilityBatch, time.Hour)
	defer c.Close()
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(boltBucket).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			switch k[0] {
			case tagRetained:
				m, err := decodeMessage(v)
				if err != nil {
					return err
				}
				*kept = append(*kept, m)
				st.Retained++
			case tagClient:
				ck, ok := parseClientKey(k)
				if !ok {
					return fmt.Errorf("key %q", k)
				}
				switch ck.sub {
				case subSession:
					s, err := decodeSession(string(ck.id), v)
					if err != nil {
						return err
					}
					*kept = append(*kept, s)
					st.Sessions++
				case subMessage:
					var d store.Delivery
					if _, err := decodeDelivery(v, &d); err != nil {
						return err
					}
					*kept = append(*kept, d.Message)
					st.Messages++
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// rssBytes returns the process's resident set (VmRSS), 0 if unknown.
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// buildStore writes the data set of BenchmarkRecovery (recoveryBatches)
// into a new store of engine in dir, and closes it.
func buildStore(b *testing.B, engine, dir string, sessions, retained int) {
	built := time.Now()
	switch engine {
	case "pebble":
		db := open(b, dir, func(c *store.Config) { c.Logf = nil })
		recoveryBatches(sessions, retained, func(bt *store.Batch) {
			if err := db.Commit(bt); err != nil {
				b.Fatal(err)
			}
		})
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	case "bbolt":
		c := openBolt(b, dir, store.DurabilityBatch, time.Second)
		recoveryBatches(sessions, retained, func(bt *store.Batch) {
			if err := c.db.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket(boltBucket)
				for i := range bt.Ops {
					op := &bt.Ops[i]
					var err error
					switch op.Kind {
					case store.SessionSaved:
						err = bk.Put(appendSessionKey(nil, op.ClientID), appendSession(nil, op.Session))
					case store.Queued:
						err = bk.Put(appendMessageKey(nil, op.ClientID, op.Seq, seqBody), appendDelivery(nil, op, 0))
					case store.RetainedSet:
						err = bk.Put(appendRetainedKey(nil, op.Message.Topic), appendMessage(nil, op.Message))
					}
					if err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		})
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d sessions, %d retained in %v", sessions, retained, time.Since(built).Round(time.Millisecond))
}
