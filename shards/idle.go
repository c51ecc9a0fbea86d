package shards

import (
	"context"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// A connection whose CONNECT is under way (its password checked off the
// loop, or, in a cluster, the client id acquired from the other nodes,
// which may take the session over from one of them) is idle: CLIENTS_API.md decision 12. It has no session of its own
// yet, but the API lists it (conn_state idle, connected false, with the
// connection's address) and GET /clients/{id} finds it; an offline session
// of the same client id is shown idle meanwhile. The shard that holds the
// connection keeps its row in idle until the CONNECT ends: accepted
// (attach), refused (refuse), or the connection closed or moved away.

// idleConn is the row of a connection whose CONNECT is under way.
type idleConn struct {
	id   string
	conn *netio.Conn
	row  ClientRow
}

// beginIdle records the CONNECT p of client id on c as under way and
// hands its idle row to the sink at once. It runs on sh's loop.
func (sh *shard) beginIdle(c *netio.Conn, cs *connState, l *listener, p *mqtt.Connect, id string) {
	now := sh.loop.Now()
	var r ClientRow
	if s := sh.sessions[id]; s != nil && !s.dead {
		r = s.row(now)
	} else {
		cfg := &l.cfg
		r = ClientRow{Node: cfg.Node, ClientID: id, Username: string(p.Username), ProtoName: "MQTT",
			ProtoVer: int64(p.Version), Listener: cfg.Listener, IsBridge: p.Bridge, Zone: cfg.Zone,
			CreatedAt: now.UnixMilli(), CleanStart: p.CleanStart, ExpiryInterval: int64(cfg.sessionExpiry(p))}
		if p.Version == mqtt.V31 {
			r.ProtoName = "MQIsdp"
		}
		ka, _ := cfg.keepalive(p.Version, p.KeepAlive)
		r.Keepalive = int64(ka)
		r.IsPersistent = r.ExpiryInterval > 0
		r.SubscriptionsMax = int64(cfg.SubscriptionsMax)
		r.InflightMax = int64(cfg.InflightMax)
		r.MqueueMax = int64(cfg.MqueueMax)
		r.AwaitingRelMax = int64(cfg.AwaitingRelMax)
		peer := c.Peer()
		for _, f := range []struct {
			dst **string
			v   string
		}{{&r.PeerSNI, peer.SNI}, {&r.CN, peer.CN}, {&r.DN, peer.DN}} {
			if f.v != "" {
				v := f.v
				*f.dst = &v
			}
		}
	}
	addr := c.ClientAddr()
	r.Username = string(p.Username) // the connection's, not the offline session's
	r.IPAddress, r.Port = addr.Addr().Unmap().String(), int64(addr.Port())
	r.Connected, r.ConnState = false, "idle"
	r.ConnectedAt = now.UnixMilli()
	if sh.idle == nil {
		sh.idle = make(map[*connState]*idleConn)
	}
	if _, ok := sh.idle[cs]; !ok {
		sh.b.idleN.Add(1)
	}
	sh.idle[cs] = &idleConn{id: id, conn: c, row: r}
	if sink := sh.b.cfg.Sink; sink != nil {
		sh.snapshotLife(now) // an older change of the same client goes first
		sink.Upsert([]ClientRow{r})
	}
}

// endIdle ends the idle state of cs, if any. Unless the session takes
// over its row (attach marks it), the client's row goes back to what it
// is without this connection: another connection's idle row, the offline
// session's, or none. It runs on sh's loop.
func (sh *shard) endIdle(cs *connState) {
	if len(sh.idle) == 0 {
		return
	}
	in, ok := sh.idle[cs]
	if !ok {
		return
	}
	delete(sh.idle, cs)
	sh.b.idleN.Add(-1)
	if other := sh.idleOf(in.id); other != nil {
		if sink := sh.b.cfg.Sink; sink != nil {
			sh.snapshotLife(sh.loop.Now())
			sink.Upsert([]ClientRow{other.row})
		}
		return
	}
	if s := sh.sessions[in.id]; s != nil && !s.dead {
		s.markLife()
		return
	}
	sh.removed = append(sh.removed, in.id)
}

// idleOf returns an idle connection of client id on sh, or nil.
func (sh *shard) idleOf(id string) *idleConn {
	for _, in := range sh.idle {
		if in.id == id {
			return in
		}
	}
	return nil
}

// idleRow returns the idle row of client id when one of sh's connections
// has its CONNECT under way and the client has no connected session.
func (sh *shard) idleRow(id string) (ClientRow, bool) {
	if len(sh.idle) == 0 {
		return ClientRow{}, false
	}
	if s := sh.sessions[id]; s != nil && s.conn != nil {
		return ClientRow{}, false
	}
	if in := sh.idleOf(id); in != nil {
		r := in.row
		if s := sh.sessions[id]; s != nil && !s.dead {
			// The offline session's current counters and times, with
			// the new connection's address and state.
			live := s.row(sh.loop.Now())
			live.Username, live.IPAddress, live.Port = r.Username, r.IPAddress, r.Port
			live.Connected, live.ConnState, live.ConnectedAt = false, r.ConnState, r.ConnectedAt
			r = live
		}
		return r, true
	}
	return ClientRow{}, false
}

// idleClient looks on every shard for a connection of client id whose
// CONNECT is under way (there is no session to find it by). Safe from any
// goroutine.
func (b *Broker) idleClient(ctx context.Context, id string) (ClientRow, bool, error) {
	if b.idleN.Load() == 0 {
		return ClientRow{}, false, nil
	}
	var row ClientRow
	found := false
	for _, sh := range b.shardList() {
		var r ClientRow
		var ok bool
		if err := sh.run(ctx, func() { r, ok = sh.idleRow(id) }); err != nil {
			return ClientRow{}, false, err
		}
		if ok {
			row, found = r, true
			break
		}
	}
	return row, found, nil
}

// kickIdle refuses the CONNECTs of client id under way on any shard, as a
// kick: CONNACK 0x87 not authorized (MQTT 3: 5), then the close. It
// reports whether there was one. Safe from any goroutine.
func (b *Broker) kickIdle(ctx context.Context, id string) (bool, error) {
	if b.idleN.Load() == 0 {
		return false, nil
	}
	kicked := false
	for _, sh := range b.shardList() {
		var n int
		if err := sh.run(ctx, func() {
			for cs, in := range sh.idle {
				if in.id == id {
					sh.refuse(in.conn, cs, cs.version, mqtt.NotAuthorized, ErrKicked)
					n++
				}
			}
			sh.snapshotLife(sh.loop.Now())
		}); err != nil {
			return false, err
		}
		kicked = kicked || n > 0
	}
	return kicked, nil
}
