package shards

import (
	"context"
	"strings"
	"sync/atomic"
	"time"
)

// BrokerStats are broker-wide counts in EMQX's terms; each Max is the
// highest value the count reached since the broker started (Topics is
// sampled when Stats runs).
type BrokerStats struct {
	// Connections counts sessions with or without a connection (EMQX
	// counts a kept offline session as a connection too).
	Connections, ConnectionsMax int64
	// LiveConnections counts connected clients.
	LiveConnections, LiveConnectionsMax int64
	// Sessions counts sessions.
	Sessions, SessionsMax int64
	// Subscriptions counts subscriptions, shared ones included.
	Subscriptions, SubscriptionsMax int64
	// SubscriptionsShared counts $share/$queue subscriptions.
	SubscriptionsShared, SubscriptionsSharedMax int64
	// Topics counts distinct topic filters.
	Topics, TopicsMax int64
	// Retained counts retained messages.
	Retained, RetainedMax int64
}

// gauge is a count with its high-water mark.
type gauge struct {
	n, max atomic.Int64
}

func (g *gauge) add(d int64) { g.raise(g.n.Add(d)) }

// set replaces the count (for counts sampled from elsewhere).
func (g *gauge) set(v int64) {
	g.n.Store(v)
	g.raise(v)
}

// raise lifts the high-water mark to v.
func (g *gauge) raise(v int64) {
	for {
		m := g.max.Load()
		if v <= m || g.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Uptime returns how long the broker has run.
func (b *Broker) Uptime() time.Duration { return time.Since(b.started) }

// Stats returns broker-wide counts. Safe from any goroutine; it visits
// every shard to count distinct topic filters.
func (b *Broker) Stats(ctx context.Context) (BrokerStats, error) {
	var shared int64
	topics := make(map[string]struct{})
	err := b.eachShard(ctx, func(sh *shard) {
		for _, s := range sh.sessions {
			for f := range s.subs.All() {
				if strings.HasPrefix(f, "$share/") || strings.HasPrefix(f, "$queue/") {
					shared++
				}
				topics[f] = struct{}{}
			}
		}
	})
	if err != nil {
		return BrokerStats{}, err
	}
	b.sharedSubs.set(shared)
	b.topics.set(int64(len(topics)))
	st := b.Levels()
	st.SubscriptionsShared, st.SubscriptionsSharedMax = b.sharedSubs.n.Load(), b.sharedSubs.max.Load()
	st.Topics, st.TopicsMax = b.topics.n.Load(), b.topics.max.Load()
	return st, nil
}

// Started returns when the broker was created. Safe from any goroutine.
func (b *Broker) Started() time.Time { return b.started }

// Version returns the broker version (Config.Version). Safe from any
// goroutine.
func (b *Broker) Version() string { return b.cfg.Version }
