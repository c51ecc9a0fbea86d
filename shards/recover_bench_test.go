package shards

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
	"github.com/shardmq/shardmq/shards/store/disk"
)

// BenchmarkRecover measures the broker's recovery (Broker.Recover on the
// disk store) of the data set: `sessions` persistent MQTT 3.1.1
// sessions with one subscription each (1% of them with 10 queued QoS 1
// messages) and as many retained messages, 64 B payloads. The store is
// built outside the timer; one op is disk.Open, New and Recover onto 2
// shards, rows to a Sink that drops them. It reports the seconds, the
// CPU seconds (user and system, the collector's included), the process's
// RSS and Go heap in use after it.
//
// The 1M case builds for minutes on a loaded 2-core machine; run it alone:
// go test -run '^$' -bench 'BenchmarkRecover/sessions=1000000' -benchtime=1x ./shards/
func BenchmarkRecover(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("sessions=%d/retained=%d", n, n), func(b *testing.B) { benchRecover(b, n, n) })
	}
}

// dropSink is a SnapshotSink that keeps nothing.
type dropSink struct{}

func (dropSink) Upsert([]ClientRow)        {}
func (dropSink) UpdateStats([]StatsUpdate) {}
func (dropSink) Remove([]string)           {}

func benchRecover(b *testing.B, sessions, retained int) {
	dir := b.TempDir()
	db, err := disk.Open(store.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	bt := &store.Batch{}
	flush := func(force bool) {
		if len(bt.Ops) >= 1000 || force && len(bt.Ops) > 0 {
			if err := db.Commit(bt); err != nil {
				b.Fatal(err)
			}
			bt.Ops = bt.Ops[:0]
		}
	}
	payload := make([]byte, 64)
	expire := time.Now().Add(24 * time.Hour).UnixNano()
	seq := uint64(0)
	for i := range sessions {
		id := fmt.Sprintf("device-%08d", i)
		bt.Ops = append(bt.Ops, store.Op{Kind: store.SessionSaved, ClientID: id, Session: &store.Session{
			ClientID: id, Version: 4, CreatedAt: time.Now().UnixMilli(), Expiry: 7200, ExpireAt: expire,
			Subscriptions: []store.Subscription{{Filter: "devices/" + id + "/cmd/#", QoS: 1}}}})
		if i%100 == 0 {
			for range 10 {
				seq++
				bt.Ops = append(bt.Ops, store.Op{Kind: store.Queued, ClientID: id, Seq: seq, QoS: 1,
					Message: &store.Message{Topic: "devices/" + id + "/cmd/reboot", Payload: payload, QoS: 1, From: "ops"}})
			}
		}
		flush(false)
	}
	for i := range retained {
		topic := fmt.Sprintf("sensors/%08d/state", i)
		bt.Ops = append(bt.Ops, store.Op{Kind: store.RetainedSet, Topic: topic,
			Message: &store.Message{Topic: topic, Payload: payload, QoS: 1, Retain: true}})
		flush(false)
	}
	flush(true)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		b.StartTimer()
		start, cpu := time.Now(), cpuTime()
		db, err := disk.Open(store.Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		br, err := New(Config{Store: db, Sink: dropSink{}})
		if err != nil {
			b.Fatal(err)
		}
		r, err := br.Recover(db, 2)
		if err != nil {
			b.Fatal(err)
		}
		took, used := time.Since(start), cpuTime()-cpu
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(took.Seconds(), "recover-s")
		b.ReportMetric(used.Seconds(), "cpu-s")
		b.ReportMetric(float64(processRSS())/(1<<20), "rss-MiB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.Logf("%+v in %v", r.LoadStats, took.Round(time.Millisecond))
		if r.Sessions != sessions || r.Retained != retained || r.Messages != 10*((sessions+99)/100) ||
			br.Sessions() != sessions || br.SubscriptionCount() != sessions || br.Retained().Len() != retained {
			b.Fatalf("recovered %+v: %d sessions, %d subscriptions, %d retained in the broker", r.LoadStats,
				br.Sessions(), br.SubscriptionCount(), br.Retained().Len())
		}
		runtime.KeepAlive(br)
		_ = db.Close()
		b.StartTimer()
	}
}

// cpuTime returns the process's user and system CPU time: on a machine
// shared with other work it says what recovery costs when the wall clock
// cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processRSS returns the process's resident set size from /proc, 0 where
// there is none.
func processRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
