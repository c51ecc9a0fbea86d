package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The memory policy (docs/operations.md, "Memory"): the collector's
// headroom (gc_percent, memory_limit) and returning memory to the operating
// system once the broker goes quiet after a burst (memory_release...).
//
// A connection storm leaves the Go heap at its GC goal with the storm's
// garbage still resident, and SQLite's C heap (malloc) keeps the arenas the
// catalog's inserts freed. Neither comes back by itself while the broker
// stays idle: the collector does not run without allocation, and malloc
// returns only the top of an arena. So a goroutine watches the heap, and
// when it grew by memory_release_growth (and a quarter) since the last
// release and the broker then allocated less than quietRate for
// memory_release_quiet, it collects, returns the free heap pages
// (debug.FreeOSMemory) and trims malloc's arenas (malloc_trim on glibc)
// once. EMQX's force_gc answers the same problem.

// applyMemoryPolicy applies gc_percent and memory_limit; start calls it
// before the broker allocates its structures.
func applyMemoryPolicy(o *Options) {
	debug.SetGCPercent(o.GCPercent)
	if o.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(min(uint64(o.MemoryLimit), math.MaxInt64)))
	}
}

// memoryStats counts the releases and their cost for /metrics. Safe from
// any goroutine.
type memoryStats struct {
	runs     atomic.Int64
	nanos    atomic.Int64 // time spent in all releases
	returned atomic.Int64 // resident bytes returned (RSS before − after)
}

// startMemoryRelease starts the release goroutine when memory_release is
// on, counting into st; the returned function stops it and waits for it.
func startMemoryRelease(o *Options, st *memoryStats) func(context.Context) error {
	if !o.MemoryRelease {
		return func(context.Context) error { return nil }
	}
	p := releasePolicy{
		growth:      uint64(o.MemoryReleaseGrowth),
		quiet:       o.MemoryReleaseQuiet,
		minInterval: o.MemoryReleaseMinInterval,
		quietRate:   quietRate,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// What the start left behind (a recovery runs with the collector
		// off, the dashboard compresses its assets) goes back to the OS
		// first, so that the policy's baseline is the broker's live heap
		// and a later burst is measured against that.
		debug.FreeOSMemory()
		watchMemory(ctx, p, func() releaseResult { return releaseMemory(st) })
	}()
	return func(context.Context) error { cancel(); <-done; return nil }
}

// quietRate is the allocation rate below which the broker counts as quiet:
// holding 10,000 idle connections it allocated under 0.2 MiB/s (counter
// snapshots), during their storm about 80 MiB/s. Quiet is about
// allocation, not traffic: the publish path allocates nothing (20,000
// msg/s allocated 0.7 MiB/s), and a release under such a load is still
// bounded by the growth and interval conditions.
const quietRate = 1 << 20 // bytes per second

// releasePolicy decides when to release memory from samples of the heap.
type releasePolicy struct {
	growth      uint64        // retained heap growth that makes a release due
	quiet       time.Duration // how long allocation must stay below quietRate
	minInterval time.Duration // shortest time between releases
	quietRate   uint64        // bytes per second
}

// memSample is one reading of the runtime's heap.
type memSample struct {
	at       time.Time
	allocs   uint64 // bytes allocated since start
	retained uint64 // heap bytes backed by memory from the OS
}

// releaseState is what the policy remembers between samples. Owned by the
// watching goroutine.
type releaseState struct {
	prev       memSample // zero before the first sample
	base       uint64    // retained right after the last release, or at start
	last       time.Time // last release; zero before the first
	quietSince time.Time // zero while allocating
}

// due reports whether a release should run now, given sample s.
func (p releasePolicy) due(st *releaseState, s memSample) bool {
	if st.prev.at.IsZero() {
		*st = releaseState{prev: s, base: s.retained, quietSince: s.at}
		return false
	}
	dt := s.at.Sub(st.prev.at)
	if dt <= 0 {
		return false
	}
	rate := float64(s.allocs-st.prev.allocs) / dt.Seconds()
	from := st.prev.at
	st.prev = s
	if rate >= float64(p.quietRate) {
		st.quietSince = time.Time{}
		return false
	}
	if st.quietSince.IsZero() {
		st.quietSince = from
	}
	if s.at.Sub(st.quietSince) < p.quiet || !st.last.IsZero() && s.at.Sub(st.last) < p.minInterval {
		return false
	}
	grown := s.retained > st.base && s.retained-st.base >= max(p.growth, st.base/4)
	if !grown && s.retained < st.base {
		// The heap shrank by itself (the scavenger returned pages): the
		// next burst is measured from here.
		st.base = s.retained
	}
	return grown
}

// released tells the policy a release ran and left the heap of sample s.
func (st *releaseState) released(s memSample) {
	st.prev, st.base, st.last, st.quietSince = s, s.retained, s.at, time.Time{}
}

// readMemSample reads the heap through runtime/metrics, which does not stop
// the world (runtime.ReadMemStats does).
func readMemSample(buf []metrics.Sample) memSample {
	metrics.Read(buf)
	var s memSample
	s.at = time.Now()
	s.allocs = buf[0].Value.Uint64()
	for _, m := range buf[1:] {
		s.retained += m.Value.Uint64()
	}
	return s
}

// memMetrics are the runtime/metrics readMemSample reads: allocated bytes,
// then the classes whose sum is the heap memory held from the OS.
var memMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
}

// watchMemory samples the heap every quiet/4 (at least every second) and
// calls release when p says it is due, until ctx ends.
func watchMemory(ctx context.Context, p releasePolicy, release func() releaseResult) {
	buf := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		buf[i].Name = name
	}
	tick := min(max(p.quiet/4, 50*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	var st releaseState
	for {
		if p.due(&st, readMemSample(buf)) {
			r := release()
			st.released(readMemSample(buf))
			r.log()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// releaseResult is what one release did.
type releaseResult struct {
	run                           int64 // 1 for the first release since start
	rssBefore, rssFreed, rssAfter int64 // resident bytes before, after FreeOSMemory, after malloc_trim; 0 when unknown
	freeOS, trim                  time.Duration
	trimErr                       error
}

// releaseMemory collects, returns the free Go heap to the OS and trims
// malloc's arenas, and counts it in st.
func releaseMemory(st *memoryStats) releaseResult {
	var r releaseResult
	r.rssBefore = residentBytes()
	t0 := time.Now()
	debug.FreeOSMemory()
	t1 := time.Now()
	r.rssFreed = residentBytes()
	r.trimErr = mallocTrim()
	r.freeOS, r.trim = t1.Sub(t0), time.Since(t1)
	r.rssAfter = residentBytes()
	r.run = st.runs.Add(1)
	st.nanos.Add(int64(r.freeOS + r.trim))
	if r.rssBefore > r.rssAfter && r.rssAfter > 0 {
		st.returned.Add(r.rssBefore - r.rssAfter)
	}
	return r
}

func (r releaseResult) log() {
	mib := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB" }
	attrs := []any{"run", r.run, "rss_before", mib(r.rssBefore), "rss_go_freed", mib(r.rssFreed), "rss_after", mib(r.rssAfter),
		"free_os_memory", r.freeOS.Round(time.Microsecond).String(), "malloc_trim", r.trim.Round(time.Microsecond).String()}
	if r.trimErr != nil {
		attrs = append(attrs, "malloc_trim_err", r.trimErr.Error())
	}
	slog.Info("shardmq: memory returned to the OS after a quiet burst", attrs...)
}

// byteSize is a size in bytes, written as an integer or
// with a unit: B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB, also powers of
// 1024, as GOMEMLIMIT reads them).
type byteSize uint64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}, {"B", 0}}

// String writes the size with the largest unit that divides it.
func (b *byteSize) String() string {
	if b == nil {
		return "0"
	}
	return formatBytes(int64(*b))
}

// Set reads the size from s.
func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	shift := uint(0)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > math.MaxUint64>>shift {
		return fmt.Errorf("%q: want bytes, e.g. 1073741824 or \"1GiB\"", s)
	}
	*b = byteSize(n << shift)
	return nil
}

// formatBytes writes n with the largest IEC unit that divides it.
func formatBytes(n int64) string {
	if n == 0 {
		return "0"
	}
	for _, u := range byteUnits[:4] {
		if n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
