package shards

import (
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
)

// neverExpire is the MQTT 5 Session Expiry Interval meaning "never"
// (MQTT 5 section 3.1.2.11.2).
const neverExpire = 0xFFFFFFFF

// session is one client's MQTT session. Every field except the atomics
// (mailbox, online, busy) and the immutable sh and id is owned by the
// goroutine of the shard sh (the netio loop the session lives on); other
// goroutines reach a session only through sh.loop.Execute.
type session struct {
	sh *shard
	id string

	// mailbox counts deliveries and commands queued for this session at its
	// shard by other goroutines (CLIENTS_API decision 11 mailbox_len).
	mailbox atomic.Int32
	// online mirrors conn != nil for other shards choosing a shared
	// subscription member.
	online atomic.Bool
	// busy mirrors "over budget": the inflight window is full or the
	// connection is over its outbound soft limit; shared subscriptions skip
	// busy members while another can take the message.
	busy atomic.Bool
	// keptMirror mirrors kept() for other shards deciding, while the
	// store's disk is full, whether a PUBLISH reaches a kept session.
	keptMirror atomic.Bool

	// owned by the shard goroutine (the small fields are grouped at the
	// end so that padding does not push the struct into a larger size
	// class):
	cfg            *Config     // the zone of the listener it last connected through
	acl            *auth.Cache // nil until the first ACL decision
	conn           *netio.Conn // its connState is conn.Data (cstate)
	username       string
	remoteIP       netip.Addr // with remotePort, the last connection's peer
	createdAt      int64      // Unix ms
	connectedAt    int64      // Unix ms
	disconnectedAt int64      // Unix ms

	will     *willMsg // nil when none
	expireAt int64    // Unix ns an offline session ends; 0 when none
	wakeAt   int64    // the deadline in the shard's timer heap; 0 when none

	subs subSet // filter as subscribed → options

	// x holds what only some sessions need, some of the time (see
	// sessExtra); nil while there is none of it.
	x *sessExtra

	counters sessCounters // accumulated; socket counters of past connections included

	heapIdx    int32  // index in the shard's timer heap; -1 when not in it
	maxOut     uint32 // client's Maximum Packet Size; 0: none
	expiry     uint32 // Session Expiry Interval, seconds
	window     uint16 // min(InflightMax, client's Receive Maximum); InflightMax ≤ 65535
	keepalive  uint16
	remotePort uint16
	version    mqtt.Version
	authn      bool // the client authenticated with a password
	dead       bool // the session ended; deliveries to it are dropped
	bridge     bool
	cleanStart bool
	wasBusy    bool
	busyListed bool // s is in sh.busy
	lifeDirty  bool
	statDirty  bool
	storeDirty bool // s is in sh.storeDirty: its record goes to the store this turn
}

// sessExtra is the part of a session that an idle connected client (the
// common case: subscribed, nothing in flight) does not use: the outbound
// QoS 1/2 window, queue and packet ids, the inbound QoS 2 exchanges, the drop counters
// and the high parts of counters past 32 bits. A session gets one on first
// use (session.extra) and gives it back to its shard's free list when it
// holds nothing again (session.releaseExtra); drop counts and high parts
// keep it. Owned by the shard goroutine.
type sessExtra struct {
	// outbound QoS 1/2
	inflight  []outMsg // in send order
	queue     []delivery
	queueHead int32  // index of the oldest queued delivery (the queue is at most MqueueMax long)
	nextID    uint16 // the last packet id used; ids are unique among inflight only
	heap      int64  // bytes held by queue and inflight
	// qfirst is the position of queue[queueHead] for the API
	// (mqueue_messages): positions number a session's queued deliveries
	// in order and are never used twice by the session (a fresh extra
	// starts above every position its shard gave, sh.qpos).
	qfirst uint64

	// inbound QoS 2: packet id → arrival (Unix ns)
	awaitRel map[uint16]int64

	drops sessDrops
	// high are the counters' parts past 32 bits (sessCounters); nil until
	// one overflows.
	high *[nCounters]int64
}

// connState is a connection's state as the broker sees it; it lives in
// netio.Conn.Data and is owned by the connection's loop.
type connState struct {
	sess *session   // nil before CONNECT is accepted and after a takeover
	auth *authState // enhanced authentication, MQTT 5; nil when none
	// aliases are the client's inbound topic aliases (MQTT 5); nil until
	// the first one is set.
	aliases *inAliases
	// Outbound topic aliases the broker assigned on this connection
	// (MQTT 5, when the client's Topic Alias Maximum is above 0); they
	// reset with the connection (MQTT 5 section 3.3.2.3.4).
	outAliases map[string]uint16
	// pwd is the password check of the held CONNECT, done off the loop
	// (authenticateAsync); nil otherwise.
	pwd *pwdResult

	aliasMax  uint16 // the client's Topic Alias Maximum
	version   mqtt.Version
	connected bool // CONNECT accepted
	// graceful is set by a DISCONNECT the will must not follow.
	graceful bool
	// noProblemInfo is set when CONNECT carried Request Problem
	// Information 0: no Reason String or User Property on any packet but
	// PUBLISH, CONNACK and DISCONNECT [MQTT-3.1.2-29].
	noProblemInfo bool
}

// inAliases are a connection's inbound topic aliases, kept apart from
// connState so that a connection without any (nearly all) holds 48 B of
// state instead of 64 B.
type inAliases struct {
	m     map[uint16][]byte // alias → topic
	bytes int               // the topic bytes held in m
}

// outMsg is one unacknowledged outbound QoS 1/2 message.
type outMsg struct {
	d   delivery
	id  uint16
	rel bool // PUBREC received, PUBREL sent
}

// willMsg is a session's will: the message, its delay and, once the
// connection is lost, when it is due.
type willMsg struct {
	msg   *message
	at    int64 // Unix ns a delayed will is due; 0 when not scheduled
	delay uint32
}

func newSession(sh *shard, id string, now time.Time) *session {
	return &session{
		sh:        sh,
		id:        id,
		createdAt: now.UnixMilli(),
		heapIdx:   -1,
		cfg:       &sh.b.listeners[0].cfg,
		window:    uint16(sh.b.cfg.InflightMax),
	}
}

// idView returns the client id as bytes without copying; callers only
// read it (newMessage copies what it keeps).
func (s *session) idView() []byte { return unsafe.Slice(unsafe.StringData(s.id), len(s.id)) }

// queueLen returns the number of queued deliveries.
func (s *session) queueLen() int {
	if s.x == nil {
		return 0
	}
	return len(s.x.queue) - int(s.x.queueHead)
}

// cstate returns the broker's state of s's connection, nil when s is
// offline.
func (s *session) cstate() *connState {
	if s.conn == nil {
		return nil
	}
	cs, _ := s.conn.Data.(*connState)
	return cs
}

// inflightLen returns the number of unacknowledged outbound messages.
func (s *session) inflightLen() int {
	if s.x == nil {
		return 0
	}
	return len(s.x.inflight)
}

// awaitRelLen returns the number of inbound QoS 2 messages awaiting PUBREL.
func (s *session) awaitRelLen() int {
	if s.x == nil {
		return 0
	}
	return len(s.x.awaitRel)
}

// heapSize returns the bytes held by the queue and the inflight window.
func (s *session) heapSize() int64 {
	if s.x == nil {
		return 0
	}
	return s.x.heap
}

// maxExtras bounds a shard's free list of sessExtra: enough for the
// sessions a loop serves in one burst of acknowledged QoS 1/2 traffic
// without allocating, few enough to hold little memory when idle.
const maxExtras = 256

// extra returns s's sessExtra, taking one from the shard's free list or
// allocating it if s has none. It runs on s's shard.
func (s *session) extra() *sessExtra {
	if s.x != nil {
		return s.x
	}
	sh := s.sh
	if n := len(sh.extras); n > 0 {
		s.x = sh.extras[n-1]
		sh.extras[n-1] = nil
		sh.extras = sh.extras[:n-1]
	} else {
		s.x = new(sessExtra)
	}
	s.x.qfirst = sh.qpos + 1
	return s.x
}

// releaseExtra gives s's sessExtra back to the shard's free list when it
// holds nothing: no inflight, queued or awaiting-PUBREL message, no drop
// counted and no counter past 32 bits. The free list keeps small backing
// arrays and the awaiting-PUBREL map for the next session, and nothing
// else of s: the packet ids start again from 1. It runs on s's shard.
func (s *session) releaseExtra() {
	x := s.x
	if x == nil || len(x.inflight) > 0 || len(x.queue) > int(x.queueHead) || len(x.awaitRel) > 0 ||
		x.drops != (sessDrops{}) || x.high != nil {
		return
	}
	s.x = nil
	sh := s.sh
	if len(sh.extras) >= maxExtras {
		return
	}
	x.queue, x.queueHead, x.heap = x.queue[:0], 0, 0
	x.nextID = 0 // the next session's first packet id is 1
	if cap(x.queue) > 64 {
		x.queue = nil
	}
	if cap(x.inflight) > 8 {
		x.inflight = nil
	}
	sh.extras = append(sh.extras, x)
}

// markLife records a lifecycle change for the next snapshot.
func (s *session) markLife() {
	if !s.lifeDirty {
		s.lifeDirty = true
		s.sh.lifeDirty = append(s.sh.lifeDirty, s)
	}
	s.markStats()
	s.markStore()
}

// markStats records a counter change for the next stats snapshot.
func (s *session) markStats() {
	if !s.statDirty {
		s.statDirty = true
		s.sh.statDirty = append(s.sh.statDirty, s)
	}
}

// persistent reports whether the session outlives its connection.
func (s *session) persistent() bool { return s.expiry > 0 }
