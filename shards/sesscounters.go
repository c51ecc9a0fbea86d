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

// counterValues returns s's accumulated counters as Counters, the gauges
// and limits zero and the live connection's socket counters not included.
func (s *session) counterValues() Counters {
	var v [nCounters]int64
	for i, n := range s.counters {
		v[i] = int64(n)
	}
	var d sessDrops
	if x := s.x; x != nil {
		d = x.drops
		if x.high != nil {
			for i, n := range x.high {
				v[i] += n
			}
		}
	}
	return Counters{
		MqueueDropped:                    d.MqueueDropped,
		RecvOct:                          v[cRecvOct],
		RecvCnt:                          v[cRecvCnt],
		RecvPkt:                          v[cRecvPkt],
		RecvMsg:                          v[cRecvMsg],
		RecvMsgQoS0:                      v[cRecvMsgQoS0],
		RecvMsgQoS1:                      v[cRecvMsgQoS1],
		RecvMsgQoS2:                      v[cRecvMsgQoS2],
		RecvMsgDropped:                   d.RecvMsgDropped,
		RecvMsgDroppedAwaitPubrelTimeout: d.RecvMsgDroppedAwaitPubrelTimeout,
		SendOct:                          v[cSendOct],
		SendCnt:                          v[cSendCnt],
		SendPkt:                          v[cSendPkt],
		SendMsg:                          v[cSendMsg],
		SendMsgQoS0:                      v[cSendMsgQoS0],
		SendMsgQoS1:                      v[cSendMsgQoS1],
		SendMsgQoS2:                      v[cSendMsgQoS2],
		SendMsgDropped:                   d.SendMsgDropped,
		SendMsgDroppedExpired:            d.SendMsgDroppedExpired,
		SendMsgDroppedQueueFull:          d.SendMsgDroppedQueueFull,
		SendMsgDroppedTooLarge:           d.SendMsgDroppedTooLarge,
		Reductions:                       v[cReductions],
	}
}
