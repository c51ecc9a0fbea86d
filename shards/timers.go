package shards

// sessionHeap is a shard's min-heap of sessions by wakeAt: each session
// is in it at most once, at its earliest deadline (offline expiry, delayed
// will, PUBREL timeout, queued message expiry).
type sessionHeap []*session

func (h *sessionHeap) push(s *session) {
	s.heapIdx = int32(len(*h))
	*h = append(*h, s)
	h.up(int(s.heapIdx))
}

func (h *sessionHeap) remove(s *session) {
	i := int(s.heapIdx)
	if i < 0 {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	s.heapIdx = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

func (h sessionHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = int32(i)
	h[j].heapIdx = int32(j)
}

func (h sessionHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].wakeAt <= h[i].wakeAt {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h sessionHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].wakeAt < h[l].wakeAt {
			m = r
		}
		if h[i].wakeAt <= h[m].wakeAt {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// reschedule puts s in its shard's heap at its earliest deadline, or takes
// it out when it has none.
func (s *session) reschedule() {
	var next int64
	earliest := func(t int64) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	earliest(s.expireAt)
	if s.will != nil {
		earliest(s.will.at)
	}
	if s.awaitRelLen() > 0 {
		timeout := int64(s.cfg.AwaitPubrelTimeout)
		for _, at := range s.x.awaitRel {
			earliest(at + timeout)
		}
	}
	h := &s.sh.timers
	h.remove(s) // a no-op when s is not in the heap
	s.wakeAt = next
	if next != 0 && !s.dead {
		h.push(s)
	}
}

// onTimer runs whatever of s is due at now (Unix ns).
func (s *session) onTimer(now int64) {
	if s.dead {
		return
	}
	if s.will != nil && s.will.at != 0 && now >= s.will.at {
		s.publishWill()
	}
	if s.awaitRelLen() > 0 {
		timeout := int64(s.cfg.AwaitPubrelTimeout)
		for id, at := range s.x.awaitRel {
			if now >= at+timeout {
				delete(s.x.awaitRel, id)
				dr := s.drops()
				dr.RecvMsgDropped++
				dr.RecvMsgDroppedAwaitPubrelTimeout++
			}
		}
	}
	if s.expireAt != 0 && now >= s.expireAt && s.conn == nil {
		s.expireAt = 0
		s.end()
		return
	}
	s.reschedule()
}
