package bench

import (
	"math/rand"
	"slices"
	"testing"
)

func TestHistIndexBounds(t *testing.T) {
	// Every value falls inside the bounds of its bucket, buckets are
	// contiguous and no wider than 1/128 of their low bound.
	prevHi := int64(-1)
	for i := 0; i < histBuckets; i++ {
		lo, hi := histBounds(i)
		if int64(lo) != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d [%d,%d]: index(lo)=%d index(hi)=%d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		if lo >= histSub && float64(hi-lo+1) > float64(lo)/histSub {
			t.Fatalf("bucket %d [%d,%d] wider than 1/%d", i, lo, hi, histSub)
		}
		prevHi = int64(hi)
	}
	if prevHi < histMax {
		t.Fatalf("last bucket ends at %d, below histMax %d", prevHi, int64(histMax))
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func(r *rand.Rand) []int64
	}{
		{"small exact", func(r *rand.Rand) []int64 {
			v := make([]int64, 1000)
			for i := range v {
				v[i] = int64(r.Intn(100))
			}
			return v
		}},
		{"uniform micros", func(r *rand.Rand) []int64 {
			v := make([]int64, 5000)
			for i := range v {
				v[i] = int64(r.Intn(10_000_000))
			}
			return v
		}},
		{"long tail", func(r *rand.Rand) []int64 {
			v := make([]int64, 5000)
			for i := range v {
				v[i] = int64(r.ExpFloat64() * 1e5)
			}
			v[0] = 3e9
			return v
		}},
		{"single", func(*rand.Rand) []int64 { return []int64{123456} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := tc.values(rand.New(rand.NewSource(7)))
			h := NewHistogram()
			for _, v := range vals {
				h.Record(v)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			if h.Count() != uint64(len(vals)) || h.Min() != sorted[0] || h.Max() != sorted[len(sorted)-1] {
				t.Fatalf("count/min/max = %d/%d/%d, want %d/%d/%d",
					h.Count(), h.Min(), h.Max(), len(vals), sorted[0], sorted[len(sorted)-1])
			}
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := int(float64(len(sorted))*q+0.999999) - 1
				rank = max(rank, 0)
				exact := sorted[rank]
				got := h.Quantile(q)
				if got < exact || float64(got-exact) > float64(exact)/histSub+1 {
					t.Errorf("q=%v: got %d, exact %d (allowed +%.0f)", q, got, exact, float64(exact)/histSub+1)
				}
			}
		})
	}
}

func TestHistogramMergeAndEdges(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := int64(0); i < 1000; i++ {
		v := i * 997
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	a.Merge(b)
	a.Merge(NewHistogram())
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Fatalf("merged q%v = %d, want %d", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != 1000 || a.Mean() != all.Mean() {
		t.Fatalf("merged count %d mean %v, want 1000 %v", a.Count(), a.Mean(), all.Mean())
	}
	empty := NewHistogram()
	if empty.Quantile(0.5) != 0 || empty.Min() != 0 || empty.Mean() != 0 || empty.Summary().String() != "—" {
		t.Fatal("empty histogram does not report zeros")
	}
	c := NewHistogram()
	c.Record(-5)
	c.Record(1 << 62)
	if c.Min() != 0 || c.Max() != histMax {
		t.Fatalf("clamping: min %d max %d", c.Min(), c.Max())
	}
}

func TestLatencyString(t *testing.T) {
	l := Latency{Count: 3, P50: 1500, P99: 2_345_678, P999: 1_234_567_890}
	if got, want := l.String(), "1.5µs/2.35ms/1.23s"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// Min and Mean check the histogram against the recorded values; the
// reports use quantiles only.

// Min returns the smallest recorded value, or 0 when empty.
func (h *Histogram) Min() int64 {
	if h.n == 0 {
		return 0
	}
	return h.min
}

// Mean returns the mean of the recorded values, or 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}
