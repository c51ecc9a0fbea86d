package shards

import (
	"errors"
	"strconv"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/cluster"
)

// onConnect handles the first packet of a connection as a sequence of
// steps: decode, find the client id, go to the session's owner, enhanced
// authentication, the zone's packet size, password authentication, the
// owner of the client id in a cluster (shard.acquire), build the CONNACK,
// take over, adopt or create the session, bind the connection, send
// the CONNACK. A step that refuses the CONNECT answers it through refuse;
// a step that hands it on (to the owner's loop, an AUTH exchange, a
// password check off the loop) stops here, and the CONNECT comes back.
// Authentication comes before any effect on a session, a takeover
// included.
func (sh *shard) onConnect(c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) error {
	p := &sh.connect
	if ok, err := sh.decodeConnect(c, cs, h, body); !ok {
		return err
	}
	l := sh.b.listenerOf(c) // the zone, the anonymous policy, the certificate's names
	fromCertificate(l, c.Peer(), p)
	id, assigned := sh.clientID(cs, p)
	if sh.banned(c, cs, p, id) || !sh.atOwner(c, cs, id) {
		return nil
	}
	if p.Version == mqtt.V5 && p.Properties.Present.Has(mqtt.PropAuthMethod) &&
		!sh.connectAuth(c, cs, h, body, p, id, assigned) {
		return nil
	}
	if h.HeaderLen+h.RemainingLength > l.cfg.MaxPacketSize {
		// The zone's limit, below netio's [MQTT-3.2.2-15]; MQTT 3 has no
		// code for it.
		sh.refuse(c, cs, v5Only(p.Version), mqtt.PacketTooLarge, mqtt.ErrPacketTooLarge)
		return nil
	}
	authn, ok := sh.authenticateConnect(c, cs, l, p, id)
	if !ok {
		return nil
	}
	moved, ok := sh.acquire(c, cs, p, id, authn)
	if !ok {
		return nil
	}
	var ack mqtt.Connack
	sh.connackFor(&ack, cs, &l.cfg, p, id, assigned)
	if p.Version == mqtt.V5 && p.Properties.Present.Has(mqtt.PropMaximumPacketSize) &&
		ack.Size(mqtt.V5) > int(p.Properties.MaximumPacketSize) {
		// The CONNACK may not be sent [MQTT-3.1.2-24] and the client
		// cannot go on without it: refused before it touches a session.
		sh.refuse(c, cs, 0, 0, mqtt.PacketTooLarge)
		return nil
	}
	now := sh.loop.Now()
	s, present, ok := sh.sessionFor(c, p, id, moved, now)
	if !ok {
		return nil
	}
	sh.attach(s, c, cs, p, l, authn, now)
	ack.SessionPresent = present && p.Version != mqtt.V31 // reserved in 3.1
	start := len(sh.enc)
	sh.enc = mqtt.AppendConnack(sh.enc, &ack, p.Version)
	sh.emit(c, s, start)
	s.resume()
	s.markLife()
	s.reschedule()
	return nil
}

// refuse ends a CONNECT that is not accepted: a CONNACK with rc in the
// form of protocol version form, then the close with err [MQTT-3.2.2-7].
// mqtt.AppendConnack turns an MQTT 5 reason code into the MQTT 3 return
// code for the 3.x forms; form 0 sends no CONNACK, for a refusal that has
// no code in the client's form or no CONNACK to send. The close sends no
// DISCONNECT (cs.version is cleared).
func (sh *shard) refuse(c *netio.Conn, cs *connState, form mqtt.Version, rc mqtt.ReasonCode, err error) {
	sh.endIdle(cs)
	if form != 0 {
		sh.writeConnack(c, form, &mqtt.Connack{ReasonCode: rc})
	}
	cs.version = 0
	c.Close(err)
}

// v5Only returns v for MQTT 5 and 0 (no CONNACK, see refuse) for MQTT 3.
func v5Only(v mqtt.Version) mqtt.Version {
	if v == mqtt.V5 {
		return v
	}
	return 0
}

// decodeConnect decodes the CONNECT into sh.connect and reports whether
// it goes on. Refused here: an unsupported protocol level or name with
// 0x01 in the MQTT 3.1.1 form, or 0x84 in the MQTT 5 form for a level 5
// CONNECT under an unknown name [MQTT-3.1.2-1] [MQTT-3.1.2-2]; an invalid
// client id with 0x02 on MQTT 3 [MQTT-3.1.3-9], 0x85 on MQTT 5. Any other
// decoding error is returned: netio closes the connection, and OnError
// answers an MQTT 5 client with a CONNACK carrying the reason
// [MQTT-3.1.4-1].
func (sh *shard) decodeConnect(c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) (bool, error) {
	p := &sh.connect
	err := p.Decode(h, body)
	cs.version = p.Version
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, mqtt.ErrProtocolVersion), errors.Is(err, mqtt.ErrProtocolName):
		form := mqtt.V311 // "MQIsdp" or "MQTT" at a level that is not its own
		if errors.Is(err, mqtt.ErrProtocolName) && p.Version == mqtt.V5 {
			form = mqtt.V5
		}
		sh.refuse(c, cs, form, mqtt.UnsupportedProtocolVersion, err)
		return false, nil
	case errors.Is(err, mqtt.ErrClientID):
		sh.refuse(c, cs, p.Version, mqtt.ClientIdentifierNotValid, err)
		return false, nil
	}
	if p.Version != mqtt.V5 {
		cs.version = 0
	}
	return false, err
}

// clientID returns the client id of CONNECT p, and whether the broker
// assigned it: an empty id is assigned [MQTT-3.1.3-6] (a 3.1.1 client
// without clean session was refused by Decode [MQTT-3.1.3-8]), the one an
// AUTH exchange ran for if there was one.
func (sh *shard) clientID(cs *connState, p *mqtt.Connect) (id string, assigned bool) {
	if len(p.ClientID) > 0 {
		return string(p.ClientID), false
	}
	if cs.auth != nil && cs.auth.assignedID != "" {
		return cs.auth.assignedID, true
	}
	return sh.b.assignID(), true
}

// banned refuses CONNECT p of client id with 0x8A Banned (MQTT 3: 0x05
// not authorized) and reports true when Config.Banned bans the client by
// its id, user name or address (the PROXY protocol's, when the listener
// takes one). The check runs before the session's owner is looked for and
// before authentication, so a banned client costs neither a migration nor
// a password check; it runs again when a CONNECT comes back from a check
// off the loop, so a ban made meanwhile holds.
func (sh *shard) banned(c *netio.Conn, cs *connState, p *mqtt.Connect, id string) bool {
	bl := sh.b.cfg.Banned
	if bl == nil {
		return false
	}
	var user string
	if p.HasUsername {
		user = string(p.Username)
	}
	if !bl.Banned(id, user, c.ClientAddr().Addr()) {
		return false
	}
	sh.refuse(c, cs, p.Version, mqtt.Banned, ErrBanned)
	return true
}

// atOwner reports whether the session of id, if there is one, lives on
// sh. Otherwise the connection moves to the owner's loop, where the
// CONNECT runs again; a connection that has answered an AUTH cannot move
// (the session appeared on another loop during the exchange), so it is
// refused with 0x89 and the client tries again.
func (sh *shard) atOwner(c *netio.Conn, cs *connState, id string) bool {
	s, ok := sh.b.registry.Load(id)
	if !ok || s.sh == sh {
		return true
	}
	if cs.auth != nil {
		sh.refuse(c, cs, mqtt.V5, mqtt.ServerBusy, mqtt.ServerBusy)
		return false
	}
	if !s.sh.bound.Load() {
		// A recovered session whose loop has not run yet (the moment
		// between the listeners opening and Bind): the client retries.
		sh.refuse(c, cs, cs.version, mqtt.ServerUnavailable, mqtt.ServerUnavailable)
		return false
	}
	sh.endIdle(cs) // the owner's loop lists it while it runs the CONNECT again
	c.MigrateTo(s.sh.loop)
	return false
}

// authenticateConnect runs password authentication for CONNECT p on
// listener l, unless an enhanced-authentication exchange already
// authenticated the client. It returns whether the client authenticated
// with a password, and ok when the CONNECT goes on: a refusal has answered
// it, and a bcrypt check runs off the loop (authenticateAsync), after
// which the CONNECT comes back with the result in cs.pwd.
func (sh *shard) authenticateConnect(c *netio.Conn, cs *connState, l *listener, p *mqtt.Connect, id string) (authn, ok bool) {
	if cs.auth != nil && cs.auth.done {
		return true, true
	}
	var rc mqtt.ReasonCode
	switch {
	case cs.pwd != nil:
		authn, rc = cs.pwd.authn, cs.pwd.refuse
		cs.pwd = nil
	case sh.b.cfg.Auth != nil && sh.b.cfg.Auth.Expensive(p.Username, p.Password, p.HasUsername):
		sh.authenticateAsync(c, cs, l, p)
		sh.beginIdle(c, cs, l, p, id) // listed as idle until the CONNECT ends
		return false, false
	default:
		authn, rc = sh.b.authenticate(l, p)
	}
	if rc != 0 {
		sh.refuse(c, cs, p.Version, rc, rc)
		return false, false
	}
	return authn, true
}

// sessionFor returns the session CONNECT p of client id continues (present)
// or starts. A connected session is taken over first; clean start ends the
// old session and starts a new one. moved is the state of the session
// another node of the cluster gave up for this CONNECT (nil when none):
// without clean start it is adopted. ok is false when another loop created
// the session first: the connection has moved there.
func (sh *shard) sessionFor(c *netio.Conn, p *mqtt.Connect, id string, moved *cluster.Session, now time.Time) (s *session, present, ok bool) {
	if s = sh.sessions[id]; s != nil {
		if s.conn != nil {
			sh.takeover(s, p.CleanStart)
		}
		s.dropWill() // a resumed session cancels a delayed will
		if !p.CleanStart {
			s.expireAt = 0
			return s, true, true
		}
		s.endKeepingOwner() // the client id stays this node's
	}
	if moved != nil && !p.CleanStart {
		s, present = sh.adopt(id, moved, now), true
	} else {
		s = newSession(sh, id, now)
	}
	if other, loaded := sh.b.registry.LoadOrStore(id, s); loaded {
		if other.sh != sh {
			sh.endIdle(c.Data.(*connState))
			c.MigrateTo(other.sh.loop) // another loop created it first
			return nil, false, false
		}
		sh.b.registry.Store(id, s)
	}
	sh.sessions[id] = s
	sh.b.sessionsN.add(1)
	return s, present, true
}

// takeover closes the connection of s for a new CONNECT of the same client
// id [MQTT-3.1.4-3], with DISCONNECT 0x8E for MQTT 5. An MQTT 5 will is
// published as for any other loss: at once without a will delay, when the
// session ends (cleanStart), and never when the session is resumed within
// the delay [MQTT-3.1.3-9]. MQTT 3 lists no takeover among the will's
// occasions: its will is dropped.
func (sh *shard) takeover(s *session, cleanStart bool) {
	old, ocs := s.conn, s.cstate()
	ocs.graceful = true
	if s.will != nil && s.version == mqtt.V5 && (s.will.delay == 0 || cleanStart) {
		s.publishWill()
	}
	sh.detachConn(s)
	sh.closeConn(old, ocs, ErrTakenOver)
}

// connackFor fills ack, the CONNACK that accepts CONNECT p of client id
// in zone cfg, all but SessionPresent (the session decides it). An MQTT 5
// CONNACK carries the broker's limits, the Assigned Client Identifier,
// Server Keep Alive, the result of enhanced authentication, Response
// Information and a capped Session Expiry Interval.
func (sh *shard) connackFor(ack *mqtt.Connack, cs *connState, cfg *Config, p *mqtt.Connect, id string, assigned bool) {
	if p.Version != mqtt.V5 {
		return
	}
	pr := &ack.Properties
	if assigned {
		pr.Present.Add(mqtt.PropAssignedClientID)
		pr.AssignedClientID = []byte(id)
	}
	pr.Present.Add(mqtt.PropMaximumPacketSize)
	pr.MaximumPacketSize = uint32(cfg.MaxPacketSize)
	pr.Present.Add(mqtt.PropReceiveMaximum)
	pr.ReceiveMaximum = uint16(min(cfg.AwaitingRelMax, 65535))
	if cfg.TopicAliasMaximum > 0 {
		pr.Present.Add(mqtt.PropTopicAliasMaximum)
		pr.TopicAliasMaximum = uint16(cfg.TopicAliasMaximum)
	}
	if ka, tell := cfg.keepalive(p.Version, p.KeepAlive); tell {
		pr.Present.Add(mqtt.PropServerKeepAlive) // [MQTT-3.2.2-21]
		pr.ServerKeepAlive = ka
	}
	if cs.auth != nil {
		// Enhanced authentication succeeded [MQTT-4.12.0-5]: CONNACK
		// names the method and carries the last data.
		pr.Present.Add(mqtt.PropAuthMethod)
		pr.AuthMethod = []byte(cs.auth.auth.Method())
		if cs.auth.out != nil {
			pr.Present.Add(mqtt.PropAuthData)
			pr.AuthData = cs.auth.out
		}
	}
	if p.Properties.RequestResponseInfo == 1 && sh.b.cfg.ResponseInformation != "" {
		// Only when asked for [MQTT-3.1.2-28].
		pr.Present.Add(mqtt.PropResponseInfo)
		pr.ResponseInfo = []byte(sh.b.cfg.ResponseInformation)
	}
	if e := cfg.sessionExpiry(p); p.Properties.Present.Has(mqtt.PropSessionExpiry) && e != p.Properties.SessionExpiry {
		pr.Present.Add(mqtt.PropSessionExpiry) // capped by MaxSessionExpiry
		pr.SessionExpiry = e
	}
}

// keepalive returns the keep alive, in seconds, the broker holds a client
// of protocol version v to when it asked for asked, and whether an MQTT 5
// client is told so in Server Keep Alive [MQTT-3.2.2-21]. ServerKeepalive
// replaces what an MQTT 5 client asks; otherwise MaxKeepalive caps what
// any client asks, 0 (no keep alive) counting as more than the cap, and
// an MQTT 3 client, which cannot be told, is held to the cap all the same.
func (c *Config) keepalive(v mqtt.Version, asked uint16) (ka uint16, tell bool) {
	if v == mqtt.V5 && c.ServerKeepalive > 0 {
		return uint16(c.ServerKeepalive / time.Second), true
	}
	if limit := uint16(c.MaxKeepalive / time.Second); limit > 0 && (asked == 0 || asked > limit) {
		return limit, v == mqtt.V5
	}
	return asked, false
}

// sessionExpiry returns the Session Expiry Interval, in seconds, of a
// session connected by CONNECT p in zone c: MQTT 5's property, or for
// MQTT 3 without clean session SessionExpiry, capped by MaxSessionExpiry.
func (c *Config) sessionExpiry(p *mqtt.Connect) uint32 {
	var e uint32
	switch {
	case p.Version == mqtt.V5:
		if p.Properties.Present.Has(mqtt.PropSessionExpiry) {
			e = p.Properties.SessionExpiry
		}
	case !p.CleanStart:
		e = uint32(min(c.SessionExpiry/time.Second, neverExpire))
	}
	if c.MaxSessionExpiry > 0 && e > 0 {
		e = uint32(min(int64(e), int64(c.MaxSessionExpiry/time.Second)))
	}
	return e
}

// assignID returns a fresh client id for a client that sent none.
func (b *Broker) assignID() string {
	return "shardmq-" + strconv.FormatInt(b.started.UnixNano()&0xffffffff, 36) + "-" +
		strconv.FormatUint(b.seq.Add(1), 36)
}

// attach binds connection c of listener l to s with the parameters of
// CONNECT p; authn says whether the client authenticated with a password.
// The CONNECT counts as the session's first packet.
func (sh *shard) attach(s *session, c *netio.Conn, cs *connState, p *mqtt.Connect, l *listener, authn bool, now time.Time) {
	sh.endIdle(cs) // the session's row replaces the idle one
	wasKept := s.kept()
	s.cfg, s.authn = &l.cfg, authn
	cfg := s.cfg
	if s.acl != nil {
		s.acl.Reset() // the identity the decisions were made for may differ
	}
	s.conn = c // c.Data is cs
	cs.sess, cs.connected = s, true
	sh.b.liveN.add(1)
	s.online.Store(true)
	s.version = p.Version
	s.username = string(p.Username)
	s.bridge = p.Bridge
	s.cleanStart = p.CleanStart
	s.keepalive, _ = cfg.keepalive(p.Version, p.KeepAlive)
	remote := c.ClientAddr() // the transport's (PROXY protocol) or the socket's
	s.remoteIP, s.remotePort = remote.Addr(), remote.Port()
	sh.setPeer(s, c, l)
	s.connectedAt = now.UnixMilli()
	s.window = uint16(cfg.InflightMax)
	s.maxOut = 0
	s.expiry = cfg.sessionExpiry(p)
	s.mirrorKept()
	if wasKept && !s.kept() {
		// A resumed session the store kept is no longer persistent
		// (MQTT 5 Session Expiry Interval 0), or its zone keeps nothing
		// now: the store lets it go.
		s.storeDiscarded()
	}
	if pr := &p.Properties; p.Version == mqtt.V5 {
		if pr.Present.Has(mqtt.PropReceiveMaximum) {
			s.window = min(s.window, pr.ReceiveMaximum)
		}
		if pr.Present.Has(mqtt.PropMaximumPacketSize) {
			s.maxOut = pr.MaximumPacketSize
		}
		if pr.Present.Has(mqtt.PropTopicAliasMaximum) {
			cs.aliasMax = pr.TopicAliasMaximum
		}
		cs.noProblemInfo = pr.Present.Has(mqtt.PropRequestProblemInfo) && pr.RequestProblemInfo == 0
	}
	if p.HasWill {
		w := &mqtt.Publish{QoS: p.Will.QoS, Retain: p.Will.Retain, Payload: p.Will.Payload,
			Properties: p.Will.Properties}
		s.dropWill()
		s.will = &willMsg{msg: sh.b.newMessage(w, p.Will.Topic, s.idView(), s, now), delay: p.Will.Properties.WillDelay}
	}
	if s.will != nil && !s.allowed(auth.Publish, s.will.msg.topic) {
		s.dropWill() // a will the ACL refuses is never published (EMQX)
	}
	if s.keepalive > 0 {
		c.SetIdleTimeout(time.Duration(float64(s.keepalive) * cfg.KeepaliveFactor * float64(time.Second)))
	} else {
		c.SetIdleTimeout(0)
	}
	s.count(cRecvPkt) // the CONNECT itself
	s.count(cReductions)
}
