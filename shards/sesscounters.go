package shards

import "math"

// counter names one of the counters every active session moves: packets,
// bytes, messages by QoS and reductions. The gauges and limits
// (subscriptions, inflight, queue, awaiting PUBREL, mailbox, heap) are read
// from the session when stats builds its Counters, and the drop counters,
// rarely non-zero, live in the session's sessExtra (sessDrops).
type counter uint8

const (
	cRecvOct counter = iota
	cRecvCnt
	cRecvPkt
	cRecvMsg
	cRecvMsgQoS0
	cRecvMsgQoS1
	cRecvMsgQoS2
	cSendOct
	cSendCnt
	cSendPkt
	cSendMsg
	cSendMsgQoS0
	cSendMsgQoS1
	cSendMsgQoS2
	cReductions
	nCounters
)

// sessCounters are a session's accumulated counters (socket counters of
// past connections included), 32 bits each: an idle session holds 60 B of
// counters instead of 120 B. A count that would pass 2^32-1 moves the
// whole value into sessExtra.high (add), so no count is lost; a counter's
// value is its low part here plus its high part there.
type sessCounters [nCounters]uint32

// sessDrops are the drop counters, kept in sessExtra: a session that never
// dropped a message holds none of them.
type sessDrops struct {
	MqueueDropped                    int64
	RecvMsgDropped                   int64
	RecvMsgDroppedAwaitPubrelTimeout int64
	SendMsgDropped                   int64
	SendMsgDroppedExpired            int64
	SendMsgDroppedQueueFull          int64
	SendMsgDroppedTooLarge           int64
}

// count adds 1 to counter i. It runs on s's shard.
func (s *session) count(i counter) {
	if s.counters[i] == math.MaxUint32 {
		s.carry(i, math.MaxUint32+1)
		return
	}
	s.counters[i]++
}

// countN adds n to counter i. It runs on s's shard.
func (s *session) countN(i counter, n uint64) {
	v := uint64(s.counters[i]) + n
	if v > math.MaxUint32 {
		s.carry(i, v)
		return
	}
	s.counters[i] = uint32(v)
}

// carry moves v, counter i's new value that does not fit 32 bits, into
// its high part and zeroes the low part.
//
//go:noinline
func (s *session) carry(i counter, v uint64) {
	x := s.extra()
	if x.high == nil {
		x.high = new([nCounters]int64)
	}
	x.high[i] += int64(v)
	s.counters[i] = 0
}

// drops returns s's drop counters for an increment, allocating s's
// sessExtra if it has none. It runs on s's shard.
func (s *session) drops() *sessDrops {
	s.markStats()
	return &s.extra().drops
}

// readCounters sets c's accumulated counters to s's, the live
// connection's socket counters not included; it leaves the gauges and
// limits alone. It runs on s's shard, for every session at each stats
// interval, so it writes into c rather than returning a copy.
func (s *session) readCounters(c *Counters) {
	n := &s.counters
	c.RecvOct = int64(n[cRecvOct])
	c.RecvCnt = int64(n[cRecvCnt])
	c.RecvPkt = int64(n[cRecvPkt])
	c.RecvMsg = int64(n[cRecvMsg])
	c.RecvMsgQoS0 = int64(n[cRecvMsgQoS0])
	c.RecvMsgQoS1 = int64(n[cRecvMsgQoS1])
	c.RecvMsgQoS2 = int64(n[cRecvMsgQoS2])
	c.SendOct = int64(n[cSendOct])
	c.SendCnt = int64(n[cSendCnt])
	c.SendPkt = int64(n[cSendPkt])
	c.SendMsg = int64(n[cSendMsg])
	c.SendMsgQoS0 = int64(n[cSendMsgQoS0])
	c.SendMsgQoS1 = int64(n[cSendMsgQoS1])
	c.SendMsgQoS2 = int64(n[cSendMsgQoS2])
	c.Reductions = int64(n[cReductions])
	if x := s.x; x != nil {
		x.addTo(c)
	}
}

// addTo adds x's drop counters and the counters' high parts to c.
func (x *sessExtra) addTo(c *Counters) {
	d := &x.drops
	c.MqueueDropped = d.MqueueDropped
	c.RecvMsgDropped = d.RecvMsgDropped
	c.RecvMsgDroppedAwaitPubrelTimeout = d.RecvMsgDroppedAwaitPubrelTimeout
	c.SendMsgDropped = d.SendMsgDropped
	c.SendMsgDroppedExpired = d.SendMsgDroppedExpired
	c.SendMsgDroppedQueueFull = d.SendMsgDroppedQueueFull
	c.SendMsgDroppedTooLarge = d.SendMsgDroppedTooLarge
	h := x.high
	if h == nil {
		return
	}
	c.RecvOct += h[cRecvOct]
	c.RecvCnt += h[cRecvCnt]
	c.RecvPkt += h[cRecvPkt]
	c.RecvMsg += h[cRecvMsg]
	c.RecvMsgQoS0 += h[cRecvMsgQoS0]
	c.RecvMsgQoS1 += h[cRecvMsgQoS1]
	c.RecvMsgQoS2 += h[cRecvMsgQoS2]
	c.SendOct += h[cSendOct]
	c.SendCnt += h[cSendCnt]
	c.SendPkt += h[cSendPkt]
	c.SendMsg += h[cSendMsg]
	c.SendMsgQoS0 += h[cSendMsgQoS0]
	c.SendMsgQoS1 += h[cSendMsgQoS1]
	c.SendMsgQoS2 += h[cSendMsgQoS2]
	c.Reductions += h[cReductions]
}
