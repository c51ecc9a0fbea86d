package shards

// sessionTimes gives a shard's timer heap a session's deadline and index:
// each session is in the heap at most once, at its earliest deadline
// (offline expiry, delayed will, PUBREL timeout), which reschedule keeps.
type sessionTimes struct{}

// Deadline returns s's deadline in the heap (Unix ns).
func (sessionTimes) Deadline(s *session) int64 { return s.wakeAt }

// SetIndex records s's index in the heap.
func (sessionTimes) SetIndex(s *session, i int) { s.heapIdx = int32(i) }

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
	h.Remove(int(s.heapIdx)) // a no-op when s is not in the heap
	s.wakeAt = next
	if next != 0 && !s.dead {
		h.Push(s)
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
				s.storeAwaitRel(id, true)
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
