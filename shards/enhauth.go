package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// Authenticator runs MQTT 5 enhanced authentication for one
// Authentication Method (MQTT 5 section 4.12): the CONNECT and AUTH
// exchanges, and re-authentication. The broker calls it on the
// connection's loop, so it must not block.
type Authenticator interface {
	// Method returns the Authentication Method it implements.
	Method() string
	// Step runs one round of an exchange for clientID: state is what the
	// previous round returned (nil on the first), data the client's
	// Authentication Data. It returns the state for the next round, the
	// Authentication Data to send back, and done when the client is
	// authenticated. An error fails the exchange; the reason code it
	// carries (mqtt.Code) is sent, 0x87 Not authorized when it carries none.
	Step(clientID string, state any, data []byte) (next any, out []byte, done bool, err error)
}

// authState is a connection's enhanced-authentication exchange.
type authState struct {
	auth  Authenticator
	state any // the Authenticator's state between rounds
	// A CONNECT waiting for the exchange to finish: its fixed header and a
	// copy of its body, and the client id assigned to it (if any).
	connectH         mqtt.FixedHeader
	connect          []byte
	assignedID       string
	done             bool   // the exchange of the pending CONNECT succeeded
	out              []byte // the last Authentication Data, for CONNACK
	reauthenticating bool
}

// authenticator returns the Authenticator of method, or nil.
func (b *Broker) authenticator(method []byte) Authenticator {
	for _, a := range b.cfg.Authenticators {
		if a.Method() == string(method) {
			return a
		}
	}
	return nil
}

// refusal returns the reason code an Authenticator's error stands for.
func refusal(err error) mqtt.ReasonCode {
	if rc := mqtt.Code(err); rc >= 0x80 && rc != mqtt.UnspecifiedError {
		return rc
	}
	return mqtt.NotAuthorized
}

// writeAuth sends an AUTH packet with the exchange's method and data.
func (sh *shard) writeAuth(c *netio.Conn, s *session, method string, rc mqtt.ReasonCode, data []byte) {
	p := mqtt.Auth{ReasonCode: rc}
	p.Properties.Present.Add(mqtt.PropAuthMethod)
	p.Properties.AuthMethod = []byte(method)
	if data != nil {
		p.Properties.Present.Add(mqtt.PropAuthData)
		p.Properties.AuthData = data
	}
	start := len(sh.enc)
	sh.enc = mqtt.AppendAuth(sh.enc, &p, mqtt.V5)
	sh.emit(c, s, start)
}

// connectAuth runs the first round of enhanced authentication for CONNECT
// p (body is its body, h its header). It reports whether the CONNECT may
// go on now; otherwise it has answered (AUTH to continue, or a refusing
// CONNACK) and the CONNECT waits for the client's next AUTH.
func (sh *shard) connectAuth(c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte, p *mqtt.Connect, id string, assigned bool) bool {
	if cs.auth != nil && cs.auth.done {
		return true // second pass of a CONNECT whose exchange succeeded
	}
	a := sh.b.authenticator(p.Properties.AuthMethod)
	if a == nil {
		sh.refuse(c, cs, mqtt.V5, mqtt.BadAuthenticationMethod, mqtt.BadAuthenticationMethod)
		return false
	}
	next, out, done, err := a.Step(id, nil, p.Properties.AuthData)
	if err != nil {
		sh.refuse(c, cs, mqtt.V5, refusal(err), err)
		return false
	}
	cs.auth = &authState{auth: a, state: next, out: out, done: done}
	if done {
		return true
	}
	cs.auth.connectH = h
	cs.auth.connect = append([]byte(nil), body...)
	if assigned {
		cs.auth.assignedID = id
	}
	sh.writeAuth(c, nil, a.Method(), mqtt.ContinueAuthentication, out)
	return false
}

// onAuthBeforeConnack continues the exchange of a pending CONNECT with
// the client's AUTH; on success the CONNECT goes on.
func (sh *shard) onAuthBeforeConnack(c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) error {
	as := cs.auth
	if as == nil || as.connect == nil {
		return ErrProtocol // AUTH without an exchange under way [MQTT-4.12.0-7]
	}
	var p mqtt.Auth
	if err := p.Decode(h, body, mqtt.V5); err != nil {
		return err
	}
	if p.ReasonCode != mqtt.ContinueAuthentication || string(p.Properties.AuthMethod) != as.auth.Method() {
		return ErrProtocol // [MQTT-4.12.0-5] same method, continue only
	}
	next, out, done, err := as.auth.Step(as.clientID(), as.state, p.Properties.AuthData)
	if err != nil {
		sh.refuse(c, cs, mqtt.V5, refusal(err), err)
		return nil
	}
	as.state, as.out = next, out
	if !done {
		sh.writeAuth(c, nil, as.auth.Method(), mqtt.ContinueAuthentication, out)
		return nil
	}
	as.done = true
	connect := as.connect
	as.connect = nil
	return sh.onConnect(c, cs, as.connectH, connect)
}

// clientID returns the id the exchange authenticates: the assigned one, or
// the CONNECT's.
func (as *authState) clientID() string {
	if as.assignedID != "" {
		return as.assignedID
	}
	var p mqtt.Connect
	if p.Decode(as.connectH, as.connect) == nil {
		return string(p.ClientID)
	}
	return ""
}

// onReauth handles an AUTH from a connected client: a re-authentication
// with the method of the CONNECT [MQTT-4.12.1-1], continued until success
// (AUTH 0x00) or failure (DISCONNECT with the reason).
func (sh *shard) onReauth(s *session, c *netio.Conn, cs *connState, h mqtt.FixedHeader, body []byte) error {
	var p mqtt.Auth
	if err := p.Decode(h, body, mqtt.V5); err != nil {
		return err
	}
	as := cs.auth
	if as == nil || string(p.Properties.AuthMethod) != as.auth.Method() {
		return ErrProtocol // no enhanced authentication at CONNECT, or another method
	}
	switch {
	case p.ReasonCode == mqtt.ReAuthenticate && !as.reauthenticating:
		as.reauthenticating, as.state = true, nil
	case p.ReasonCode == mqtt.ContinueAuthentication && as.reauthenticating:
	default:
		return ErrProtocol
	}
	next, out, done, err := as.auth.Step(s.id, as.state, p.Properties.AuthData)
	if err != nil {
		return refusal(err) // DISCONNECT with the reason, then close
	}
	as.state = next
	if done {
		as.reauthenticating = false
		sh.writeAuth(c, s, as.auth.Method(), mqtt.Success, out)
		return nil
	}
	sh.writeAuth(c, s, as.auth.Method(), mqtt.ContinueAuthentication, out)
	return nil
}
