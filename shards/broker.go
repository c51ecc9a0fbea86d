package shards

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// Broker is the MQTT broker: it implements netio.Handler, owns the
// sessions (each on the shard of the loop that serves it), the session
// registry, the subscription index and the retained store, and answers the
// API's commands.
//
// Layout (docs/architecture.md): a shard is a netio event loop. A session
// lives on the loop its first connection came in on; a later connection for
// the same client id is moved to that loop, so session state is only ever
// touched by one goroutine and needs no lock.
type Broker struct {
	cfg    Config
	index  *index.Index[*session]
	retain *retained.Store
	// listeners are the resolved Config.Listeners (at least one).
	listeners []*listener

	// store keeps what outlives the process; durable says whether it
	// keeps anything (the shards record changes only then).
	store       Store
	durable     bool
	storeSeq    atomic.Uint64 // numbers deliveries queued for persistent sessions
	storeErrors atomic.Int64
	// full is the store's disk-space state, nil when it has none.
	full interface{ Full() bool }
	// fullRefused counts QoS 1/2 PUBLISHes refused while the disk was
	// full.
	fullRefused atomic.Int64
	// cluster is the view of the other nodes; alone skips it on the
	// publish and subscribe paths.
	cluster Cluster
	alone   bool

	// registry maps client id → *session. Only the owning shard stores or
	// deletes an entry (LoadOrStore decides between two loops racing to
	// create the same session).
	registry registry

	started time.Time
	seq     atomic.Uint64 // assigned client ids
	// pwdChecks counts password checks running off the loops
	// (authenticateAsync).
	pwdChecks atomic.Int64
	// idleN counts connections whose CONNECT is under way (idle.go).
	idleN atomic.Int64

	// broker-wide gauges for Stats
	liveN, sessionsN, subsN, sharedSubs, topics, retainedN gauge

	// msgLive counts this broker's messages not yet released; kept only
	// under checkMessages (the tests), where leaks are looked for.
	msgLive atomic.Int64

	// mu guards the following fields.
	mu     sync.Mutex
	shards []*shard
	// pending are the shards Recover filled, by loop position, until
	// their loop takes them (shardOf); nil when Recover did not run.
	pending   []*shard
	recovered Recovered
}

// New returns a Broker for cfg.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Cluster == nil {
		cfg.Cluster = cluster.Single{}
	}
	if cfg.Store == nil {
		cfg.Store = store.Memory{}
	}
	if !cfg.Cluster.Alone() {
		// The other nodes learn which filters this node subscribes to,
		// in the order the index changes.
		cfg.Index.OnFilter = cfg.Cluster.Interest
	}
	ix, err := index.New[*session](cfg.Index)
	if err != nil {
		return nil, err
	}
	rs, err := retained.New(cfg.Retain)
	if err != nil {
		return nil, err
	}
	durable := cfg.Store.Durable()
	if cfg.Durability == "" && durable {
		cfg.Durability = store.DurabilityBatch
	}
	b := &Broker{cfg: cfg, index: ix, retain: rs, listeners: resolveListeners(cfg), started: time.Now(),
		store: cfg.Store, cluster: cfg.Cluster}
	b.alone = b.cluster.Alone()
	b.full, _ = cfg.Store.(interface{ Full() bool })
	for _, l := range b.listeners {
		if !durable || l.cfg.Durability == "" {
			l.cfg.Durability = store.DurabilityMemory
		}
		// The store is worth a recorder only when a zone keeps something.
		b.durable = b.durable || l.cfg.Durability != store.DurabilityMemory
	}
	return b, nil
}

var _ netio.Handler = (*Broker)(nil)

// OnOpen implements netio.Handler.
func (b *Broker) OnOpen(c *netio.Conn) {
	b.shardOf(c.Loop())
	c.Data = &connState{}
}

// OnFrame implements netio.Handler.
func (b *Broker) OnFrame(c *netio.Conn, h mqtt.FixedHeader, frame, body []byte) error {
	cs := c.Data.(*connState)
	sh := b.shardOf(c.Loop())
	if !cs.connected {
		if h.Type == mqtt.TypeAuth && cs.version == mqtt.V5 {
			return sh.onAuthBeforeConnack(c, cs, h, body)
		}
		if h.Type != mqtt.TypeConnect || cs.auth != nil {
			return ErrProtocol // [MQTT-3.1.0-1], or a CONNECT during an AUTH exchange
		}
		return sh.onConnect(c, cs, h, body)
	}
	s := cs.sess
	if s == nil {
		return nil // taken over; the close is pending
	}
	if len(frame) > s.cfg.MaxPacketSize {
		return mqtt.ErrPacketTooLarge // the zone's limit [MQTT-3.2.2-15]
	}
	s.count(cRecvPkt)
	s.count(cReductions)
	s.markStats()
	return sh.onPacket(s, c, cs, h, frame, body)
}

// OnError implements netio.Handler: an MQTT 5 client gets a DISCONNECT
// with the reason before the close [MQTT-4.13.2].
func (b *Broker) OnError(c *netio.Conn, err error) {
	cs, _ := c.Data.(*connState)
	if cs == nil {
		return
	}
	sh := b.shardOf(c.Loop())
	rc := reasonFor(err)
	if !cs.connected {
		// A CONNECT that failed to decode: MQTT 5 gets a CONNACK with the
		// reason [MQTT-3.1.4-1]; earlier versions are just closed.
		if cs.version == mqtt.V5 && rc >= 0x80 {
			sh.writeConnack(c, mqtt.V5, &mqtt.Connack{ReasonCode: rc})
		}
		return
	}
	if cs.version == mqtt.V5 && rc >= 0x80 {
		sh.writeDisconnect(c, cs, rc, err)
	}
}

// reasonFor maps a close reason to the MQTT 5 reason code sent with it.
func reasonFor(err error) mqtt.ReasonCode {
	switch err {
	case netio.ErrIdleTimeout:
		return mqtt.KeepAliveTimeout
	case netio.ErrSlowConsumer:
		return mqtt.QuotaExceeded
	case ErrProtocol:
		return mqtt.ProtocolError
	case ErrKicked:
		return mqtt.AdministrativeAction
	case ErrTakenOver:
		return mqtt.SessionTakenOver
	case ErrShuttingDown:
		return mqtt.ServerShuttingDown
	case netio.ErrConnectTimeout:
		return 0
	}
	if rc := mqtt.Code(err); rc >= 0x80 {
		return rc
	}
	return mqtt.UnspecifiedError
}

// OnClose implements netio.Handler.
func (b *Broker) OnClose(c *netio.Conn, err error) {
	cs, _ := c.Data.(*connState)
	if !b.alone {
		delete(b.shardOf(c.Loop()).acquiring, c)
	}
	if cs == nil {
		return
	}
	if cs.sess == nil {
		b.shardOf(c.Loop()).endIdle(cs) // closed while its CONNECT was under way
		return
	}
	b.shardOf(c.Loop()).detach(cs.sess, c, cs, err)
}

// OnTick implements netio.Handler.
func (b *Broker) OnTick(l *netio.Loop, now time.Time) { b.shardOf(l).tick(now) }

// OnFlush implements netio.Handler.
func (b *Broker) OnFlush(l *netio.Loop) {
	if sh, ok := l.Data.(*shard); ok {
		sh.flushOutbox()
		if sh.cout != nil {
			sh.flushCluster()
		}
		sh.commitStore()
		sh.snapshotLife(l.Now())
	}
}

// OnWritten implements netio.Handler.
func (b *Broker) OnWritten(l *netio.Loop) {
	if sh, ok := l.Data.(*shard); ok {
		sh.resetScratch()
	}
}

// OnShutdown implements netio.Handler: every MQTT 5 client is told 0x8B
// and every connection closed; sessions are left as a restart would find
// them (not persisted: the broker keeps sessions in memory only).
func (b *Broker) OnShutdown(l *netio.Loop) {
	sh := b.shardOf(l)
	if rec := sh.rec; rec != nil {
		// From now on every loop turn commits what it changed.
		rec.hold, rec.now = 0, true
		if rec.wake != nil {
			rec.wake.Stop()
		}
	}
	for _, s := range sh.sessions {
		if s.conn != nil {
			cs := s.cstate()
			cs.graceful = true // no wills at shutdown
			sh.closeConn(s.conn, cs, ErrShuttingDown)
		}
	}
}
