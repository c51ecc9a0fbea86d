package natscluster

import (
	"fmt"
	"math/bits"
	"testing"

	"github.com/shardmq/shardmq/shards/cluster"
)

func maskOf(tb *table, topic string) uint64 {
	m := matcher{t: tb}
	tb.match([]byte(topic), &m)
	return m.mask
}

func TestTableMatch(t *testing.T) {
	var tb table
	subs := []struct {
		filter string
		slot   int
	}{
		{"a/b/c", 1}, {"a/+/c", 2}, {"a/#", 3}, {"#", 4}, {"+/b/+", 5}, {"$SYS/brokers", 6},
		{"a//c", 7}, {"/x", 8}, {"+", 9}, {"$share/g/a/b/c", 10},
	}
	for _, s := range subs {
		tb.addLocked(s.filter, s.slot)
	}
	tests := []struct {
		name  string
		topic string
		want  []int
	}{
		{"exact and wildcards", "a/b/c", []int{1, 2, 3, 4, 5, 10}},
		{"plus", "a/x/c", []int{2, 3, 4}},
		{"hash matches parent", "a", []int{3, 4, 9}},
		{"empty level", "a//c", []int{2, 3, 4, 7}},
		{"leading empty level", "/x", []int{4, 8}},
		{"$SYS exact only", "$SYS/brokers", []int{6}},
		{"$ never matches root wildcards", "$SYS/x", nil},
		{"no match deeper", "b/c/d", []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want uint64
			for _, s := range tc.want {
				want |= 1 << s
			}
			if got := maskOf(&tb, tc.topic); got != want {
				t.Fatalf("mask(%q) = %b, want %b", tc.topic, got, want)
			}
		})
	}
	for _, s := range subs {
		tb.removeLocked(s.filter, s.slot)
	}
	if !tb.root.empty() {
		t.Fatal("the trie is not empty after every filter was removed")
	}
}

func TestTableSharedGroups(t *testing.T) {
	for _, strategy := range []cluster.ShareStrategy{cluster.ShareRoundRobin, cluster.ShareRandom, cluster.ShareHashClientID, cluster.ShareSticky} {
		t.Run("strategy="+strategy.String(), func(t *testing.T) {
			tb := table{strategy: strategy}
			tb.addLocked("$share/g/s/+", 0)
			tb.addLocked("$share/g/s/+", 2)
			tb.addLocked("$share/g/s/+", 5)
			tb.addLocked("$queue/s/#", 3)
			tb.addLocked("s/1", 4)
			var r cluster.Route
			counts := map[int]int{}
			for i := range 300 {
				m := matcher{t: &tb, route: &r, publisher: fmt.Appendf(nil, "pub%d", i%3)}
				r.Reset()
				tb.match([]byte("s/1"), &m)
				if len(r.Groups) != 2 {
					t.Fatalf("groups = %+v, want g and $queue", r.Groups)
				}
				for _, g := range r.Groups {
					switch g.Name {
					case "g":
						if g.Filter != "s/+" || (g.Slot != 0 && g.Slot != 2 && g.Slot != 5) || g.Local != (g.Slot == 0) {
							t.Fatalf("choice %+v", g)
						}
						counts[g.Slot]++
					case "$queue":
						if g.Slot != 3 || g.Filter != "s/#" {
							t.Fatalf("choice %+v", g)
						}
					}
				}
				if m.mask&(1<<4) == 0 {
					t.Fatal("ordinary subscriber missing")
				}
			}
			switch strategy {
			case cluster.ShareRoundRobin:
				if counts[0] != 100 || counts[2] != 100 || counts[5] != 100 {
					t.Fatalf("round robin counts %v", counts)
				}
			case cluster.ShareSticky:
				if len(counts) != 1 {
					t.Fatalf("sticky counts %v", counts)
				}
			case cluster.ShareHashClientID:
				if len(counts) > 3 {
					t.Fatalf("hash counts %v", counts)
				}
			case cluster.ShareRandom:
				if len(counts) < 2 {
					t.Fatalf("random took one node in 300: %v", counts)
				}
			}
			// A sticky node that leaves is replaced.
			tb.removeLocked("$share/g/s/+", 2)
			tb.removeLocked("$share/g/s/+", 5)
			r.Reset()
			tb.match([]byte("s/1"), &matcher{t: &tb, route: &r})
			for _, g := range r.Groups {
				if g.Name == "g" && g.Slot != 0 {
					t.Fatalf("after two nodes left, group served by %d", g.Slot)
				}
			}
			if !r.ServeLocal("g", "s/+") || r.ServeLocal("$queue", "s/#") || !r.ServeLocal("other", "s/+") {
				t.Fatal("ServeLocal")
			}
		})
	}
}

func TestNthBit(t *testing.T) {
	m := uint64(0b1011_0100)
	for k, want := range []int{2, 4, 5, 7} {
		if got := nthBit(m, uint64(k)); got != want {
			t.Fatalf("nthBit(%b, %d) = %d, want %d", m, k, got, want)
		}
	}
	if bits.OnesCount64(m) != 4 {
		t.Fatal("popcount")
	}
}

// TestRouteAllocs keeps Remote and Route free of allocation in steady state.
func TestRouteAllocs(t *testing.T) {
	tb := table{}
	for i := range 10000 {
		tb.addLocked(fmt.Sprintf("dev/%d/cmd", i), 1+i%3)
	}
	tb.addLocked("dev/+/cmd", 2)
	tb.addLocked("$share/g/dev/#", 3)
	topic := []byte("dev/777/cmd")
	var r cluster.Route
	allocs := testing.AllocsPerRun(1000, func() {
		r.Reset()
		m := matcher{t: &tb, route: &r, publisher: topic}
		tb.match(topic, &m)
		if m.mask == 0 {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Route allocates %.1f per lookup", allocs)
	}
}

// TestCmapGrows checks a level with many children through growth and
// deletion.
func TestCmapGrows(t *testing.T) {
	m := newCmap(1)
	const n = 5000
	nodes := make([]*tnode, n)
	for i := range n {
		nodes[i] = &tnode{}
		m = m.put(fmt.Sprint(i), nodes[i])
	}
	for i := range n {
		if m.get([]byte(fmt.Sprint(i))) != nodes[i] {
			t.Fatalf("lost key %d after growth to %d buckets", i, len(m.buckets))
		}
	}
	for i := 0; i < n; i += 2 {
		m.del(fmt.Sprint(i))
	}
	for i := range n {
		if got := m.getString(fmt.Sprint(i)); (got != nil) != (i%2 == 1) {
			t.Fatalf("key %d present = %v after deleting the even ones", i, got != nil)
		}
	}
	if m.n != n/2 {
		t.Fatalf("n = %d", m.n)
	}
}

func BenchmarkRoute(b *testing.B) {
	for _, subs := range []int{1000, 100000} {
		tb := table{}
		for i := range subs {
			tb.addLocked(fmt.Sprintf("dev/%d/cmd", i), 1+i%3)
		}
		tb.addLocked("dev/+/status", 2)
		tb.addLocked("$share/g/dev/#", 3)
		topic := []byte("dev/777/cmd")
		b.Run(fmt.Sprintf("filters=%d", subs), func(b *testing.B) {
			b.ReportAllocs()
			var r cluster.Route
			for b.Loop() {
				r.Reset()
				m := matcher{t: &tb, route: &r, publisher: topic}
				tb.match(topic, &m)
			}
		})
	}
}
