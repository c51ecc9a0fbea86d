// Package coap is the CoAP gateway (RFC 7252 over UDP) in EMQX 5's
// publish-subscribe model: POST /mqtt/connection?clientid=&username=&password=
// connects and returns a token, PUT and DELETE on it keep alive and close;
// POST /ps/{topic} publishes; GET /ps/{topic} with Observe subscribes and
// Observe 1 unsubscribes. Without connection_required a request may carry
// the client id (and credentials) alone. Its clients are virtual MQTT 5
// connections of the broker (netio.Loop.OpenVirtual), so each is a session
// like an MQTT client: routing, rows, API commands, authentication, ACL
// and zones. Messages use go-coap's codec; block-wise transfers (RFC 7959)
// and duplicate detection are the gateway's.
package coap

import (
	"errors"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/gateway"
)

// Config configures a Gateway.
type Config struct {
	// ConnectionRequired refuses requests without a token from
	// POST /mqtt/connection (4.01). If false, a request may carry clientid
	// (and username, password) alone and the client connects with it.
	ConnectionRequired bool
	// Heartbeat is how long a client may stay silent before it is lost
	// (its MQTT keep-alive; the broker closes it after 1.5 times). If zero,
	// 30 s is used (EMQX's default).
	Heartbeat time.Duration
	// BlockSize is the block size of block-wise transfers the gateway
	// sends (16 to 1024 bytes, a power of two). If zero, 1024.
	BlockSize int
	// MaxBody bounds a request body assembled from Block1 transfers; more
	// is answered 4.13. If zero, 1 MiB.
	MaxBody int
	// MaxDatagram is the largest datagram accepted; larger ones are
	// dropped and counted. If zero, 65535.
	MaxDatagram int
	// AckTimeout and MaxRetransmit are RFC 7252's ACK_TIMEOUT and
	// MAX_RETRANSMIT for confirmable notifications. If zero, 2 s and 4.
	AckTimeout    time.Duration
	MaxRetransmit int
	// MaxClients bounds the gateway's clients; a request that would add
	// one beyond is answered 5.03. If zero, 1,000,000.
	MaxClients int
}

func (c Config) withDefaults() Config {
	if c.Heartbeat == 0 {
		c.Heartbeat = 30 * time.Second
	}
	if c.BlockSize == 0 {
		c.BlockSize = 1024
	}
	if c.MaxBody == 0 {
		c.MaxBody = 1 << 20
	}
	if c.MaxDatagram == 0 || c.MaxDatagram > 65535 {
		c.MaxDatagram = 65535
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 2 * time.Second
	}
	if c.MaxRetransmit == 0 {
		c.MaxRetransmit = 4
	}
	if c.MaxClients == 0 {
		c.MaxClients = 1_000_000
	}
	return c
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case c.Heartbeat < 0 || c.AckTimeout < 0:
		return errors.New("coap: negative duration")
	case c.MaxBody < 0 || c.MaxDatagram < 0 || c.MaxRetransmit < 0 || c.MaxClients < 0:
		return errors.New("coap: negative limit")
	case d.BlockSize < 16 || d.BlockSize > 1024 || d.BlockSize&(d.BlockSize-1) != 0:
		return errors.New("coap: block size must be a power of two from 16 to 1024")
	case d.Heartbeat > 65535*time.Second:
		return errors.New("coap: heartbeat above 65535 s")
	}
	return nil
}

// Drop reasons, as Stats counts them.
const (
	dropMalformed  = iota // not a CoAP message
	dropOversized         // over MaxDatagram
	dropDuplicate         // a request seen before (answered again from the cache)
	dropUnexpected        // an ACK or RST for nothing the gateway sent, or a response
	dropLost              // a confirmable notification never acknowledged
	dropTooLarge          // a request body over MaxBody
	dropClients           // a new client over MaxClients
	numDrops
)

var dropNames = [numDrops]string{"malformed", "oversized", "duplicate", "unexpected", "lost", "too_large", "clients_full"}

// Gateway is a CoAP gateway; a netio.Gateway for one udp listener.
type Gateway struct {
	cfg  Config
	base gateway.Base    // Stats' Retransmitted: confirmable notifications sent again
	ep   *netio.Endpoint // set by Bind
	seed maphash.Seed

	byID  [64]idStripe  // clients by client id
	mid   atomic.Uint32 // message ids of the gateway's own messages
	cons  sync.Map      // message id → *client awaiting its ACK or RST
	dedup dedupCache

	loops  sync.Map // *netio.Loop → *loopState
	bursts map[*netio.Loop][]inbound
}

type idStripe struct {
	mu sync.Mutex
	m  map[string]*client
}

// New returns a Gateway for cfg; give it to a netio udp listener.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg.withDefaults(), seed: maphash.MakeSeed(), bursts: map[*netio.Loop][]inbound{}}
	g.base.Init(dropNames[:])
	for i := range g.byID {
		g.byID[i].m = map[string]*client{}
	}
	g.dedup.init()
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

// Stats returns the gateway's counters, dropped by the reasons of dropNames; safe
// from any goroutine.
func (g *Gateway) Stats() gateway.Stats { return g.base.Stats() }

func (g *Gateway) drop(why int) { g.base.Drop(why) }

// send encodes m and sends it to a; it returns the datagram (for the
// duplicate cache and retransmissions), nil when it could not be encoded.
func (g *Gateway) send(m *message.Message, a netip.AddrPort) []byte {
	b, err := encode(m)
	if err != nil {
		return nil
	}
	if g.ep.SendTo(b, a) == nil {
		g.base.Sent.Add(1)
	}
	return b
}

func encode(m *message.Message) ([]byte, error) {
	size, err := coder.DefaultCoder.Size(*m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := coder.DefaultCoder.Encode(*m, b); err != nil {
		return nil, err
	}
	return b, nil
}

// nextMID returns a message id for the gateway's own confirmable or
// non-confirmable message.
func (g *Gateway) nextMID() int32 { return int32(uint16(g.mid.Add(1))) }

// maxOptions is the most options a message may carry (go-coap decodes
// into a slice of this capacity; more is malformed).
const maxOptions = 32

// request is a parsed request as the client's loop handles it.
type request struct {
	from    netip.AddrPort
	typ     message.Type
	code    codes.Code
	mid     int32
	token   []byte
	path    string
	query   map[string]string
	observe int64 // -1: none
	block1  uint32
	hasB1   bool
	block2  uint32
	hasB2   bool
	payload []byte
	wire    int
}

// inbound is a request (or an ACK/RST) for a client's loop.
type inbound struct {
	c   *client
	req *request
	ack *message.Message // an ACK or RST of the gateway's message
}

// OnDatagram implements netio.Gateway: it decodes, answers duplicates and
// malformed requests itself and hands the rest to the loop of the client
// the request names.
func (g *Gateway) OnDatagram(from netip.AddrPort, b []byte) {
	g.base.Received.Add(1)
	if len(b) > g.cfg.MaxDatagram {
		g.drop(dropOversized)
		return
	}
	m := message.Message{Options: make(message.Options, 0, maxOptions)}
	if _, err := coder.DefaultCoder.Decode(b, &m); err != nil {
		g.drop(dropMalformed)
		// A confirmable message whose header is readable gets RST
		// (RFC 7252 section 4.2).
		if len(b) >= 4 && b[0]>>6 == 1 && (b[0]>>4)&3 == byte(message.Confirmable) {
			g.send(&message.Message{Type: message.Reset, Code: codes.Empty, MessageID: int32(b[2])<<8 | int32(b[3])}, from)
		}
		return
	}
	switch {
	case m.Type == message.Acknowledgement || m.Type == message.Reset:
		if m.Code != codes.Empty && m.Type == message.Acknowledgement {
			g.drop(dropUnexpected) // a piggybacked response: the gateway sends no requests
			return
		}
		v, ok := g.cons.Load(m.MessageID)
		if !ok {
			g.drop(dropUnexpected)
			return
		}
		c := v.(*client)
		g.queue(c.loop.Load(), inbound{c: c, ack: &message.Message{Type: m.Type, MessageID: m.MessageID}})
		return
	case m.Code == codes.Empty:
		if m.Type == message.Confirmable {
			// CoAP ping (RFC 7252 section 4.3): RST.
			g.send(&message.Message{Type: message.Reset, Code: codes.Empty, MessageID: m.MessageID}, from)
		}
		return
	case m.Code >= 64:
		g.drop(dropUnexpected) // a response outside an exchange
		return
	}
	if m.Type == message.Confirmable {
		if resp, seen := g.dedup.seen(from, m.MessageID); seen {
			g.drop(dropDuplicate)
			if resp != nil {
				if g.ep.SendTo(resp, from) == nil {
					g.base.Sent.Add(1)
				}
			}
			return
		}
	}
	req := parseRequest(from, &m, len(b))
	if req == nil {
		g.reply(&request{from: from, typ: m.Type, mid: m.MessageID, token: m.Token}, codes.BadRequest, nil)
		return
	}
	g.route(req, true)
}

// parseRequest reads the path, the query and the options the gateway
// uses; nil when an option is malformed or the query is not key=value.
func parseRequest(from netip.AddrPort, m *message.Message, wire int) *request {
	r := &request{from: from, typ: m.Type, code: m.Code, mid: m.MessageID, token: append([]byte(nil), m.Token...),
		payload: append([]byte(nil), m.Payload...), observe: -1, wire: wire}
	path, err := m.Options.Path()
	if err != nil && !errors.Is(err, message.ErrOptionNotFound) {
		return nil
	}
	r.path = strings.TrimPrefix(path, "/")
	qs, err := m.Options.Queries()
	if err != nil && !errors.Is(err, message.ErrOptionNotFound) {
		return nil
	}
	r.query = map[string]string{}
	for _, q := range qs {
		k, v, ok := strings.Cut(q, "=")
		if !ok || k == "" {
			return nil
		}
		if _, dup := r.query[k]; dup {
			return nil
		}
		r.query[k] = v
	}
	if o, err := m.Options.Observe(); err == nil {
		r.observe = int64(o)
	}
	if v, err := m.Options.GetUint32(message.Block1); err == nil {
		r.block1, r.hasB1 = v, true
	}
	if v, err := m.Options.GetUint32(message.Block2); err == nil {
		r.block2, r.hasB2 = v, true
	}
	return r
}

// reply answers req with code and payload (piggybacked on the ACK of a
// confirmable request, a non-confirmable response otherwise) and caches
// the answer for duplicates. Safe from any goroutine.
func (g *Gateway) reply(req *request, code codes.Code, payload []byte, opts ...message.Option) []byte {
	m := &message.Message{Code: code, Token: req.token, Payload: payload, Options: opts}
	if req.typ == message.Confirmable {
		m.Type, m.MessageID = message.Acknowledgement, req.mid
	} else {
		m.Type, m.MessageID = message.NonConfirmable, g.nextMID()
	}
	b, err := encode(m)
	if err != nil {
		return nil
	}
	if req.typ == message.Confirmable {
		// Cached before it leaves: a retransmission that crosses the
		// answer must find it.
		g.dedup.answer(req.from, req.mid, b)
	}
	if g.ep.SendTo(b, req.from) == nil {
		g.base.Sent.Add(1)
	}
	return b
}

// route hands req to the loop of the client it names, creating the
// client of a connect or a connectionless request; it answers requests
// that name none. reader says it runs on the listener's reader loop (the
// request joins the burst), else on a client's loop.
func (g *Gateway) route(req *request, reader bool) {
	op := opOf(req)
	if op == opNone {
		code := codes.NotFound
		if strings.HasPrefix(req.path, "ps/") || req.path == "mqtt/connection" {
			code = codes.MethodNotAllowed
		}
		g.reply(req, code, nil)
		return
	}
	id := req.query["clientid"]
	if id == "" {
		g.reply(req, codes.BadRequest, []byte("clientid is required"))
		return
	}
	st := &g.byID[maphash.String(g.seed, id)&63]
	st.mu.Lock()
	c := st.m[id]
	switch {
	case c == nil && (op == opConnect || (!g.cfg.ConnectionRequired && req.query["token"] == "" && op != opClose && op != opHeartbeat)):
		if g.base.Clients.Load() >= int64(g.cfg.MaxClients) {
			st.mu.Unlock()
			g.drop(dropClients)
			g.reply(req, codes.ServiceUnavailable, nil)
			return
		}
		loops := g.ep.Loops()
		if len(loops) == 0 {
			st.mu.Unlock()
			g.reply(req, codes.ServiceUnavailable, nil)
			return
		}
		c = newClient(g, id)
		c.loop.Store(loops[maphash.String(g.seed, id)%uint64(len(loops))])
		st.m[id] = c
		g.base.Clients.Add(1)
	case c == nil:
		st.mu.Unlock()
		g.reply(req, codes.Unauthorized, []byte("not connected"))
		return
	}
	st.mu.Unlock()
	if reader {
		g.queue(c.loop.Load(), inbound{c: c, req: req})
	} else {
		g.postTo(c.loop.Load(), inbound{c: c, req: req})
	}
}

// forget removes c from the client table if it is still the entry.
func (g *Gateway) forget(c *client) {
	st := &g.byID[maphash.String(g.seed, c.id)&63]
	st.mu.Lock()
	if st.m[c.id] == c {
		delete(st.m, c.id)
		g.base.Clients.Add(-1)
	}
	st.mu.Unlock()
}

// loopState is a gateway's share of one loop.
type loopState struct {
	l       *netio.Loop
	mu      sync.Mutex
	in      []inbound
	queued  bool
	clients []*client
}

func (g *Gateway) stateOf(l *netio.Loop) *loopState {
	if v, ok := g.loops.Load(l); ok {
		return v.(*loopState)
	}
	v, _ := g.loops.LoadOrStore(l, &loopState{l: l})
	return v.(*loopState)
}

// queue gathers in for loop l until Flush; only the reader loop calls it.
func (g *Gateway) queue(l *netio.Loop, in inbound) { g.bursts[l] = append(g.bursts[l], in) }

// Flush implements netio.Gateway.
func (g *Gateway) Flush() {
	for l, ins := range g.bursts {
		if len(ins) > 0 {
			g.postTo(l, ins...)
			clear(ins)
			g.bursts[l] = ins[:0]
		}
	}
}

// postTo hands ins to loop l; safe from any goroutine.
func (g *Gateway) postTo(l *netio.Loop, ins ...inbound) {
	ls := g.stateOf(l)
	ls.mu.Lock()
	ls.in = append(ls.in, ins...)
	run := !ls.queued
	ls.queued = true
	ls.mu.Unlock()
	if run {
		if err := l.Execute(func() { g.drain(ls) }); err != nil {
			ls.mu.Lock()
			ls.in, ls.queued = nil, false
			ls.mu.Unlock()
		}
	}
}

func (g *Gateway) drain(ls *loopState) {
	ls.mu.Lock()
	in := ls.in
	ls.in, ls.queued = nil, false
	ls.mu.Unlock()
	for _, it := range in {
		if owner := it.c.loop.Load(); owner != ls.l {
			g.postTo(owner, it)
			continue
		}
		it.c.take(ls, it)
	}
}

// track and untrack keep a loop's clients for its timers.
func (ls *loopState) track(c *client) {
	c.idx = len(ls.clients)
	ls.clients = append(ls.clients, c)
}

func (ls *loopState) untrack(c *client) {
	last := len(ls.clients) - 1
	moved := ls.clients[last]
	ls.clients[c.idx], moved.idx = moved, c.idx
	ls.clients[last] = nil
	ls.clients = ls.clients[:last]
	c.idx = -1
}

// tick runs the dedup cache's expiry and each loop's retransmissions
// (every gateway.TickInterval, on the base's goroutine).
func (g *Gateway) tick(now time.Time) {
	g.dedup.expire(now)
	g.loops.Range(func(_, v any) bool {
		ls := v.(*loopState)
		_ = ls.l.Execute(func() {
			for i := len(ls.clients) - 1; i >= 0; i-- {
				if i < len(ls.clients) {
					ls.clients[i].timers(ls, now)
				}
			}
		})
		return true
	})
}

// dedupCache remembers the confirmable requests of the last
// exchangeLifetime by peer and message id, with their answer once sent
// (RFC 7252 section 4.5), at most dedupMax of them.
type dedupCache struct {
	mu    sync.Mutex
	m     map[dedupKey]*dedupEntry
	order []dedupKey // insertion order, for expiry and the bound
}

type dedupKey struct {
	from netip.AddrPort
	mid  int32
}

type dedupEntry struct {
	at   time.Time
	resp []byte
}

const (
	exchangeLifetime = 247 * time.Second
	dedupMax         = 65536
)

func (d *dedupCache) init() { d.m = map[dedupKey]*dedupEntry{} }

// seen reports whether the request was seen, with its answer if sent; a
// new one is remembered.
func (d *dedupCache) seen(from netip.AddrPort, mid int32) ([]byte, bool) {
	k := dedupKey{from, mid}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.m[k]; ok {
		return e.resp, true
	}
	if len(d.order) >= dedupMax {
		delete(d.m, d.order[0])
		d.order = d.order[1:]
	}
	d.m[k] = &dedupEntry{at: time.Now()}
	d.order = append(d.order, k)
	return nil, false
}

// answer records the answer of a request.
func (d *dedupCache) answer(from netip.AddrPort, mid int32, resp []byte) {
	d.mu.Lock()
	if e, ok := d.m[dedupKey{from, mid}]; ok {
		e.resp = resp
	}
	d.mu.Unlock()
}

// expire forgets requests older than exchangeLifetime.
func (d *dedupCache) expire(now time.Time) {
	d.mu.Lock()
	n := 0
	for n < len(d.order) {
		e, ok := d.m[d.order[n]]
		if ok && now.Sub(e.at) < exchangeLifetime {
			break
		}
		delete(d.m, d.order[n])
		n++
	}
	d.order = append(d.order[:0], d.order[n:]...)
	d.mu.Unlock()
}
