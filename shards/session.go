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
	mailbox atomic.Int64
	// online mirrors conn != nil for other shards choosing a shared
	// subscription member.
	online atomic.Bool
	// busy mirrors "over budget": the inflight window is full or the
	// connection is over its outbound soft limit; shared subscriptions skip
	// busy members while another can take the message.
	busy atomic.Bool

	// owned by the shard goroutine (the small fields are grouped at the
	// end so that padding does not push the struct into a larger size
	// class):
	cfg            *Config     // the zone of the listener it last connected through
	acl            *auth.Cache // nil until the first ACL decision
	conn           *netio.Conn
	cs             *connState
	username       string
	remote         netip.AddrPort
	createdAt      int64 // Unix ms
	connectedAt    int64 // Unix ms
	disconnectedAt int64 // Unix ms

	will     *willMsg
	willAt   int64 // Unix ns a delayed will is due; 0 when none
	expireAt int64 // Unix ns an offline session ends; 0 when none
	wakeAt   int64 // the deadline in the shard's timer heap; 0 when none
	heapIdx  int

	subs map[string]SubOptions // filter as subscribed → options

	// outbound QoS 1/2
	inflight  []outMsg // in send order
	queue     []delivery
	queueHead int
	window    int // min(InflightMax, client's Receive Maximum)
	maxOut    int // client's Maximum Packet Size; 0: none

	// inbound QoS 2: packet id → arrival (Unix ns)
	awaitRel map[uint16]int64

	counters sessCounters // accumulated; socket counters of past connections included
	heap     int64        // bytes held by queue and inflight

	expiry     uint32 // Session Expiry Interval, seconds
	keepalive  uint16
	nextID     uint16 // outbound QoS 1/2
	version    mqtt.Version
	authn      bool // the client authenticated with a password
	dead       bool // the session ended; deliveries to it are dropped
	bridge     bool
	cleanStart bool
	wasBusy    bool
	busyListed bool // s is in sh.busy
	lifeDirty  bool
	statDirty  bool
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

// willMsg is a session's will: the message and its delay.
type willMsg struct {
	msg   *message
	delay uint32
}

func newSession(sh *shard, id string, now time.Time) *session {
	return &session{
		sh:        sh,
		id:        id,
		createdAt: now.UnixMilli(),
		heapIdx:   -1,
		cfg:       &sh.b.listeners[0].cfg,
		window:    sh.b.cfg.InflightMax,
	}
}

// idView returns the client id as bytes without copying; callers only
// read it (newMessage copies what it keeps).
func (s *session) idView() []byte { return unsafe.Slice(unsafe.StringData(s.id), len(s.id)) }

// queueLen returns the number of queued deliveries.
func (s *session) queueLen() int { return len(s.queue) - s.queueHead }

// markLife records a lifecycle change for the next snapshot.
func (s *session) markLife() {
	if !s.lifeDirty {
		s.lifeDirty = true
		s.sh.lifeDirty = append(s.sh.lifeDirty, s)
	}
	s.markStats()
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
