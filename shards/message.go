package shards

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// message is one application message as the broker routes it. It is
// immutable once built and shared, read-only, by every shard that delivers
// it, so it carries its own copies of everything it needs.
//
// Lifetime (docs/architecture.md, "Message lifetime"): a message is
// reference counted and returns to a size-classed pool when its last
// reference is released. newMessage gives the caller one reference; every
// holder that keeps the message beyond the call that handed it over (a
// session's queue or inflight window, a cross-shard outbox, a will) takes
// its own with ref and gives it back with release. Code that only reads
// the message while it runs (routing, deliver, encoding) borrows the
// caller's reference. No field may be read after the reference it was
// read under was released.
type message struct {
	// refs counts the holders; the message is free at 0. Any goroutine
	// may call ref and release; every other field is written only by the
	// goroutine that built the message, before it was shared.
	refs atomic.Int32
	// gen changes every time the message is taken from its pool, so that
	// a pointer and gen name one message for the per-batch encoding
	// cache (a pointer alone may name a later message in the same batch).
	gen uint32

	topic   []byte
	payload []byte
	qos     byte
	retain  bool
	// class is the pool the message returns to (classOf).
	class int8
	// props are the MQTT 5 properties forwarded to subscribers (payload
	// format, content type, response topic, correlation data, user
	// properties), nil when there are none; the expiry is kept in expireAt.
	// props points to spare when set.
	props *mqtt.Properties
	// spare keeps its properties' storage (the User slice) across reuse.
	spare *mqtt.Properties
	// from is the publishing client's id (No Local, hash_clientid); empty
	// for messages published by the broker's API.
	from []byte
	// sender identifies the publishing session for No Local; nil when none.
	sender *session
	// owner is the broker whose live count (checkMessages) the message is in.
	owner *Broker
	// buf holds topic, payload, from and the properties' bytes; for
	// pooled classes its capacity is the class size and it stays with the
	// message across reuse.
	buf []byte
	// at is when the message was published, Unix nanoseconds.
	at int64
	// expiry is the Message Expiry Interval in seconds (0: none) and
	// expireAt the Unix nanoseconds it ends at.
	expiry   uint32
	expireAt int64
	// size is what a holder counts m as in its session's heap_size
	// (sessExtra.heap): its bytes plus 96 for the struct.
	size int
}

// forwarded lists the PUBLISH properties a broker forwards unchanged
// [MQTT-3.3.2-15..20]; the topic alias and subscription identifiers are
// per connection and the expiry is recomputed.
const forwarded = 1<<mqtt.PropPayloadFormat | 1<<mqtt.PropContentType |
	1<<mqtt.PropResponseTopic | 1<<mqtt.PropCorrelationData

// Size classes of the message pools: a message whose bytes fit in
// 64 B << c comes from pool c, so a 64 B and a 256 KiB payload never share
// a buffer. Bytes above maxPooled are allocated for the message alone and
// left to the garbage collector (the struct is still pooled, in class
// bigClass).
const (
	minClassShift = 6 // 64 B
	bigClass      = 11
	maxPooled     = 64 << (bigClass - 1) // 64 KiB
)

// msgPools holds free messages by size class. sync.Pool is per-P, so the
// shard that releases a message and the one that takes it next need not
// be the same.
var msgPools [bigClass + 1]sync.Pool

// classOf returns the size class for n bytes.
func classOf(n int) int {
	if n > maxPooled {
		return bigClass
	}
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// checkMessages turns on the use-after-release checks: a released message
// is poisoned (its bytes overwritten, its fields scrambled) and kept out
// of its pool for a while (quarantine), every use checks that the message
// is live, and each broker counts its live messages. The tests turn it on
// (TestMain); it is never changed while a broker runs.
var checkMessages bool

// poisonByte fills the bytes of a released message under checkMessages.
const poisonByte = 0xDB

// poisonRefs is the reference count of a poisoned message: ref and release
// on it fail like on any released message, even after many of them.
const poisonRefs = -1 << 24

// newMessage copies what a PUBLISH (whose slices alias a read buffer)
// needs to outlive the read into a pooled message, and returns it with one
// reference, the caller's. Safe from any goroutine.
func (b *Broker) newMessage(p *mqtt.Publish, topic []byte, from []byte, sender *session, now time.Time) *message {
	n := len(topic) + len(p.Payload) + len(from)
	pr := &p.Properties
	n += len(pr.ContentType) + len(pr.ResponseTopic) + len(pr.CorrelationData)
	for _, u := range pr.User {
		n += len(u.Key) + len(u.Value)
	}
	class := classOf(n)
	m, _ := msgPools[class].Get().(*message)
	if m == nil {
		m = &message{class: int8(class)}
		if class < bigClass {
			m.buf = make([]byte, 0, 1<<(minClassShift+class))
		}
	}
	if class == bigClass {
		m.buf = make([]byte, 0, n)
	}
	m.gen++
	m.refs.Store(1)
	m.owner = b
	if checkMessages {
		b.msgLive.Add(1)
	}
	m.qos, m.retain, m.sender = p.QoS, p.Retain, sender
	m.at = now.UnixNano()
	m.topic = m.take(topic)
	m.payload = m.take(p.Payload)
	if len(m.payload) == 0 {
		m.payload = nil
	}
	m.from = m.take(from)
	if pr.Present&forwarded != 0 || len(pr.User) > 0 {
		fp := m.spare
		if fp == nil {
			fp = new(mqtt.Properties)
			m.spare = fp
		}
		user := fp.User[:0]
		*fp = mqtt.Properties{Present: pr.Present & forwarded, PayloadFormat: pr.PayloadFormat}
		fp.ContentType = m.take(pr.ContentType)
		fp.ResponseTopic = m.take(pr.ResponseTopic)
		fp.CorrelationData = m.take(pr.CorrelationData)
		for _, u := range pr.User {
			user = append(user, mqtt.UserProperty{Key: m.take(u.Key), Value: m.take(u.Value)})
		}
		fp.User = user
		m.props = fp
	}
	if pr.Present.Has(mqtt.PropMessageExpiry) && pr.MessageExpiry > 0 {
		m.expiry = pr.MessageExpiry
		m.expireAt = now.Add(time.Duration(pr.MessageExpiry) * time.Second).UnixNano()
	}
	m.size = n + 96
	return m
}

// take appends b to m's buffer and returns the copy (nil for nil).
func (m *message) take(b []byte) []byte {
	if b == nil {
		return nil
	}
	start := len(m.buf)
	m.buf = append(m.buf, b...)
	return m.buf[start:len(m.buf):len(m.buf)]
}

// ref takes one more reference to m for a holder that keeps it. The
// caller must hold a reference already (the new one is taken under it).
// Safe from any goroutine.
func (m *message) ref() {
	if m.refs.Add(1) <= 1 {
		panic(errMessageReleased)
	}
}

// release gives back one reference; the last one returns m to its pool.
// m must not be used after it, through this reference. Safe from any
// goroutine.
func (m *message) release() {
	n := m.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic(errMessageTwice)
	}
	if checkMessages {
		m.owner.msgLive.Add(-1)
		m.poison()
		quarantine.put(m)
		return
	}
	m.recycle()
}

// mustLive panics, under checkMessages, when m was released. Every holder
// calls it (through deliver, expired, sendPublish, publish) before it
// reads m.
func (m *message) mustLive() {
	if checkMessages && m.refs.Load() <= 0 {
		panic(errMessageReleased)
	}
}

// recycle clears m and returns it to its pool.
func (m *message) recycle() {
	m.topic, m.payload, m.from = nil, nil, nil
	m.props, m.sender, m.owner = nil, nil, nil
	m.qos, m.retain = 0, false
	m.expiry, m.expireAt, m.size = 0, 0, 0
	if m.class == bigClass {
		m.buf = nil // left to the garbage collector
	} else {
		m.buf = m.buf[:0]
	}
	msgPools[m.class].Put(m)
}

// poison overwrites a released message so that a late reader sees
// garbage and every check fails (checkMessages only).
func (m *message) poison() {
	m.refs.Store(poisonRefs)
	for i := range m.buf {
		m.buf[i] = poisonByte
	}
	m.qos = 0xFF
	m.size = -1 << 40
	m.expiry = 0xDBDBDBDB
	m.sender, m.owner = nil, nil
	if m.props != nil {
		m.props.Present = ^mqtt.PropertySet(0)
	}
}

// checkPoison panics when a byte of a poisoned message changed since it
// was released (a write after release).
func (m *message) checkPoison() {
	for _, c := range m.buf {
		if c != poisonByte {
			panic(errMessagePoisoned)
		}
	}
}

// quarantineLen is how many released messages the checks keep out of the
// pools, so that a late use finds the poison rather than a new message.
const quarantineLen = 256

// quarantine holds the most recently released messages under
// checkMessages; the oldest returns to its pool when a new one arrives.
var quarantine quarantineRing

type quarantineRing struct {
	// mu guards the following fields.
	mu   sync.Mutex
	ring [quarantineLen]*message
	next int
}

// put quarantines m and recycles the message it displaces after checking
// that nobody wrote to it.
func (q *quarantineRing) put(m *message) {
	q.mu.Lock()
	old := q.ring[q.next]
	q.ring[q.next] = m
	q.next = (q.next + 1) % quarantineLen
	q.mu.Unlock()
	if old != nil {
		old.checkPoison()
		old.refs.Store(0)
		old.recycle()
	}
}

// expired reports whether m's expiry interval has passed at now (Unix ns).
func (m *message) expired(now int64) bool {
	m.mustLive()
	return m.expireAt != 0 && now >= m.expireAt
}

// remaining returns the expiry interval left at now in whole seconds,
// at least 1 while m has not expired [MQTT-3.3.2-6].
func (m *message) remaining(now int64) uint32 {
	left := (m.expireAt - now) / int64(time.Second)
	if left < 1 {
		left = 1
	}
	return uint32(left)
}

// delivery is one message on its way to one session, with the options of
// the subscription(s) that matched. Whoever keeps a delivery holds a
// reference to its message.
type delivery struct {
	msg *message
	// seq numbers a delivery queued for a persistent session in the
	// Store's Ops (Queued, Acked); 0 when the store keeps nothing of it.
	seq uint64
	// subID is the first subscription identifier, 0 when none; moreIDs
	// holds the others of overlapping subscriptions (rare, so the common
	// case allocates nothing).
	subID   uint32
	qos     byte
	retain  bool
	moreIDs []uint32
	// recQ and recS are the positions (plus one) of the delivery's Queued
	// and Sent Ops in its shard's pending store batch, so that an
	// acknowledgement before that batch's Commit cancels them (persist.go);
	// stale once the batch is committed, which the Ops' Seq tells.
	recQ, recS uint32
}

// hasIDs reports whether d carries subscription identifiers.
func (d *delivery) hasIDs() bool { return d.subID != 0 }

// ids appends d's subscription identifiers to dst in order.
func (d *delivery) ids(dst []uint32) []uint32 {
	if d.subID != 0 {
		dst = append(dst, d.subID)
	}
	return append(dst, d.moreIDs...)
}
