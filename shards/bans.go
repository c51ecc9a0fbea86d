package shards

import (
	"context"
	"net/netip"
	"sync/atomic"
)

// BanList says which clients are banned. The broker asks it at every
// CONNECT, on the loop of the connection: Banned must be safe from any
// goroutine, quick, and must not block. *banned.List implements it.
type BanList interface {
	// Banned reports whether a client with this client id, user name (""
	// for none) and address may not connect.
	Banned(clientid, username string, addr netip.Addr) bool
}

// KickMatching kicks every connected client for which match (called with
// its client id, user name and address) reports true, as Kick does: the
// connection is closed (MQTT 5: DISCONNECT 0x98) and the session
// discarded. It is how a new ban applies to the clients it bans that are
// already connected; match runs on the shards' loops and must not block.
// It returns the number of clients kicked, once every shard has run it.
// Safe from any goroutine.
func (b *Broker) KickMatching(ctx context.Context, match func(clientid, username string, addr netip.Addr) bool) (int, error) {
	var n atomic.Int64 // a shard that ran after a timeout may still add
	err := b.eachShard(ctx, func(sh *shard) {
		var hit []*session
		for _, s := range sh.sessions {
			if s.conn != nil && !s.dead && match(s.id, s.username, s.remoteIP) {
				hit = append(hit, s)
			}
		}
		for _, s := range hit {
			c, cs := s.conn, s.cstate()
			s.count(cReductions)
			sh.closeConn(c, cs, ErrKicked)
			sh.detach(s, c, cs, ErrKicked)
		}
		sh.snapshotLife(sh.loop.Now())
		n.Add(int64(len(hit)))
	})
	if err != nil {
		return 0, err
	}
	return int(n.Load()), nil
}
