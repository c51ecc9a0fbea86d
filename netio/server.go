package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Server runs the gnet engine: it accepts connections on the configured
// listeners, frames their input and calls its Handler on the owning loop.
type Server struct {
	gnet.BuiltinEventEngine

	cfg Config
	h   Handler

	booted   chan struct{}
	running  chan struct{} // closed at the first tick: every loop is registered
	runOnce  sync.Once
	done     chan struct{}
	serveErr error
	eng      gnet.Engine
	addrs    []net.Addr // bound addresses of the stream listeners, in order
	// acc holds each stream listener's socket, in cfg.Listeners order
	// (nil for the udp ones); the slice is fixed at serve (acceptor.go).
	acc []*acceptor
	// bound maps a gnet-bound listener's address to its position in
	// cfg.Listeners (without ListenerControl); set in OnBoot, read-only
	// after.
	bound []boundListener
	// internal is the bound address of the engine's own listener, which
	// discover's probes connect to (with ListenerControl); set in OnBoot.
	internal *net.TCPAddr
	// ready holds the loops the acceptors hand connections to, in turn
	// (turn); set once discover has made them known.
	ready atomic.Pointer[[]*Loop]
	turn  atomic.Uint64
	// accepting is set once Start has started the acceptors: the
	// listener methods work from then on.
	accepting atomic.Bool
	conns     atomic.Int64
	moves     atomic.Int64
	stopping  atomic.Bool
	stopOnce  sync.Once
	stopErr   error

	rejected atomic.Int64

	// probing is set while discover runs; probes holds the source
	// addresses of its connections.
	probing atomic.Bool
	probes  sync.Map // netip.AddrPort → struct{}

	// udp is the engine of the udp listeners; nil without any.
	udp *udpEngine

	// lst holds each listener's counters and certificates, in
	// cfg.Listeners order; the slice is fixed at New.
	lst []listenerState

	// mu guards the following fields.
	mu     sync.Mutex
	loops  []*Loop
	byEL   map[gnet.EventLoop]*Loop
	tokens float64   // connect-rate bucket
	filled time.Time // when tokens was last refilled
}

// New returns a Server for cfg that reports to h; call Start or Serve.
func New(cfg Config, h Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidConfig)
	}
	s := &Server{
		cfg:     cfg.withDefaults(),
		h:       h,
		booted:  make(chan struct{}),
		running: make(chan struct{}),
		done:    make(chan struct{}),
		byEL:    make(map[gnet.EventLoop]*Loop),
	}
	s.lst = make([]listenerState, len(s.cfg.Listeners))
	for i := range s.cfg.Listeners {
		l := &s.cfg.Listeners[i]
		if l.TLS == nil {
			continue
		}
		t, err := newTLSListener(l)
		if err != nil {
			return nil, err
		}
		s.lst[i].tls = t
	}
	return s, nil
}

// serve binds the stream listeners, runs the engine and blocks until
// Shutdown (returning ErrServerClosed) or a failure to listen.
func (s *Server) serve() error {
	addrs := []string{internalAddr}
	if s.cfg.ListenerControl {
		if err := s.bindAll(); err != nil {
			close(s.booted)
			s.serveErr = err
			close(s.done)
			return err
		}
	} else {
		addrs = nil
		for _, l := range s.cfg.Listeners {
			if bound(l.Kind) {
				addrs = append(addrs, "tcp://"+l.Addr)
			}
		}
	}
	err := gnet.Rotate(s, addrs,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithTicker(true),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(64<<10),
		gnet.WithWriteBufferCap(4<<10),
		gnet.WithLogger(quietLogger{}),
	)
	select {
	case <-s.booted:
	default:
		close(s.booted)
	}
	s.closeAll()
	s.serveErr = err
	close(s.done)
	if err == nil || s.stopping.Load() {
		return ErrServerClosed
	}
	return err
}

// Start binds the listeners, runs the engine in a goroutine and returns
// once the listeners accept connections and every loop runs (or binding
// failed); Shutdown stops it.
func (s *Server) Start() error {
	go func() { _ = s.serve() }()
	<-s.booted
	select {
	case <-s.running:
	case <-s.done:
	}
	select {
	case <-s.done:
		if s.serveErr != nil {
			return s.serveErr
		}
		return ErrServerClosed
	default:
	}
	s.discover()
	loops := s.Loops()
	s.ready.Store(&loops)
	s.acceptAll()
	s.accepting.Store(true)
	// The gateways place their clients on the loops discover made known.
	if len(s.udpListeners()) > 0 {
		if err := s.startUDP(); err != nil {
			return err
		}
	}
	return nil
}

// discover makes every event loop known (Loops) before Start returns,
// not only those that have served a connection, so that a Handler that
// placed state on loops before they ran (the sessions a broker recovers)
// reaches all of them, and the acceptors hand connections to all of them.
// It connects from 127.0.0.1 (or ::1) to the engine's own listener (with
// ListenerControl) or else to the first listener, until every loop has
// accepted one of its connections, at most 4×Loops times; the engine
// hands accepted connections to its loops in turn. A loop closes such a
// probe at once, before any transport layer, limit or Handler sees it: it
// is recognised by its source address, which discover binds before it
// connects.
func (s *Server) discover() {
	target := s.internal
	if !s.cfg.ListenerControl && len(s.addrs) > 0 {
		target = s.addrs[0].(*net.TCPAddr)
	}
	if target == nil {
		return
	}
	host := net.IPv4(127, 0, 0, 1)
	if target.IP.To4() == nil {
		host = net.IPv6loopback
	}
	dst := &net.TCPAddr{IP: target.IP, Port: target.Port}
	if target.IP.IsUnspecified() {
		dst.IP = host
	}
	s.probing.Store(true)
	defer s.probing.Store(false)
	for try := 0; try < 4*s.cfg.Loops && len(s.Loops()) < s.cfg.Loops; try++ {
		// A free source port: bound by a listener for a moment, then by
		// the probe's own socket.
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: host})
		if err != nil {
			return
		}
		src := ln.Addr().(*net.TCPAddr)
		_ = ln.Close()
		s.probes.Store(src.AddrPort(), struct{}{})
		d := net.Dialer{LocalAddr: src, Timeout: time.Second}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			s.probes.Delete(src.AddrPort())
			continue
		}
		// The loop that accepts it closes it: the read ends then.
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = c.Read(make([]byte, 1))
		_ = c.Close()
		s.probes.Delete(src.AddrPort())
	}
}

// isProbe reports whether gc is one of discover's connections.
func (s *Server) isProbe(gc gnet.Conn) bool {
	if !s.probing.Load() {
		return false
	}
	_, ok := s.probes.Load(addrPort(gc.RemoteAddr()))
	return ok
}

// Addr returns the first stream listener's address (useful with port 0);
// nil before Start.
func (s *Server) Addr() net.Addr {
	if len(s.addrs) == 0 {
		return nil
	}
	return s.addrs[0]
}

// Addrs returns the bound address of every stream listener (tcp, ssl, ws,
// wss), in Config.Listeners order, a stopped one's included (the address
// StartListener binds again); nil before Start.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Connections returns the number of open connections; safe from any
// goroutine.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Rejected returns how many connections were closed at once because of
// MaxConnections or MaxConnectRate; safe from any goroutine.
func (s *Server) Rejected() int64 { return s.rejected.Load() }

// admit takes a token from the connect-rate bucket.
func (s *Server) admit(now time.Time) bool {
	rate := float64(s.cfg.MaxConnectRate)
	if rate == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.filled.IsZero() {
		s.tokens = rate
	} else {
		s.tokens = min(rate, s.tokens+now.Sub(s.filled).Seconds()*rate)
	}
	s.filled = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// Migrations returns how many connections were moved to another loop;
// safe from any goroutine.
func (s *Server) Migrations() int64 { return s.moves.Load() }

// Loops returns the loops discovered so far (a loop is discovered when its
// first connection opens); safe from any goroutine.
func (s *Server) Loops() []*Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Loop(nil), s.loops...)
}

// Shutdown calls Handler.OnShutdown on every loop, waits for it (up to
// ctx), then stops the engine, closing every connection. It is safe to call
// more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		select {
		case <-s.booted:
		case <-ctx.Done():
			s.stopErr = ctx.Err()
			return
		}
		// No connection is accepted from here on.
		s.closeAll()
		// The udp engine stops alongside the loops (each takes gnet's
		// half-second poll); its sockets close once nothing sends.
		udpDone := make(chan error, 1)
		go func() { udpDone <- s.stopUDP(ctx) }()
		defer func() {
			if err := <-udpDone; err != nil && s.stopErr == nil {
				s.stopErr = err
			}
			s.closeUDP()
		}()
		select {
		case <-s.done:
			return
		default:
		}
		var wg sync.WaitGroup
		for _, l := range s.Loops() {
			wg.Add(1)
			if err := l.Execute(func() { s.h.OnShutdown(l); wg.Done() }); err != nil {
				wg.Done()
			}
		}
		waited := make(chan struct{})
		go func() { wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
		}
		if err := s.eng.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.stopErr = err
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			s.stopErr = ctx.Err()
		}
	})
	return s.stopErr
}

// OnBoot implements gnet.EventHandler.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	if s.cfg.ListenerControl {
		if fd, err := eng.DupListener("tcp", strings.TrimPrefix(internalAddr, "tcp://")); err == nil {
			if sa, err := unix.Getsockname(fd); err == nil {
				if sa, ok := sa.(*unix.SockaddrInet4); ok {
					s.internal = &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
				}
			}
			_ = unix.Close(fd)
		}
		close(s.booted)
		return gnet.None
	}
	s.bindGnet(eng)
	close(s.booted)
	return gnet.None
}

// bindGnet records the addresses the engine bound for the stream
// listeners (without ListenerControl).
func (s *Server) bindGnet(eng gnet.Engine) {
	for i, l := range s.cfg.Listeners {
		if !bound(l.Kind) {
			continue
		}
		fd, err := eng.DupListener("tcp", l.Addr)
		if err != nil {
			continue
		}
		if sa, err := unix.Getsockname(fd); err == nil {
			var a *net.TCPAddr
			switch sa := sa.(type) {
			case *unix.SockaddrInet4:
				a = &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
			case *unix.SockaddrInet6:
				a = &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
			}
			if a != nil {
				s.addrs = append(s.addrs, a)
				// gnet reports a connection's local address as its
				// listener's configured one (port 0 included).
				var conf netip.AddrPort
				if ra, err := net.ResolveTCPAddr("tcp", l.Addr); err == nil {
					conf = ra.AddrPort()
				}
				s.bound = append(s.bound, boundListener{conf: conf, addr: a.AddrPort(), index: uint16(i)})
			}
		}
		_ = unix.Close(fd)
	}
}

// loopOf returns the Loop of el, discovering it on first sight.
func (s *Server) loopOf(el gnet.EventLoop) *Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.byEL[el]
	if !ok {
		l = &Loop{srv: s, el: el, index: len(s.loops)}
		s.byEL[el] = l
		s.loops = append(s.loops, l)
	}
	return l
}

// OnOpen implements gnet.EventHandler.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	l := s.loopOf(gc.EventLoop())
	if gc.Context() == nil && (s.cfg.ListenerControl || s.isProbe(gc)) {
		// discover's probe (the loop is known now), or a stranger on
		// the engine's own listener.
		return nil, gnet.Close
	}
	c := &Conn{gc: gc, loop: l, heapIdx: -1, listIdx: -1}
	var ho *handoff
	fresh := false
	switch v := gc.Context().(type) {
	case *handoff:
		ho = v
		c.lst = v.lst
		if v.rare != nil {
			*v.rare = connRare{}
			c.rare = v.rare
		}
		if v.peer != nil {
			c.rareFields().peer = v.peer
		}
		if v.tr != nil {
			c.rareFields().tr = v.tr
		}
	case *accepted:
		c.lst = v.lst
		fresh = true
	default: // accepted by gnet
		c.lst = s.listenerOf(addrPort(gc.LocalAddr()))
		fresh = true
	}
	gc.SetContext(c)
	l.track(c)
	s.conns.Add(1)
	ls := &s.lst[c.lst]
	n := ls.conns.Add(1)
	l.enter()
	c.openedAt = l.now.UnixNano()
	c.lastRead = l.now.UnixNano()
	if ho != nil {
		c.migrated = true
		c.openedAt = ho.openedAt
		c.bytesIn, c.bytesOut, c.reads, c.writes = ho.bytesIn, ho.bytesOut, ho.reads, ho.writes
		if ho.tr != nil && ho.tr.tls != nil {
			ho.tr.tls.moved(c)
		}
	} else if s.stopping.Load() || s.cfg.ListenerControl && s.acc[c.lst].stopped.Load() ||
		int(s.conns.Load()) > s.cfg.MaxConnections || !s.admit(l.now) {
		s.rejected.Add(1)
		c.rejected = true
		c.closing = true
		l.exit(nil)
		return nil, gnet.Close
	} else if max := s.cfg.Listeners[c.lst].MaxConnections; max > 0 && n > int64(max) {
		s.rejected.Add(1)
		ls.refused[refusedListenerFull].Add(1)
		c.rejected = true
		c.closing = true
		l.exit(nil)
		return nil, gnet.Close
	}
	if fresh {
		if tr, rare := s.newLayers(c.lst, l.now); tr != nil {
			// The Handler gets the connection once its layers are up
			// (transport.go).
			if rare != nil {
				c.rare = rare
			}
			c.rareFields().tr = tr
			c.schedule()
			l.exit(nil)
			return nil, gnet.None
		}
	}
	c.schedule()
	l.cur = c
	s.h.OnOpen(c)
	if ho != nil && !c.closing {
		s.feed(c, ho.rest)
	}
	l.cur = nil
	if l.exit(c) {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok || c.closing || c.closed {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	l := c.loop
	l.enter()
	l.cur = c
	buf, _ := gc.Next(-1)
	c.bytesIn += uint64(len(buf))
	c.reads++
	c.lastRead = l.now.UnixNano()
	if c.rare != nil && c.rare.tr != nil {
		s.feedLayers(c, c.rare.tr, buf)
	} else {
		s.feed(c, buf)
	}
	l.cur = nil
	if l.exit(c) {
		return gnet.Close
	}
	return gnet.None
}

// feed frames buf, and then each of more (the chunks a transport layer
// decrypted or unframed from the same read), and carries out a migration
// the Handler asked for, taking the bytes not yet framed along.
func (s *Server) feed(c *Conn, buf []byte, more ...[]byte) {
	for {
		var rest []byte
		var err error
		if c.holding {
			err = c.keep(buf)
		} else {
			rest, err = c.consume(buf)
		}
		if err != nil {
			if !c.closing {
				s.h.OnError(c, err)
				c.Close(err)
			}
			return
		}
		if c.migrateTarget() != nil {
			for _, m := range more {
				rest = append(rest, m...)
			}
			s.migrate(c, rest)
			return
		}
		if len(more) == 0 || c.closing {
			return
		}
		buf, more = more[0], more[1:]
	}
}

// migrate hands c's socket to the loop MigrateTo named: the descriptor is duplicated and
// enrolled on the target loop, and this side closes without telling the
// Handler.
func (s *Server) migrate(c *Conn, rest []byte) {
	if c.rare.v != nil {
		s.migrateVirtual(c, rest)
		return
	}
	target := c.rare.migrateTo
	c.rare.migrateTo = nil
	ho := &handoff{rest: rest, openedAt: c.openedAt, lst: c.lst, peer: c.rare.peer, tr: c.rare.tr,
		bytesIn: c.bytesIn, bytesOut: c.bytesOut, reads: c.reads, writes: c.writes}
	if tr := c.rare.tr; tr != nil && tr.tls != nil {
		// An ssl or wss connection's rare fields came with its transport
		// and go with it; what closes here keeps a copy of its own.
		ho.rare = c.rare
		left := *c.rare
		c.rare = &left
	}
	fd, err := c.gc.Dup()
	if err == nil {
		f := os.NewFile(uintptr(fd), "")
		var nc net.Conn
		nc, err = net.FileConn(f)
		_ = f.Close()
		if err == nil {
			ctx := gnet.NewContext(context.Background(), ho)
			s.moves.Add(1) // before the target can see it
			if _, err = target.el.Enroll(ctx, nc); err != nil {
				s.moves.Add(-1)
				_ = nc.Close()
			}
		}
	}
	if err != nil {
		s.h.OnError(c, err)
		c.Close(err)
		return
	}
	c.movedAway = true
	c.closing = true
	c.loop.closers = append(c.loop.closers, c)
}

// OnClose implements gnet.EventHandler.
func (s *Server) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok || c.closed {
		return gnet.None
	}
	s.conns.Add(-1)
	s.lst[c.lst].conns.Add(-1)
	l := c.loop
	l.untrack(c)
	l.enter()
	c.closed = true
	c.closing = true
	if c.heapIdx >= 0 {
		l.timers.Remove(int(c.heapIdx))
	}
	if c.rare != nil && c.rare.closeErr != nil {
		err = c.rare.closeErr
	}
	if errors.Is(err, errPeerClosed) {
		err = nil
	}
	c.carry = nil
	opened := c.opened()
	if tr := c.transport(); tr != nil && !c.movedAway && tr.setup != nil && tr.setup.hs != nil {
		tr.setup.hs.abort()
	}
	if !c.rejected && !c.movedAway && opened {
		s.h.OnClose(c, err)
	}
	l.exit(nil)
	return gnet.None
}

// OnTick implements gnet.EventHandler; it runs on gnet's ticker goroutine
// and schedules each loop's timers on the loop itself.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	// gnet starts its ticker after registering every loop.
	s.runOnce.Do(func() { close(s.running) })
	for _, l := range s.Loops() {
		if l.ticking.CompareAndSwap(false, true) {
			if err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				l.tick()
				return nil
			})); err != nil {
				l.ticking.Store(false)
			}
		}
	}
	return s.cfg.TickInterval, gnet.None
}
