package shards

import (
	"context"
	"errors"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// SubscribeRequest is one subscription made on behalf of a client by the
// API. Topic may be "$share/{group}/{filter}".
type SubscribeRequest struct {
	Topic   string
	Options SubOptions
}

// Subscription is one subscription of a session.
type Subscription struct {
	// ClientID is the subscribing client.
	ClientID string
	// Topic is the filter as subscribed, "$share/{group}/" prefix included.
	Topic string
	// Options are the subscription's options.
	Options SubOptions
}

// PublishRequest is a message published by the API.
type PublishRequest struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the MQTT 5 properties the message carries (payload
	// format, message expiry, content type, response topic, correlation
	// data, user properties); others are ignored.
	Properties mqtt.Properties
}

// onOwner runs fn on the shard that owns clientid's session, with that
// session, and waits for it up to ctx's deadline. It returns
// ErrClientNotFound when there is no such session.
func (b *Broker) onOwner(ctx context.Context, clientid string, fn func(s *session)) error {
	return b.onOwnerCounted(ctx, clientid, true, fn)
}

// onOwnerCounted is onOwner; count says whether the command counts in the
// session's reductions (reads do not, so observing a session does not
// change it).
func (b *Broker) onOwnerCounted(ctx context.Context, clientid string, count bool, fn func(s *session)) error {
	for attempt := 0; attempt < 4; attempt++ {
		s, ok := b.registry.Load(clientid)
		if !ok {
			return ErrClientNotFound
		}
		done := make(chan bool, 1)
		s.mailbox.Add(1)
		err := s.sh.execute(func() {
			s.mailbox.Add(-1)
			cur := s.sh.sessions[clientid]
			if cur != s || s.dead {
				done <- false
				return
			}
			if count {
				s.count(cReductions)
				s.markStats()
			}
			fn(s)
			done <- true
		})
		if err != nil {
			s.mailbox.Add(-1)
			return ErrNotServing
		}
		select {
		case ran := <-done:
			if ran {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ErrClientNotFound
}

// ClientInfo returns the live row of clientid's session. Safe from any
// goroutine; it waits for the owning shard.
func (b *Broker) ClientInfo(ctx context.Context, clientid string) (ClientRow, error) {
	var row ClientRow
	err := b.onOwnerCounted(ctx, clientid, false, func(s *session) { row = s.row(s.sh.loop.Now()) })
	return row, err
}

// Kick closes clientid's connection (MQTT 5: DISCONNECT 0x98), publishes
// its will, and discards its session. Safe from any goroutine; the session
// is gone when Kick returns nil.
func (b *Broker) Kick(ctx context.Context, clientid string) error {
	return b.onOwner(ctx, clientid, func(s *session) {
		if c := s.conn; c != nil {
			cs := s.cstate()
			s.sh.closeConn(c, cs, ErrKicked)
			s.sh.detach(s, c, cs, ErrKicked)
			return
		}
		s.end()
	})
}

// Subscribe applies reqs to clientid's session (online or offline), all or
// nothing, before it returns. Retained messages are delivered as for a
// client's own SUBSCRIBE. Safe from any goroutine.
func (b *Broker) Subscribe(ctx context.Context, clientid string, reqs []SubscribeRequest) ([]Subscription, error) {
	var out []Subscription
	var ferr error
	err := b.onOwner(ctx, clientid, func(s *session) {
		max := s.cfg.SubscriptionsMax
		if max > 0 {
			added := 0
			for _, r := range reqs {
				if _, ok := s.subs[r.Topic]; !ok {
					added++
				}
			}
			if len(s.subs)+added > max {
				ferr = ErrTooManySubscriptions
				return
			}
		}
		for _, r := range reqs {
			res, err := s.subscribe(r.Topic, r.Options)
			if err != nil {
				ferr = err // filters are validated by the caller; not reached
				return
			}
			out = append(out, Subscription{ClientID: s.id, Topic: r.Topic, Options: r.Options})
			o := r.Options
			if !res.Shared && (o.RetainHandling == 0 || (o.RetainHandling == 1 && !res.Existed)) {
				s.sh.sendRetained(s, r.Topic, o)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, ferr
}

// Unsubscribe removes filters from clientid's session; absent ones are
// ignored. Safe from any goroutine.
func (b *Broker) Unsubscribe(ctx context.Context, clientid string, filters []string) error {
	return b.onOwner(ctx, clientid, func(s *session) {
		for _, f := range filters {
			s.unsubscribe(f)
		}
	})
}

// Subscriptions returns clientid's subscriptions. Safe from any goroutine.
func (b *Broker) Subscriptions(ctx context.Context, clientid string) ([]Subscription, error) {
	var out []Subscription
	err := b.onOwnerCounted(ctx, clientid, false, func(s *session) {
		for f, o := range s.subs {
			out = append(out, Subscription{ClientID: s.id, Topic: f, Options: o})
		}
	})
	return out, err
}

// Publish publishes a message as the broker itself and returns how many
// subscriptions it matched. It runs on a shard (routing needs one) and
// waits for the routing; with no shard yet, only the retained store can
// take the message. Safe from any goroutine.
func (b *Broker) Publish(ctx context.Context, req PublishRequest) (int, error) {
	p := &mqtt.Publish{QoS: req.QoS, Retain: req.Retain, Payload: req.Payload, Properties: req.Properties}
	sh := b.firstShard()
	if sh == nil {
		return 0, b.publishUnserved(p, req.Topic)
	}
	var n int
	err := sh.run(ctx, func() {
		m := b.newMessage(p, []byte(req.Topic), nil, nil, sh.loop.Now())
		if req.Retain {
			sh.storeRetained(m)
		}
		n = sh.publish(m)
		m.release()
	})
	if errors.Is(err, ErrNotServing) && b.registry.Len() == 0 {
		// The loops have stopped (a shutdown) and no session could
		// match: the result is what routing would give.
		return 0, b.publishUnserved(p, req.Topic)
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// publishUnserved publishes p to topic while no loop serves and no
// session exists: nothing matches, and a retained message is kept (in the
// Store too).
func (b *Broker) publishUnserved(p *mqtt.Publish, topic string) error {
	if !p.Retain {
		return nil
	}
	now := time.Now()
	m := b.newMessage(p, []byte(topic), nil, nil, now)
	r := m.retained(now)
	m.release()
	if err := b.retain.Set(r); err != nil {
		return nil // the retained store's limits refuse it, as on a shard
	}
	if b.durable {
		if err := b.store.Commit(&store.Batch{Ops: []store.Op{retainedOp(r)}}); err != nil {
			b.storeErrors.Add(1)
			return err
		}
	}
	return nil
}

// Sessions returns the number of sessions (connected or kept offline).
// Safe from any goroutine.
func (b *Broker) Sessions() int {
	return b.registry.Len()
}

// SubscriptionCount returns the number of subscriptions in the index,
// shared memberships included. Safe from any goroutine.
func (b *Broker) SubscriptionCount() int { return b.index.Len() }

// Retained returns the broker's retained store. Safe from any goroutine
// (the store is).
func (b *Broker) Retained() *retained.Store { return b.retain }

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
