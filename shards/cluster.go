package shards

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// Cluster is the seam through which the shards see the other nodes of a
// cluster. The shards are its consumer; cluster.Single (the default, a
// node alone) and the NATS cluster of shards/cluster implement it.
//
// When Alone reports true (read once, by New) the shards call nothing
// else: the publish and subscribe paths pay one predictable branch.
type Cluster interface {
	// Alone reports whether this node is the whole cluster.
	Alone() bool
	// Acquire makes this node the owner of clientID's session before the
	// CONNECT is answered; another node that held it ends it there
	// (DISCONNECT 0x8E) and returns its state, which this node adopts
	// (nil when there is none, or discard: clean start). It waits on the
	// network: the shards call it off the event loops.
	Acquire(ctx context.Context, clientID string, discard bool) (*cluster.Session, error)
	// Release tells the other nodes that this node's session of clientID
	// ended (not taken over by another node). It does not block.
	Release(clientID string)
	// Interest tells the other nodes that this node gained its first (on)
	// or lost its last (!on) subscription to filter; calls for one filter
	// come in the order the index changed.
	Interest(filter string, on bool)
	// Route fills r with where a message on topic goes beyond this node.
	Route(topic, publisher []byte, r *cluster.Route)
	// NewOutbox returns the Outbox of one shard.
	NewOutbox() cluster.Outbox
	// SetRetained makes m the cluster's retained message of its topic (an
	// empty payload clears it). It does not block.
	SetRetained(m *store.Message)
}

// heldAcks are a shard's PUBACKs and PUBRECs that wait for the cluster:
// the QoS 1 and 2 messages they acknowledge went to other nodes, and the
// publisher is answered only once those nodes have them in their
// subscribers' sessions (cluster.Outbox.Flush's ack). Owned by the shard.
type heldAcks struct {
	// turn are the acknowledgements held during this loop turn, in order.
	turn []heldAck
	// awaited is set when this turn forwarded a QoS 1 or 2 message.
	awaited bool
	// queue are the turns' batches not released yet, oldest first.
	queue []*ackBatch
	// per counts each session's held acknowledgements, this turn's and
	// earlier turns' still waiting: while a session has any, its later
	// ones wait behind them, so that they leave in the order of the
	// PUBLISHes [MQTT-4.6.0-2] [MQTT-4.6.0-3].
	per map[*session]int
}

// ackBatch is one turn's held acknowledgements; done once the other
// nodes acknowledged the turn's messages.
type ackBatch struct {
	acks []heldAck
	done bool
}

// heldAck is one held PUBACK or PUBREC.
type heldAck struct {
	s  *session
	c  *netio.Conn
	t  mqtt.PacketType
	id uint16
	rc mqtt.ReasonCode
}

// ackPublish sends the PUBACK or PUBREC of an inbound PUBLISH, or holds it
// (heldAcks) when the message went to another node (forwarded) or when an
// earlier acknowledgement of the session is held.
func (sh *shard) ackPublish(s *session, c *netio.Conn, t mqtt.PacketType, id uint16, rc mqtt.ReasonCode, forwarded bool) {
	if sh.b.alone || !forwarded && sh.acked.per[s] == 0 {
		sh.ack(s, c, t, id, rc)
		return
	}
	if sh.acked.per == nil {
		sh.acked.per = make(map[*session]int)
	}
	sh.acked.per[s]++
	sh.acked.turn = append(sh.acked.turn, heldAck{s: s, c: c, t: t, id: id, rc: rc})
}

// flushCluster sends the turn's forwarded messages to the other nodes and
// releases the turn's held acknowledgements once they acknowledged (at
// once when no QoS 1 or 2 message went), after those of earlier turns. A
// node that stopped before it acknowledged took its subscribers' sessions
// with it: the acknowledgements are sent all the same. It runs on sh at
// the end of every loop turn.
func (sh *shard) flushCluster() {
	held, awaited := sh.acked.turn, sh.acked.awaited
	sh.acked.turn, sh.acked.awaited = nil, false
	if w := sh.syncTurn; w != nil {
		// Durability sync's acknowledgements of the turn wait for the
		// other nodes as well (syncack.go).
		sh.syncTurn = nil
		if len(held) == 0 {
			sh.cout.Flush(func(error) { w.committed(nil) })
			return
		}
		b := &ackBatch{acks: held}
		sh.acked.queue = append(sh.acked.queue, b)
		loop := sh.loop
		sh.cout.Flush(func(error) {
			w.committed(nil)
			_ = loop.Execute(func() {
				b.done = true
				sh.releaseAcks()
			})
		})
		return
	}
	if len(held) == 0 {
		sh.cout.Flush(nil)
		return
	}
	b := &ackBatch{acks: held}
	sh.acked.queue = append(sh.acked.queue, b)
	if !awaited {
		sh.cout.Flush(nil)
		b.done = true
		sh.releaseAcks()
		return
	}
	loop := sh.loop
	sh.cout.Flush(func(error) {
		_ = loop.Execute(func() {
			b.done = true
			sh.releaseAcks()
		})
	})
}

// releaseAcks sends the acknowledgements of the acknowledged batches at
// the head of the queue, those whose connection is still the session's.
// It runs on sh.
func (sh *shard) releaseAcks() {
	q := sh.acked.queue
	for len(q) > 0 && q[0].done {
		for _, a := range q[0].acks {
			if n := sh.acked.per[a.s] - 1; n > 0 {
				sh.acked.per[a.s] = n
			} else {
				delete(sh.acked.per, a.s)
			}
			if a.s.conn == a.c && !a.s.dead {
				sh.ack(a.s, a.c, a.t, a.id, a.rc)
			}
		}
		q[0] = nil
		q = q[1:]
	}
	if len(q) == 0 {
		q = nil
	}
	sh.acked.queue = q
}

// acquireTimeout bounds the wait for the cluster's answer to Acquire
// before a CONNECT is refused with 0x88 (server unavailable).
const acquireTimeout = 10 * time.Second

// acquired is the answer of Cluster.Acquire for a held CONNECT: the state
// of the session another node gave up (nil when none), or the error, and
// the password check's outcome so that the CONNECT, handed over again,
// does not run it twice.
type acquired struct {
	state *cluster.Session
	err   error
	authn bool
}

// acquire makes this node the owner of the client id of the CONNECT on c
// before it is answered: alone, it reports true at once. Otherwise the
// connection is held and Cluster.Acquire runs off the loop (it waits on
// the network: the client may hold a session on another node, which ends
// it with DISCONNECT 0x8E and returns its state); when the answer is back
// on the loop the same CONNECT is handed over again and finds it in
// sh.acquiring. The answer is taken once: a later CONNECT on the same
// connection never comes (a second CONNECT is a protocol error). It
// reports whether the CONNECT goes on now, with the state to adopt.
func (sh *shard) acquire(c *netio.Conn, cs *connState, p *mqtt.Connect, id string, authn bool) (*cluster.Session, bool) {
	if sh.b.alone {
		return nil, true
	}
	if a, ok := sh.acquiring[c]; ok {
		delete(sh.acquiring, c)
		if a.err != nil {
			// The cluster cannot tell whether another node holds the
			// session: refused with 0x88, the client tries again.
			sh.refuse(c, cs, p.Version, mqtt.ServerUnavailable, a.err)
			return nil, false
		}
		return a.state, true
	}
	c.Hold()
	sh.beginIdle(c, cs, sh.b.listenerOf(c), p, id) // listed as idle until the CONNECT ends
	b, loop, discard := sh.b, sh.loop, p.CleanStart
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), acquireTimeout)
		state, err := b.cluster.Acquire(ctx, id, discard)
		cancel()
		_ = loop.Execute(func() {
			if c.Closing() {
				return
			}
			sh := b.shardOf(loop)
			if sh.acquiring == nil {
				sh.acquiring = make(map[*netio.Conn]acquired)
			}
			sh.acquiring[c] = acquired{state: state, err: err, authn: authn}
			// The CONNECT comes back with the password's outcome, so
			// that it is not checked again.
			cs.pwd = &pwdResult{authn: authn}
			c.Resume()
		})
	}()
	return nil, false
}

// adopt makes st, the state of a session another node gave up, the
// session of client id on sh: its subscriptions, will and expiry, its
// messages in flight (resent with DUP under their packet ids when the
// client resumes) and queued, and its inbound QoS 2 exchanges. It runs on
// sh for a CONNECT without clean start.
func (sh *shard) adopt(id string, st *cluster.Session, now time.Time) *session {
	s := newSession(sh, id, now)
	r := st.Session
	if r != nil {
		s.createdAt = r.CreatedAt
		s.expiry = r.Expiry
		s.username = r.Username
		s.version = mqtt.Version(r.Version)
		for _, sub := range r.Subscriptions {
			opts := SubOptions{QoS: sub.QoS, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished,
				RetainHandling: sub.RetainHandling, ID: sub.ID}
			if _, err := sh.b.index.Subscribe(s, sub.Filter, opts); err != nil {
				continue // a filter the other node took is valid here too
			}
			s.subs.Set(sub.Filter, opts)
		}
		sh.b.subsN.set(int64(sh.b.index.Len()))
		if r.Will != nil {
			m := sh.fromStored(r.Will, now)
			m.expiry = r.WillExpiry // counted from the will's publication
			s.will = &willMsg{msg: m, delay: r.WillDelay}
		}
	}
	for _, d := range st.Queue {
		m := sh.fromStored(d.Message, now)
		dl := delivery{msg: m, qos: d.QoS, retain: d.Retain}
		if len(d.SubIDs) > 0 {
			dl.subID = d.SubIDs[0]
			if len(d.SubIDs) > 1 {
				dl.moreIDs = append([]uint32(nil), d.SubIDs[1:]...)
			}
		}
		// The window or the queue takes the one reference; this node's
		// store keeps it from now on.
		s.storeQueued(&dl)
		x := s.extra()
		if d.PacketID != 0 && d.QoS > 0 {
			s.storeSent(&dl, d.PacketID, d.Released) // before dl is copied: it notes its Op
			x.inflight = append(x.inflight, outMsg{d: dl, id: d.PacketID, rel: d.Released})
			x.nextID = max(x.nextID, d.PacketID)
		} else {
			x.queue = append(x.queue, dl)
			s.notePositions()
		}
		x.heap += int64(m.size)
	}
	for _, id := range st.AwaitRel {
		x := s.extra()
		if x.awaitRel == nil {
			x.awaitRel = make(map[uint16]int64)
		}
		x.awaitRel[id] = now.UnixNano()
		s.storeAwaitRel(id, false)
	}
	s.markLife()
	return s
}

// endKeepingOwner ends s without releasing its client id in the cluster:
// the session continues on another node, or a new session of the same id
// starts here at once (clean start).
func (s *session) endKeepingOwner() {
	s.sh.keepOwner = s
	s.end()
	s.sh.keepOwner = nil
}

// export returns s's state for the node that takes it over: the session
// as the store records it, its messages in flight and queued, in order,
// and its inbound QoS 2 exchanges. It runs on s's shard.
func (s *session) export() *cluster.Session {
	st := &cluster.Session{Session: s.stored()}
	x := s.x
	if x == nil {
		return st
	}
	add := func(d *delivery, id uint16, rel bool) {
		cd := cluster.Delivery{Message: d.msg.stored(), QoS: d.qos, Retain: d.retain, PacketID: id, Released: rel}
		if d.hasIDs() {
			cd.SubIDs = d.ids(nil)
		}
		cd.Seq = uint64(len(st.Queue) + 1)
		st.Queue = append(st.Queue, cd)
	}
	for i := range x.inflight {
		om := &x.inflight[i]
		add(&om.d, om.id, om.rel)
	}
	for i := int(x.queueHead); i < len(x.queue); i++ {
		add(&x.queue[i], 0, false)
	}
	for id := range x.awaitRel {
		st.AwaitRel = append(st.AwaitRel, id)
	}
	return st
}

// fromStored rebuilds a routable message from a store's (or the cluster's)
// copy; the caller holds its one reference.
func (sh *shard) fromStored(sm *store.Message, now time.Time) *message {
	p := mqtt.Publish{QoS: sm.QoS, Retain: sm.Retain, Payload: sm.Payload}
	if len(sm.Properties) > 0 {
		body := append([]byte{0, 1, 'a'}, sm.Properties...)
		h := mqtt.FixedHeader{Type: mqtt.TypePublish, RemainingLength: len(body), HeaderLen: 2}
		var q mqtt.Publish
		if q.Decode(h, body, mqtt.V5) == nil {
			p.Properties = q.Properties
		}
	}
	m := sh.b.newMessage(&p, []byte(sm.Topic), []byte(sm.From), nil, now)
	if sm.ExpireAt > 0 {
		m.expireAt = sm.ExpireAt
		m.expiry = m.remaining(now.UnixNano())
	}
	return m
}

// keepGroups drops, in place, the shared-group hits this node must not
// serve: for a local publish the groups the cluster chose another node
// for (sh.croute), for a forwarded message every group but the ones the
// publishing node chose this node for (fwd).
func (sh *shard) keepGroups(forwarded bool, fwd []cluster.Group) {
	out := sh.hits[:0]
	for _, h := range sh.hits {
		if g := h.Group; g != nil {
			if forwarded && !hasGroup(fwd, g.Name(), g.Filter()) ||
				!forwarded && !sh.croute.ServeLocal(g.Name(), g.Filter()) {
				continue
			}
		}
		out = append(out, h)
	}
	clear(sh.hits[len(out):])
	sh.hits = out
}

func hasGroup(gs []cluster.Group, name, filter string) bool {
	for i := range gs {
		if gs[i].Name == name && gs[i].Filter == filter {
			return true
		}
	}
	return false
}

// nextDeliver spreads forwarded batches over the shards.
var nextDeliver atomic.Uint64

// NodeHandler is the broker's side of cluster.Handler: Deliver, Takeover,
// Retained and Status. The listing and command parts (List, Call) need the
// catalog and the API's commands, which cmd wires around it.
type NodeHandler struct{ b *Broker }

// NodeHandler returns b's side of cluster.Handler.
func (b *Broker) NodeHandler() *NodeHandler { return &NodeHandler{b} }

// Deliver implements cluster.Handler: it routes messages another node
// forwarded to this node's subscribers (ordinary subscriptions, and the
// shared groups the other node chose this node for), never to the
// cluster again, and returns once they are in the sessions as a local
// publish is when its PUBACK leaves.
func (h *NodeHandler) Deliver(batch []cluster.Forwarded) {
	shs := h.b.shardList()
	if len(shs) == 0 {
		return // no connection has come yet: no subscriber
	}
	sh := shs[nextDeliver.Add(1)%uint64(len(shs))]
	_ = sh.run(context.Background(), func() {
		now := sh.loop.Now()
		for _, f := range batch {
			m := sh.fromStored(f.Message, now)
			sh.route(m, true, f.Groups)
			m.release()
		}
	})
}

// Takeover implements cluster.Handler: the client of clientID connected
// to another node. A connected client gets DISCONNECT 0x8E as in a local
// takeover, and the session ends here without telling the cluster (the
// other node owns it now); its state is returned unless discard (clean
// start) or the session is not persistent.
func (h *NodeHandler) Takeover(ctx context.Context, clientID string, discard bool) (*cluster.Session, error) {
	var st *cluster.Session
	err := h.b.onOwnerCounted(ctx, clientID, false, func(s *session) {
		sh := s.sh
		if s.conn != nil {
			sh.takeover(s, discard)
		}
		if !discard {
			s.dropWill() // resumed on the other node: a delayed will is cancelled
			if s.persistent() {
				st = s.export()
			}
		}
		s.endKeepingOwner() // the other node owns the client id now
	})
	if errors.Is(err, ErrClientNotFound) {
		return nil, nil
	}
	return st, err
}

// Retained implements cluster.Handler: the cluster's retained message of
// m.Topic changed (on any node, this one included); the local store
// follows.
func (h *NodeHandler) Retained(m *store.Message) {
	now := time.Now()
	r := &retained.Message{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Stored: now, Properties: m.Properties}
	if len(m.Payload) == 0 {
		r.Payload, r.Properties = nil, nil
	} else {
		r.Payload = append([]byte(nil), m.Payload...)
		r.Properties = append([]byte(nil), m.Properties...)
		if len(r.Properties) == 0 {
			r.Properties = nil
		}
	}
	if m.ExpireAt > 0 {
		left := time.Duration(m.ExpireAt - now.UnixNano())
		if left <= 0 {
			r.Payload, r.Properties = nil, nil // expired on the way: cleared here
		} else {
			r.ExpiryInterval = uint32(max(1, left/time.Second))
		}
	}
	_ = h.b.retain.Set(r)
}

// Status implements cluster.Handler: this node's figures for its
// heartbeat.
func (h *NodeHandler) Status() cluster.Status {
	b := h.b
	return cluster.Status{Connections: b.liveN.n.Load(), Stats: map[string]int64{
		"connections.count":   b.liveN.n.Load(),
		"sessions.count":      b.sessionsN.n.Load(),
		"subscriptions.count": b.subsN.n.Load(),
		"retained.count":      int64(b.retain.Len()),
	}}
}
