package index

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type tableItem struct{ key int }

// TestSlotTable drives a table through random puts, replacements and removes — including keys whose
// hashes collide on purpose — and checks it against a map after every step.
func TestSlotTable(t *testing.T) {
	tomb := &tableItem{key: -1}
	for _, hashMod := range []uint64{1, 3, 1 << 62} { // 1: every key collides
		t.Run(fmt.Sprintf("hashmod=%d", hashMod), func(t *testing.T) {
			hash := func(it *tableItem) uint64 { return uint64(it.key) % hashMod }
			eq := func(k int) func(*tableItem) bool { return func(it *tableItem) bool { return it.key == k } }
			r := rand.New(rand.NewPCG(hashMod, 9))
			tab := newSlotTable(1, tomb)
			want := make(map[int]*tableItem)
			for step := range 5000 {
				k := r.IntN(64)
				if r.IntN(3) == 0 {
					var old *tableItem
					tab, old = tab.remove(hash(&tableItem{k}), eq(k), hash)
					if old != want[k] {
						t.Fatalf("step %d: remove(%d) = %v, want %v", step, k, old, want[k])
					}
					delete(want, k)
				} else {
					it := &tableItem{key: k}
					var added bool
					tab, added = tab.put(hash(it), it, eq(k), hash)
					if added != (want[k] == nil) {
						t.Fatalf("step %d: put(%d) added=%v, map had %v", step, k, added, want[k])
					}
					want[k] = it
				}
				if int(tab.live) != len(want) || tab.used > int32(maxLoad(len(tab.cells))) {
					t.Fatalf("step %d: live=%d used=%d cells=%d, map has %d", step, tab.live, tab.used, len(tab.cells), len(want))
				}
				for key, it := range want {
					if got := tab.get(hash(it), eq(key)); got != it {
						t.Fatalf("step %d: get(%d) = %v, want %v", step, key, got, it)
					}
				}
				seen := 0
				for i := range tab.cells {
					if p := tab.cells[i].Load(); p != nil && p != tomb {
						seen++
						if want[p.key] != p {
							t.Fatalf("step %d: stale cell %v", step, p)
						}
					}
				}
				if seen != len(want) {
					t.Fatalf("step %d: %d live cells, want %d", step, seen, len(want))
				}
			}
			if len(tab.cells) > 256 {
				t.Fatalf("64 keys at most, yet %d cells", len(tab.cells))
			}
		})
	}
}
