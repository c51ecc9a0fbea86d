package catalog

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchRows is the size of the synthetic catalog the benchmarks share. It
// is built once per test binary, and only when a benchmark runs, so plain
// `go test ./catalog/` never pays for it.
var benchRows = flag.Int("catalog.rows", 1_000_000, "rows in the benchmarks' synthetic catalog")

// benchDay is one day in milliseconds; created_at spans 30 days.
const (
	benchDay   = int64(24 * 3600 * 1000)
	benchEpoch = int64(1_750_000_000_000)
)

// synthRow returns synthetic row i of n: clientids dev-NNNNNNN, 1000
// usernames, 5 zones, 90% connected, 8% offline, 2% idle, ~1 client per
// IP address, created_at spread evenly over 30 days.
func synthRow(i, n int) Row {
	h := uint64(i)*0x9E3779B97F4A7C15 + 1
	h ^= h >> 29
	r := Row{
		Node:      "shardmq@127.0.0.1",
		ClientID:  fmt.Sprintf("dev-%07d", i),
		Username:  fmt.Sprintf("user-%04d", (i*7919)%1000),
		ProtoName: "MQTT", ProtoVer: 5,
		IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		Port:      int64(10000 + h%50000), Listener: "tcp:default",
		EnableAuthn: true, IsPersistent: i%3 != 0,
		Zone:      []string{"default", "z1", "z2", "z3", "z4"}[i%5],
		CreatedAt: benchEpoch + int64(i)*30*benchDay/int64(n),
		Keepalive: 60, CleanStart: i%3 == 0, ExpiryInterval: 7200,
	}
	switch h % 100 {
	case 0:
		r.ProtoName, r.ProtoVer = "MQTT-SN", 1
	case 1:
		r.ProtoName, r.ProtoVer = "CoAP", 1
	default:
		if h%20 < 7 {
			r.ProtoVer = 4
		} else if h%20 == 7 {
			r.ProtoVer = 3
		}
	}
	r.ConnectedAt = r.CreatedAt + int64(h%uint64(benchDay))
	switch s := (h >> 8) % 100; {
	case s < 90:
		r.ConnState, r.Connected = Connected, true
	case s < 98:
		r.ConnState, r.DisconnectedAt = Disconnected, ptr(r.ConnectedAt+3_600_000)
	default:
		r.ConnState = Idle
	}
	r.SubscriptionsCnt, r.SubscriptionsMax = int64(h%8), 100
	r.InflightMax, r.MqueueMax, r.AwaitingRelMax = 32, 1000, 100
	if h%100 == 42 {
		r.MqueueLen = int64(1 + h%50)
	}
	r.RecvOct, r.RecvCnt, r.RecvPkt, r.RecvMsg = int64(h%1_000_000), int64(h%10_000), int64(h%10_000), int64(h%5_000)
	r.SendOct, r.SendCnt, r.SendPkt, r.SendMsg = int64(h>>20%1_000_000), int64(h>>20%10_000), int64(h>>20%10_000), int64(h>>20%5_000)
	r.HeapSize, r.Reductions = int64(h%65536), int64(h%1_000_000)
	return r
}

// benchCatalog is the shared synthetic catalog.
var benchCatalog struct {
	once   sync.Once
	c      *Catalog
	n      int
	err    error
	build  time.Duration
	rssRow float64 // RSS bytes per row
	goRow  float64 // Go heap bytes per row (writer mirror)
}

// rss returns the process's resident set size in bytes.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// sharedCatalog builds (once) and returns the benchmarks' catalog.
func sharedCatalog(b *testing.B) (*Catalog, int) {
	bc := &benchCatalog
	bc.once.Do(func() {
		n := *benchRows
		settle()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		rss0 := rss()
		start := time.Now()
		c, err := New(Config{StatsInterval: time.Hour})
		if err != nil {
			bc.err = err
			return
		}
		batch := make([]Row, 0, 10_000)
		for i := 0; i < n; i++ {
			batch = append(batch, synthRow(i, n))
			if len(batch) == cap(batch) || i == n-1 {
				c.Upsert(batch)
				batch = batch[:0]
				if i%100_000 == 99_999 || i == n-1 {
					if err := c.Flush(context.Background()); err != nil {
						bc.err = err
						return
					}
				}
			}
		}
		bc.build = time.Since(start)
		batch = nil
		settle()
		runtime.ReadMemStats(&ms1)
		bc.c, bc.n = c, n
		bc.rssRow = float64(rss()-rss0) / float64(n)
		bc.goRow = float64(int64(ms1.HeapInuse)-int64(ms0.HeapInuse)) / float64(n)
		fmt.Fprintf(os.Stderr, "catalog bench: built %d rows in %v (%.0f rows/s); RSS %.0f B/row, of which Go heap %.0f B/row\n",
			n, bc.build.Round(time.Millisecond), float64(n)/bc.build.Seconds(), bc.rssRow, bc.goRow)
	})
	if bc.err != nil {
		b.Fatal(bc.err)
	}
	return bc.c, bc.n
}

// cpuTime returns the process's user+system CPU time. On a shared
// machine wall-clock latency includes waiting for a core; CPU time per
// operation shows the work itself.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latencies collects per-operation times and reports p50 and p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	q := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))]) / 1e6
	}
	b.ReportMetric(q(0.50), prefix+"p50-ms")
	b.ReportMetric(q(0.99), prefix+"p99-ms")
}

// seedFilters returns a random instance of each benchmarked filter; the
// random part varies the value so that no single plan stays cached warm.
func seedFilters(n int) []seedFilter {
	hour := int64(3_600_000)
	created := func(rng *rand.Rand) int64 { return benchEpoch + rng.Int64N(29*benchDay) }
	return []seedFilter{
		{"none", false, func(*rand.Rand) Filter { return Filter{} }},
		{"clientid", false, func(r *rand.Rand) Filter {
			return Filter{ClientIDs: []string{fmt.Sprintf("dev-%07d", r.IntN(n))}}
		}},
		{"username", false, func(r *rand.Rand) Filter {
			return Filter{Usernames: []string{fmt.Sprintf("user-%04d", r.IntN(1000))}}
		}},
		{"zone", false, func(r *rand.Rand) Filter { return Filter{Zone: "z" + strconv.Itoa(1+r.IntN(4))} }},
		{"ip_address", false, func(r *rand.Rand) Filter {
			i := r.IntN(n)
			return Filter{IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
		}},
		{"conn_state=connected", false, func(*rand.Rand) Filter { return Filter{ConnState: Connected} }},
		{"conn_state=disconnected", false, func(*rand.Rand) Filter { return Filter{ConnState: Disconnected} }},
		{"clean_start", false, func(r *rand.Rand) Filter { return Filter{CleanStart: ptr(r.IntN(2) == 0)} }},
		{"proto_name", false, func(*rand.Rand) Filter { return Filter{ProtoName: "MQTT-SN"} }},
		{"proto_ver", false, func(r *rand.Rand) Filter { return Filter{ProtoVer: int64(3 + r.IntN(3))} }},
		{"created_at=1h", false, func(r *rand.Rand) Filter {
			t := created(r)
			return Filter{CreatedAt: Range{Gte: ptr(t), Lte: ptr(t + hour)}}
		}},
		{"connected_at=gte", false, func(r *rand.Rand) Filter {
			return Filter{ConnectedAt: Range{Gte: ptr(created(r))}}
		}},
		{"like_clientid", false, func(r *rand.Rand) Filter { return Filter{LikeClientID: strconv.Itoa(100 + r.IntN(900))} }},
		{"like_username", false, func(r *rand.Rand) Filter { return Filter{LikeUsername: strconv.Itoa(10 + r.IntN(90))} }},
		{"mqueue_len>0", false, func(*rand.Rand) Filter {
			return Filter{Ranges: []ColumnRange{{Column: "mqueue_len", Range: Range{Gte: ptr(int64(1))}}}}
		}},
		{"top10_recv_oct", false, func(*rand.Rand) Filter { return Filter{OrderBy: "recv_oct", Desc: true, Limit: 10} }},
		{"combo=username+conn_state", true, func(r *rand.Rand) Filter {
			return Filter{Usernames: []string{fmt.Sprintf("user-%04d", r.IntN(1000))}, ConnState: Connected}
		}},
		{"combo=zone+conn_state+created_at=1d", true, func(r *rand.Rand) Filter {
			t := created(r)
			return Filter{Zone: "z" + strconv.Itoa(1+r.IntN(4)), ConnState: Disconnected, CreatedAt: Range{Gte: ptr(t), Lte: ptr(t + benchDay)}}
		}},
		{"combo=proto_ver+like_clientid", true, func(r *rand.Rand) Filter {
			return Filter{ProtoVer: 4, LikeClientID: strconv.Itoa(10 + r.IntN(90))}
		}},
	}
}

// BenchmarkListPage1 measures page 1 (limit 100) with the exact count for
// each seed filter and for combinations, at -catalog.rows rows.
func BenchmarkListPage1(b *testing.B) {
	c, n := sharedCatalog(b)
	ctx := context.Background()
	for _, sf := range seedFilters(n) {
		b.Run("filter="+sf.name, func(b *testing.B) {
			b.ReportAllocs()
			rng := rand.New(rand.NewPCG(1, 2))
			lat := make(latencies, 0, b.N)
			var rows int64
			cpu0 := cpuTime()
			for b.Loop() {
				f := sf.make(rng)
				t0 := time.Now()
				p, err := c.List(ctx, f)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				rows += p.Count
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(len(lat)), "cpu-ms/op")
			lat.report(b, "")
			b.ReportMetric(float64(rows)/float64(len(lat)), "count/op")
		})
	}
}

// BenchmarkDeepPage compares a deep page by OFFSET with the same depth by
// keyset cursor, for the default order and for order_by created_at.
func BenchmarkDeepPage(b *testing.B) {
	c, n := sharedCatalog(b)
	ctx := context.Background()
	depth := n * 9 / 10
	for _, order := range []string{"clientid", "created_at"} {
		f := Filter{OrderBy: order, Limit: 100}
		b.Run("order="+order+"/method=offset", func(b *testing.B) {
			b.ReportAllocs()
			lat := make(latencies, 0, b.N)
			cpu0 := cpuTime()
			for b.Loop() {
				g := f
				g.Page = depth/100 + 1
				t0 := time.Now()
				if p, err := c.List(ctx, g); err != nil || len(p.Rows) != 100 {
					b.Fatal(err, len(p.Rows))
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(len(lat)), "cpu-ms/op")
			lat.report(b, "")
		})
		b.Run("order="+order+"/method=cursor", func(b *testing.B) {
			b.ReportAllocs()
			rng := rand.New(rand.NewPCG(3, 4))
			lat := make(latencies, 0, b.N)
			for b.Loop() {
				b.StopTimer()
				// A cursor at a random depth ("any depth"), 90% included.
				d := depth
				if rng.IntN(2) == 0 {
					d = rng.IntN(n - 200)
				}
				last := synthRow(d, n)
				g := f
				g.Cursor = c.encodeCursor(&g, cursorAfter(&g, &last, 2))
				b.StartTimer()
				t0 := time.Now()
				if p, err := c.List(ctx, g); err != nil || len(p.Rows) != 100 {
					b.Fatal(err, len(p.Rows))
				}
				lat = append(lat, time.Since(t0))
			}
			lat.report(b, "")
		})
	}
}

// BenchmarkSnapshot applies snapshots of 100k changed rows (counters
// only, or full lifecycle rows) while readers list with random seed
// filters, and reports the apply time, the readers' latency during it,
// how long a connect takes to become visible during it, and the longest
// time the writer held readers off. Readers run either as 4 goroutines in
// a closed loop (saturating the 2 cores) or open-loop at 100 requests/s
// (latency measured from each request's scheduled start).
func BenchmarkSnapshot(b *testing.B) {
	c, n := sharedCatalog(b)
	ctx := context.Background()
	const changed = 100_000
	var filters []seedFilter
	for _, sf := range seedFilters(n) {
		if sf.name == "top10_recv_oct" || strings.HasPrefix(sf.name, "like") || sf.name == "mqueue_len>0" {
			continue // measured above; the reader mix is the seed filters
		}
		filters = append(filters, sf)
	}
	for _, kind := range []string{"stats", "lifecycle"} {
		for _, readers := range []string{"closed4", "open100"} {
			b.Run(fmt.Sprintf("kind=%s/rows=%d/readers=%s", kind, changed, readers), func(b *testing.B) {
				benchSnapshot(ctx, b, c, n, kind, readers, changed, filters)
			})
		}
	}
}

// seedFilter is one benchmarked filter: a random instance of it, and
// whether it combines several conditions.
type seedFilter struct {
	name  string
	combo bool
	make  func(rng *rand.Rand) Filter
}

// snapGen numbers the snapshots of BenchmarkSnapshot across its cases.
var snapGen int

// benchSnapshot runs one BenchmarkSnapshot case.
func benchSnapshot(ctx context.Context, b *testing.B, c *Catalog, n int, kind, readers string, changed int, filters []seedFilter) {
	b.ReportAllocs()
	c.maxHold.Store(0)
	rng := rand.New(rand.NewPCG(5, 6))
	var mu sync.Mutex
	var lat latencies
	slowest := map[string]int{} // filter name → reads slower than 50 ms
	var stop, measuring atomic.Bool
	var wg sync.WaitGroup
	read := func(rr *rand.Rand, scheduled time.Time) bool {
		nf := filters[rr.IntN(len(filters))]
		if _, err := c.List(ctx, nf.make(rr)); err != nil {
			b.Error(err)
			return false
		}
		if d := time.Since(scheduled); measuring.Load() {
			mu.Lock()
			lat = append(lat, d)
			if d > 50*time.Millisecond {
				slowest[nf.name]++
			}
			mu.Unlock()
		}
		return true
	}
	if readers == "closed4" {
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rr := rand.New(rand.NewPCG(uint64(r), 9))
				for !stop.Load() && read(rr, time.Now()) {
				}
			}()
		}
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 64)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			var inner sync.WaitGroup
			defer inner.Wait()
			for k := uint64(0); !stop.Load(); k++ {
				scheduled := <-tick.C
				sem <- struct{}{}
				inner.Add(1)
				go func() {
					defer inner.Done()
					read(rand.New(rand.NewPCG(k, 9)), scheduled)
					<-sem
				}()
			}
		}()
	}
	var apply, visible latencies
	for b.Loop() {
		b.StopTimer()
		// Every snapshot of the process writes new counter values: a case
		// that repeated an earlier case's values would measure skipped
		// rows, not writes.
		snapGen++
		gen := snapGen
		first := rng.IntN(n)
		var ups []StatsUpdate
		var rows []Row
		for i := 0; i < changed; i++ {
			// Every 10th row of a window, so changes are scattered.
			idx := (first + i*9) % n
			r := synthRow(idx, n)
			r.RecvOct += int64(gen * 1000)
			r.RecvCnt += int64(gen * 10)
			r.SendOct += int64(gen * 1000)
			r.SendCnt += int64(gen * 10)
			if kind == "stats" {
				ups = append(ups, StatsUpdate{ClientID: r.ClientID, Counters: r.Counters})
			} else {
				r.Keepalive = int64(60 + gen)
				rows = append(rows, r)
			}
		}
		measuring.Store(true)
		b.StartTimer()
		t0 := time.Now()
		c.UpdateStats(ups)
		c.Upsert(rows)
		// While the snapshot is applied, connect probe clients one
		// at a time and time until each is visible to List.
		probeDone := make(chan struct{})
		go func() {
			defer close(probeDone)
			for k := 0; measuring.Load(); k++ {
				id := fmt.Sprintf("probe-%d-%d", gen, k)
				p0 := time.Now()
				c.Upsert([]Row{{ClientID: id, ConnState: Connected, Connected: true, ProtoName: "MQTT", ProtoVer: 5}})
				for {
					pg, err := c.List(ctx, Filter{ClientIDs: []string{id}})
					if err != nil {
						b.Error(err)
						return
					}
					if pg.Count == 1 {
						break
					}
					time.Sleep(200 * time.Microsecond)
				}
				mu.Lock()
				visible = append(visible, time.Since(p0))
				mu.Unlock()
				c.Remove([]string{id})
			}
		}()
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		apply = append(apply, time.Since(t0))
		b.StopTimer()
		measuring.Store(false)
		<-probeDone
		b.StartTimer()
	}
	stop.Store(true)
	wg.Wait()
	apply.report(b, "apply-")
	lat.report(b, "reader-")
	visible.report(b, "lifecycle-")
	b.ReportMetric(float64(len(lat)), "reads")
	if len(slowest) > 0 {
		b.Logf("reads slower than 50 ms by filter: %v", slowest)
	}
	b.ReportMetric(float64(c.Stats().MaxChunkHold)/1e6, "maxchunk-ms")
}

// BenchmarkMemory reports the resident memory per row of the shared
// catalog (RSS delta over the build, after GC) and the Go heap share (the
// writer's mirror).
func BenchmarkMemory(b *testing.B) {
	sharedCatalog(b)
	for b.Loop() {
	}
	b.ReportMetric(benchCatalog.rssRow, "rss-B/row")
	b.ReportMetric(benchCatalog.goRow, "goheap-B/row")
	b.ReportMetric(float64(benchCatalog.n)/benchCatalog.build.Seconds(), "build-rows/s")
}
