package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// KindUDP is a datagram listener served by a Gateway (MQTT-SN, CoAP): the
// Server binds it and hands every datagram to the listener's Gateway,
// which speaks to the Handler through virtual connections (OpenVirtual).
const KindUDP = "udp"

// Gateway translates a datagram protocol into MQTT for the Handler. Its
// clients are virtual connections (Loop.OpenVirtual) on the Server's loops,
// so that the Handler sees them as any other connection.
type Gateway interface {
	// Bind runs once the listener is bound, before any datagram: ep sends
	// datagrams from the listener's address and knows the Server.
	Bind(ep *Endpoint)
	// OnDatagram runs for each datagram received, on the listener's reader
	// loop (not one of the Server's loops); b is valid only until it
	// returns.
	OnDatagram(from netip.AddrPort, b []byte)
	// Flush runs on the reader loop after the datagrams of one read burst
	// (all the socket held, up to 256): the Gateway hands them on.
	Flush()
}

// Endpoint is a bound udp listener, as its Gateway uses it.
type Endpoint struct {
	srv  *Server
	lst  uint16
	fd   int            // a duplicate of the listener's socket, for sending
	addr netip.AddrPort // bound
	conf netip.AddrPort // configured, as gnet reports a datagram's local address
	// SendErrors counts datagrams the socket refused (a full send buffer).
	sendErrors atomic.Int64
}

// Addr returns the bound address (the real port when configured with 0).
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// Listener returns the listener the endpoint serves.
func (e *Endpoint) Listener() *Listener { return &e.srv.cfg.Listeners[e.lst] }

// Server returns the Server the endpoint belongs to.
func (e *Endpoint) Server() *Server { return e.srv }

// SendTo sends b as one datagram to to. It does not block: a datagram the
// socket cannot take now is dropped, counted (SendErrors) and reported.
// Safe from any goroutine.
func (e *Endpoint) SendTo(b []byte, to netip.AddrPort) error {
	// The socket's family decides: an IPv6 socket reaches IPv4 peers at
	// their mapped address.
	var sa unix.Sockaddr
	if a := to.Addr(); e.addr.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(to.Port()), Addr: a.Unmap().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
	}
	err := unix.Sendto(e.fd, b, unix.MSG_DONTWAIT, sa)
	if err != nil {
		e.sendErrors.Add(1)
	}
	return err
}

// SendErrors returns how many datagrams the socket refused.
func (e *Endpoint) SendErrors() int64 { return e.sendErrors.Load() }

// Loops returns the Server's loops, in Index order.
func (e *Endpoint) Loops() []*Loop { return e.srv.Loops() }

// udpEngine is the gnet engine of the Server's udp listeners. gnet serves
// UDP only with SO_REUSEPORT on every listener of an engine, which would
// give each tcp loop a socket of its own (and a port of its own when the
// port is 0), so datagrams have an engine of their own with one loop; the
// Gateway hands each datagram to the Server's loop that owns its peer.
type udpEngine struct {
	gnet.BuiltinEventEngine
	srv    *Server
	eng    gnet.Engine
	eps    []*Endpoint  // in listener order among the udp listeners
	burst  *burstReader // the reader loop's buffers for a burst's datagrams
	booted chan struct{}
	done   chan struct{}
	err    error
	once   sync.Once
}

// udpListeners returns the positions of the udp listeners in cfg.
func (s *Server) udpListeners() []uint16 {
	var out []uint16
	for i, l := range s.cfg.Listeners {
		if l.Kind == KindUDP {
			out = append(out, uint16(i))
		}
	}
	return out
}

// startUDP binds the udp listeners and starts their engine; it returns
// once they are bound or failed.
func (s *Server) startUDP() error {
	idx := s.udpListeners()
	if len(idx) == 0 {
		return nil
	}
	u := &udpEngine{srv: s, booted: make(chan struct{}), done: make(chan struct{})}
	addrs := make([]string, len(idx))
	for i, li := range idx {
		addrs[i] = "udp://" + s.cfg.Listeners[li].Addr
		ep := &Endpoint{srv: s, lst: li, fd: -1}
		if ra, err := net.ResolveUDPAddr("udp", s.cfg.Listeners[li].Addr); err == nil {
			ep.conf = ra.AddrPort()
		}
		u.eps = append(u.eps, ep)
	}
	s.udp = u
	go func() {
		err := gnet.Rotate(u, addrs,
			gnet.WithMulticore(false),
			gnet.WithNumEventLoop(1),
			gnet.WithReuseAddr(true),
			gnet.WithReadBufferCap(64<<10),
			gnet.WithSocketRecvBuffer(4<<20),
			gnet.WithSocketSendBuffer(4<<20),
			gnet.WithLogger(quietLogger{}),
		)
		u.once.Do(func() { close(u.booted) })
		u.err = err
		close(u.done)
	}()
	select {
	case <-u.booted:
	case <-u.done:
	}
	select {
	case <-u.done:
		if u.err != nil {
			return u.err
		}
		return errors.New("netio: udp engine stopped")
	default:
	}
	for _, ep := range u.eps {
		if ep.fd < 0 {
			return fmt.Errorf("netio: udp listener %s not bound", ep.Listener().ID())
		}
	}
	return nil
}

// stopUDP stops the udp engine and closes the sending sockets.
func (s *Server) stopUDP(ctx context.Context) error {
	u := s.udp
	if u == nil {
		return nil
	}
	select {
	case <-u.done:
	default:
		if err := u.eng.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		select {
		case <-u.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// closeUDP closes the sockets the Gateways send from, once nothing
// sends any more.
func (s *Server) closeUDP() {
	u := s.udp
	if u == nil {
		return
	}
	for _, ep := range u.eps {
		if ep.fd >= 0 {
			_ = unix.Close(ep.fd)
			ep.fd = -1
		}
	}
}

// UDPAddrs returns the bound address of every udp listener, in
// Config.Listeners order; nil before Start.
func (s *Server) UDPAddrs() []netip.AddrPort {
	if s.udp == nil {
		return nil
	}
	out := make([]netip.AddrPort, len(s.udp.eps))
	for i, ep := range s.udp.eps {
		out[i] = ep.addr
	}
	return out
}

// OnBoot implements gnet.EventHandler: it keeps a duplicate of every udp
// socket for sending and learns the bound addresses.
func (u *udpEngine) OnBoot(eng gnet.Engine) gnet.Action {
	u.eng = eng
	for _, ep := range u.eps {
		l := &u.srv.cfg.Listeners[ep.lst]
		fd, err := eng.DupListener("udp", l.Addr)
		if err != nil {
			continue
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			_ = unix.Close(fd)
			continue
		}
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			ep.addr = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		case *unix.SockaddrInet6:
			ep.addr = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
		}
		ep.fd = fd
		// Before the loop reads the first datagram.
		l.Gateway.Bind(ep)
	}
	u.once.Do(func() { close(u.booted) })
	return gnet.None
}

// OnTraffic implements gnet.EventHandler: one datagram.
func (u *udpEngine) OnTraffic(gc gnet.Conn) gnet.Action {
	buf, _ := gc.Next(-1)
	ep := u.eps[0]
	if len(u.eps) > 1 {
		if la, ok := gc.LocalAddr().(*net.UDPAddr); ok {
			local := la.AddrPort()
			for _, e := range u.eps {
				if e.conf == local || e.addr == local {
					ep = e
					break
				}
			}
		}
	}
	// Peers are known by their unmapped address, whichever family the
	// socket is.
	var from netip.AddrPort
	if ra, ok := gc.RemoteAddr().(*net.UDPAddr); ok {
		from = netip.AddrPortFrom(ra.AddrPort().Addr().Unmap(), ra.AddrPort().Port())
	}
	if !from.IsValid() || u.srv.stopping.Load() {
		return gnet.None
	}
	gw := u.srv.cfg.Listeners[ep.lst].Gateway
	gw.OnDatagram(from, buf)
	// gnet reads one datagram per readiness event: take what else the
	// socket holds in this burst, a batch per syscall, and let the Gateway
	// hand them on together.
	if u.burst == nil {
		u.burst = newBurstReader()
	}
	u.burst.read(ep.fd, udpBurst-1, gw.OnDatagram)
	gw.Flush()
	return gnet.None
}

// udpBurst is the most datagrams one readiness event takes.
const udpBurst = 256
