package shards

import (
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

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
func (sh *shard) setPeer(s *session, c *netio.Conn, l *listener) {
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
	sh.peers[s] = sh.identity(peerIdentity{sni: p.SNI, cn: p.CN, dn: p.DN, tenant: l.tenant == "peersni" && p.SNI != ""})
}

// identity returns id on the heap, shared with the shard's other sessions
// when it carries no certificate: a fleet's devices that verify the
// broker but present no certificate of their own ask for the same few
// server names, and each idle connection would otherwise hold a copy. The
// shared ones are at most maxSharedIdentities (a client chooses its SNI).
// It runs on the shard.
func (sh *shard) identity(id peerIdentity) *peerIdentity {
	if id.cn != "" || id.dn != "" {
		return &id
	}
	if p, ok := sh.identities[id]; ok {
		return p
	}
	p := &id
	if len(sh.identities) < maxSharedIdentities {
		if sh.identities == nil {
			sh.identities = make(map[peerIdentity]*peerIdentity)
		}
		sh.identities[id] = p
	}
	return p
}

// maxSharedIdentities bounds a shard's shared identities.
const maxSharedIdentities = 1024

// peerIdentity is the TLS identity of a session's last connection.
type peerIdentity struct {
	sni, cn, dn string
	// tenant is set when the listener takes the tenant from the SNI.
	tenant bool
}

// fromCertificate replaces the CONNECT's user name or client id with the
// client certificate's CN or DN where listener l says so (EMQX's
// peer_cert_as_username and peer_cert_as_clientid). A connection without
// a verified certificate keeps the CONNECT's: the listener's verify_peer
// and fail_if_no_peer_cert decide whether it may connect at all.
func fromCertificate(l *listener, peer netio.Peer, p *mqtt.Connect) {
	name := func(which string) string {
		if which == "cn" {
			return peer.CN
		}
		return peer.DN
	}
	if l.certUser != "" {
		if v := name(l.certUser); v != "" {
			p.Username, p.HasUsername = []byte(v), true
		}
	}
	if l.certID != "" {
		if v := name(l.certID); v != "" {
			p.ClientID = []byte(v)
		}
	}
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
	if p.tenant {
		set(&r.TenantIDFrom, "peersni")
	}
}
