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
package store

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
	// Queued: Op.Message (number Op.Seq) was queued for Op.ClientID.
	Queued
	// Sent: message Op.Seq of Op.ClientID went out as packet Op.PacketID
	// and waits in the in-flight window for its acknowledgement; sending
	// it again sets DUP.
	Sent
	// Released: the PUBREC of message Op.Seq of Op.ClientID came; its
	// PUBREL is pending (QoS 2).
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
	// Shard is the position of the shard that made the changes; a durable
	// store may key its data by it so that shards never share a lock.
	Shard int
	Ops   []Op
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
