// Package deadline is a min-heap of items by deadline, the timer structure
// of an event loop: netio keeps its connections in one (CONNECT and idle
// timeouts), each shard its sessions (offline expiry, delayed will, PUBREL
// timeout). An item records its own index in the heap, so removing it or
// moving its deadline costs O(log n) and no search.
//
// The package is a leaf: it imports nothing, so that netio and shards may
// both use it without either importing the other.
package deadline

// Access gives a Heap the two fields an item keeps for it: its deadline and
// its index in the heap. Implement it on an empty struct type, so that the
// heap's calls compile to direct field accesses:
//
//	type connTimes struct{}
//
//	func (connTimes) Deadline(c *Conn) int64   { return c.deadline }
//	func (connTimes) SetIndex(c *Conn, i int) { c.heapIdx = i }
type Access[T any] interface {
	// Deadline returns x's deadline (any int64 order, such as Unix
	// nanoseconds). It must not change while x is in the heap, except
	// just before Fix.
	Deadline(x T) int64
	// SetIndex records x's index in the heap, or -1 when x leaves it.
	SetIndex(x T, i int)
}

// Heap is a min-heap of items by deadline; the zero value is an empty heap.
// An item is in the heap at most once.
//
// Concurrency contract: none. A Heap belongs to one goroutine (an event
// loop), as do the fields its Access reads and writes.
type Heap[T any, A Access[T]] struct {
	items []T
}

// Len returns the number of items.
func (h *Heap[T, A]) Len() int { return len(h.items) }

// Min returns the item with the earliest deadline; the heap must not be
// empty.
func (h *Heap[T, A]) Min() T { return h.items[0] }

// Push adds x, which must not be in the heap.
func (h *Heap[T, A]) Push(x T) {
	var a A
	i := len(h.items)
	h.items = append(h.items, x)
	a.SetIndex(x, i)
	h.up(i)
}

// Remove takes out the item at index i (as recorded by SetIndex); a
// negative i, an item not in the heap, does nothing.
func (h *Heap[T, A]) Remove(i int) {
	if i < 0 {
		return
	}
	var a A
	last := len(h.items) - 1
	x := h.items[i]
	if i != last {
		h.swap(i, last)
	}
	var zero T
	h.items[last] = zero // the heap keeps no reference to x
	h.items = h.items[:last]
	a.SetIndex(x, -1)
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// Fix restores the order after the deadline of the item at index i
// changed.
func (h *Heap[T, A]) Fix(i int) {
	h.down(i)
	h.up(i)
}

func (h *Heap[T, A]) swap(i, j int) {
	var a A
	h.items[i], h.items[j] = h.items[j], h.items[i]
	a.SetIndex(h.items[i], i)
	a.SetIndex(h.items[j], j)
}

func (h *Heap[T, A]) up(i int) {
	var a A
	for i > 0 {
		p := (i - 1) / 2
		if a.Deadline(h.items[p]) <= a.Deadline(h.items[i]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *Heap[T, A]) down(i int) {
	var a A
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && a.Deadline(h.items[r]) < a.Deadline(h.items[l]) {
			m = r
		}
		if a.Deadline(h.items[i]) <= a.Deadline(h.items[m]) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
