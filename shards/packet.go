package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// onPacket handles one packet of an accepted connection.
func (sh *shard) onPacket(s *session, c *netio.Conn, cs *connState, h mqtt.FixedHeader, frame, body []byte) error {
	v := cs.version
	switch h.Type {
	case mqtt.TypePublish:
		return sh.onPublish(s, c, cs, h, body)
	case mqtt.TypePuback:
		var p mqtt.Puback
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		s.onPuback(p.PacketID)
	case mqtt.TypePubrec:
		var p mqtt.Pubrec
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		s.onPubrec(p.PacketID, p.ReasonCode)
	case mqtt.TypePubcomp:
		var p mqtt.Pubcomp
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		s.onPubcomp(p.PacketID)
	case mqtt.TypePubrel:
		var p mqtt.Pubrel
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		s.onPubrel(p.PacketID)
	case mqtt.TypeSubscribe:
		return sh.onSubscribe(s, h, body)
	case mqtt.TypeUnsubscribe:
		return sh.onUnsubscribe(s, h, body)
	case mqtt.TypePingreq:
		var p mqtt.Pingreq
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		start := len(sh.enc)
		sh.enc = mqtt.AppendPingresp(sh.enc, &mqtt.Pingresp{}, v)
		sh.emit(c, s, start)
	case mqtt.TypeDisconnect:
		var p mqtt.Disconnect
		if err := p.Decode(h, body, v); err != nil {
			return err
		}
		if v == mqtt.V5 && p.Properties.Present.Has(mqtt.PropSessionExpiry) {
			if s.expiry == 0 && p.Properties.SessionExpiry != 0 {
				return mqtt.ProtocolError // [MQTT-3.14.2-2]
			}
			s.expiry = p.Properties.SessionExpiry
		}
		// Only a normal disconnection (0x00) drops the will [MQTT-3.14.4-3];
		// 0x04 asks for it and the error codes report an abnormal end.
		cs.graceful = p.ReasonCode == mqtt.NormalDisconnection
		c.Close(nil)
	case mqtt.TypeConnect:
		return ErrProtocol // a second CONNECT [MQTT-3.1.0-2]
	case mqtt.TypeAuth:
		if v != mqtt.V5 {
			return ErrProtocol
		}
		return sh.onReauth(s, c, cs, h, body)
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP, AUTH: never sent by a client
		// to a broker without enhanced authentication.
		return ErrProtocol
	}
	return nil
}

// emit queues the packet encoded at sh.enc[start:] on c and counts it for
// s (nil: not counted).
func (sh *shard) emit(c *netio.Conn, s *session, start int) {
	c.Write(sh.enc[start:len(sh.enc):len(sh.enc)])
	if s != nil {
		s.count(cSendPkt)
		s.markStats()
	}
}

// send encodes a packet with appendFn into the shard's scratch buffer and
// queues it on c; it counts the packet for s (may be nil).
func (sh *shard) send(c *netio.Conn, s *session, appendFn func([]byte) []byte) {
	start := len(sh.enc)
	sh.enc = appendFn(sh.enc)
	c.Write(sh.enc[start:len(sh.enc):len(sh.enc)])
	if s != nil {
		s.count(cSendPkt)
		s.markStats()
	}
}

// writeConnack sends a CONNACK.
func (sh *shard) writeConnack(c *netio.Conn, v mqtt.Version, p *mqtt.Connack) {
	sh.send(c, nil, func(dst []byte) []byte { return mqtt.AppendConnack(dst, p, v) })
}

// writeDisconnect sends an MQTT 5 DISCONNECT with rc and, as its Reason
// String, the text of err (allowed whatever Request Problem Information
// says [MQTT-3.1.2-29]) unless it would exceed the client's Maximum Packet
// Size [MQTT-3.14.2-3].
func (sh *shard) writeDisconnect(c *netio.Conn, cs *connState, rc mqtt.ReasonCode, err error) {
	if cs.version != mqtt.V5 {
		return
	}
	d := &mqtt.Disconnect{ReasonCode: rc}
	if err != nil {
		text := err.Error()
		if s := cs.sess; s == nil || reasonFits(s, 4+len(text)) {
			d.Properties.Present.Add(mqtt.PropReasonString)
			d.Properties.ReasonString = []byte(text)
		}
	}
	sh.send(c, cs.sess, func(dst []byte) []byte {
		return mqtt.AppendDisconnect(dst, d, mqtt.V5)
	})
}

// reasonFits reports whether a Reason String adding extra bytes to a
// packet of at most 8 bytes without it stays within s's Maximum Packet
// Size [MQTT-3.14.2-3] (the broker's acknowledgements and DISCONNECT are
// at most 8 bytes before a reason string; extra counts the property's
// identifier, length and text, and a growing property length varint).
func reasonFits(s *session, extra int) bool {
	return s.maxOut == 0 || 8+extra+1 <= int(s.maxOut)
}

// closeConn says goodbye to an MQTT 5 client with the reason err maps to
// and closes the connection.
func (sh *shard) closeConn(c *netio.Conn, cs *connState, err error) {
	if c.Closing() {
		return
	}
	if rc := reasonFor(err); rc >= 0x80 {
		sh.writeDisconnect(c, cs, rc, err)
	}
	c.Close(err)
}
