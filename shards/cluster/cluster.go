// Package cluster holds the broker's view of the other nodes of a
// cluster as the shards use it, and its first implementation: Single, the
// node that is alone.
//
// The shards ask a cluster three things: which node owns a client id's
// session, which other nodes want the messages of a topic, and to carry a
// message there; and they tell it when this node gains its first or loses
// its last subscription to a filter, so that the other nodes know where
// to send. An implementation on NATS (natscluster) answers the routing
// questions from state it keeps current in the background, so that the
// shards never wait on the network while they route; the calls that must
// cross the network (Acquire, Owner, Call, List) block and are made off
// the event loops.
//
// In the other direction the broker implements Handler: the cluster hands
// it messages forwarded by other nodes, asks it to give up a session that
// a client took to another node, feeds it the cluster's retained messages
// and asks for its part of a cluster-wide listing.
package cluster

import (
	"context"
	"errors"

	"github.com/shardmq/shardmq/shards/store"
)

// Errors of the cluster seam.
var (
	// ErrAlone is returned by the calls that need another node when there
	// is none (Single).
	ErrAlone = errors.New("cluster: no other node")
	// ErrUnknownNode is returned for a node name the cluster has never seen.
	ErrUnknownNode = errors.New("cluster: unknown node")
	// ErrNodeStopped is returned, and given to an Outbox's ack, when a node
	// stopped (missed its heartbeats) before it answered.
	ErrNodeStopped = errors.New("cluster: node stopped")
	// ErrNoAck is given to an Outbox's ack when a node did not acknowledge
	// a batch after every retry.
	ErrNoAck = errors.New("cluster: no acknowledgement")
	// ErrUnknownShareStrategy is returned for a strategy name that is not
	// one of round_robin, random, hash_clientid or sticky.
	ErrUnknownShareStrategy = errors.New("cluster: unknown shared subscription strategy")
)

// Cluster is what a node's broker asks of the cluster. Single and
// natscluster.Node implement it; the shards may declare a narrower
// interface of their own.
type Cluster interface {
	// Alone reports whether this node is the whole cluster for good (no
	// cluster configured): the shards may then skip every other call.
	Alone() bool
	// Interest tells the cluster that this node gained its first (on) or
	// lost its last (off) local subscription to filter, as subscribed
	// ($share/GROUP/ and $queue/ included). Calls for one filter come in
	// the order the shards made the changes. It does not block.
	Interest(filter string, on bool)
	// Remote reports whether another node has an ordinary subscription or
	// a shared group that matches topic. Lock-free, no allocation.
	Remote(topic []byte) bool
	// Route fills r (reset first) with where a message on topic goes
	// beyond this node, and which node serves each shared group matching
	// it cluster-wide; publisher is the publishing client's id (for
	// hash_clientid). Lock-free; no allocation once r's slices have grown.
	Route(topic, publisher []byte, r *Route)
	// NewOutbox returns an Outbox for one goroutine (a shard).
	NewOutbox() Outbox
	// Owner returns the node that owns clientID's session, "" when none
	// does. It may wait on the network: call it off the event loops.
	Owner(ctx context.Context, clientID string) (string, error)
	// Acquire makes this node the owner of clientID's session before the
	// CONNECT is answered. If another node owns it, that node ends it
	// (Handler.Takeover: DISCONNECT 0x8E) and the session's state comes
	// back for this node to adopt; nil when there is none or discard (clean
	// start) is set. It waits on the network: call it off the event loops.
	Acquire(ctx context.Context, clientID string, discard bool) (*Session, error)
	// Release tells the cluster that this node's session of clientID ended
	// (not when it was taken over by another node). It does not block.
	Release(clientID string)
	// SetRetained makes m the cluster's retained message of m.Topic; an
	// empty payload clears it. It does not block; m is not kept.
	SetRetained(m *store.Message)
	// Nodes lists every node the cluster has seen, this one first.
	Nodes() []NodeInfo
	// Call runs a command on node (Handler.Call there) and returns its
	// answer; for commands on a session that another node owns.
	Call(ctx context.Context, node, kind string, body []byte) ([]byte, error)
	// List returns one page of the cluster-wide listing q, merged from
	// every running node's Handler.List.
	List(ctx context.Context, q Query) (Page, error)
}

// Handler is what the cluster needs from the broker of its node; the
// shards implement it. Every method may be called from any cluster
// goroutine, concurrently with the others, but Deliver and Retained are
// each called from one goroutine at a time, in the order the messages
// came.
type Handler interface {
	// Deliver routes messages forwarded by another node to this node's
	// subscribers: every ordinary local subscription that matches, and of
	// the shared groups only the ones listed in Forwarded.Groups (the
	// publishing node chose this node for them). It never forwards them
	// again. The messages and their bytes are valid only during the call:
	// the broker copies what it keeps. When Deliver returns, the messages
	// must be as routed as a local publish is when its PUBACK leaves: the
	// cluster then acknowledges the batch to the publishing node.
	Deliver(batch []Forwarded)
	// Takeover ends this node's session of clientID because the client
	// connected to another node: a connected client gets DISCONNECT 0x8E
	// (MQTT 5) and its connection closes, as in a local takeover. It
	// returns the session's state for the new owner: nil when there is no
	// session, or when discard is set (the new CONNECT has clean start, so
	// the session ends here and its will is due as in a local takeover).
	Takeover(ctx context.Context, clientID string, discard bool) (*Session, error)
	// Retained sets (m.Payload not empty) or clears the local retained
	// message of m.Topic as the cluster decided it: for every change made
	// on any node, this one included, in the order the cluster stored
	// them, and at start for every retained message of the cluster. m is
	// valid only during the call.
	Retained(m *store.Message)
	// Status returns this node's figures for its heartbeat.
	Status() Status
	// Call answers a command that another node routed here (Cluster.Call).
	Call(ctx context.Context, kind string, body []byte) ([]byte, error)
	// List answers this node's part of a cluster-wide listing: the number
	// of local rows matching q.Filter, and the first q.Limit of them whose
	// Key is above q.After, in ascending Key order.
	List(ctx context.Context, q Query) (Page, error)
}

// Forwarded is one message another node forwarded to this one.
type Forwarded struct {
	Message *store.Message
	// Groups are the shared groups matching the topic whose member this
	// node must choose; other local groups matching it are served by
	// another node.
	Groups []Group
}

// Group names a shared-subscription group: $share/{Name}/{Filter}
// ($queue/{Filter} is Name "$queue").
type Group struct {
	Name   string
	Filter string
}

// Route is the cluster's decision for one message on one topic, filled by
// Cluster.Route. A shard keeps one and reuses it; its slices stay valid
// until the next Route into it.
type Route struct {
	// Nodes is the set of remote nodes (by the cluster's slot numbers,
	// bit i for slot i) the message is forwarded to.
	Nodes uint64
	// Groups lists every shared group that matches the topic on any node,
	// with where it is served.
	Groups []GroupChoice
}

// GroupChoice is where one shared group is served for one message.
type GroupChoice struct {
	Group
	// Slot is the node chosen; Local is set when it is this node.
	Slot  int
	Local bool
}

// Reset empties r, keeping its memory.
func (r *Route) Reset() {
	r.Nodes = 0
	r.Groups = r.Groups[:0]
}

// Remote reports whether the message goes to any other node.
func (r *Route) Remote() bool { return r.Nodes != 0 }

// ServeLocal reports whether this node delivers the message to a member of
// its local group name/filter: true when the cluster chose this node, or
// when the cluster does not know the group (yet). No allocation.
func (r *Route) ServeLocal(name, filter string) bool {
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Name == name && g.Filter == filter {
			return g.Local
		}
	}
	return true
}

// Outbox carries the forwarded messages of one goroutine (a shard) to the
// other nodes, batched: Add during an event-loop turn, Flush at its end
// (one encoding and one NATS message per remote node). An Outbox is owned
// by one goroutine.
type Outbox interface {
	// Add queues m for the remote nodes of r (r.Nodes), with the shared
	// groups r chose each of them for. m is encoded at once and not kept.
	Add(m *store.Message, r *Route)
	// Flush sends what Add queued. ack, if not nil, is called exactly
	// once: on the caller's goroutine before Flush returns when nothing
	// queued needs an acknowledgement (no QoS 1 or 2 message, or nothing
	// queued); otherwise on a cluster goroutine once every node that got a
	// QoS 1 or 2 message acknowledged its batch (Handler.Deliver returned
	// there), or with ErrNodeStopped / ErrNoAck. The broker holds the
	// PUBACKs (PUBRECs) of the turn's QoS 1 (2) messages until then.
	Flush(ack func(error))
}

// Session is a persistent session as it moves between nodes at a
// takeover. Its shape is the store's recovered session (SessionState on
// the store seam's main line), so the broker adopts a session taken over
// from another node as it adopts one a durable store recovered.
type Session struct {
	Session *store.Session
	// Queue holds the session's messages in order: those in flight
	// (PacketID not 0) and those waiting to be sent.
	Queue []Delivery
	// AwaitRel holds the packet ids of inbound QoS 2 messages waiting for
	// their PUBREL ([MQTT-4.3.3]: a duplicate must not be routed again).
	AwaitRel []uint16
}

// Delivery is one message in a session's queue.
type Delivery struct {
	// Seq orders the deliveries of a session.
	Seq     uint64
	Message *store.Message
	// QoS, Retain and SubIDs are the delivery's own: the lower of the
	// message's and the subscription's QoS, Retain As Published, and the
	// identifiers of the subscriptions it matched.
	QoS    byte
	Retain bool
	SubIDs []uint32
	// PacketID is the packet id it was last sent with, 0 when it has not
	// been sent; a message with a packet id is resent with DUP.
	PacketID uint16
	// Released reports that its PUBREC came: the PUBREL is resent, not the
	// PUBLISH.
	Released bool
}

// Status is what a node reports of itself in its heartbeat.
type Status struct {
	// Connections is the number of connected clients.
	Connections int64
	// Stats are counters that /stats?aggregate=true sums over the nodes,
	// by name.
	Stats map[string]int64
}

// NodeInfo is one node as Cluster.Nodes lists it.
type NodeInfo struct {
	Name    string
	Version string
	// Started is when the node started, Unix milliseconds.
	Started int64
	// Uptime is how long it has run, in seconds, as of its last heartbeat.
	Uptime int64
	Status
	// Running is false once the node missed its heartbeats ("stopped").
	Running bool
}

// NodeStatus returns "running" or "stopped", as EMQX's /nodes says.
func (n NodeInfo) NodeStatus() string {
	if n.Running {
		return "running"
	}
	return "stopped"
}

// Query is a cluster-wide listing request. The cluster does not interpret
// Filter or the rows: the API encodes them, and the nodes' Handler.List
// decode them.
type Query struct {
	// Filter is the encoded filter every node applies.
	Filter []byte
	// After is a keyset cursor: only rows whose Key is above it (nil: from
	// the first).
	After []byte
	// Skip rows are left out before the page (offset paging). The cluster
	// first asks every node for the keys of its first Skip rows (KeysOnly)
	// to find the key the page starts after, then for the page as with a
	// cursor: deep offsets cost more than a cursor. A node's Handler.List
	// never sees Skip.
	Skip int
	// Limit is the page size.
	Limit int
	// KeysOnly tells a node's Handler.List that Row.Data may be left nil.
	KeysOnly bool
}

// Page is one page of a listing.
type Page struct {
	// Count is the number of rows matching the filter on every node that
	// answered, regardless of After, Skip and Limit.
	Count int64
	// Rows are in ascending Key order.
	Rows []Row
	// Missing names the running nodes that did not answer in time: Count
	// and Rows leave their rows out.
	Missing []string
}

// Row is one row of a listing: Key orders the rows across the nodes (an
// order-preserving encoding of the sort columns ending with the client
// id, so keys are unique) and Data is the encoded row.
type Row struct {
	Key  []byte
	Data []byte
}

// ShareStrategy is how the cluster picks the node that serves a shared
// group for each message; the node then picks the member with its own
// strategy. The names follow EMQX's broker.shared_subscription_strategy.
type ShareStrategy uint8

// The shared-subscription strategies.
const (
	// ShareRoundRobin takes the group's nodes in turn (the default).
	ShareRoundRobin ShareStrategy = iota
	// ShareRandom takes a uniformly random node of the group.
	ShareRandom
	// ShareHashClientID takes the node selected by a hash of the
	// publisher's client id.
	ShareHashClientID
	// ShareSticky keeps one node until it leaves the group.
	ShareSticky
)

var shareStrategyNames = [...]string{"round_robin", "random", "hash_clientid", "sticky"}

// String returns the configuration name of s ("round_robin").
func (s ShareStrategy) String() string {
	if int(s) < len(shareStrategyNames) {
		return shareStrategyNames[s]
	}
	return "unknown"
}

// ParseShareStrategy returns the strategy named name ("" is round_robin),
// or ErrUnknownShareStrategy.
func ParseShareStrategy(name string) (ShareStrategy, error) {
	if name == "" {
		return ShareRoundRobin, nil
	}
	for i, n := range shareStrategyNames {
		if n == name {
			return ShareStrategy(i), nil
		}
	}
	return 0, ErrUnknownShareStrategy
}
