package shards

import (
	"context"
	"errors"
	"slices"
	"strings"
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
			// The change is in the catalog's hands before the answer.
			s.sh.snapshotLife(s.sh.loop.Now())
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
// A client whose CONNECT is under way is found too, idle (idle.go).
func (b *Broker) ClientInfo(ctx context.Context, clientid string) (ClientRow, error) {
	var row ClientRow
	err := b.onOwnerCounted(ctx, clientid, false, func(s *session) {
		row = s.row(s.sh.loop.Now())
		if r, ok := s.sh.idleRow(clientid); ok {
			row = r
		}
	})
	if errors.Is(err, ErrClientNotFound) {
		if r, ok, ierr := b.idleClient(ctx, clientid); ierr != nil {
			return ClientRow{}, ierr
		} else if ok {
			return r, nil
		}
	}
	return row, err
}

// Kick closes clientid's connection (MQTT 5: DISCONNECT 0x98), publishes
// its will, and discards its session. Safe from any goroutine; the session
// is gone when Kick returns nil.
// A connection whose CONNECT is under way (idle) is refused instead,
// and its offline session, if any, discarded.
func (b *Broker) Kick(ctx context.Context, clientid string) error {
	idle, err := b.kickIdle(ctx, clientid)
	if err != nil {
		return err
	}
	err = b.onOwner(ctx, clientid, func(s *session) {
		if c := s.conn; c != nil {
			cs := s.cstate()
			s.sh.closeConn(c, cs, ErrKicked)
			s.sh.detach(s, c, cs, ErrKicked)
			return
		}
		s.end()
	})
	if idle && errors.Is(err, ErrClientNotFound) {
		return nil
	}
	return err
}

// SetKeepalive changes the keep alive of clientid's connection to secs
// seconds (0: none), as EMQX's PUT /clients/{id}/keepalive: the
// connection is closed when nothing arrives for KeepaliveFactor times
// that (MQTT 5: DISCONNECT 0x8D), counted from now. It returns the
// client's row. An offline session has no keep alive to change:
// ErrNotConnected. Safe from any goroutine.
func (b *Broker) SetKeepalive(ctx context.Context, clientid string, secs uint16) (ClientRow, error) {
	var row ClientRow
	var ferr error
	err := b.onOwner(ctx, clientid, func(s *session) {
		c := s.conn
		if c == nil {
			ferr = ErrNotConnected
			return
		}
		s.keepalive = secs
		if secs > 0 {
			c.SetIdleTimeout(time.Duration(float64(secs) * s.cfg.KeepaliveFactor * float64(time.Second)))
		} else {
			c.SetIdleTimeout(0)
		}
		s.markLife()
		row = s.row(s.sh.loop.Now())
	})
	if err != nil {
		return ClientRow{}, err
	}
	return row, ferr
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
				if _, ok := s.subs.Get(r.Topic); !ok {
					added++
				}
			}
			if s.subs.Len()+added > max {
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
		for f, o := range s.subs.All() {
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
				for f, o := range s.subs.All() {
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

// Topics returns the topic filters subscribed to on this node, each once,
// a shared subscription's without its "$share/{group}/" (or "$queue/")
// prefix, sorted. Safe from any goroutine; it visits every shard.
func (b *Broker) Topics(ctx context.Context) ([]string, error) {
	seen := make(map[string]struct{})
	err := b.eachShard(ctx, func(sh *shard) {
		for _, s := range sh.sessions {
			for f := range s.subs.All() {
				seen[routeOf(f)] = struct{}{}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

// routeOf returns the filter a subscription routes by: without the
// "$share/{group}/" or "$queue/" prefix.
func routeOf(f string) string {
	if rest, ok := strings.CutPrefix(f, "$queue/"); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		if _, filter, ok := strings.Cut(rest, "/"); ok {
			return filter
		}
	}
	return f
}

// DeleteRetained removes the message retained under topic and reports
// whether there was one; a durable store forgets it too. Safe from any
// goroutine.
func (b *Broker) DeleteRetained(ctx context.Context, topic string) (bool, error) {
	sh := b.firstShard()
	if sh == nil {
		return b.retain.Delete(topic), nil
	}
	var found bool
	err := sh.run(ctx, func() {
		if found = b.retain.Delete(topic); found {
			sh.storeRetainedOp(&retained.Message{Topic: topic})
		}
	})
	return found, err
}
