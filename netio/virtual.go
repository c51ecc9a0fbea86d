package netio

import (
	"errors"
	"net/netip"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// ErrRejected reports a virtual connection refused by MaxConnections,
// MaxConnectRate, the listener's MaxConnections or a Server shutting down.
var ErrRejected = errors.New("netio: connection rejected")

// VirtualSink is what a Gateway gives each virtual connection: it receives
// the MQTT packets the Handler writes and learns where the connection
// goes. Its methods run on the connection's loop.
type VirtualSink interface {
	// Send takes the packets the Handler wrote to c during a batch, at the
	// end of the batch (the slices are valid only until Send returns; one
	// packet may span several slices), and returns the bytes it put on the
	// wire.
	Send(c *Conn, packets [][]byte) int
	// Moving reports that the Handler migrated c to loop to: c is done on
	// this loop, and the connection continues on to (Moved).
	Moving(c *Conn, to *Loop)
	// Moved runs on the new loop with the connection that replaces the one
	// Moving named, after the Handler opened it and took the input that
	// followed the migration.
	Moved(nc *Conn)
	// Closed reports that c is closed, after Handler.OnClose; err is why
	// (nil for a close without error).
	Closed(c *Conn, err error)
}

// virtual is the other end of a virtual connection.
type virtual struct {
	ep   *Endpoint
	addr netip.AddrPort
	sink VirtualSink
}

// virtualOf returns c's gateway end, or nil for a socket connection.
func (c *Conn) virtualOf() *virtual {
	if c.rare == nil {
		return nil
	}
	return c.rare.v
}

// OpenVirtual opens a connection on l for a client of the Gateway behind
// ep at addr (the connection's RemoteAddr). The Handler gets OnOpen at
// once; the Gateway then hands it MQTT packets with Conn.Inject, and sink
// receives what the Handler writes. Call it on l (in a Loop.Execute
// function). The limits of socket connections apply: ErrRejected when one
// is reached.
func (l *Loop) OpenVirtual(ep *Endpoint, addr netip.AddrPort, sink VirtualSink) (*Conn, error) {
	s := l.srv
	l.enter()
	defer l.exit(nil)
	max := s.cfg.Listeners[ep.lst].MaxConnections
	if s.stopping.Load() || int(s.conns.Load()) >= s.cfg.MaxConnections ||
		max > 0 && s.lst[ep.lst].conns.Load() >= int64(max) || !s.admit(l.now) {
		s.rejected.Add(1)
		if max > 0 && s.lst[ep.lst].conns.Load() >= int64(max) {
			s.lst[ep.lst].refused[refusedListenerFull].Add(1)
		}
		return nil, ErrRejected
	}
	c := &Conn{loop: l, heapIdx: -1, listIdx: -1, lst: ep.lst}
	c.rare = &connRare{v: &virtual{ep: ep, addr: addr, sink: sink}}
	s.conns.Add(1)
	s.lst[ep.lst].conns.Add(1)
	c.openedAt = l.now.UnixNano()
	c.lastRead = c.openedAt
	c.schedule()
	s.h.OnOpen(c)
	return c, nil
}

// Inject hands the Handler MQTT packets from a virtual connection's client
// as if read from a socket: whole packets, framed as usual (b is not kept
// once Inject returns). wire is the size of the datagram they came in,
// counted as received bytes; 0 for packets that add to one already
// counted. Call it on c's loop.
func (c *Conn) Inject(b []byte, wire int) {
	if c.closing || c.closed {
		return
	}
	l := c.loop
	l.enter()
	if wire > 0 {
		c.bytesIn += uint64(wire)
		c.reads++
	}
	c.lastRead = l.now.UnixNano()
	l.srv.feed(c, b)
	l.exit(nil)
}

// Touch records traffic from a virtual connection's client that carries no
// MQTT packet (a datagram the Gateway answers itself): it counts wire
// bytes received and defers the idle timeout. Call it on c's loop.
func (c *Conn) Touch(wire int) {
	c.bytesIn += uint64(wire)
	c.reads++
	c.lastRead = c.loop.Now().UnixNano()
}

// Sent counts wire bytes a Gateway sent to a virtual connection's client
// outside Send (retransmissions, its own answers). Call it on c's loop.
func (c *Conn) Sent(wire int) {
	c.bytesOut += uint64(wire)
	c.writes++
}

// IdleTimeout returns the idle timeout the Handler (or a Gateway) set.
func (c *Conn) IdleTimeout() time.Duration { return c.idle }

// Endpoint returns the Gateway endpoint of a virtual connection; nil for
// a socket connection.
func (c *Conn) Endpoint() *Endpoint {
	if v := c.virtualOf(); v != nil {
		return v.ep
	}
	return nil
}

// closeVirtual closes a virtual connection: what OnClose does for a
// socket, then the sink learns it.
func (s *Server) closeVirtual(c *Conn) {
	if c.closed {
		return
	}
	s.conns.Add(-1)
	s.lst[c.lst].conns.Add(-1)
	c.closed, c.closing = true, true
	if c.heapIdx >= 0 {
		c.loop.timers.Remove(int(c.heapIdx))
	}
	c.carry = nil
	if c.movedAway {
		return
	}
	err := c.closeErr()
	s.h.OnClose(c, err)
	c.rare.v.sink.Closed(c, err)
}

// migrateVirtual moves a virtual connection to the loop MigrateTo named:
// a new Conn there takes its place and the input not yet framed (the
// frame that asked for the migration first).
func (s *Server) migrateVirtual(c *Conn, rest []byte) {
	target := c.rare.migrateTo
	c.rare.migrateTo = nil
	v := c.rare.v
	rest = append([]byte(nil), rest...)
	old := *c // the counters, read by the target
	v.sink.Moving(c, target)
	s.moves.Add(1)
	err := target.Execute(func() {
		nc := &Conn{loop: target, heapIdx: -1, listIdx: -1, lst: old.lst, migrated: true, openedAt: old.openedAt,
			bytesIn: old.bytesIn, bytesOut: old.bytesOut, reads: old.reads, writes: old.writes}
		nc.rare = &connRare{v: v}
		s.conns.Add(1)
		s.lst[nc.lst].conns.Add(1)
		nc.lastRead = target.now.UnixNano()
		nc.schedule()
		s.h.OnOpen(nc)
		if !nc.closing {
			s.feed(nc, rest)
		}
		v.sink.Moved(nc)
	})
	if err != nil {
		s.moves.Add(-1)
		s.h.OnError(c, err)
		c.Close(err)
		return
	}
	c.movedAway = true
	c.closing = true
	c.loop.closers = append(c.loop.closers, c)
}

// WillUpdater is implemented by a Handler whose sessions' wills a Gateway
// may replace after CONNECT (MQTT-SN WILLTOPICUPD, WILLMSGUPD).
type WillUpdater interface {
	// UpdateWill replaces the will of c's session with w, or removes it
	// when w is nil; it reports whether the session took it. It runs on
	// c's loop.
	UpdateWill(c *Conn, w *mqtt.Will) bool
}

// UpdateWill asks the Handler to replace the will of c's session (see
// WillUpdater); false when the Handler cannot. Call it on c's loop.
func (c *Conn) UpdateWill(w *mqtt.Will) bool {
	wu, ok := c.loop.srv.h.(WillUpdater)
	return ok && !c.closing && wu.UpdateWill(c, w)
}

// AddrUpdater is implemented by a Handler that learns when a virtual
// connection's client moves to another address (an MQTT-SN client that
// wakes from sleep elsewhere).
type AddrUpdater interface {
	// UpdateAddr tells the Handler that c's RemoteAddr changed. It runs
	// on c's loop.
	UpdateAddr(c *Conn)
}

// SetRemoteAddr moves a virtual connection's client to addr, its
// RemoteAddr from now on, and tells the Handler (see AddrUpdater). It
// does nothing for a socket connection. Call it on c's loop.
func (c *Conn) SetRemoteAddr(addr netip.AddrPort) {
	v := c.virtualOf()
	if v == nil || c.closing || v.addr == addr {
		return
	}
	v.addr = addr
	if au, ok := c.loop.srv.h.(AddrUpdater); ok {
		au.UpdateAddr(c)
	}
}
