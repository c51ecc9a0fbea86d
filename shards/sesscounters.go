package shards

// sessCounters are the Counters a session accumulates; the gauges and
// limits (subscriptions, inflight, queue, awaiting PUBREL, mailbox, heap)
// are read from the session when stats builds its Counters, so the session
// does not carry them (80 B less per session).
type sessCounters struct {
	MqueueDropped                    int64
	RecvOct                          int64
	RecvCnt                          int64
	RecvPkt                          int64
	RecvMsg                          int64
	RecvMsgQoS0                      int64
	RecvMsgQoS1                      int64
	RecvMsgQoS2                      int64
	RecvMsgDropped                   int64
	RecvMsgDroppedAwaitPubrelTimeout int64
	SendOct                          int64
	SendCnt                          int64
	SendPkt                          int64
	SendMsg                          int64
	SendMsgQoS0                      int64
	SendMsgQoS1                      int64
	SendMsgQoS2                      int64
	SendMsgDropped                   int64
	SendMsgDroppedExpired            int64
	SendMsgDroppedQueueFull          int64
	SendMsgDroppedTooLarge           int64
	Reductions                       int64
}

// counters returns a's values as Counters, the gauges and limits zero.
func (a *sessCounters) counters() Counters {
	return Counters{
		MqueueDropped:                    a.MqueueDropped,
		RecvOct:                          a.RecvOct,
		RecvCnt:                          a.RecvCnt,
		RecvPkt:                          a.RecvPkt,
		RecvMsg:                          a.RecvMsg,
		RecvMsgQoS0:                      a.RecvMsgQoS0,
		RecvMsgQoS1:                      a.RecvMsgQoS1,
		RecvMsgQoS2:                      a.RecvMsgQoS2,
		RecvMsgDropped:                   a.RecvMsgDropped,
		RecvMsgDroppedAwaitPubrelTimeout: a.RecvMsgDroppedAwaitPubrelTimeout,
		SendOct:                          a.SendOct,
		SendCnt:                          a.SendCnt,
		SendPkt:                          a.SendPkt,
		SendMsg:                          a.SendMsg,
		SendMsgQoS0:                      a.SendMsgQoS0,
		SendMsgQoS1:                      a.SendMsgQoS1,
		SendMsgQoS2:                      a.SendMsgQoS2,
		SendMsgDropped:                   a.SendMsgDropped,
		SendMsgDroppedExpired:            a.SendMsgDroppedExpired,
		SendMsgDroppedQueueFull:          a.SendMsgDroppedQueueFull,
		SendMsgDroppedTooLarge:           a.SendMsgDroppedTooLarge,
		Reductions:                       a.Reductions,
	}
}
