package main

import (
	"context"
	"errors"
	"flag"
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

// memoryFlags are the memory policy settings.
var memoryFlags = struct {
	gcPercent     int
	limit         byteSize
	release       bool
	releaseGrowth byteSize
	releaseQuiet  time.Duration
	releaseEvery  time.Duration
}{
	gcPercent:     100,
	release:       true,
	releaseGrowth: 16 << 20,
	releaseQuiet:  time.Second,
	releaseEvery:  time.Minute,
}

func init() {
	flag.IntVar(&memoryFlags.gcPercent, "gc-percent", memoryFlags.gcPercent,
		"collector headroom in percent of the live heap (Go's GOGC, which this overrides); -1 turns the proportional goal off, which needs --memory-limit")
	flag.Var(&memoryFlags.limit, "memory-limit",
		`soft limit of the Go runtime's memory (Go's GOMEMLIMIT), e.g. "1GiB"; "0" leaves GOMEMLIMIT or none`)
	flag.BoolVar(&memoryFlags.release, "memory-release", memoryFlags.release,
		"return memory to the operating system once the broker goes quiet after the heap grew (a connection storm)")
	flag.Var(&memoryFlags.releaseGrowth, "memory-release-growth",
		"heap growth since the last release (and at least a quarter of the heap) that makes a release due")
	flag.DurationVar(&memoryFlags.releaseQuiet, "memory-release-quiet", memoryFlags.releaseQuiet,
		"how long the broker must allocate less than 1 MiB/s before a due release runs")
	flag.DurationVar(&memoryFlags.releaseEvery, "memory-release-min-interval", memoryFlags.releaseEvery,
		"shortest time between two releases")
	extensions = append(extensions, extension{configure: configureMemory, start: startMemoryRelease})
}

// checkMemory checks the memory settings.
func checkMemory() *configError {
	f := &memoryFlags
	switch {
	case f.gcPercent < -1 || f.gcPercent == 0:
		return &configError{key: "gc_percent", err: fmt.Errorf("%d: want a positive percentage, or -1 (off) with memory_limit", f.gcPercent)}
	case f.gcPercent == -1 && f.limit == 0:
		return &configError{key: "gc_percent", err: errors.New("-1 (off) needs a memory_limit, or the heap grows without bound")}
	case f.release && f.releaseGrowth == 0:
		return &configError{key: "memory_release_growth", err: errors.New("want a positive size")}
	case f.releaseQuiet <= 0:
		return &configError{key: "memory_release_quiet", err: fmt.Errorf("%v: want a positive duration", f.releaseQuiet)}
	case f.releaseEvery <= 0:
		return &configError{key: "memory_release_min_interval", err: fmt.Errorf("%v: want a positive duration", f.releaseEvery)}
	}
	return nil
}

// configureMemory applies gc_percent and memory_limit before the broker
// allocates its structures.
func configureMemory(*app) error {
	debug.SetGCPercent(memoryFlags.gcPercent)
	if memoryFlags.limit > 0 {
		debug.SetMemoryLimit(int64(min(uint64(memoryFlags.limit), math.MaxInt64)))
	}
	return nil
}

// memoryReleases counts the releases and their cost for /metrics.
var memoryReleases struct {
	runs     atomic.Int64
	nanos    atomic.Int64 // time spent in all releases
	returned atomic.Int64 // resident bytes returned (RSS before − after)
}

// startMemoryRelease starts the release goroutine when memory_release is
// on; the returned function stops it and waits for it.
func startMemoryRelease(ctx context.Context, _ *app) (func(context.Context) error, error) {
	if !memoryFlags.release {
		return func(context.Context) error { return nil }, nil
	}
	p := releasePolicy{
		growth:      uint64(memoryFlags.releaseGrowth),
		quiet:       memoryFlags.releaseQuiet,
		minInterval: memoryFlags.releaseEvery,
		quietRate:   quietRate,
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchMemory(ctx, p, releaseMemory)
	}()
	return func(context.Context) error { cancel(); <-done; return nil }, nil
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
	rssBefore, rssFreed, rssAfter int64 // resident bytes before, after FreeOSMemory, after malloc_trim; 0 when unknown
	freeOS, trim                  time.Duration
	trimErr                       error
}

// releaseMemory collects, returns the free Go heap to the OS and trims
// malloc's arenas, and counts it.
func releaseMemory() releaseResult {
	var r releaseResult
	r.rssBefore = residentBytes()
	t0 := time.Now()
	debug.FreeOSMemory()
	t1 := time.Now()
	r.rssFreed = residentBytes()
	r.trimErr = mallocTrim()
	r.freeOS, r.trim = t1.Sub(t0), time.Since(t1)
	r.rssAfter = residentBytes()
	memoryReleases.runs.Add(1)
	memoryReleases.nanos.Add(int64(r.freeOS + r.trim))
	if r.rssBefore > r.rssAfter && r.rssAfter > 0 {
		memoryReleases.returned.Add(r.rssBefore - r.rssAfter)
	}
	return r
}

func (r releaseResult) log() {
	mib := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB" }
	attrs := []any{"run", memoryReleases.runs.Load(), "rss_before", mib(r.rssBefore), "rss_go_freed", mib(r.rssFreed), "rss_after", mib(r.rssAfter),
		"free_os_memory", r.freeOS.Round(time.Microsecond).String(), "malloc_trim", r.trim.Round(time.Microsecond).String()}
	if r.trimErr != nil {
		attrs = append(attrs, "malloc_trim_err", r.trimErr.Error())
	}
	slog.Info("shardmq: memory returned to the OS after a quiet burst", attrs...)
}

// byteSize is a flag holding a size in bytes, written as an integer or
// with a unit: B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB, also powers of
// 1024, as GOMEMLIMIT reads them).
type byteSize uint64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}, {"B", 0}}

// String implements flag.Value: the largest unit that divides the size.
func (b *byteSize) String() string {
	if b == nil {
		return "0"
	}
	return formatBytes(int64(*b))
}

// Set implements flag.Value.
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

// Get implements flag.Getter.
func (b *byteSize) Get() any { return uint64(*b) }

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
