package coap

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// ErrLost reports a client whose confirmable notification was never
// acknowledged: the observation ends.
var ErrLost = errors.New("coap: notification not acknowledged")

// The operations of EMQX's CoAP model.
type op uint8

const (
	opNone op = iota
	opConnect
	opHeartbeat
	opClose
	opPublish
	opGet // GET /ps/{topic}: subscribe, unsubscribe or a block of a notification
)

// opOf returns the operation of req by method and path.
func opOf(r *request) op {
	switch {
	case r.path == "mqtt/connection":
		switch r.code {
		case codes.POST:
			return opConnect
		case codes.PUT:
			return opHeartbeat
		case codes.DELETE:
			return opClose
		}
	case strings.HasPrefix(r.path, "ps/") && len(r.path) > 3:
		switch r.code {
		case codes.POST, codes.PUT:
			return opPublish
		case codes.GET:
			return opGet
		}
	}
	return opNone
}

// client is one CoAP client, known by its client id, owned by the loop
// in loop; its virtual connection carries its MQTT session.
type client struct {
	gw   *Gateway
	id   string
	loop atomic.Pointer[netio.Loop]
	ls   *loopState
	idx  int
	conn *netio.Conn

	token     string
	user, pwd string // a connectionless client's credentials, checked on each request
	connected bool
	gone      bool
	moving    bool
	early     []inbound // requests that arrived while the connection moved
	// connReq is the POST /mqtt/connection awaiting CONNACK; pending are
	// the requests of a connectionless client waiting for it.
	connReq *request
	pending []*request

	nextID uint16
	pubs   map[uint16]*request // PUBLISH packet id → request awaiting PUBACK/PUBCOMP
	subs   map[uint16]*pendingSub
	pings  []*request
	obs    map[string]*observation // by topic filter
	cons   map[int32]*con          // confirmable notifications awaiting ACK
	blocks map[string]*assembly    // Block1 bodies by peer and path
	reps   map[string][]byte       // the last notification by path, for Block2
}

type pendingSub struct {
	req         *request
	filter      string
	unsubscribe bool
}

type observation struct {
	filter string
	path   string
	to     netip.AddrPort
	token  []byte
	seq    uint32
}

type con struct {
	b      []byte
	to     netip.AddrPort
	filter string
	next   time.Time
	tries  int
}

type assembly struct {
	body []byte
	next uint32
	at   time.Time
}

func newClient(g *Gateway, id string) *client {
	return &client{gw: g, id: id, idx: -1, pubs: map[uint16]*request{}, subs: map[uint16]*pendingSub{},
		obs: map[string]*observation{}, cons: map[int32]*con{}}
}

// take handles one request or acknowledgement on c's loop.
func (c *client) take(ls *loopState, it inbound) {
	g := c.gw
	if c.gone {
		if it.req != nil {
			g.route(it.req, false) // to the client that replaced this one
		}
		return
	}
	c.ls = ls
	if c.moving {
		if len(c.early) < 16 {
			c.early = append(c.early, it)
		} else if it.req != nil {
			g.reply(it.req, codes.ServiceUnavailable, nil)
		}
		return
	}
	if c.idx < 0 {
		ls.track(c)
	}
	if it.ack != nil {
		c.acked(ls, it.ack)
		return
	}
	c.request(ls, it.req)
	if c.conn == nil && len(c.blocks) == 0 && !c.gone {
		c.remove() // a request that never connected it: nothing to keep
	}
}

// request handles one request of the client.
func (c *client) request(ls *loopState, req *request) {
	g := c.gw
	if c.conn != nil {
		c.conn.Touch(req.wire)
	}
	o := opOf(req)
	if tok := req.query["token"]; tok != "" && o != opConnect && tok != c.token {
		g.reply(req, codes.Unauthorized, []byte("bad token"))
		return
	}
	if o != opConnect && req.query["token"] == "" {
		// Without a token: refused when connections are required or the
		// client connected with one; a connectionless client's later
		// requests carry its credentials again.
		if g.cfg.ConnectionRequired || c.token != "" || c.conn != nil && !sameCredentials(req, c.user, c.pwd) {
			g.reply(req, codes.Unauthorized, []byte("token required"))
			return
		}
	}
	if req.hasB1 && (o == opPublish || o == opConnect) {
		if !c.assemble(req) {
			return
		}
	}
	switch o {
	case opConnect:
		c.open(ls, req, true)
	case opHeartbeat:
		if !c.connected {
			g.reply(req, codes.Unauthorized, []byte("not connected"))
			return
		}
		c.pings = append(c.pings, req)
		c.inject([]byte{0xC0, 0})
	case opClose:
		if !c.connected {
			g.reply(req, codes.Unauthorized, []byte("not connected"))
			return
		}
		g.reply(req, codes.Deleted, nil)
		c.inject([]byte{0xE0, 0}) // normal DISCONNECT: the session ends
	default:
		if !c.connected {
			// Connectionless: the request's credentials connect first.
			c.pending = append(c.pending, req)
			if c.conn == nil {
				c.open(ls, req, false)
			}
			return
		}
		c.do(req)
	}
}

// sameCredentials reports whether req carries the user name and password
// a connectionless client connected with (compared in constant time).
func sameCredentials(req *request, user, pwd string) bool {
	u := subtle.ConstantTimeCompare([]byte(req.query["username"]), []byte(user))
	p := subtle.ConstantTimeCompare([]byte(req.query["password"]), []byte(pwd))
	return u&p == 1
}

// maxAssemblies bounds the Block1 bodies a client assembles at once.
const maxAssemblies = 8

// assemble adds a Block1 block to its body; it reports true when req now
// carries the whole body, and answers the blocks before the last.
func (c *client) assemble(req *request) bool {
	g := c.gw
	num, more, szx := req.block1>>4, req.block1&8 != 0, req.block1&7
	if szx == 7 {
		g.reply(req, codes.BadOption, nil)
		return false
	}
	size := uint32(16) << szx
	key := req.from.String() + "/" + req.path
	if c.blocks == nil {
		c.blocks = map[string]*assembly{}
	}
	a := c.blocks[key]
	if num == 0 {
		if a == nil && len(c.blocks) >= maxAssemblies {
			g.reply(req, codes.ServiceUnavailable, nil)
			return false
		}
		a = &assembly{}
		c.blocks[key] = a
	}
	if a == nil || num != a.next || (more && uint32(len(req.payload)) != size) {
		delete(c.blocks, key)
		g.reply(req, codes.RequestEntityIncomplete, nil)
		return false
	}
	a.body = append(a.body, req.payload...)
	a.next++
	a.at = c.ls.l.Now()
	if len(a.body) > g.cfg.MaxBody {
		delete(c.blocks, key)
		g.drop(dropTooLarge)
		g.reply(req, codes.RequestEntityTooLarge, nil, uintOpt(message.Size1, uint32(g.cfg.MaxBody)))
		return false
	}
	if more {
		g.reply(req, codes.Continue, nil, uintOpt(message.Block1, req.block1))
		return false
	}
	delete(c.blocks, key)
	req.payload = a.body
	return true
}

// open opens the client's virtual connection with req's credentials;
// connect says req is POST /mqtt/connection.
func (c *client) open(ls *loopState, req *request, connect bool) {
	g := c.gw
	conn, err := ls.l.OpenVirtual(g.ep, req.from, c)
	if err != nil {
		g.reply(req, codes.ServiceUnavailable, nil)
		if c.conn == nil {
			c.remove()
		}
		return
	}
	c.conn, c.connected = conn, false
	if connect {
		c.connReq = req
	} else {
		c.user, c.pwd = req.query["username"], req.query["password"]
	}
	p := &mqtt.Connect{Version: mqtt.V5, CleanStart: true, KeepAlive: uint16(g.cfg.Heartbeat / time.Second),
		ClientID: []byte(c.id)}
	if u, ok := req.query["username"]; ok {
		p.Username, p.HasUsername = []byte(u), true
	}
	if pw, ok := req.query["password"]; ok {
		p.Password, p.HasPassword = []byte(pw), true
	}
	conn.Inject(mqtt.AppendConnect(nil, p, mqtt.V5), req.wire)
}

// inject hands the broker one packet of the client.
func (c *client) inject(pkt []byte) {
	if c.conn != nil {
		c.conn.Inject(pkt, 0)
	}
}

func (c *client) packetID() uint16 {
	for {
		c.nextID++
		if c.nextID == 0 {
			continue
		}
		if _, busy := c.pubs[c.nextID]; busy {
			continue
		}
		if _, busy := c.subs[c.nextID]; busy {
			continue
		}
		return c.nextID
	}
}

// do runs a publish or GET of a connected client.
func (c *client) do(req *request) {
	g := c.gw
	topic := req.path[len("ps/"):]
	switch opOf(req) {
	case opPublish:
		qos, ok := queryQoS(req)
		if !ok || mqtt.ValidTopicName([]byte(topic)) != nil {
			g.reply(req, codes.BadRequest, nil)
			return
		}
		p := &mqtt.Publish{QoS: qos, Retain: req.query["retain"] == "true", Topic: []byte(topic), Payload: req.payload}
		if qos > 0 {
			p.PacketID = c.packetID()
			c.pubs[p.PacketID] = req
		}
		c.inject(mqtt.AppendPublish(nil, p, mqtt.V5))
		if qos == 0 {
			g.reply(req, codes.Changed, nil)
		}
	case opGet:
		if req.hasB2 && req.block2>>4 > 0 {
			c.block2(req)
			return
		}
		qos, ok := queryQoS(req)
		if !ok || mqtt.ValidTopicFilter([]byte(topic)) != nil {
			g.reply(req, codes.BadRequest, nil)
			return
		}
		switch req.observe {
		case 0:
			id := c.packetID()
			c.subs[id] = &pendingSub{req: req, filter: topic}
			c.inject(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: id,
				Subscriptions: []mqtt.Subscription{{Filter: []byte(topic), QoS: qos}}}, mqtt.V5))
		case 1:
			c.unsubscribe(topic, req)
		default:
			g.reply(req, codes.BadRequest, []byte("observe 0 subscribes, 1 unsubscribes"))
		}
	}
}

// unsubscribe ends the observation of filter; req (may be nil) is
// answered at UNSUBACK.
func (c *client) unsubscribe(filter string, req *request) {
	id := c.packetID()
	c.subs[id] = &pendingSub{req: req, filter: filter, unsubscribe: true}
	// MQTT 5 UNSUBSCRIBE: packet id, no properties, one filter.
	pkt := mqtt.AppendVarint([]byte{0xA2}, 2+1+2+len(filter))
	pkt = append(pkt, byte(id>>8), byte(id), 0, byte(len(filter)>>8), byte(len(filter)))
	c.inject(append(pkt, filter...))
}

// queryQoS reads the qos query parameter (0 when absent).
func queryQoS(req *request) (byte, bool) {
	s, ok := req.query["qos"]
	if !ok {
		return 0, true
	}
	q, err := strconv.Atoi(s)
	if err != nil || q < 0 || q > 2 {
		return 0, false
	}
	return byte(q), true
}

// block2 serves a later block of the last notification of req's path.
func (c *client) block2(req *request) {
	g := c.gw
	body, ok := c.reps[req.path]
	szx := req.block2 & 7
	if !ok || szx == 7 {
		g.reply(req, codes.NotFound, nil)
		return
	}
	size := uint32(16) << szx
	num := req.block2 >> 4
	start := num * size
	if start >= uint32(len(body)) {
		g.reply(req, codes.BadOption, nil)
		return
	}
	end := min(start+size, uint32(len(body)))
	var more uint32
	if end < uint32(len(body)) {
		more = 8
	}
	g.reply(req, codes.Content, body[start:end], uintOpt(message.Block2, num<<4|more|szx),
		uintOpt(message.Size2, uint32(len(body))))
}

// uintOpt returns a uint option in CoAP's minimal encoding.
func uintOpt(id message.OptionID, v uint32) message.Option {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	i := 0
	for i < 4 && b[i] == 0 {
		i++
	}
	return message.Option{ID: id, Value: append([]byte(nil), b[i:]...)}
}

// Send implements netio.VirtualSink: the broker's MQTT 5 packets become
// responses and notifications.
func (c *client) Send(conn *netio.Conn, packets [][]byte) int {
	var buf []byte
	for _, p := range packets {
		buf = append(buf, p...)
	}
	for len(buf) > 0 {
		h, n, err := mqtt.Frame(buf, 0)
		if err != nil || n == 0 {
			break
		}
		c.fromBroker(conn, h, buf[h.HeaderLen:n])
		buf = buf[n:]
	}
	return 0 // datagrams are counted as they go (Conn.Sent)
}

func (c *client) fromBroker(conn *netio.Conn, h mqtt.FixedHeader, body []byte) {
	g := c.gw
	if conn != c.conn {
		return // a replaced connection's last words
	}
	switch h.Type {
	case mqtt.TypeConnack:
		var p mqtt.Connack
		if p.Decode(h, body, mqtt.V5) != nil {
			return
		}
		reqs := c.pending
		c.pending = nil
		if c.connReq != nil {
			reqs = append([]*request{c.connReq}, reqs...)
			c.connReq = nil
		}
		if p.ReasonCode >= 0x80 {
			code := codes.ServiceUnavailable
			switch p.ReasonCode {
			case mqtt.BadUserNameOrPassword, mqtt.NotAuthorized, mqtt.Banned:
				code = codes.Unauthorized
			case mqtt.ClientIdentifierNotValid:
				code = codes.BadRequest
			}
			for _, r := range reqs {
				g.reply(r, code, nil)
			}
			return
		}
		c.connected = true
		for _, r := range reqs {
			if opOf(r) == opConnect {
				var t [8]byte
				_, _ = rand.Read(t[:])
				c.token = hex.EncodeToString(t[:])
				c.sent(g.reply(r, codes.Created, []byte(c.token)))
				continue
			}
			c.do(r)
		}
	case mqtt.TypePuback, mqtt.TypePubcomp, mqtt.TypePubrec:
		// Packet id, then (MQTT 5) a reason code when not success.
		if len(body) < 2 {
			return
		}
		id := binary.BigEndian.Uint16(body)
		var rc mqtt.ReasonCode
		if len(body) > 2 {
			rc = mqtt.ReasonCode(body[2])
		}
		req := c.pubs[id]
		if h.Type == mqtt.TypePubrec && rc < 0x80 {
			c.inject([]byte{0x62, 2, byte(id >> 8), byte(id)}) // PUBREL
			return
		}
		delete(c.pubs, id)
		if req == nil {
			return
		}
		code := codes.Changed
		if rc >= 0x80 {
			code = errorCode(rc)
		}
		c.sent(g.reply(req, code, nil))
	case mqtt.TypeUnsuback:
		if len(body) < 2 {
			return
		}
		id := binary.BigEndian.Uint16(body)
		ps := c.subs[id]
		delete(c.subs, id)
		if ps == nil {
			return
		}
		delete(c.obs, ps.filter)
		if ps.req != nil {
			c.sent(g.reply(ps.req, codes.Content, nil))
		}
	case mqtt.TypeSuback:
		var p mqtt.Suback
		if p.Decode(h, body, mqtt.V5) != nil || len(p.ReasonCodes) != 1 {
			return
		}
		ps := c.subs[p.PacketID]
		delete(c.subs, p.PacketID)
		if ps == nil {
			return
		}
		if rc := p.ReasonCodes[0]; rc >= 0x80 {
			c.sent(g.reply(ps.req, errorCode(rc), nil))
			return
		}
		ob := &observation{filter: ps.filter, path: ps.req.path, to: ps.req.from, token: ps.req.token, seq: 2}
		c.obs[ps.filter] = ob
		c.sent(g.reply(ps.req, codes.Content, nil, uintOpt(message.Observe, ob.seq)))
	case mqtt.TypePingresp:
		for _, r := range c.pings {
			c.sent(g.reply(r, codes.Changed, nil))
		}
		c.pings = nil
	case mqtt.TypePubrel:
		if len(body) >= 2 {
			c.inject([]byte{0x70, 2, body[0], body[1]}) // PUBCOMP
		}
	case mqtt.TypePublish:
		var p mqtt.Publish
		if p.Decode(h, body, mqtt.V5) != nil {
			return
		}
		switch p.QoS {
		case 1:
			c.inject([]byte{0x40, 2, byte(p.PacketID >> 8), byte(p.PacketID)})
		case 2:
			c.inject([]byte{0x50, 2, byte(p.PacketID >> 8), byte(p.PacketID)})
		}
		for _, ob := range c.obs {
			if mqtt.Match([]byte(ob.filter), p.Topic) {
				c.notify(ob, p.QoS, p.Payload)
			}
		}
	}
}

// errorCode maps an MQTT 5 failure reason to a CoAP code.
func errorCode(rc mqtt.ReasonCode) codes.Code {
	switch rc {
	case mqtt.NotAuthorized:
		return codes.Forbidden
	case mqtt.TopicFilterInvalid, mqtt.TopicNameInvalid:
		return codes.BadRequest
	case mqtt.QuotaExceeded, mqtt.ServerBusy:
		return codes.ServiceUnavailable
	}
	return codes.InternalServerError
}

// sent counts a datagram the client got on its connection's counters.
func (c *client) sent(b []byte) {
	if b != nil && c.conn != nil {
		c.conn.Sent(len(b))
	}
}

// notify sends a notification of ob: confirmable for a message of QoS 1
// or 2, non-confirmable for QoS 0; a payload over the block size goes as
// its first block (Block2), the client fetching the rest.
func (c *client) notify(ob *observation, qos byte, payload []byte) {
	g := c.gw
	ob.seq = (ob.seq + 1) & 0xFFFFFF
	m := &message.Message{Code: codes.Content, Token: ob.token, Type: message.NonConfirmable, MessageID: g.nextMID(),
		Options: message.Options{uintOpt(message.Observe, ob.seq)}}
	if qos > 0 {
		m.Type = message.Confirmable
	}
	if len(payload) > g.cfg.BlockSize {
		if c.reps == nil {
			c.reps = map[string][]byte{}
		}
		c.reps[ob.path] = append([]byte(nil), payload...)
		szx := uint32(0)
		for 16<<szx < g.cfg.BlockSize {
			szx++
		}
		m.Options = append(m.Options, uintOpt(message.Block2, 8|szx), uintOpt(message.Size2, uint32(len(payload))))
		payload = payload[:g.cfg.BlockSize]
	}
	m.Payload = payload
	b := g.send(m, ob.to)
	c.sent(b)
	if m.Type == message.Confirmable && b != nil {
		c.cons[m.MessageID] = &con{b: b, to: ob.to, filter: ob.filter, next: c.ls.l.Now().Add(g.cfg.AckTimeout)}
		g.cons.Store(m.MessageID, c)
	}
}

// acked handles the ACK or RST of a confirmable notification: RST ends
// the observation (RFC 7641 section 3.6).
func (c *client) acked(ls *loopState, m *message.Message) {
	cn := c.cons[m.MessageID]
	if cn == nil {
		c.gw.drop(dropUnexpected)
		return
	}
	delete(c.cons, m.MessageID)
	c.gw.cons.Delete(m.MessageID)
	if c.conn != nil {
		c.conn.Touch(4)
	}
	if m.Type == message.Reset {
		if _, ok := c.obs[cn.filter]; ok {
			c.unsubscribe(cn.filter, nil)
		}
	}
}

// timers retransmits confirmable notifications (ACK_TIMEOUT doubling at
// each try) and ends the observation of one never acknowledged.
func (c *client) timers(ls *loopState, now time.Time) {
	g := c.gw
	for mid, cn := range c.cons {
		if now.Before(cn.next) {
			continue
		}
		if cn.tries >= g.cfg.MaxRetransmit {
			delete(c.cons, mid)
			g.cons.Delete(mid)
			g.drop(dropLost)
			if _, ok := c.obs[cn.filter]; ok {
				c.unsubscribe(cn.filter, nil)
			}
			continue
		}
		cn.tries++
		cn.next = now.Add(g.cfg.AckTimeout << cn.tries)
		if g.ep.SendTo(cn.b, cn.to) == nil {
			g.base.Sent.Add(1)
			g.base.Retransmitted.Add(1)
			c.sent(cn.b)
		}
	}
	for k, a := range c.blocks {
		if now.Sub(a.at) > exchangeLifetime {
			delete(c.blocks, k)
		}
	}
	if c.conn == nil && len(c.blocks) == 0 && !c.gone {
		c.remove() // its Block1 transfer was abandoned
	}
}

// remove forgets the client, on its loop.
func (c *client) remove() {
	c.gone = true
	if c.idx >= 0 && c.ls != nil {
		c.ls.untrack(c)
	}
	for mid := range c.cons {
		c.gw.cons.Delete(mid)
	}
	c.gw.forget(c)
}

// Moving implements netio.VirtualSink.
func (c *client) Moving(conn *netio.Conn, to *netio.Loop) {
	if c.idx >= 0 {
		c.ls.untrack(c)
	}
	c.moving = true
	c.loop.Store(to)
}

// Moved implements netio.VirtualSink.
func (c *client) Moved(nc *netio.Conn) {
	ls := c.gw.stateOf(nc.Loop())
	c.ls, c.conn, c.moving = ls, nc, false
	if c.idx < 0 {
		ls.track(c)
	}
	early := c.early
	c.early = nil
	for _, it := range early {
		c.take(ls, it)
	}
}

// Closed implements netio.VirtualSink: the client is forgotten, its
// waiting requests answered 5.03.
func (c *client) Closed(conn *netio.Conn, err error) {
	if conn != c.conn {
		return // replaced by a new POST /mqtt/connection
	}
	reqs := c.pending
	if c.connReq != nil {
		reqs = append(reqs, c.connReq)
	}
	for _, r := range c.pubs {
		reqs = append(reqs, r)
	}
	for _, s := range c.subs {
		if s.req != nil {
			reqs = append(reqs, s.req)
		}
	}
	reqs = append(reqs, c.pings...)
	for _, r := range reqs {
		c.gw.reply(r, codes.ServiceUnavailable, nil)
	}
	c.conn = nil
	c.remove()
}
