package shards

import (
	"context"
	"errors"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards/auth"
)

// authenticate decides a CONNECT p arriving on listener l: it returns
// whether the client proved its identity with a password, or the CONNACK
// reason code that refuses it (0x86 bad user name or password, 0x87 not
// authorized; MQTT 3 gets 0x04 and 0x05 through mqtt.ConnackV3).
func (b *Broker) authenticate(l *listener, p *mqtt.Connect) (authn bool, refuse mqtt.ReasonCode) {
	a := b.cfg.Auth
	if a == nil {
		if l.anonymous {
			return false, 0
		}
		return false, mqtt.NotAuthorized
	}
	ok, err := a.Authenticate(p.Username, p.Password, p.HasUsername, l.anonymous)
	switch {
	case err == nil:
		return ok, 0
	case errors.Is(err, auth.ErrBadCredentials):
		return false, mqtt.BadUserNameOrPassword
	}
	return false, mqtt.NotAuthorized
}

// allowed reports whether s's client may do act on topic (a topic name to
// publish, a filter to subscribe). Decisions are cached in s.acl, which
// the Auth empties after a reload; the cache is allocated on first use,
// so a broker without an Auth (or a client that never publishes or
// subscribes) holds none. A decision for an offline session is not
// cached: its cache went with its connection (detachConn), and the next
// CONNECT would empty it anyway. It runs on s's shard.
func (s *session) allowed(act auth.Action, topic []byte) bool {
	a := s.sh.b.cfg.Auth
	if a == nil {
		return true
	}
	if s.acl == nil && s.conn != nil {
		s.acl = new(auth.Cache)
	}
	c := auth.Client{ClientID: s.id, Username: s.username, IP: s.remoteIP}
	return a.Authorize(&c, s.acl, act, topic)
}

// denyPublish acknowledges a PUBLISH the ACL refused, which is dropped
// (counted in recv_msg.dropped). As Mosquitto 2.0.11 does (checked with
// mosquitto_pub -d) and EMQX with deny_action = ignore, the exchange is
// completed so the client does not resend it forever: MQTT 5 gets PUBACK
// or PUBREC with 0x87 Not authorized, which ends a QoS 2 exchange
// [MQTT-4.3.3-4]; MQTT 3 has no reason codes, so it gets a plain PUBACK,
// or a PUBREC and later PUBCOMP.
func (sh *shard) denyPublish(s *session, p *mqtt.Publish, v mqtt.Version, now int64) {
	s.drops().RecvMsgDropped++
	switch p.QoS {
	case 1:
		sh.ackPublish(s, s.conn, mqtt.TypePuback, p.PacketID, mqtt.NotAuthorized, false)
	case 2:
		if v != mqtt.V5 {
			s.awaitRelease(p.PacketID, now)
		}
		sh.ackPublish(s, s.conn, mqtt.TypePubrec, p.PacketID, mqtt.NotAuthorized, false)
	}
}

// AuthzCache returns the authorization decisions clientid's session has
// cached (EMQX's authorization cache): publish first, each by topic; none
// without an ACL. Safe from any goroutine.
func (b *Broker) AuthzCache(ctx context.Context, clientid string) ([]auth.CacheEntry, error) {
	var out []auth.CacheEntry
	err := b.onOwnerCounted(ctx, clientid, false, func(s *session) {
		if a := b.cfg.Auth; a != nil {
			out = a.CacheEntries(s.acl)
		}
	})
	return out, err
}

// ClearAuthzCache forgets the decisions clientid's session has cached:
// the next PUBLISH or SUBSCRIBE of each topic runs the rules again. Safe
// from any goroutine.
func (b *Broker) ClearAuthzCache(ctx context.Context, clientid string) error {
	return b.onOwner(ctx, clientid, func(s *session) {
		if s.acl != nil {
			s.acl.Reset()
		}
	})
}
