// Package mqttsn is the MQTT-SN 1.2 gateway: a netio Gateway on a udp
// listener whose clients are virtual MQTT connections, so that each is a
// session of the broker like any MQTT client (routing, stats, rows,
// commands, authentication, ACL, zones). The gateway translates MQTT-SN
// messages into MQTT 3.1.1 packets for the broker and the broker's
// packets back; it keeps only what MQTT-SN has and MQTT does not: topic
// ids, the will dialogue, sleep and retransmission.
package mqttsn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/gateway"
)

// Config configures a Gateway.
type Config struct {
	// GatewayID is the GwId of ADVERTISE and GWINFO. If zero, 1 is used.
	GatewayID byte
	// Predefined maps the predefined topic ids every client may use to
	// their topic names.
	Predefined map[uint16]string
	// MaxDatagram is the largest datagram accepted and sent; larger ones
	// are dropped and counted. If zero, 65535 is used.
	MaxDatagram int
	// MaxPending bounds the clients in the middle of a CONNECT (the will
	// dialogue, the broker's answer); further CONNECTs are answered
	// CONNACK congestion and counted. If zero, 10,000 is used.
	MaxPending int
	// ConnectTimeout is how long a CONNECT may take (the will dialogue
	// included) before the half-open client is forgotten. If zero, 10 s is
	// used.
	ConnectTimeout time.Duration
	// RetryInterval is how long the gateway waits for an acknowledgement
	// (PUBLISH QoS 1 and 2, PUBREL, REGISTER) before sending again
	// (Tretry). If zero, 10 s is used.
	RetryInterval time.Duration
	// MaxRetries is how many times a message is sent again before the
	// client is taken as lost (Nretry): its connection closes and its will
	// is published. If zero, 3 is used.
	MaxRetries int
	// MaxTopics bounds the topic ids registered per client (either way);
	// a REGISTER beyond is answered congestion. If zero, 1,000 is used.
	MaxTopics int
	// SleepBuffer bounds the messages kept for a sleeping client; the
	// oldest are dropped and counted beyond. If zero, 1,000 is used.
	SleepBuffer int
	// AdvertiseInterval is how often ADVERTISE goes to AdvertiseTo; zero
	// sends none.
	AdvertiseInterval time.Duration
	// AdvertiseTo is where ADVERTISE goes (a broadcast or multicast
	// address of the clients' network).
	AdvertiseTo netip.AddrPort
}

func (c Config) withDefaults() Config {
	if c.GatewayID == 0 {
		c.GatewayID = 1
	}
	if c.MaxDatagram == 0 || c.MaxDatagram > 65535 {
		c.MaxDatagram = 65535
	}
	if c.MaxPending == 0 {
		c.MaxPending = 10_000
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 10 * time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.MaxTopics == 0 {
		c.MaxTopics = 1000
	}
	if c.SleepBuffer == 0 {
		c.SleepBuffer = 1000
	}
	return c
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	switch {
	case c.MaxDatagram < 0 || c.MaxPending < 0 || c.MaxTopics < 0 || c.SleepBuffer < 0 || c.MaxRetries < 0:
		return errors.New("mqttsn: negative limit")
	case c.ConnectTimeout < 0 || c.RetryInterval < 0 || c.AdvertiseInterval < 0:
		return errors.New("mqttsn: negative duration")
	case c.AdvertiseInterval > 0 && !c.AdvertiseTo.IsValid():
		return errors.New("mqttsn: advertising needs an address to advertise to")
	}
	for id, name := range c.Predefined {
		if id == 0 || id == 0xFFFF {
			return fmt.Errorf("mqttsn: predefined topic id %d is reserved", id)
		}
		if err := mqtt.ValidTopicName([]byte(name)); err != nil {
			return fmt.Errorf("mqttsn: predefined topic id %d: %q is not a topic name: %w", id, name, err)
		}
	}
	return nil
}

// Drop reasons, as Stats counts them.
const (
	dropMalformed    = iota // truncated, bad length, bad fields
	dropUnknownType         // a message type the gateway does not take
	dropOversized           // a datagram over MaxDatagram
	dropUnknownPeer         // a message from a peer that is not connected
	dropInvalidTopic        // PUBLISH to an unregistered or unknown topic id
	dropPendingFull         // a CONNECT over MaxPending
	dropExpired             // a half-open client forgotten after ConnectTimeout
	dropLost                // a client taken as lost after MaxRetries
	dropSleepBuffer         // a message dropped from a full sleep buffer
	dropTooLarge            // an outbound message over MaxDatagram
	dropSend                // a datagram the socket refused
	numDrops
)

var dropNames = [numDrops]string{"malformed", "unknown_type", "oversized", "unknown_peer", "invalid_topic_id",
	"pending_full", "expired", "lost", "sleep_buffer", "too_large", "send_failed"}

// DropReasons returns the reasons Stats' Dropped counts, in order.
func DropReasons() []string { return dropNames[:] }

// Gateway is an MQTT-SN gateway; a netio.Gateway for one udp listener.
type Gateway struct {
	cfg  Config
	base gateway.Base    // Stats' Clients: connected, asleep or in the middle of a CONNECT
	ep   *netio.Endpoint // set by Bind

	seed    maphash.Seed
	stripes [64]stripe

	pending atomic.Int64 // half-open clients

	predefined map[string]uint16 // Config.Predefined by name

	// sleepersMu guards the following field.
	sleepersMu sync.Mutex
	// sleepers are the sleeping clients by client id: one may wake from
	// another address (section 6.14).
	sleepers map[string]*client

	loops sync.Map // *netio.Loop → *loopState
	// bursts gather the datagrams of one read burst per loop; owned by
	// the listener's reader loop (OnDatagram, Flush).
	bursts map[*netio.Loop]*burst
	// advertised is when ADVERTISE last went out; owned by the ticker.
	advertised time.Time
}

// stripe is one lock's share of the clients by peer: m holds those that
// talk to the gateway directly, fwd (nil until one comes) those behind a
// forwarder, so that a direct client's entry stays an address.
type stripe struct {
	mu  sync.RWMutex
	m   map[netip.AddrPort]*client
	fwd map[peer]*client
}

// getLocked returns the client of p; st.mu is held.
func (st *stripe) getLocked(p peer) *client {
	if p.node == "" {
		return st.m[p.addr]
	}
	return st.fwd[p]
}

// putLocked makes c the client of p; st.mu is held for writing.
func (st *stripe) putLocked(p peer, c *client) {
	if p.node == "" {
		st.m[p.addr] = c
		return
	}
	if st.fwd == nil {
		st.fwd = map[peer]*client{}
	}
	st.fwd[p] = c
}

// deleteLocked removes p's entry if it is c's, and reports whether it
// was; st.mu is held for writing.
func (st *stripe) deleteLocked(p peer, c *client) bool {
	if st.getLocked(p) != c {
		return false
	}
	if p.node == "" {
		delete(st.m, p.addr)
	} else {
		delete(st.fwd, p)
	}
	return true
}

// peer is where a client is: its UDP address, and for a client behind a
// forwarder (section 5.5) the forwarder's address and the client's
// Wireless Node Id.
type peer struct {
	addr netip.AddrPort
	node string // empty for a client that talks to the gateway directly
}

// New returns a Gateway for cfg; give it to a netio udp listener.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg.withDefaults(), seed: maphash.MakeSeed(),
		bursts: map[*netio.Loop]*burst{}, sleepers: map[string]*client{}}
	g.base.Init(dropNames[:])
	for i := range g.stripes {
		g.stripes[i].m = map[netip.AddrPort]*client{}
	}
	g.predefined = make(map[string]uint16, len(cfg.Predefined))
	for id, name := range cfg.Predefined {
		g.predefined[name] = id
	}
	return g, nil
}

var _ netio.Gateway = (*Gateway)(nil)

// Bind implements netio.Gateway: it starts the gateway's timers.
func (g *Gateway) Bind(ep *netio.Endpoint) {
	g.ep = ep
	g.base.Bind(ep, g.tick)
}

// Close stops the gateway's timers; the connections close with the
// netio Server. Safe to call twice.
func (g *Gateway) Close() { g.base.Close() }

// Addr returns the bound address; the zero AddrPort before Bind.
func (g *Gateway) Addr() netip.AddrPort { return g.base.Addr() }

// Stats returns the gateway's counters, dropped by DropReasons; safe
// from any goroutine.
func (g *Gateway) Stats() gateway.Stats {
	s := g.base.Stats()
	if g.ep != nil {
		s.Dropped[dropSend] += g.ep.SendErrors()
	}
	return s
}

func (g *Gateway) drop(why int) { g.base.Drop(why) }

// stripeOf returns the stripe of a peer's address: the nodes behind one
// forwarder share it.
func (g *Gateway) stripeOf(a netip.AddrPort) *stripe { return &g.stripes[g.stripeIndex(a)] }

func (g *Gateway) stripeIndex(a netip.AddrPort) int {
	var h maphash.Hash
	h.SetSeed(g.seed)
	b := a.Addr().As16()
	h.Write(b[:])
	h.WriteByte(byte(a.Port()))
	h.WriteByte(byte(a.Port() >> 8))
	return int(h.Sum64() & 63)
}

func (g *Gateway) lookup(p peer) *client {
	st := g.stripeOf(p.addr)
	st.mu.RLock()
	c := st.getLocked(p)
	st.mu.RUnlock()
	return c
}

// forget removes c from the peer table (if it is still the entry) and
// from the sleepers.
func (g *Gateway) forget(c *client) {
	st := g.stripeOf(c.addr)
	st.mu.Lock()
	if st.deleteLocked(c.peer(), c) {
		g.base.Clients.Add(-1)
	}
	st.mu.Unlock()
	g.awake(c)
}

// send sends one datagram to p, encapsulated for a client behind a
// forwarder (Ctrl 0: a unicast).
func (g *Gateway) send(b []byte, p peer) bool { return g.sendCtrl(b, p, 0) }

// sendCtrl sends one datagram to p, encapsulated with Ctrl ctrl for a
// client behind a forwarder.
func (g *Gateway) sendCtrl(b []byte, p peer, ctrl byte) bool {
	if p.node != "" {
		b = appendEncapsulated(make([]byte, 0, 3+len(p.node)+len(b)), ctrl, p.node, b)
	}
	if len(b) > g.cfg.MaxDatagram {
		g.drop(dropTooLarge)
		return false
	}
	if g.ep.SendTo(b, p.addr) != nil {
		return false
	}
	g.base.Sent.Add(1)
	return true
}

// OnDatagram implements netio.Gateway; it runs on the listener's reader
// loop. It answers SEARCHGW itself, and hands everything else to the loop
// that owns the peer's client, creating one for a CONNECT.
//
// A datagram of a forwarder (Forwarder Encapsulation, section 5.5) is
// taken as the message it carries from the peer of the forwarder's
// address and the Wireless Node Id: each node behind a forwarder is a
// client of its own, and what the gateway sends it goes through the
// forwarder, encapsulated.
func (g *Gateway) OnDatagram(from netip.AddrPort, b []byte) {
	g.base.Received.Add(1)
	if len(b) > g.cfg.MaxDatagram {
		g.drop(dropOversized)
		return
	}
	p := peer{addr: from}
	var ctrl byte
	if len(b) >= 2 && b[1] == tEncapsulated {
		enc, inner, err := unwrap(b)
		if err != nil {
			g.drop(dropMalformed)
			return
		}
		p.node, ctrl, b = string(enc.node), enc.ctrl, inner
	}
	typ, body, err := frame(b)
	if err != nil {
		g.drop(dropMalformed)
		return
	}
	if c := g.lookup(p); c != nil {
		g.post(c, b)
		return
	}
	switch typ {
	case tSearchGW:
		if len(body) != 1 {
			g.drop(dropMalformed)
			return
		}
		// Through a forwarder, GWINFO goes back with the radius of
		// SEARCHGW's broadcast (section 5.5: Ctrl's radius is for the
		// forwarder's broadcast).
		g.sendCtrl([]byte{3, tGWInfo, g.cfg.GatewayID}, p, ctrl&radiusMask)
	case tConnect:
		if len(body) < 4 {
			g.drop(dropMalformed)
			return
		}
		if body[0]&(flagWill|flagCleanSession) == 0 {
			if c := g.sleeper(body[4:]); c != nil {
				// A sleeping client back to active from another
				// address (section 6.14).
				g.postMoved(c, p, b)
				return
			}
		}
		if g.pending.Load() >= int64(g.cfg.MaxPending) {
			g.drop(dropPendingFull)
			g.send([]byte{3, tConnack, rcCongestion}, p)
			return
		}
		c := g.admit(p, body[4:])
		if c == nil {
			g.drop(dropPendingFull)
			g.send([]byte{3, tConnack, rcCongestion}, p)
			return
		}
		g.post(c, b)
	case tPublish:
		if len(body) >= 5 && (body[0]&flagQoSMask)>>5 == qosMinus1 {
			g.publishMinus1(p, b)
			return
		}
		g.drop(dropUnknownPeer)
		g.sendDisconnect(p)
	case tAdvertise, tGWInfo:
		// Another gateway's: nothing to do.
	case tPingreq:
		// A PINGREQ with a client id wakes that sleeping client wherever
		// it now is (section 6.14): its address may have changed while it
		// slept.
		if len(body) > 0 {
			if c := g.sleeper(body); c != nil {
				g.postMoved(c, p, b)
				return
			}
		}
		g.drop(dropUnknownPeer)
		g.sendDisconnect(p)
	case tRegister, tSubscribe, tUnsubscribe, tPuback, tPubrec, tPubrel, tPubcomp, tRegack,
		tWillTopicUpd, tWillMsgUpd, tWillTopic, tWillMsg:
		// A client the gateway does not know (it expired, or the gateway
		// restarted): DISCONNECT tells it to connect again.
		g.drop(dropUnknownPeer)
		g.sendDisconnect(p)
	case tDisconnect:
		g.drop(dropUnknownPeer)
	default:
		g.drop(dropUnknownType)
	}
}

func (g *Gateway) sendDisconnect(to peer) { g.send([]byte{2, tDisconnect}, to) }

// admit creates the client of a peer's first CONNECT, on the loop its
// client id hashes to; nil when there is no loop yet.
func (g *Gateway) admit(from peer, clientID []byte) *client {
	loops := g.ep.Loops()
	if len(loops) == 0 {
		return nil
	}
	l := loops[maphash.Bytes(g.seed, clientID)%uint64(len(loops))]
	c := &client{gw: g, addr: from.addr, pendingSince: time.Now().UnixNano(), idx: -1}
	if from.node != "" {
		c.ext().node = from.node
	}
	c.loop.Store(l)
	st := g.stripeOf(from.addr)
	st.mu.Lock()
	if old := st.getLocked(from); old != nil {
		st.mu.Unlock()
		return old
	}
	st.putLocked(from, c)
	st.mu.Unlock()
	g.base.Clients.Add(1)
	g.pending.Add(1)
	c.half = true
	return c
}

// loopState is a gateway's share of one loop: its inbox and the clients
// it owns. The clients are owned by the loop; the inbox is locked.
type loopState struct {
	l       *netio.Loop
	mu      sync.Mutex
	in      []inbound
	spare   []inbound
	queued  bool
	clients []*client // the loop's clients, each knowing its index
	scratch []byte    // MQTT packets built on the loop, reused
	out     []byte    // the broker's packets of one Send, joined
	dg      []byte    // an MQTT-SN message built on the loop, sent at once
}

// inbound is a datagram waiting for its client's loop: for c, or a
// QoS −1 PUBLISH of from when c is nil. A datagram for c with from set
// comes from a sleeping client's new peer.
type inbound struct {
	c    *client
	from peer
	b    []byte
}

func (g *Gateway) stateOf(l *netio.Loop) *loopState {
	if v, ok := g.loops.Load(l); ok {
		return v.(*loopState)
	}
	v, _ := g.loops.LoadOrStore(l, &loopState{l: l})
	return v.(*loopState)
}

// burst is the datagrams of one read burst for one loop, copied into one
// buffer.
type burst struct {
	items []inbound
	ends  []int
	data  []byte
}

// post hands datagram b (copied) for client c to c's loop, with the
// other datagrams of the read burst (Flush); only the reader loop calls
// it.
func (g *Gateway) post(c *client, b []byte) { g.queue(c.loop.Load(), inbound{c: c}, b) }

// postMoved hands c's loop datagram b of c from peer p, where c has not
// been seen before.
func (g *Gateway) postMoved(c *client, p peer, b []byte) {
	g.queue(c.loop.Load(), inbound{c: c, from: p}, b)
}

func (g *Gateway) queue(l *netio.Loop, in inbound, b []byte) {
	bu := g.bursts[l]
	if bu == nil {
		bu = &burst{}
		g.bursts[l] = bu
	}
	bu.data = append(bu.data, b...)
	bu.items = append(bu.items, in)
	bu.ends = append(bu.ends, len(bu.data))
}

// Flush implements netio.Gateway: each loop gets the datagrams of the
// burst for its clients in one Execute.
func (g *Gateway) Flush() {
	for l, bu := range g.bursts {
		if len(bu.items) == 0 {
			continue
		}
		start := 0
		for i := range bu.items {
			bu.items[i].b = bu.data[start:bu.ends[i]:bu.ends[i]]
			start = bu.ends[i]
		}
		g.postTo(l, bu.items...)
		clear(bu.items)
		bu.items, bu.ends = bu.items[:0], bu.ends[:0]
		bu.data = make([]byte, 0, cap(bu.data)) // the loop holds the last one
	}
}

// postTo hands datagrams to loop l's inbox; they are taken in one
// Execute with whatever else gathers before it runs.
func (g *Gateway) postTo(l *netio.Loop, in ...inbound) {
	ls := g.stateOf(l)
	ls.mu.Lock()
	ls.in = append(ls.in, in...)
	run := !ls.queued
	ls.queued = true
	ls.mu.Unlock()
	if run {
		if err := l.Execute(func() { g.drain(ls) }); err != nil {
			ls.mu.Lock()
			ls.in, ls.queued = ls.in[:0], false
			ls.mu.Unlock()
		}
	}
}

// drain handles a loop's inbox, on the loop.
func (g *Gateway) drain(ls *loopState) {
	ls.mu.Lock()
	in := ls.in
	ls.in, ls.spare = ls.spare[:0], nil
	ls.queued = false
	ls.mu.Unlock()
	for i := range in {
		it := in[i]
		in[i] = inbound{}
		if it.c == nil {
			g.handleMinus1(ls, it.from, it.b)
			continue
		}
		if owner := it.c.loop.Load(); owner != ls.l {
			g.postTo(owner, it) // the client moved on
			continue
		}
		if it.from.addr.IsValid() && !it.c.moveTo(ls, it.from) {
			continue
		}
		it.c.handle(ls, it.b)
	}
	ls.mu.Lock()
	if ls.spare == nil {
		ls.spare = in[:0]
	}
	ls.mu.Unlock()
}

// tick runs the gateway's timers (every gateway.TickInterval, on the
// base's goroutine): on each loop, the retransmissions and expiries of
// its clients; ADVERTISE when asked for.
func (g *Gateway) tick(now time.Time) {
	if g.cfg.AdvertiseInterval > 0 && now.Sub(g.advertised) >= g.cfg.AdvertiseInterval {
		g.advertised = now
		d := uint16(min(g.cfg.AdvertiseInterval/time.Second, 0xFFFF))
		g.send([]byte{5, tAdvertise, g.cfg.GatewayID, byte(d >> 8), byte(d)}, peer{addr: g.cfg.AdvertiseTo})
	}
	g.loops.Range(func(_, v any) bool {
		ls := v.(*loopState)
		_ = ls.l.Execute(func() { g.sweep(ls, now) })
		return true
	})
}

// sweep expires half-open clients and retransmits, on ls's loop.
func (g *Gateway) sweep(ls *loopState, now time.Time) {
	// Backwards: a client that expires takes the last one's place, which
	// was already seen.
	for i := len(ls.clients) - 1; i >= 0; i-- {
		if i < len(ls.clients) {
			ls.clients[i].timers(ls, now)
		}
	}
}

// track adds c to the loop's clients.
func (ls *loopState) track(c *client) {
	c.idx = int32(len(ls.clients))
	ls.clients = append(ls.clients, c)
}

// untrack removes c from the loop's clients.
func (ls *loopState) untrack(c *client) {
	last := len(ls.clients) - 1
	moved := ls.clients[last]
	ls.clients[c.idx], moved.idx = moved, c.idx
	ls.clients[last] = nil
	ls.clients = ls.clients[:last]
	c.idx = -1
}

// predefinedID returns the predefined topic id of topic.
func (g *Gateway) predefinedID(topic string) (uint16, bool) {
	id, ok := g.predefined[topic]
	return id, ok
}

// publishMinus1 takes a PUBLISH with QoS −1 from a peer without a
// connection (section 6.8): on a loop chosen by the peer's address.
func (g *Gateway) publishMinus1(from peer, b []byte) {
	loops := g.ep.Loops()
	if len(loops) == 0 {
		return
	}
	h := maphash.Comparable(g.seed, from.addr)
	g.queue(loops[h%uint64(len(loops))], inbound{from: from}, b)
}

// handleMinus1 publishes a QoS −1 message through a connection of its own
// that lives for the one message: an anonymous client with an assigned id
// and clean session, so that authentication and the ACL decide as for any
// client. Only predefined and short topic ids are possible without a
// connection.
func (g *Gateway) handleMinus1(ls *loopState, from peer, b []byte) {
	_, body, _ := frame(b)
	flags := body[0]
	tid := binary.BigEndian.Uint16(body[1:3])
	var name string
	switch flags & flagTopicMask {
	case topicPredefined:
		n, ok := g.cfg.Predefined[tid]
		if !ok {
			g.drop(dropInvalidTopic)
			return
		}
		name = n
	case topicShort:
		name = shortTopic(tid)
	default:
		g.drop(dropInvalidTopic)
		return
	}
	conn, err := ls.l.OpenVirtual(g.ep, from.addr, transient{})
	if err != nil {
		g.drop(dropPendingFull)
		return
	}
	pkt := mqtt.AppendConnect(ls.scratch[:0], &mqtt.Connect{Version: mqtt.V311, CleanStart: true}, mqtt.V311)
	pkt = mqtt.AppendPublish(pkt, &mqtt.Publish{Retain: flags&flagRetain != 0, Topic: []byte(name), Payload: body[5:]}, mqtt.V311)
	pkt = append(pkt, 0xE0, 0)
	ls.scratch = pkt[:0]
	conn.Inject(pkt, len(b))
}

// transient is the sink of a QoS −1 publisher's connection: the broker's
// answers go nowhere.
type transient struct{}

func (transient) Send(*netio.Conn, [][]byte) int  { return 0 }
func (transient) Moving(*netio.Conn, *netio.Loop) {}
func (transient) Moved(*netio.Conn)               {}
func (transient) Closed(*netio.Conn, error)       {}
