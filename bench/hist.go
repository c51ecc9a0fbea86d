package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram layout: values below histSub are exact; above, every power of
// two is split into histSub equal sub-buckets, so a bucket is never wider
// than 1/histSub (0.8%) of its values, like an HDR histogram with two
// significant digits.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	// histMax is the largest recordable value (about 18 minutes in
	// nanoseconds); larger values are clamped to it.
	histMax = 1<<40 - 1
	// histBuckets is the number of buckets needed up to histMax.
	histBuckets = (40-histSubBits+1)*histSub + histSub
)

// Histogram records non-negative int64 values (latencies in nanoseconds) in
// logarithmic buckets with a relative error of at most 1/128. The zero
// value is not ready; use NewHistogram. A Histogram is not safe for
// concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   []uint64
	n        uint64
	min, max int64
	sum      float64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, histBuckets), min: math.MaxInt64}
}

// histIndex returns the bucket of v (0 ≤ v ≤ histMax).
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)*histSub + int(v>>uint(shift)) - histSub
}

// histBounds returns the lowest and highest value of bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < histSub {
		return uint64(i), uint64(i)
	}
	shift := uint(i/histSub - 1)
	m := uint64(i%histSub + histSub)
	return m << shift, (m+1)<<shift - 1
}

// Record adds v; negative values count as 0 and values above about 18
// minutes are clamped.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	h.counts[histIndex(uint64(v))]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value, or 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Quantile returns the value below or at which a fraction q (0 to 1) of
// the recorded values lie: the highest value of the bucket that holds the
// value of rank ⌈q·n⌉, clamped to the recorded minimum and maximum, so it
// overstates the exact quantile by less than 1/128. It returns 0 when
// empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := histBounds(i)
			v := int64(hi)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Latency is the summary of a latency histogram kept in reports.
type Latency struct {
	// Count is the number of samples.
	Count uint64 `json:"count"`
	// P50, P99 and P999 are quantiles in nanoseconds.
	P50  int64 `json:"p50_ns"`
	P99  int64 `json:"p99_ns"`
	P999 int64 `json:"p999_ns"`
	// Max is the largest sample in nanoseconds.
	Max int64 `json:"max_ns"`
}

// Summary returns the histogram's Latency summary.
func (h *Histogram) Summary() Latency {
	return Latency{Count: h.n, P50: h.Quantile(0.50), P99: h.Quantile(0.99),
		P999: h.Quantile(0.999), Max: h.Max()}
}

// String formats l as "p50/p99/p999" durations.
func (l Latency) String() string {
	if l.Count == 0 {
		return "—"
	}
	return fmtDur(l.P50) + "/" + fmtDur(l.P99) + "/" + fmtDur(l.P999)
}

// fmtDur formats nanoseconds with three significant digits.
func fmtDur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}
