package mqttsn

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// Errors a gateway closes a client's connection with: the broker treats
// both as an abnormal loss and publishes the will.
var (
	// ErrLost reports a client that acknowledged nothing after MaxRetries
	// retransmissions.
	ErrLost = errors.New("mqttsn: client lost (no acknowledgement after the retries)")
	// ErrProtocol reports a message the client may not send in its state,
	// or one that does not decode.
	ErrProtocol = errors.New("mqttsn: protocol error")
)

// A client's states.
const (
	stNew        = iota // the first CONNECT is not handled yet
	stWillTopic         // WILLTOPICREQ sent
	stWillMsg           // WILLMSGREQ sent
	stConnecting        // the MQTT CONNECT is with the broker
	stActive
	stAsleep
	stAwake // asleep, woken by a PINGREQ until its PINGRESP
)

// client is one MQTT-SN client, owned by the loop in loop; its virtual
// connection carries its MQTT session. What an idle client does not use
// lives in x (clientExtra), allocated on first use.
type client struct {
	gw   *Gateway
	addr netip.AddrPort // changed on the loop alone (moveTo)
	loop atomic.Pointer[netio.Loop]
	ls   *loopState
	conn *netio.Conn
	x    *clientExtra

	clientID     []byte
	pendingSince int64 // Unix ns of the first CONNECT, while half-open
	wire         int   // bytes of the datagrams of the CONNECT dialogue, then of one Send

	idx       int32 // position in ls.clients; -1 when not there
	keepAlive uint16
	state     uint8
	clean     bool
	half      bool // counted in gw.pending
	moving    bool // between Moving and Moved
	refused   bool // the broker refused the CONNECT; its CONNACK went out
	gone      bool // forgotten: no longer in the address table
}

// clientExtra is the state of a client that registers, subscribes,
// publishes with acknowledgements, sleeps or has a will.
type clientExtra struct {
	// restart is a CONNECT that replaces the connection once it closes.
	restart []byte
	// node is the Wireless Node Id of a client behind a forwarder.
	node  string
	will  *mqtt.Will
	sleep time.Duration
	// pingresp is set while the PINGRESP of a wake-up waits for the
	// buffered messages' REGACKs.
	pingresp bool

	// Topic ids: registered names (either way), by name and by id.
	topics  map[string]uint16
	names   map[uint16]string
	nextID  uint16
	regSeq  uint16
	regs    map[uint16]string // REGISTER sent, by MsgId, awaiting REGACK
	regName map[string]uint16 // the same, by name
	waiting []outMsg          // PUBLISHes waiting for their topic's REGACK

	inTopic  map[uint16]uint16 // inbound QoS 1 MsgId → TopicId for PUBACK
	subs     map[uint16]uint16 // SUBSCRIBE MsgId → TopicId for SUBACK
	autoComp map[uint16]bool   // outbound QoS 2 dropped: PUBREL answered by the gateway
	retry    []*retry          // sent, awaiting an acknowledgement
	asleep   []outMsg          // kept while asleep
	early    [][]byte          // datagrams that arrived while the connection moved
}

// peer returns where c is; on c's loop.
func (c *client) peer() peer {
	if c.x != nil && c.x.node != "" {
		return peer{addr: c.addr, node: c.x.node}
	}
	return peer{addr: c.addr}
}

// ext returns c's extra state, allocating it on first use.
func (c *client) ext() *clientExtra {
	if c.x == nil {
		c.x = &clientExtra{}
	}
	return c.x
}

// outMsg is a message from the broker for the client.
type outMsg struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	dup     bool
	id      uint16
}

// retry is a message awaiting an acknowledgement.
type retry struct {
	typ   byte // tPublish, tPubrel, tRegister
	id    uint16
	qos   byte
	b     []byte
	sent  time.Time
	tries int
}

// handle takes one datagram of the client, on its loop.
func (c *client) handle(ls *loopState, b []byte) {
	if c.gone {
		// Forgotten (expired, closed) with datagrams still on their way.
		c.gw.drop(dropUnknownPeer)
		return
	}
	c.ls = ls
	if c.moving {
		// Moved tracks the client on its new loop.
		if len(c.ext().early) < 16 {
			c.ext().early = append(c.ext().early, b)
		} else {
			c.gw.drop(dropUnknownPeer)
		}
		return
	}
	if c.idx < 0 {
		ls.track(c)
	}
	typ, body, err := frame(b)
	if err != nil {
		c.gw.drop(dropMalformed)
		return
	}
	if c.conn != nil && typ != tConnect && typ != tPingreq && typ != tPublish {
		c.conn.Touch(len(b)) // PINGREQ and PUBLISH count when injected
	}
	switch typ {
	case tConnect:
		c.onConnect(ls, b, body)
	case tWillTopic:
		c.onWillTopic(ls, b, body)
	case tWillMsg:
		c.onWillMsg(ls, b, body)
	case tSearchGW:
		c.gw.send([]byte{3, tGWInfo, c.gw.cfg.GatewayID}, c.peer())
	case tAdvertise, tGWInfo:
	default:
		if c.conn == nil || c.state < stActive {
			c.gw.drop(dropUnknownPeer)
			return
		}
		c.onMessage(ls, typ, body, len(b))
	}
}

// onConnect handles CONNECT: the first one starts the will dialogue or
// the MQTT connection; a repeated one while connecting is answered again;
// one from a connected client either wakes it (asleep, same session) or
// replaces its connection.
func (c *client) onConnect(ls *loopState, b, body []byte) {
	if len(body) < 4 {
		c.gw.drop(dropMalformed)
		return
	}
	flags := body[0]
	switch c.state {
	case stWillTopic:
		c.gw.send([]byte{2, tWillTopicReq}, c.peer())
		return
	case stWillMsg:
		c.gw.send([]byte{2, tWillMsgReq}, c.peer())
		return
	case stConnecting:
		return // the broker's answer is on its way
	case stAsleep, stAwake, stActive:
		if c.state != stActive && flags&(flagWill|flagCleanSession) == 0 && string(body[4:]) == string(c.clientID) {
			// Back from sleep to active (section 6.14).
			c.conn.Touch(len(b))
			c.keepAlive = binary.BigEndian.Uint16(body[2:4])
			c.setIdle(time.Duration(c.keepAlive) * time.Second)
			c.state = stActive
			c.gw.awake(c)
			c.gw.send([]byte{3, tConnack, rcAccepted}, c.peer())
			c.wake(ls)
			return
		}
		c.ext().restart = append([]byte(nil), b...)
		c.conn.Inject([]byte{0xE0, 0}, len(b)) // a normal DISCONNECT: no will
		return
	}
	if body[1] != protocolID {
		c.gw.send([]byte{3, tConnack, rcNotSupported}, c.peer())
		c.remove(ls)
		return
	}
	c.clean = flags&flagCleanSession != 0
	c.keepAlive = binary.BigEndian.Uint16(body[2:4])
	c.clientID = append([]byte(nil), body[4:]...)
	c.wire += len(b)
	if flags&flagWill != 0 {
		c.state = stWillTopic
		c.gw.send([]byte{2, tWillTopicReq}, c.peer())
		return
	}
	c.open(ls)
}

func (c *client) onWillTopic(ls *loopState, b, body []byte) {
	if c.state != stWillTopic {
		c.gw.drop(dropUnknownPeer)
		return
	}
	c.wire += len(b)
	if len(body) == 0 { // an empty WILLTOPIC: no will after all
		c.open(ls)
		return
	}
	w, ok := parseWillTopic(body)
	if !ok {
		c.gw.send([]byte{3, tConnack, rcNotSupported}, c.peer())
		c.gw.drop(dropMalformed)
		c.remove(ls)
		return
	}
	c.ext().will = w
	c.state = stWillMsg
	c.gw.send([]byte{2, tWillMsgReq}, c.peer())
}

// parseWillTopic reads the Flags and WillTopic of WILLTOPIC and
// WILLTOPICUPD.
func parseWillTopic(body []byte) (*mqtt.Will, bool) {
	qos := (body[0] & flagQoSMask) >> 5
	topic := body[1:]
	if qos > 2 || mqtt.ValidTopicName(topic) != nil {
		return nil, false
	}
	return &mqtt.Will{QoS: qos, Retain: body[0]&flagRetain != 0, Topic: append([]byte(nil), topic...)}, true
}

func (c *client) onWillMsg(ls *loopState, b, body []byte) {
	if c.state != stWillMsg {
		c.gw.drop(dropUnknownPeer)
		return
	}
	c.wire += len(b)
	c.ext().will.Payload = append([]byte(nil), body...)
	c.open(ls)
}

// open opens the client's virtual connection and hands the broker its
// CONNECT.
func (c *client) open(ls *loopState) {
	conn, err := ls.l.OpenVirtual(c.gw.ep, c.addr, c)
	if err != nil {
		c.gw.send([]byte{3, tConnack, rcCongestion}, c.peer())
		c.remove(ls)
		return
	}
	c.conn = conn
	c.state = stConnecting
	p := &mqtt.Connect{Version: mqtt.V311, CleanStart: c.clean, KeepAlive: c.keepAlive, ClientID: c.clientID}
	if c.x != nil && c.x.will != nil {
		p.HasWill, p.Will = true, *c.x.will
	}
	pkt := mqtt.AppendConnect(ls.scratch[:0], p, mqtt.V311)
	ls.scratch = pkt[:0]
	wire := c.wire
	c.wire = 0
	conn.Inject(pkt, wire)
}

// onMessage handles a message of a connected client.
func (c *client) onMessage(ls *loopState, typ byte, body []byte, wire int) {
	g := c.gw
	switch typ {
	case tPublish:
		c.onPublish(ls, body, wire)
	case tPuback:
		if len(body) != 5 {
			g.drop(dropMalformed)
			return
		}
		id := binary.BigEndian.Uint16(body[2:4])
		r := c.acked(tPublish, id)
		if body[4] == rcInvalidTopicID {
			// The client lost the topic: register it again next time.
			tid := binary.BigEndian.Uint16(body[0:2])
			if name, ok := c.ext().names[tid]; ok {
				delete(c.ext().names, tid)
				delete(c.ext().topics, name)
			}
		}
		if r != nil && r.qos == 2 {
			// A QoS 2 message refused with PUBACK: the exchange ends here.
			c.dropOut(ls, outMsg{qos: 2, id: id})
			return
		}
		c.inject(ls, appendID(ls.scratch[:0], 0x40, id), 0)
	case tPubrec:
		if len(body) != 2 {
			g.drop(dropMalformed)
			return
		}
		id := binary.BigEndian.Uint16(body)
		c.acked(tPublish, id)
		c.inject(ls, appendID(ls.scratch[:0], 0x50, id), 0)
	case tPubrel:
		if len(body) != 2 {
			g.drop(dropMalformed)
			return
		}
		c.inject(ls, appendID(ls.scratch[:0], 0x62, binary.BigEndian.Uint16(body)), 0)
	case tPubcomp:
		if len(body) != 2 {
			g.drop(dropMalformed)
			return
		}
		id := binary.BigEndian.Uint16(body)
		c.acked(tPubrel, id)
		c.inject(ls, appendID(ls.scratch[:0], 0x70, id), 0)
	case tRegister:
		c.onRegister(body)
	case tRegack:
		c.onRegack(ls, body)
	case tSubscribe, tUnsubscribe:
		c.onSubscribe(ls, typ, body)
	case tPingreq:
		if c.state == stAsleep {
			c.state = stAwake
			c.setIdle(time.Duration(c.keepAlive) * time.Second)
			c.wake(ls)
		}
		c.inject(ls, []byte{0xC0, 0}, wire)
	case tDisconnect:
		switch len(body) {
		case 0:
			c.inject(ls, []byte{0xE0, 0}, 0)
		case 2:
			d := time.Duration(binary.BigEndian.Uint16(body)) * time.Second
			if d == 0 {
				c.inject(ls, []byte{0xE0, 0}, 0)
				return
			}
			// Asleep (section 6.14): the session stays and what the
			// broker sends waits for the next PINGREQ.
			c.state, c.ext().sleep = stAsleep, d
			c.gw.asleep(c)
			c.setIdle(d)
			c.gw.send([]byte{2, tDisconnect}, c.peer())
			c.conn.Sent(2)
		default:
			g.drop(dropMalformed)
		}
	case tWillTopicUpd:
		var w *mqtt.Will
		if len(body) > 0 {
			var ok bool
			if w, ok = parseWillTopic(body); !ok {
				c.reply([]byte{3, tWillTopicRes, rcNotSupported})
				return
			}
			if c.ext().will != nil {
				w.Payload = c.ext().will.Payload
			}
		}
		c.updateWill(w, tWillTopicRes)
	case tWillMsgUpd:
		if c.ext().will == nil {
			c.reply([]byte{3, tWillMsgResp, rcNotSupported})
			return
		}
		w := *c.ext().will
		w.Payload = append([]byte(nil), body...)
		c.updateWill(&w, tWillMsgResp)
	default:
		g.drop(dropUnknownType)
	}
}

// updateWill hands the broker a new will (nil: none) and answers with a
// message of type resp.
func (c *client) updateWill(w *mqtt.Will, resp byte) {
	rc := rcAccepted
	if c.conn.UpdateWill(w) {
		c.ext().will = w
	} else {
		rc = rcNotSupported
	}
	c.reply([]byte{3, resp, rc})
}

// reply sends b to the client, counted on its connection.
func (c *client) reply(b []byte) {
	if c.gw.send(b, c.peer()) && c.conn != nil {
		c.conn.Sent(len(b))
	}
}

// inject hands the broker one MQTT packet from the client.
func (c *client) inject(ls *loopState, pkt []byte, wire int) {
	ls.scratch = pkt[:0]
	c.conn.Inject(pkt, wire)
}

// topicName resolves the topic of a PUBLISH or SUBSCRIBE by id type.
func (c *client) topicName(typ byte, id uint16) (string, bool) {
	switch typ {
	case topicNormal:
		name, ok := c.ext().names[id]
		return name, ok
	case topicPredefined:
		name, ok := c.gw.cfg.Predefined[id]
		return name, ok
	case topicShort:
		return shortTopic(id), true
	}
	return "", false
}

func (c *client) onPublish(ls *loopState, body []byte, wire int) {
	if len(body) < 5 {
		c.gw.drop(dropMalformed)
		return
	}
	flags := body[0]
	qos := (flags & flagQoSMask) >> 5
	tid := binary.BigEndian.Uint16(body[1:3])
	id := binary.BigEndian.Uint16(body[3:5])
	name, ok := c.topicName(flags&flagTopicMask, tid)
	if ok && flags&flagTopicMask == topicShort {
		ok = validShort(tid, false)
	}
	if !ok {
		c.gw.drop(dropInvalidTopic)
		c.conn.Touch(wire)
		c.reply(ackMsg(nil, tPuback, tid, id, rcInvalidTopicID))
		return
	}
	if qos == qosMinus1 {
		qos = 0
	}
	if qos == 1 {
		if c.ext().inTopic == nil {
			c.ext().inTopic = map[uint16]uint16{}
		}
		c.ext().inTopic[id] = tid
	}
	c.inject(ls, appendPublish(ls.scratch[:0], qos, flags&flagRetain != 0, flags&flagDup != 0, name, id, body[5:]), wire)
}

// appendPublish appends an MQTT 3.1.1 PUBLISH of topic (a valid topic
// name: registered, predefined or a checked short name) without
// converting it to bytes first.
func appendPublish(dst []byte, qos byte, retain, dup bool, topic string, id uint16, payload []byte) []byte {
	first := 0x30 | qos<<1
	if retain {
		first |= 0x01
	}
	rl := 2 + len(topic) + len(payload)
	if qos > 0 {
		rl += 2
		if dup {
			first |= 0x08
		}
	}
	dst = mqtt.AppendVarint(append(dst, first), rl)
	dst = append(append(dst, byte(len(topic)>>8), byte(len(topic))), topic...)
	if qos > 0 {
		dst = append(dst, byte(id>>8), byte(id))
	}
	return append(dst, payload...)
}

// validShort reports whether the short topic id is a valid topic name
// (a filter when filter is set): no NUL, no wildcard in a name.
func validShort(id uint16, filter bool) bool {
	b := [2]byte{byte(id >> 8), byte(id)}
	if filter {
		return mqtt.ValidTopicFilter(b[:]) == nil
	}
	return mqtt.ValidTopicName(b[:]) == nil
}

// onRegister answers a client's REGISTER with the topic's id.
func (c *client) onRegister(body []byte) {
	if len(body) < 5 {
		c.gw.drop(dropMalformed)
		return
	}
	msgID := binary.BigEndian.Uint16(body[2:4])
	name := body[4:]
	if mqtt.ValidTopicName(name) != nil {
		c.reply(ackMsg(nil, tRegack, 0, msgID, rcNotSupported))
		return
	}
	id, ok := c.ext().topics[string(name)]
	if !ok {
		if id = c.newTopicID(string(name)); id == 0 {
			c.reply(ackMsg(nil, tRegack, 0, msgID, rcCongestion))
			return
		}
	}
	c.reply(ackMsg(nil, tRegack, id, msgID, rcAccepted))
}

// newTopicID registers name under a new id; 0 when the client has
// MaxTopics already.
func (c *client) newTopicID(name string) uint16 {
	if len(c.ext().topics)+len(c.ext().regName) >= c.gw.cfg.MaxTopics {
		return 0
	}
	if c.ext().topics == nil {
		c.ext().topics, c.ext().names = map[string]uint16{}, map[uint16]string{}
	}
	for {
		c.ext().nextID++
		if c.ext().nextID == 0 || c.ext().nextID == 0xFFFF {
			c.ext().nextID = 1
		}
		if _, taken := c.ext().names[c.ext().nextID]; !taken && !c.regPending(c.ext().nextID) {
			break
		}
	}
	c.ext().topics[name], c.ext().names[c.ext().nextID] = c.ext().nextID, name
	return c.ext().nextID
}

func (c *client) regPending(id uint16) bool {
	for _, tid := range c.ext().regName {
		if tid == id {
			return true
		}
	}
	return false
}

// onRegack completes a REGISTER the gateway sent: the PUBLISHes waiting
// for it go out, or are dropped when the client refused the topic.
func (c *client) onRegack(ls *loopState, body []byte) {
	if len(body) != 5 {
		c.gw.drop(dropMalformed)
		return
	}
	msgID := binary.BigEndian.Uint16(body[2:4])
	name, ok := c.ext().regs[msgID]
	if !ok {
		return
	}
	c.acked(tRegister, msgID)
	tid := c.ext().regName[name]
	delete(c.ext().regs, msgID)
	delete(c.ext().regName, name)
	ok = body[4] == rcAccepted
	if ok {
		if c.ext().topics == nil {
			c.ext().topics, c.ext().names = map[string]uint16{}, map[uint16]string{}
		}
		c.ext().topics[name], c.ext().names[tid] = tid, name
	}
	rest := c.ext().waiting[:0]
	for _, m := range c.ext().waiting {
		switch {
		case m.topic != name:
			rest = append(rest, m)
		case ok:
			c.deliver(ls, m)
		default:
			c.gw.drop(dropInvalidTopic)
			c.dropOut(ls, m)
		}
	}
	clear(c.ext().waiting[len(rest):])
	c.ext().waiting = rest
	if c.ext().pingresp && len(rest) == 0 {
		c.pingResp()
	}
}

// pingResp answers PINGREQ; an awake client sleeps again (section 6.14).
func (c *client) pingResp() {
	if c.x != nil {
		c.x.pingresp = false
	}
	c.reply([]byte{2, tPingresp})
	if c.state == stAwake {
		c.state = stAsleep
		c.setIdle(c.x.sleep) // set when the client went to sleep
	}
}

// onSubscribe translates SUBSCRIBE and UNSUBSCRIBE.
func (c *client) onSubscribe(ls *loopState, typ byte, body []byte) {
	if len(body) < 4 {
		c.gw.drop(dropMalformed)
		return
	}
	flags := body[0]
	msgID := binary.BigEndian.Uint16(body[1:3])
	var filter string
	var tid uint16
	switch flags & flagTopicMask {
	case topicNormal:
		filter = string(body[3:])
		if mqtt.ValidTopicFilter(body[3:]) != nil {
			if typ == tSubscribe {
				c.reply(append(appendHeader(nil, tSuback, 6), 0, 0, 0, byte(msgID>>8), byte(msgID), rcNotSupported))
			} else {
				c.reply(idMsg(nil, tUnsuback, msgID))
			}
			return
		}
	case topicPredefined, topicShort:
		if len(body) != 5 {
			c.gw.drop(dropMalformed)
			return
		}
		tid = binary.BigEndian.Uint16(body[3:5])
		name, ok := c.topicName(flags&flagTopicMask, tid)
		if ok && flags&flagTopicMask == topicShort {
			ok = validShort(tid, true)
		}
		if !ok {
			c.gw.drop(dropInvalidTopic)
			if typ == tSubscribe {
				c.reply(append(appendHeader(nil, tSuback, 6), 0, byte(tid>>8), byte(tid), byte(msgID>>8), byte(msgID), rcInvalidTopicID))
			} else {
				c.reply(idMsg(nil, tUnsuback, msgID))
			}
			return
		}
		filter = name
		if flags&flagTopicMask == topicShort {
			tid = 0
		}
	default:
		c.gw.drop(dropMalformed)
		return
	}
	var pkt []byte
	if typ == tUnsubscribe {
		rl := 2 + 2 + len(filter)
		pkt = append(ls.scratch[:0], 0xA2)
		pkt = mqtt.AppendVarint(pkt, rl)
		pkt = append(pkt, byte(msgID>>8), byte(msgID), byte(len(filter)>>8), byte(len(filter)))
		pkt = append(pkt, filter...)
		c.inject(ls, pkt, 0)
		return
	}
	qos := (flags & flagQoSMask) >> 5
	if qos == qosMinus1 {
		qos = 0
	}
	if flags&flagTopicMask == topicNormal && !wildcard(filter) {
		// A topic name: the SUBACK tells the client its id.
		if id, ok := c.ext().topics[filter]; ok {
			tid = id
		} else {
			tid = c.newTopicID(filter)
		}
	}
	if c.ext().subs == nil {
		c.ext().subs = map[uint16]uint16{}
	}
	c.ext().subs[msgID] = tid
	p := &mqtt.Subscribe{PacketID: msgID, Subscriptions: []mqtt.Subscription{{Filter: []byte(filter), QoS: qos}}}
	c.inject(ls, mqtt.AppendSubscribe(ls.scratch[:0], p, mqtt.V311), 0)
}

func wildcard(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] == '+' || f[i] == '#' {
			return true
		}
	}
	return false
}

// appendID appends an MQTT packet of a packet id alone (PUBACK, PUBREC,
// PUBREL, PUBCOMP) whose first byte is first.
func appendID(dst []byte, first byte, id uint16) []byte {
	return append(dst, first, 2, byte(id>>8), byte(id))
}

// Send implements netio.VirtualSink: the broker's packets become MQTT-SN
// messages.
func (c *client) Send(conn *netio.Conn, packets [][]byte) int {
	ls := c.ls
	buf := ls.out[:0]
	for _, p := range packets {
		buf = append(buf, p...)
	}
	ls.out = buf[:0]
	c.wire = 0
	for len(buf) > 0 {
		h, n, err := mqtt.Frame(buf, 0)
		if err != nil || n == 0 {
			break
		}
		c.fromBroker(ls, h, buf[h.HeaderLen:n])
		buf = buf[n:]
	}
	w := c.wire
	c.wire = 0
	return w
}

// out sends a message to the client, counted as the Send's wire bytes.
func (c *client) out(b []byte) bool {
	if c.gw.send(b, c.peer()) {
		c.wire += len(b)
		return true
	}
	return false
}

// fromBroker translates one MQTT packet from the broker.
func (c *client) fromBroker(ls *loopState, h mqtt.FixedHeader, body []byte) {
	g := c.gw
	id := func() uint16 {
		if len(body) < 2 {
			return 0
		}
		return binary.BigEndian.Uint16(body)
	}
	switch h.Type {
	case mqtt.TypeConnack:
		var p mqtt.Connack
		if p.Decode(h, body, mqtt.V311) != nil {
			return
		}
		if c.half {
			c.half = false
			g.pending.Add(-1)
		}
		if p.ReasonCode != 0 {
			c.refused = true
			c.out([]byte{3, tConnack, rcNotSupported})
			return
		}
		c.state = stActive
		c.out([]byte{3, tConnack, rcAccepted})
	case mqtt.TypePublish:
		var p mqtt.Publish
		if p.Decode(h, body, mqtt.V311) != nil {
			return
		}
		m := outMsg{topic: string(p.Topic), payload: append([]byte(nil), p.Payload...), qos: p.QoS,
			retain: p.Retain, dup: p.Dup, id: p.PacketID}
		if c.state == stAsleep {
			if len(c.ext().asleep) >= g.cfg.SleepBuffer {
				g.drop(dropSleepBuffer)
				c.dropOut(ls, c.ext().asleep[0])
				c.ext().asleep = append(c.ext().asleep[:0], c.ext().asleep[1:]...)
			}
			c.ext().asleep = append(c.ext().asleep, m)
			return
		}
		c.deliver(ls, m)
	case mqtt.TypePuback:
		i := id()
		tid := c.ext().inTopic[i]
		delete(c.ext().inTopic, i)
		c.out(ackMsg(ls.dg[:0], tPuback, tid, i, rcAccepted))
	case mqtt.TypePubrec:
		c.out(idMsg(ls.dg[:0], tPubrec, id()))
	case mqtt.TypePubrel:
		i := id()
		if c.ext().autoComp[i] {
			delete(c.ext().autoComp, i)
			c.inject(ls, appendID(ls.scratch[:0], 0x70, i), 0)
			return
		}
		b := idMsg(nil, tPubrel, i)
		if c.out(b) {
			c.track(&retry{typ: tPubrel, id: i, b: b, sent: ls.l.Now()})
		}
	case mqtt.TypePubcomp:
		c.out(idMsg(ls.dg[:0], tPubcomp, id()))
	case mqtt.TypeSuback:
		var p mqtt.Suback
		if p.Decode(h, body, mqtt.V311) != nil || len(p.ReasonCodes) != 1 {
			return
		}
		tid := c.ext().subs[p.PacketID]
		delete(c.ext().subs, p.PacketID)
		rc, granted := rcAccepted, byte(p.ReasonCodes[0])
		if granted >= 0x80 {
			rc, granted, tid = rcNotSupported, 0, 0
		}
		c.out(append(appendHeader(ls.dg[:0], tSuback, 6), granted<<5, byte(tid>>8), byte(tid),
			byte(p.PacketID>>8), byte(p.PacketID), rc))
	case mqtt.TypeUnsuback:
		c.out(idMsg(ls.dg[:0], tUnsuback, id()))
	case mqtt.TypePingresp:
		if c.state == stAwake && c.x != nil && len(c.x.waiting) > 0 {
			// The buffered messages go first (section 6.14): PINGRESP
			// waits for the REGACKs they need.
			c.ext().pingresp = true
			return
		}
		c.pingResp()
	}
}

// deliver sends a broker message to the client under a topic id it
// knows, registering the topic first when it has none.
func (c *client) deliver(ls *loopState, m outMsg) {
	tid, typ, ok := c.topicID(m.topic)
	if !ok {
		if _, pending := c.ext().regName[m.topic]; !pending && !c.register(ls, m.topic) {
			c.gw.drop(dropInvalidTopic)
			c.dropOut(ls, m)
			return
		}
		if len(c.ext().waiting) >= c.gw.cfg.SleepBuffer {
			c.gw.drop(dropSleepBuffer)
			c.dropOut(ls, m)
			return
		}
		c.ext().waiting = append(c.ext().waiting, m)
		return
	}
	flags := typ | encodeQoS(int(m.qos))
	if m.retain {
		flags |= flagRetain
	}
	if m.dup {
		flags |= flagDup
	}
	id := m.id
	if m.qos == 0 {
		id = 0
	}
	if 7+len(m.payload)+2 > c.gw.cfg.MaxDatagram || 5+len(m.payload) > maxBody {
		c.gw.drop(dropTooLarge)
		c.dropOut(ls, m)
		return
	}
	if m.qos == 0 {
		c.out(publishMsg(ls.dg[:0], flags, tid, id, m.payload))
		return
	}
	b := publishMsg(nil, flags, tid, id, m.payload)
	c.out(b) // if the socket refused it, the retry sends it again
	c.track(&retry{typ: tPublish, id: id, qos: m.qos, b: b, sent: ls.l.Now()})
}

// topicID returns the id and id type the client knows topic by.
func (c *client) topicID(topic string) (uint16, byte, bool) {
	if len(topic) == 2 {
		return uint16(topic[0])<<8 | uint16(topic[1]), topicShort, true
	}
	if id, ok := c.gw.predefinedID(topic); ok {
		return id, topicPredefined, true
	}
	if id, ok := c.ext().topics[topic]; ok {
		return id, topicNormal, true
	}
	return 0, 0, false
}

// register sends REGISTER for topic; false when the client has
// MaxTopics ids already.
func (c *client) register(ls *loopState, topic string) bool {
	if len(c.ext().topics)+len(c.ext().regName) >= c.gw.cfg.MaxTopics {
		return false
	}
	tid := c.newTopicID(topic)
	// The id is not the client's until REGACK.
	delete(c.ext().topics, topic)
	delete(c.ext().names, tid)
	if c.ext().regs == nil {
		c.ext().regs, c.ext().regName = map[uint16]string{}, map[string]uint16{}
	}
	c.ext().regSeq++
	if c.ext().regSeq == 0 {
		c.ext().regSeq = 1
	}
	c.ext().regs[c.ext().regSeq], c.ext().regName[topic] = topic, tid
	b := msg(nil, tRegister, u16(tid), u16(c.ext().regSeq), []byte(topic))
	c.out(b)
	c.track(&retry{typ: tRegister, id: c.ext().regSeq, b: b, sent: ls.l.Now()})
	return true
}

// dropOut drops a broker message the client will not get, acknowledging
// it to the broker so that the session's window moves on.
func (c *client) dropOut(ls *loopState, m outMsg) {
	switch m.qos {
	case 1:
		c.inject(ls, appendID(ls.scratch[:0], 0x40, m.id), 0)
	case 2:
		if c.ext().autoComp == nil {
			c.ext().autoComp = map[uint16]bool{}
		}
		c.ext().autoComp[m.id] = true
		c.inject(ls, appendID(ls.scratch[:0], 0x50, m.id), 0)
	}
}

// track keeps r until its acknowledgement.
func (c *client) track(r *retry) { c.ext().retry = append(c.ext().retry, r) }

// acked removes the retry of type typ and id, returning it.
func (c *client) acked(typ byte, id uint16) *retry {
	for i, r := range c.ext().retry {
		if r.typ == typ && r.id == id {
			copy(c.ext().retry[i:], c.ext().retry[i+1:])
			c.ext().retry[len(c.ext().retry)-1] = nil
			c.ext().retry = c.ext().retry[:len(c.ext().retry)-1]
			return r
		}
	}
	return nil
}

// wake sends what waited while the client slept: first what was sent and
// not acknowledged, then the buffered messages.
func (c *client) wake(ls *loopState) {
	now := ls.l.Now()
	for _, r := range c.ext().retry {
		c.resend(r, now)
	}
	buf := c.ext().asleep
	c.ext().asleep = nil
	for _, m := range buf {
		c.deliver(ls, m)
	}
}

// resend sends r again (with DUP for a PUBLISH).
func (c *client) resend(r *retry, now time.Time) {
	if r.typ == tPublish {
		_, body, _ := frame(r.b)
		body[0] |= flagDup
	}
	r.tries++
	r.sent = now
	c.gw.base.Retransmitted.Add(1)
	c.reply(r.b)
}

// setIdle sets the connection's idle timeout for a keep-alive or sleep
// duration d (× 1.5 as for MQTT; 0: none).
func (c *client) setIdle(d time.Duration) {
	if c.conn != nil {
		c.conn.SetIdleTimeout(d * 3 / 2)
	}
}

// timers expires a half-open client and retransmits, on the client's
// loop.
func (c *client) timers(ls *loopState, now time.Time) {
	if c.conn == nil && c.half && now.UnixNano()-c.pendingSince > int64(c.gw.cfg.ConnectTimeout) {
		c.gw.drop(dropExpired)
		c.remove(ls)
		return
	}
	if c.conn == nil || c.state == stAsleep || c.x == nil || len(c.x.retry) == 0 {
		return
	}
	for _, r := range c.ext().retry {
		if now.Sub(r.sent) < c.gw.cfg.RetryInterval {
			continue
		}
		if r.tries >= c.gw.cfg.MaxRetries {
			c.gw.drop(dropLost)
			c.conn.Close(ErrLost)
			return
		}
		c.resend(r, now)
	}
}

// remove forgets the client, on its loop.
func (c *client) remove(ls *loopState) {
	c.gone = true
	if c.half {
		c.half = false
		c.gw.pending.Add(-1)
	}
	if c.idx >= 0 {
		ls.untrack(c)
	}
	c.gw.forget(c)
}

// Moving implements netio.VirtualSink: the broker moved the connection
// to the loop of the client's session.
func (c *client) Moving(conn *netio.Conn, to *netio.Loop) {
	if c.idx >= 0 {
		c.ls.untrack(c)
	}
	c.moving = true
	c.conn = nil
	c.loop.Store(to)
}

// Moved implements netio.VirtualSink.
func (c *client) Moved(nc *netio.Conn) {
	ls := c.gw.stateOf(nc.Loop())
	c.ls, c.conn, c.moving = ls, nc, false
	nc.SetRemoteAddr(c.addr) // if it woke elsewhere meanwhile
	if c.idx < 0 {
		ls.track(c)
	}
	var early [][]byte
	if c.x != nil {
		early, c.x.early = c.x.early, nil
	}
	for _, b := range early {
		c.handle(ls, b)
	}
}

// Closed implements netio.VirtualSink: the client hears DISCONNECT (unless
// its CONNECT was refused) and is forgotten, or its new CONNECT starts
// over.
func (c *client) Closed(conn *netio.Conn, err error) {
	ls := c.ls
	var restart []byte
	if c.x != nil {
		restart = c.x.restart
	}
	if !c.refused && (restart == nil || err != nil) {
		c.gw.send([]byte{2, tDisconnect}, c.peer())
	}
	c.remove(ls)
	if restart == nil || err != nil {
		return
	}
	// A new CONNECT replaces the connection: a fresh client takes it.
	_, body, _ := frame(restart)
	nc := c.gw.admit(c.peer(), body[4:])
	if nc != nil {
		c.gw.postTo(nc.loop.Load(), inbound{c: nc, b: restart})
	}
}
