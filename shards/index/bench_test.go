package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// benchShape builds n filters and a set of topics to publish to, for one shape of subscription
// population.
type benchShape struct {
	name    string
	filters func(r *rand.Rand, n int) []string
	topics  func(r *rand.Rand, n int) []string
}

var benchShapes = []benchShape{
	{
		// Every client subscribes to its own device topic; each publish hits one subscription.
		name: "exact",
		filters: func(_ *rand.Rand, n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("dev/%d/temp", i)
			}
			return out
		},
		topics: func(r *rand.Rand, n int) []string {
			out := make([]string, 1024)
			for i := range out {
				out[i] = fmt.Sprintf("dev/%d/temp", r.IntN(n))
			}
			return out
		},
	},
	{
		// Four-level filters where each level is '+' three times in ten; the literal levels come
		// from small alphabets, so the '+' branches of many nodes are walked on every publish.
		name: "plus",
		filters: func(r *rand.Rand, n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = plusFilter(r, false)
			}
			return out
		},
		topics: plusTopics,
	},
	{
		// Filters end in '#' at a random depth below literal prefixes.
		name: "hash",
		filters: func(r *rand.Rand, n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = plusFilter(r, true)
			}
			return out
		},
		topics: plusTopics,
	},
}

// Alphabet sizes of the four levels of the plus and hash shapes.
var benchLevels = [4]int{10, 100, 100, 10}

// plusFilter returns a four-level filter with '+' at each level with probability 0.3, or, with
// hash, a one- to four-level literal prefix followed by '#'.
func plusFilter(r *rand.Rand, hash bool) string {
	var b strings.Builder
	depth := 4
	if hash {
		depth = 1 + r.IntN(3)
	}
	for l := range depth {
		if l > 0 {
			b.WriteByte('/')
		}
		if !hash && r.IntN(10) < 3 {
			b.WriteByte('+')
			continue
		}
		fmt.Fprintf(&b, "l%d-%d", l, r.IntN(benchLevels[l]))
	}
	if hash {
		b.WriteString("/#")
	}
	return b.String()
}

func plusTopics(r *rand.Rand, _ int) []string {
	out := make([]string, 1024)
	for i := range out {
		out[i] = fmt.Sprintf("l0-%d/l1-%d/l2-%d/l3-%d", r.IntN(10), r.IntN(100), r.IntN(100), r.IntN(10))
	}
	return out
}

// buildBenchIndex subscribes subscriber i to filters[i].
func buildBenchIndex(b *testing.B, filters []string) *Index[int] {
	b.Helper()
	ix, err := New[int](Config{})
	if err != nil {
		b.Fatal(err)
	}
	for i, f := range filters {
		if _, err := ix.Subscribe(i, f, SubOptions{QoS: 1}); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

// BenchmarkIndexMatch measures one Match with a reused result slice; hits/op is the average number
// of subscriptions matched per publish.
func BenchmarkIndexMatch(b *testing.B) {
	for _, shape := range benchShapes {
		for _, n := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("shape=%s/subs=%d", shape.name, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				ix := buildBenchIndex(b, shape.filters(r, n))
				topics := shape.topics(r, n)
				tb := make([][]byte, len(topics))
				for i, t := range topics {
					tb[i] = []byte(t)
				}
				hits := make([]Hit[int], 0, 8192)
				total := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					hits = ix.Match(tb[i%len(tb)], hits[:0])
					total += len(hits)
				}
				b.ReportMetric(float64(total)/float64(b.N), "hits/op")
			})
		}
	}
}

// BenchmarkIndexMatchParallel runs Match from every P at once against 100,000 exact subscriptions:
// reads take no lock, so throughput should scale with the cores.
func BenchmarkIndexMatchParallel(b *testing.B) {
	const n = 100000
	r := rand.New(rand.NewPCG(1, 2))
	ix := buildBenchIndex(b, benchShapes[0].filters(r, n))
	topics := benchShapes[0].topics(r, n)
	b.Run(fmt.Sprintf("shape=exact/subs=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			hits := make([]Hit[int], 0, 16)
			i := 0
			for pb.Next() {
				hits = ix.Match([]byte(topics[i%len(topics)]), hits[:0])
				i++
			}
		})
	})
}

// BenchmarkIndexChurn measures one Subscribe plus one Unsubscribe of a new filter next to 100,000
// existing subscriptions (a client connecting and leaving).
func BenchmarkIndexChurn(b *testing.B) {
	const n = 100000
	for _, shape := range benchShapes {
		b.Run(fmt.Sprintf("shape=%s/subs=%d", shape.name, n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			ix := buildBenchIndex(b, shape.filters(r, n))
			churn := shape.filters(r, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := churn[i%len(churn)]
				if _, err := ix.Subscribe(n+i, f, SubOptions{QoS: 1}); err != nil {
					b.Fatal(err)
				}
				if _, err := ix.Unsubscribe(n+i, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIndexResolve measures selecting one member of a shared group per strategy.
func BenchmarkIndexResolve(b *testing.B) {
	for _, strategy := range []ShareStrategy{ShareRoundRobin, ShareRandom, ShareHashClientID, ShareSticky} {
		b.Run(fmt.Sprintf("strategy=%s/members=100", strategy), func(b *testing.B) {
			ix, err := New[int](Config{ShareStrategy: strategy})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 100 {
				if _, err := ix.Subscribe(i, "$share/g/t/+", SubOptions{QoS: 1}); err != nil {
					b.Fatal(err)
				}
			}
			topic, pub := []byte("t/x"), []byte("publisher-1")
			available := func(s int) bool { return s%4 != 0 }
			hits := make([]Hit[int], 0, 4)
			var unserved []*ShareGroup[int]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				hits, unserved = ix.Resolve(ix.Match(topic, hits[:0]), pub, available, unserved[:0])
			}
		})
	}
}

// BenchmarkFolderFold measures folding the hits of one message for clients that each hold a few
// overlapping subscriptions with identifiers.
func BenchmarkFolderFold(b *testing.B) {
	for _, n := range []int{4, 64, 1024} {
		b.Run(fmt.Sprintf("hits=%d", n), func(b *testing.B) {
			hits := make([]Hit[int], n)
			for i := range hits {
				hits[i] = Hit[int]{Sub: i / 2, Opts: SubOptions{QoS: byte(i % 3), ID: uint32(i + 1)}}
			}
			f := &Folder[int]{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Fold(hits, -1)
			}
		})
	}
}

// BenchmarkIndexSubscribe measures adding b.N subscriptions of one shape to an empty index and
// reports the heap the index holds per subscription (B/sub), the index's share of a client's memory.
func BenchmarkIndexSubscribe(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run("shape="+shape.name, func(b *testing.B) {
			filters := shape.filters(rand.New(rand.NewPCG(5, 6)), b.N)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ix, err := New[int](Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i, f := range filters {
				if _, err := ix.Subscribe(i, f, SubOptions{QoS: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "B/sub")
			runtime.KeepAlive(ix)
			runtime.KeepAlive(filters)
		})
	}
}
