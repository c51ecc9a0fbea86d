// Package store defines what of the broker's state outlives its process —
// persistent sessions, their queued and in-flight messages, inbound QoS 2
// exchanges and retained messages — as the records the shards hand a
// store, and holds the store that keeps all of it in memory only.
//
// The shards describe every change to that state as an Op, in the order
// they make it, and hand a shard's Ops of one event-loop turn to the store
// in one Batch. A durable store (a sub-package) writes each Batch as one
// atomic write, so that a crash loses whole turns, never half of one.
// Memory keeps nothing: with it the shards build no Op at all, so the hot
// path pays nothing for the seam.
//
// A Store is what the shards call: Durable once, Load once at start before
// the listeners open, Commit once per shard per loop turn that changed
// something, Close once at shutdown after the last Commit. The durable
// implementation is shards/store/disk.
package store

import "time"

// Kind says what an Op changes.
type Kind uint8

// The kinds of Op.
const (
	// SessionSaved: a persistent session was created or changed
	// (subscriptions, will, expiry, connection); Op.Session holds all of
	// it but its messages.
	SessionSaved Kind = iota + 1
	// SessionDiscarded: the session of Op.ClientID ended (clean start,
	// expiry, kick, takeover with clean start); its messages go with it.
	SessionDiscarded
	// Queued: Op.Message (number Op.Seq) was queued for Op.ClientID, as
	// a delivery of QoS Op.QoS with retain flag Op.Retain and the
	// subscription identifiers Op.SubIDs. Seq grows with every message
	// queued for the client; the queue keeps Seq order. When one message
	// goes to several clients of a shard in one turn, give their Queued
	// Ops the same *Message: a durable store writes it once.
	Queued
	// Sent: message Op.Seq of Op.ClientID went out as packet Op.PacketID
	// and waits in the in-flight window for its acknowledgement; sending
	// it again sets DUP. A QoS 0 message that goes out is Acked instead.
	Sent
	// Released: the PUBREC of message Op.Seq of Op.ClientID (packet
	// Op.PacketID) came; its PUBREL is pending (QoS 2).
	Released
	// Acked: message Op.Seq of Op.ClientID left the session: acknowledged,
	// expired, dropped from a full queue, or refused by the client.
	Acked
	// AwaitRel: Op.ClientID's inbound QoS 2 packet Op.PacketID waits for
	// its PUBREL (a duplicate must not be routed again).
	AwaitRel
	// RelDone: the PUBREL of Op.ClientID's inbound packet Op.PacketID came
	// (or its wait timed out).
	RelDone
	// RetainedSet: Op.Message is the retained message of its topic.
	RetainedSet
	// RetainedCleared: the topic Op.Topic has no retained message any more.
	RetainedCleared
)

var kindNames = [...]string{"", "session-saved", "session-discarded", "queued", "sent", "released",
	"acked", "await-rel", "rel-done", "retained-set", "retained-cleared"}

// String returns the kind's name ("queued").
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Op is one change to the state a store keeps. Which fields are set
// depends on Kind (see the constants).
type Op struct {
	Kind     Kind
	ClientID string
	Session  *Session
	Message  *Message
	Topic    string
	Seq      uint64
	PacketID uint16
	// QoS, Retain and SubIDs describe a Queued delivery: its QoS (the
	// lower of the message's and the subscription's), its retain flag
	// (Retain As Published) and the identifiers of the subscriptions it
	// matched, which differ between the subscribers of one Message.
	QoS    byte
	Retain bool
	SubIDs []uint32
}

// Batch is what one shard changed in one event-loop turn, in order.
type Batch struct {
	// Shard is the position of the shard that made the changes. A durable
	// store keys its data by client id and topic, not by shard (a session
	// may live on another shard after a restart); Shard is for its
	// accounting.
	Shard int
	Ops   []Op
	// Sync asks for the Batch to be on disk before Commit returns, whatever
	// the store's Durability (a zone with durability sync changed it).
	Sync bool
}

// Session is a persistent session apart from its messages.
type Session struct {
	ClientID string
	Username string
	// Version is the MQTT protocol level (3, 4 or 5).
	Version byte
	// CreatedAt is when the session was created, Unix milliseconds.
	CreatedAt int64
	// Expiry is the Session Expiry Interval in seconds (0xFFFFFFFF:
	// never); ExpireAt the Unix nanoseconds an offline session ends, 0
	// while it is connected.
	Expiry   uint32
	ExpireAt int64
	// Subscriptions are the session's subscriptions, in no order.
	Subscriptions []Subscription
	// Will is the session's will, nil when none; WillDelay its Will Delay
	// Interval in seconds.
	Will      *Message
	WillDelay uint32
	// WillExpiry is the will's Message Expiry Interval in seconds, 0
	// when none: it counts from the will's publication, so Will.ExpireAt
	// is 0.
	WillExpiry uint32
	// Zone names the zone the session last connected through; a
	// recovered session keeps its zone's settings until it reconnects.
	Zone string
}

// Subscription is one subscription of a session, with its MQTT 5 options.
type Subscription struct {
	// Filter is the topic filter as subscribed ($share/GROUP/ included).
	Filter            string
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	// ID is the Subscription Identifier, 0 when none.
	ID uint32
}

// Message is an application message as a store keeps it.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the MQTT 5 properties forwarded with the message,
	// encoded as in a PUBLISH (without the Message Expiry Interval, which
	// ExpireAt carries); nil when none.
	Properties []byte
	// ExpireAt is the Unix nanoseconds the message expires at, 0 never.
	ExpireAt int64
	// From is the publishing client's id, empty for the broker's own.
	From string
}

// Memory is the store that keeps nothing beyond the process: the shards'
// own memory is the state. It is the default.
type Memory struct{}

// Durable reports false: the shards build no Ops for Memory.
func (Memory) Durable() bool { return false }

// Commit does nothing (it is never called while Durable is false).
func (Memory) Commit(*Batch) error { return nil }

// Load finds nothing: a process that keeps its state in memory starts
// empty.
func (Memory) Load(time.Time, Loader) (LoadStats, error) { return LoadStats{}, nil }

// Close does nothing.
func (Memory) Close() error { return nil }

// Store is what the shards call to keep their state across restarts.
//
// The order at start and stop: Load once, before the listeners open (the
// shards rebuild sessions and the retained store from what it hands
// over); then Commit from the shards while they run; Close once, after
// the last Commit has returned.
type Store interface {
	// Durable reports whether the store keeps anything. When false, the
	// shards build no Op and never call Commit.
	Durable() bool
	// Commit writes the Batch of one shard's loop turn as one atomic
	// write: after a crash either all its Ops are there or none.
	//
	// Each shard calls Commit from its own goroutine, and several shards
	// call it at once; the ClientIDs of one Batch belong to its shard
	// (a session has one owner), so Batches of different shards never
	// write the same session key. RetainedSet and RetainedCleared of one
	// topic from two shards at once land in the order of their Commits.
	// Commit does not keep b or anything it points to after it returns.
	//
	// With DurabilitySync, a nil error means the Batch is on disk. With
	// DurabilityBatch it is on disk within the flush interval: a crash of
	// the process or the machine loses at most the Commits of the last
	// FlushInterval, always a tail (never a Batch without the ones
	// committed before it by the same shard).
	// An error wrapping ErrDiskFull means nothing of b was written: the
	// disk is (nearly) full; later Commits succeed once space returns.
	Commit(b *Batch) error
	// Load streams what the store holds to l and returns what it found.
	// Sessions and messages whose expiry is at or before now are dropped
	// from the store, counted, and not handed over. Load is called once,
	// before any Commit, from one goroutine: a durable store rebuilds
	// there what its Commits need (which deliveries share a message).
	Load(now time.Time, l Loader) (LoadStats, error)
	// Close writes what is pending and releases the store. It is safe to
	// call twice; a Commit after Close returns ErrClosed.
	Close() error
}

// Memory is a Store.
var _ Store = Memory{}
