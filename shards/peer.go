package shards

import "github.com/shardmq/shardmq/netio"

// listenerOf returns the listener connection c came in through: the one
// named by c's netio listener id (tcp:default), else the one whose
// address matches c's local address.
func (b *Broker) listenerOf(c *netio.Conn) *listener {
	id := c.Listener().ID()
	for _, l := range b.listeners {
		if l.cfg.Listener == id {
			return l
		}
	}
	return b.listenerFor(c.LocalAddr())
}

// setPeer records what the transport of s's new connection c knows of the
// client beyond its address: the TLS server name and certificate names
// the client row shows. Only sessions whose transport learned any keep an
// entry (sh.peers), so a plain TCP session pays nothing. It runs on s's
// shard.
func (sh *shard) setPeer(s *session, c *netio.Conn) {
	p := c.Peer()
	if p.SNI == "" && p.CN == "" && p.DN == "" {
		if sh.peers != nil {
			delete(sh.peers, s)
		}
		return
	}
	if sh.peers == nil {
		sh.peers = make(map[*session]*peerIdentity)
	}
	sh.peers[s] = &peerIdentity{sni: p.SNI, cn: p.CN, dn: p.DN}
}

// peerIdentity is the TLS identity of a session's last connection.
type peerIdentity struct {
	sni, cn, dn string
}

// rowIdentity fills r's peersni, cn and dn from s's last connection (null
// when its transport learned none).
func (s *session) rowIdentity(r *ClientRow) {
	p := s.sh.peers[s]
	if p == nil {
		return
	}
	set := func(dst **string, v string) {
		if v != "" {
			*dst = &v
		}
	}
	set(&r.PeerSNI, p.sni)
	set(&r.CN, p.cn)
	set(&r.DN, p.dn)
}
