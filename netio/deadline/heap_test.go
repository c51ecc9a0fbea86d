package deadline

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// item is a heap item for the tests: its deadline and where the heap put it.
type item struct {
	at  int64
	idx int
}

type itemTimes struct{}

func (itemTimes) Deadline(x *item) int64  { return x.at }
func (itemTimes) SetIndex(x *item, i int) { x.idx = i }

// check fails the test unless h is a heap whose items record their own index and whose
// deadlines are want's, in any order.
func check(t *testing.T, h *Heap[*item, itemTimes], want map[*item]bool) {
	t.Helper()
	if h.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", h.Len(), len(want))
	}
	for i, x := range h.items {
		if x.idx != i {
			t.Fatalf("item at %d records index %d", i, x.idx)
		}
		if !want[x] {
			t.Fatalf("item %+v should not be in the heap", x)
		}
		if p := (i - 1) / 2; i > 0 && h.items[p].at > x.at {
			t.Fatalf("parent %d (at %d) after child %d (at %d)", p, h.items[p].at, i, x.at)
		}
	}
}

// TestHeap drives a heap through random pushes, removals and deadline changes, checking the
// heap property and every recorded index after each step, then drains it in deadline order.
func TestHeap(t *testing.T) {
	for _, span := range []int64{1, 10, 1 << 40} { // 1: every deadline equal
		t.Run(fmt.Sprintf("span=%d", span), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(span), 3))
			var h Heap[*item, itemTimes]
			in := map[*item]bool{}
			var all []*item
			for step := range 3000 {
				switch op := r.IntN(4); {
				case op <= 1 || len(all) == 0:
					x := &item{at: r.Int64N(span), idx: -1}
					h.Push(x)
					in[x] = true
					all = append(all, x)
				case op == 2:
					x := all[r.IntN(len(all))]
					h.Remove(x.idx) // a no-op for an item already out
					if x.idx != -1 {
						t.Fatalf("step %d: removed item records index %d", step, x.idx)
					}
					delete(in, x)
				default:
					x := all[r.IntN(len(all))]
					if x.idx >= 0 {
						x.at = r.Int64N(span)
						h.Fix(x.idx)
					}
				}
				check(t, &h, in)
			}
			var got, want []int64
			for x := range in {
				want = append(want, x.at)
			}
			slices.Sort(want)
			for h.Len() > 0 {
				x := h.Min()
				got = append(got, x.at)
				h.Remove(x.idx)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("drained %v, want %v", got, want)
			}
			if cap(h.items) > 0 && h.items[:cap(h.items)][0] != nil {
				t.Fatal("the heap keeps a reference to a removed item")
			}
		})
	}
}

// TestHeapAllocs checks that a heap at its size moves items without allocating.
func TestHeapAllocs(t *testing.T) {
	var h Heap[*item, itemTimes]
	xs := make([]*item, 64)
	for i := range xs {
		xs[i] = &item{at: int64(i), idx: -1}
		h.Push(xs[i])
	}
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		x := xs[n%len(xs)]
		n++
		h.Remove(x.idx)
		x.at += 7
		h.Push(x)
		x.at -= 3
		h.Fix(x.idx)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per remove, push and fix; want 0", allocs)
	}
}
