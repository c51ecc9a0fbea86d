package store

import "time"

// Loader receives what Load finds. Session, Sessions and Expired are
// called from the goroutine that called Load, one at a time; Retained may
// be called from another goroutine, one at a time, concurrently with
// them: it must not share unguarded state with them.
type Loader struct {
	// Session receives each surviving persistent session with its
	// messages. The SessionState and its slices are valid only during the
	// call; the Session and Messages they point to are the callee's to
	// keep. A Message may be shared by deliveries of several sessions (it
	// was queued for all of them at once): treat it as read-only. A
	// non-nil error stops Load, which returns it.
	Session func(*SessionState) error
	// Retained receives each surviving retained message, the callee's to
	// keep. A non-nil error stops Load, which returns it.
	Retained func(*Message) error
	// Sessions, if not nil, receives the number of session records in the
	// store before the first call of Session: a hint for sizing what the
	// callee builds (expired ones among them are dropped, not handed
	// over).
	Sessions func(n int)
	// Expired, if not nil, receives each session that Load drops because
	// its expiry passed while the broker was down, before it is deleted:
	// its will (Session.Will) is due.
	Expired func(*Session)
}

// SessionState is one persistent session as Load found it.
type SessionState struct {
	Session *Session
	// Queue holds the session's messages in Seq order: those in flight
	// (PacketID not 0) and those waiting to be sent.
	Queue []Delivery
	// AwaitRel holds the packet ids of inbound QoS 2 messages waiting for
	// their PUBREL, in increasing order.
	AwaitRel []uint16
}

// Delivery is one message in a session's queue.
type Delivery struct {
	// Seq is the number Queued gave it.
	Seq     uint64
	Message *Message
	// QoS, Retain and SubIDs are the delivery's own (see Op).
	QoS    byte
	Retain bool
	SubIDs []uint32
	// PacketID is the packet id it was last sent with (Sent), 0 when it
	// has not been sent; a message with a packet id is resent with DUP.
	PacketID uint16
	// Released reports that its PUBREC came (Released): the PUBREL is
	// resent, not the PUBLISH.
	Released bool
}

// InFlight reports whether d was sent and waits for its acknowledgement.
func (d *Delivery) InFlight() bool { return d.PacketID != 0 }

// LoadStats counts what Load found and what it dropped.
type LoadStats struct {
	// Sessions, Subscriptions, Messages (queued, in flight included),
	// InFlight, AwaitRel and Retained were handed over.
	Sessions      int
	Subscriptions int
	Messages      int
	InFlight      int
	AwaitRel      int
	Retained      int
	// ExpiredSessions (with ExpiredSessionMessages, their messages),
	// ExpiredMessages (of surviving sessions, not yet sent when their
	// Message Expiry Interval passed) and ExpiredRetained were dropped
	// from the store.
	ExpiredSessions        int
	ExpiredSessionMessages int
	ExpiredMessages        int
	ExpiredRetained        int
	// Orphans are records of a session the store does not hold (an in-
	// flight mark without its message, messages without their session);
	// they were dropped from the store.
	Orphans int
	// Took is how long Load took.
	Took time.Duration
}
