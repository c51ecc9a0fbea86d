package shards

import (
	"context"
	"strings"
	"sync/atomic"
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

// shards returns the shards discovered so far.
func (b *Broker) shardList() []*shard {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*shard(nil), b.shards...)
}

// eachShard runs fn on every shard's loop and waits for all of them (up to
// ctx's deadline).
func (b *Broker) eachShard(ctx context.Context, fn func(sh *shard)) error {
	for _, sh := range b.shardList() {
		if err := sh.run(ctx, func() { fn(sh) }); err != nil {
			return err
		}
	}
	return nil
}

// run runs fn on sh's loop and waits for it up to ctx's deadline. It
// returns ErrNotServing when the loop no longer takes functions and ctx's
// error when it stopped waiting (fn may still run after that, so the
// caller must not read what fn writes). Safe from any goroutine but sh's.
func (sh *shard) run(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if err := sh.loop.Execute(func() { fn(); close(done) }); err != nil {
		return ErrNotServing
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns broker-wide counts. Safe from any goroutine; it visits
// every shard to count distinct topic filters.
func (b *Broker) Stats(ctx context.Context) (BrokerStats, error) {
	var shared int64
	topics := make(map[string]struct{})
	err := b.eachShard(ctx, func(sh *shard) {
		for _, s := range sh.sessions {
			for f := range s.subs {
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

// ListSubscriptions calls yield for every subscription of every session,
// in no particular order, until yield returns false. The subscriptions are
// collected shard by shard, then yielded on the caller's goroutine. Safe
// from any goroutine.
func (b *Broker) ListSubscriptions(ctx context.Context, yield func(Subscription) bool) error {
	for _, sh := range b.shardList() {
		var subs []Subscription
		if err := sh.run(ctx, func() {
			for _, s := range sh.sessions {
				for f, o := range s.subs {
					subs = append(subs, Subscription{ClientID: s.id, Topic: f, Options: o})
				}
			}
		}); err != nil {
			return err
		}
		for _, s := range subs {
			if !yield(s) {
				return nil
			}
		}
	}
	return nil
}
