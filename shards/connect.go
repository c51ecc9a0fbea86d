package shards

import (
	"errors"
	"strconv"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
)

// onConnect handles the first packet of a connection: protocol and client
// id checks, the session's owner (moving the connection to the loop that
// owns an existing session), takeover, clean start and CONNACK.
func (sh *shard) onConnect(c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) error {
	p := &sh.connect
	err := p.Decode(h, body)
	cs.version = p.Version
	if err != nil {
		switch {
		case errors.Is(err, mqtt.ErrProtocolVersion), errors.Is(err, mqtt.ErrProtocolName):
			// Unsupported level: 0x01 on MQTT 3, 0x84 on MQTT 5 [MQTT-3.1.2-2].
			v := mqtt.V311
			if p.Version >= mqtt.V5 {
				v = mqtt.V5
			}
			cs.version = 0
			sh.writeConnack(c, v, &mqtt.Connack{ReasonCode: mqtt.UnsupportedProtocolVersion})
			c.Close(err)
			return nil
		case errors.Is(err, mqtt.ErrClientID):
			// 0x02 identifier rejected on MQTT 3 [MQTT-3.1.3-9], 0x85 on 5.
			sh.writeConnack(c, p.Version, &mqtt.Connack{ReasonCode: mqtt.ClientIdentifierNotValid})
			cs.version = 0
			c.Close(err)
			return nil
		}
		if p.Version != mqtt.V5 {
			cs.version = 0
		}
		return err
	}
	enhanced := p.Version == mqtt.V5 && p.Properties.Present.Has(mqtt.PropAuthMethod)
	id := string(p.ClientID)
	assigned := id == ""
	if assigned {
		// Empty id: assigned by the broker [MQTT-3.1.3-6]; a 3.1.1 client
		// without clean session was refused by Decode [MQTT-3.1.3-8].
		id = sh.b.assignID()
		if cs.auth != nil && cs.auth.assignedID != "" {
			id = cs.auth.assignedID // the id the AUTH exchange ran for
		}
	}
	// The session lives where it was created; move the connection there.
	if v, ok := sh.b.registry.Load(id); ok {
		if owner := v.sh; owner != sh {
			if cs.auth != nil {
				// The session appeared on another loop during the AUTH
				// exchange; the connection cannot move once it has
				// answered, so the client must try again.
				sh.writeConnack(c, mqtt.V5, &mqtt.Connack{ReasonCode: mqtt.ServerBusy})
				cs.version = 0
				c.Close(mqtt.ServerBusy)
				return nil
			}
			c.MigrateTo(owner.loop)
			return nil
		}
	}
	if enhanced && !sh.connectAuth(c, cs, h, body, p, id, assigned) {
		return nil
	}
	// Authentication comes before any effect on a session (a takeover
	// included); the listener gives the zone and the anonymous policy.
	l := sh.b.listenerFor(c.LocalAddr())
	if h.HeaderLen+h.RemainingLength > l.cfg.MaxPacketSize {
		if p.Version == mqtt.V5 {
			sh.writeConnack(c, mqtt.V5, &mqtt.Connack{ReasonCode: mqtt.PacketTooLarge})
		}
		cs.version = 0
		c.Close(mqtt.ErrPacketTooLarge)
		return nil
	}
	authn, refuse := true, mqtt.ReasonCode(0)
	if cs.auth == nil || !cs.auth.done {
		// Password authentication, unless an enhanced-authentication
		// exchange already authenticated the client. A bcrypt check runs
		// off the loop and this CONNECT comes back with its result.
		switch {
		case cs.pwd != nil:
			authn, refuse = cs.pwd.authn, cs.pwd.refuse
			cs.pwd = nil
		case sh.b.cfg.Auth != nil && sh.b.cfg.Auth.Expensive(p.Username, p.Password, p.HasUsername):
			sh.authenticateAsync(c, cs, l, p)
			return nil
		default:
			authn, refuse = sh.b.authenticate(l, p)
		}
	}
	if refuse != 0 {
		// CONNACK with the failure, then close [MQTT-3.2.2-7].
		sh.writeConnack(c, p.Version, &mqtt.Connack{ReasonCode: refuse})
		cs.version = 0
		c.Close(refuse)
		return nil
	}
	now := sh.loop.Now()
	s := sh.sessions[id]
	present := false
	if s != nil {
		if s.conn != nil {
			// Takeover [MQTT-3.1.4-3]: the old connection is closed with
			// 0x8E. An MQTT 5 will is published as for any other loss
			// [MQTT-3.1.4-3]: at once without a will delay, when the
			// session ends (clean start), and never when the session is
			// resumed within the delay [MQTT-3.1.3-9]. MQTT 3 lists no
			// takeover among the will's occasions: its will is dropped.
			old, ocs := s.conn, s.cstate()
			ocs.graceful = true
			if s.will != nil && s.version == mqtt.V5 && (s.will.delay == 0 || p.CleanStart) {
				s.publishWill()
			}
			sh.detachConn(s)
			sh.closeConn(old, ocs, ErrTakenOver)
		}
		s.dropWill() // a resumed session cancels a delayed will
		if p.CleanStart {
			s.end()
			s = nil
		} else {
			present = true
			s.expireAt = 0
		}
	}
	if s == nil {
		s = newSession(sh, id, now)
		if v, loaded := sh.b.registry.LoadOrStore(id, s); loaded {
			if other := v; other.sh != sh {
				c.MigrateTo(other.sh.loop) // another loop created it first
				return nil
			}
			sh.b.registry.Store(id, s)
		}
		sh.sessions[id] = s
		sh.b.sessionsN.add(1)
	}
	s.cfg, s.authn = &l.cfg, authn
	if s.acl != nil {
		s.acl.Reset() // the identity the decisions were made for may differ
	}
	sh.attach(s, c, cs, p, now)
	if s.will != nil && !s.allowed(auth.Publish, s.will.msg.topic) {
		s.dropWill() // a will the ACL refuses is never published (EMQX)
	}
	s.count(cRecvPkt) // the CONNECT itself
	s.count(cReductions)

	// MQTT 3.1 has no session present flag: the byte is reserved.
	ack := mqtt.Connack{SessionPresent: present && p.Version != mqtt.V31}
	if p.Version == mqtt.V5 {
		pr := &ack.Properties
		if assigned {
			pr.Present.Add(mqtt.PropAssignedClientID)
			pr.AssignedClientID = []byte(id)
		}
		pr.Present.Add(mqtt.PropMaximumPacketSize)
		pr.MaximumPacketSize = uint32(s.cfg.MaxPacketSize)
		pr.Present.Add(mqtt.PropReceiveMaximum)
		pr.ReceiveMaximum = uint16(min(s.cfg.AwaitingRelMax, 65535))
		if s.cfg.TopicAliasMaximum > 0 {
			pr.Present.Add(mqtt.PropTopicAliasMaximum)
			pr.TopicAliasMaximum = uint16(s.cfg.TopicAliasMaximum)
		}
		if s.cfg.ServerKeepalive > 0 {
			pr.Present.Add(mqtt.PropServerKeepAlive) // [MQTT-3.2.2-21]
			pr.ServerKeepAlive = s.keepalive
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
		if p.Properties.Present.Has(mqtt.PropSessionExpiry) && s.expiry != p.Properties.SessionExpiry {
			pr.Present.Add(mqtt.PropSessionExpiry) // capped by MaxSessionExpiry
			pr.SessionExpiry = s.expiry
		}
	}
	start := len(sh.enc)
	sh.enc = mqtt.AppendConnack(sh.enc, &ack, p.Version)
	sh.emit(c, s, start)
	s.resume()
	s.markLife()
	s.reschedule()
	return nil
}

// assignID returns a fresh client id for a client that sent none.
func (b *Broker) assignID() string {
	return "shardmq-" + strconv.FormatInt(b.started.UnixNano()&0xffffffff, 36) + "-" +
		strconv.FormatUint(b.seq.Add(1), 36)
}

// attach binds connection c to s with the parameters of CONNECT p.
func (sh *shard) attach(s *session, c *netio.Conn, cs *connState, p *mqtt.Connect, now time.Time) {
	cfg := s.cfg
	s.conn = c // c.Data is cs
	cs.sess, cs.connected = s, true
	sh.b.liveN.add(1)
	s.online.Store(true)
	s.version = p.Version
	s.username = string(p.Username)
	s.bridge = p.Bridge
	s.cleanStart = p.CleanStart
	s.keepalive = p.KeepAlive
	if p.Version == mqtt.V5 && cfg.ServerKeepalive > 0 {
		s.keepalive = uint16(cfg.ServerKeepalive / time.Second)
	}
	remote := c.RemoteAddr()
	s.remoteIP, s.remotePort = remote.Addr(), remote.Port()
	s.connectedAt = now.UnixMilli()
	s.window = uint16(cfg.InflightMax)
	s.maxOut = 0
	pr := &p.Properties
	if p.Version == mqtt.V5 {
		s.expiry = 0
		if pr.Present.Has(mqtt.PropSessionExpiry) {
			s.expiry = pr.SessionExpiry
		}
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
	} else if p.CleanStart {
		s.expiry = 0
	} else {
		s.expiry = uint32(min(cfg.SessionExpiry/time.Second, neverExpire))
	}
	if cfg.MaxSessionExpiry > 0 && s.expiry > 0 {
		s.expiry = uint32(min(int64(s.expiry), int64(cfg.MaxSessionExpiry/time.Second)))
	}
	if p.HasWill {
		w := &mqtt.Publish{QoS: p.Will.QoS, Retain: p.Will.Retain, Payload: p.Will.Payload,
			Properties: p.Will.Properties}
		s.dropWill()
		s.will = &willMsg{msg: sh.b.newMessage(w, p.Will.Topic, s.idView(), s, now), delay: p.Will.Properties.WillDelay}
	}
	if s.keepalive > 0 {
		c.SetIdleTimeout(time.Duration(float64(s.keepalive) * cfg.KeepaliveFactor * float64(time.Second)))
	} else {
		c.SetIdleTimeout(0)
	}
}
