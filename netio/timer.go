package netio

// timerHeap is a min-heap of connections by deadline (Unix nanoseconds),
// owned by one loop. A connection's deadline moves lazily: reading data only
// records the time, and the heap entry is corrected when it comes due, so
// traffic costs no heap operation.
type timerHeap []*Conn

func (h *timerHeap) push(c *Conn, deadline int64) {
	c.deadline = deadline
	c.heapIdx = len(*h)
	*h = append(*h, c)
	h.up(c.heapIdx)
}

func (h *timerHeap) remove(c *Conn) {
	i := c.heapIdx
	if i < 0 {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	c.heapIdx = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

func (h *timerHeap) update(c *Conn, deadline int64) {
	c.deadline = deadline
	h.down(c.heapIdx)
	h.up(c.heapIdx)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].deadline <= h[i].deadline {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].deadline < h[l].deadline {
			m = r
		}
		if h[i].deadline <= h[m].deadline {
			return
		}
		h.swap(i, m)
		i = m
	}
}
