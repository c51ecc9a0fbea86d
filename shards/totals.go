package shards

import (
	"sync/atomic"
	"time"
)

// shardTotals are one shard's broker-wide traffic counts: the counters of
// its sessions summed on the shard's goroutine at the stats interval and
// published through an atomic pointer, so that nothing shared is written
// per message.
type shardTotals struct {
	// ended, last and every are owned by the shard goroutine.
	ended Counters // cumulative counters of the shard's ended sessions
	last  time.Time
	// every is the interval between sums: the stats interval, stretched
	// so that summing takes at most 1% of the shard's time (a sum walks
	// every session: about 40 ns each when they fit in the caches, 250 ns
	// at 100,000 sessions on the shard).
	every time.Duration
	// published is the latest sum, read by Broker.Totals from any
	// goroutine; a published value is never modified.
	published atomic.Pointer[Counters]
	// rate is the growth per second of the cumulative counters between
	// the last two sums, read by Broker.Rates; never modified once
	// published.
	rate atomic.Pointer[Counters]
}

// retire folds the cumulative counters of s, which is ending, into the
// shard's totals. It runs on s's shard.
func (t *shardTotals) retire(s *session) {
	c := s.stats()
	t.ended.addCumulative(&c)
}

// maybePublishTotals sums the shard's counters when a stats interval (or
// the stretched interval, see every) has passed since the last sum. It
// runs on the shard goroutine.
func (sh *shard) maybePublishTotals(now time.Time) {
	t := &sh.totals
	if now.Sub(t.last) < max(t.every, sh.b.cfg.StatsInterval) && t.published.Load() != nil {
		return
	}
	prevAt, prev := t.last, t.published.Load()
	t.last = now
	sum := t.ended
	for _, s := range sh.sessions {
		c := s.stats()
		sum.addCumulative(&c)
		sum.addGauges(&c)
	}
	t.published.Store(&sum)
	if dt := now.Sub(prevAt).Seconds(); prev != nil && dt > 0 {
		r := sum.perSecond(prev, dt)
		t.rate.Store(&r)
	}
	t.every = 100 * time.Since(now)
}

// perSecond returns how fast the cumulative counters grew from prev to c
// over dt seconds, rounded down.
func (c *Counters) perSecond(prev *Counters, dt float64) Counters {
	d := *c
	neg := *prev
	neg.negateCumulative()
	d.addCumulative(&neg)
	var r Counters
	for _, f := range []struct{ dst, v *int64 }{
		{&r.RecvOct, &d.RecvOct}, {&r.RecvCnt, &d.RecvCnt}, {&r.RecvPkt, &d.RecvPkt}, {&r.RecvMsg, &d.RecvMsg},
		{&r.RecvMsgDropped, &d.RecvMsgDropped}, {&r.SendOct, &d.SendOct}, {&r.SendCnt, &d.SendCnt},
		{&r.SendPkt, &d.SendPkt}, {&r.SendMsg, &d.SendMsg}, {&r.SendMsgDropped, &d.SendMsgDropped},
		{&r.MqueueDropped, &d.MqueueDropped},
	} {
		*f.dst = int64(float64(max(*f.v, 0)) / dt)
	}
	return r
}

// negateCumulative negates the counters addCumulative adds.
func (c *Counters) negateCumulative() {
	for _, p := range []*int64{&c.MqueueDropped, &c.RecvOct, &c.RecvCnt, &c.RecvPkt, &c.RecvMsg, &c.RecvMsgQoS0,
		&c.RecvMsgQoS1, &c.RecvMsgQoS2, &c.RecvMsgDropped, &c.RecvMsgDroppedAwaitPubrelTimeout, &c.SendOct,
		&c.SendCnt, &c.SendPkt, &c.SendMsg, &c.SendMsgQoS0, &c.SendMsgQoS1, &c.SendMsgQoS2, &c.SendMsgDropped,
		&c.SendMsgDroppedExpired, &c.SendMsgDroppedQueueFull, &c.SendMsgDroppedTooLarge} {
		*p = -*p
	}
}

// Rates returns how fast the broker's traffic counters grow, per second,
// over each shard's last stats interval (see Totals): messages and bytes
// received and sent, packets, drops (RecvMsgDropped, SendMsgDropped,
// MqueueDropped). The other fields are zero. Safe from any goroutine.
func (b *Broker) Rates() Counters {
	var sum Counters
	for _, sh := range b.shardList() {
		if p := sh.totals.rate.Load(); p != nil {
			sum.addCumulative(p)
		}
	}
	return sum
}

// addCumulative adds the counters of o that only grow.
func (c *Counters) addCumulative(o *Counters) {
	c.MqueueDropped += o.MqueueDropped
	c.RecvOct += o.RecvOct
	c.RecvCnt += o.RecvCnt
	c.RecvPkt += o.RecvPkt
	c.RecvMsg += o.RecvMsg
	c.RecvMsgQoS0 += o.RecvMsgQoS0
	c.RecvMsgQoS1 += o.RecvMsgQoS1
	c.RecvMsgQoS2 += o.RecvMsgQoS2
	c.RecvMsgDropped += o.RecvMsgDropped
	c.RecvMsgDroppedAwaitPubrelTimeout += o.RecvMsgDroppedAwaitPubrelTimeout
	c.SendOct += o.SendOct
	c.SendCnt += o.SendCnt
	c.SendPkt += o.SendPkt
	c.SendMsg += o.SendMsg
	c.SendMsgQoS0 += o.SendMsgQoS0
	c.SendMsgQoS1 += o.SendMsgQoS1
	c.SendMsgQoS2 += o.SendMsgQoS2
	c.SendMsgDropped += o.SendMsgDropped
	c.SendMsgDroppedExpired += o.SendMsgDroppedExpired
	c.SendMsgDroppedQueueFull += o.SendMsgDroppedQueueFull
	c.SendMsgDroppedTooLarge += o.SendMsgDroppedTooLarge
}

// addGauges adds the current levels of o (subscriptions, inflight,
// queued, awaiting PUBREL); the limits (…Max) are not summed.
func (c *Counters) addGauges(o *Counters) {
	c.SubscriptionsCnt += o.SubscriptionsCnt
	c.InflightCnt += o.InflightCnt
	c.MqueueLen += o.MqueueLen
	c.AwaitingRelCnt += o.AwaitingRelCnt
}

// Totals returns the sum of every session's counters since the broker
// started, ended sessions included: cumulative counters (messages and
// bytes in and out, by QoS, drops by reason) and current levels
// (subscriptions, inflight, queued and awaiting-PUBREL messages); the
// …Max limits are zero. Each shard sums its own sessions at its stats
// interval (stretched on shards so large that the sum would take more than
// 1% of their time), so the values are up to one interval old. Safe from any goroutine; it does not wait for the shards.
func (b *Broker) Totals() Counters {
	var sum Counters
	for _, sh := range b.shardList() {
		if p := sh.totals.published.Load(); p != nil {
			sum.addCumulative(p)
			sum.addGauges(p)
		}
	}
	return sum
}

// Levels returns the broker-wide counts that cost no walk over the
// sessions: connections, live connections, sessions, subscriptions and
// retained messages with their high-water marks. The shared-subscription
// and topic counts are zero (Stats walks the shards for them). Safe from
// any goroutine.
func (b *Broker) Levels() BrokerStats {
	b.retainedN.set(int64(b.retain.Len()))
	b.subsN.set(int64(b.index.Len()))
	return BrokerStats{
		Connections: b.sessionsN.n.Load(), ConnectionsMax: b.sessionsN.max.Load(),
		LiveConnections: b.liveN.n.Load(), LiveConnectionsMax: b.liveN.max.Load(),
		Sessions: b.sessionsN.n.Load(), SessionsMax: b.sessionsN.max.Load(),
		Subscriptions: b.subsN.n.Load(), SubscriptionsMax: b.subsN.max.Load(),
		Retained: b.retainedN.n.Load(), RetainedMax: b.retainedN.max.Load(),
	}
}
