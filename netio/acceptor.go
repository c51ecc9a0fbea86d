package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// With Config.ListenerControl the stream listeners (tcp, ssl, ws, wss,
// with or without the PROXY protocol) are sockets the Server owns, not the
// gnet engine's: gnet binds all its listeners together and cannot close
// one of them, while an operator stops, starts and restarts one listener
// at a time (EMQX's PUT /listeners/{id}/stop). Each listener has an accept
// goroutine; it enrolls every accepted socket on the next loop in turn
// (gnet.EventLoop.Enroll), which then serves it as one gnet accepted
// itself. The gnet engine keeps one listener of its own on 127.0.0.1:0,
// which only discover's probes use. Without ListenerControl the engine
// binds and accepts the stream listeners (server.go).

// internalAddr is the gnet engine's own listener: discover's probes reach
// the loops through it; any other connection to it is closed at once.
const internalAddr = "tcp://127.0.0.1:0"

// acceptor is one stream listener's socket and accept goroutine.
type acceptor struct {
	// ctx carries the listener's position to OnOpen (accepted); shared by
	// its connections, read-only.
	ctx context.Context
	// stopped is set while the listener does not accept: OnOpen closes a
	// connection accepted before the stop that reaches its loop after.
	stopped atomic.Bool

	// mu serialises stop and start; it guards the fields below.
	mu   sync.Mutex
	ln   *net.TCPListener // nil while stopped
	done chan struct{}    // closed when the accept goroutine ends
	addr *net.TCPAddr     // where the listener binds (a port 0 resolved)
}

// accepted is the context of a socket an acceptor enrolled.
type accepted struct {
	lst uint16
}

// bindAll binds every stream listener, in Config.Listeners order, before
// the engine runs: a port in use fails the start.
func (s *Server) bindAll() error {
	s.acc = make([]*acceptor, len(s.cfg.Listeners))
	for i, l := range s.cfg.Listeners {
		if !bound(l.Kind) {
			continue
		}
		a := &acceptor{ctx: gnet.NewContext(context.Background(), &accepted{lst: uint16(i)})}
		a.stopped.Store(true)
		s.acc[i] = a
		if l.Stopped {
			addr, err := net.ResolveTCPAddr("tcp", l.Addr)
			if err != nil {
				s.closeAll()
				return err
			}
			a.addr = addr
			s.addrs = append(s.addrs, addr)
			continue
		}
		ln, err := listenTCP(l.Addr)
		if err != nil {
			s.closeAll()
			return err
		}
		a.ln = ln
		a.addr = ln.Addr().(*net.TCPAddr)
		s.addrs = append(s.addrs, a.addr)
	}
	return nil
}

// listenTCP binds addr. Accepted sockets get no keepalive probes (MQTT has
// its own) and Go's default TCP_NODELAY, as gnet's did.
func listenTCP(addr string) (*net.TCPListener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// acceptAll starts every bound listener's accept goroutine, once the loops
// are known.
func (s *Server) acceptAll() {
	for _, a := range s.acc {
		if a == nil {
			continue
		}
		a.mu.Lock()
		if a.ln != nil && a.done == nil {
			s.serveListener(a)
		}
		a.mu.Unlock()
	}
}

// serveListener starts a's accept goroutine on its bound socket; a.mu is
// held.
func (s *Server) serveListener(a *acceptor) {
	a.done = make(chan struct{})
	a.stopped.Store(false)
	go s.accept(a, a.ln, a.done)
}

// accept takes a listener's connections until its socket closes and
// enrolls each on the next loop.
func (s *Server) accept(a *acceptor, ln *net.TCPListener, done chan struct{}) {
	defer close(done)
	var pause time.Duration
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or memory: wait a little, as
			// net/http's server does, so a full table is not a busy loop.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			time.Sleep(pause)
			continue
		}
		pause = 0
		loops := *s.ready.Load()
		l := loops[s.turn.Add(1)%uint64(len(loops))]
		// Enroll duplicates the socket onto the loop and closes c; when
		// it fails (the engine is stopping), c is still ours.
		if _, err := l.el.Enroll(a.ctx, c); err != nil {
			_ = c.Close()
		}
	}
}

// closeAll closes every stream listener's socket and waits for its accept
// goroutine (Shutdown, or a failed start).
func (s *Server) closeAll() {
	for _, a := range s.acc {
		if a == nil {
			continue
		}
		a.mu.Lock()
		a.close()
		a.mu.Unlock()
	}
}

// close stops accepting: the socket closes (the port refuses connections)
// and the accept goroutine has ended when it returns; a.mu is held.
func (a *acceptor) close() {
	a.stopped.Store(true)
	if a.ln != nil {
		_ = a.ln.Close()
		a.ln = nil
	}
	if a.done != nil {
		<-a.done
		a.done = nil
	}
}

// listener returns the position and acceptor of the listener with id
// KIND:NAME.
func (s *Server) listener(id string) (int, *acceptor, error) {
	if !s.accepting.Load() {
		return 0, nil, fmt.Errorf("%w: not started", ErrServerClosed)
	}
	for i := range s.cfg.Listeners {
		l := &s.cfg.Listeners[i]
		if l.ID() != id {
			continue
		}
		if l.Kind == KindUDP {
			return i, nil, fmt.Errorf("%w: %s is a gateway's udp listener", ErrNotStoppable, id)
		}
		if !s.cfg.ListenerControl {
			return i, nil, ErrNoListenerControl
		}
		return i, s.acc[i], nil
	}
	return 0, nil, fmt.Errorf("%w: %s", ErrUnknownListener, id)
}

// StopListener stops the stream listener id (KIND:NAME): its socket
// closes, so that a connect to its port is refused, and every connection
// that came through it is closed with ErrListenerStopped, as EMQX closes a
// stopped listener's connections. The other listeners and their
// connections go on. Stopping a stopped listener does nothing. It returns
// once the socket is closed and every loop has closed the listener's
// connections. Safe from any goroutine, after Start.
func (s *Server) StopListener(id string) error {
	return s.withListener(id, func(i uint16, a *acceptor) error {
		if a.ln == nil {
			return nil
		}
		a.close()
		s.closeListenerConns(i)
		return nil
	})
}

// withListener runs fn on the stream listener id with its acceptor
// locked, unless the Server is stopping.
func (s *Server) withListener(id string, fn func(i uint16, a *acceptor) error) error {
	i, a, err := s.listener(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.stopping.Load() {
		return ErrServerClosed
	}
	return fn(uint16(i), a)
}

// closeListenerConns closes, on every loop, the connections of listener i,
// and waits until each loop has.
func (s *Server) closeListenerConns(i uint16) {
	var wg sync.WaitGroup
	for _, l := range s.Loops() {
		wg.Add(1)
		err := l.Execute(func() {
			defer wg.Done()
			for _, c := range l.conns {
				if c.lst == i && !c.closing {
					c.Close(ErrListenerStopped)
				}
			}
		})
		if err != nil {
			wg.Done() // the engine is stopping: it closes them all
		}
	}
	wg.Wait()
}

// StartListener binds the stopped stream listener id again on the address
// it had (a configured port 0 keeps the port it got first; a listener
// configured Stopped binds its configured address), with the same
// settings; an ssl or wss listener reads its certificate files again.
// Starting a running listener does nothing. Safe from any goroutine, after
// Start.
func (s *Server) StartListener(id string) error {
	return s.withListener(id, func(i uint16, a *acceptor) error {
		if a.ln != nil {
			return nil
		}
		if t := s.lst[i].tls; t != nil {
			if err := t.load(); err != nil {
				return fmt.Errorf("netio: listener %s: %w", id, err)
			}
		}
		ln, err := listenTCP(a.addr.String())
		if err != nil {
			return fmt.Errorf("netio: listener %s: %w", id, err)
		}
		a.ln = ln
		a.addr = ln.Addr().(*net.TCPAddr)
		s.serveListener(a)
		return nil
	})
}

// RestartListener stops the stream listener id, closing its connections,
// and starts it again (StartListener); a stopped listener is started.
func (s *Server) RestartListener(id string) error {
	if err := s.StopListener(id); err != nil {
		return err
	}
	return s.StartListener(id)
}

// ListenerRunning reports whether the listener id accepts connections: a
// stream listener from Start until StopListener, a udp listener from
// Start until Shutdown. Safe from any goroutine.
func (s *Server) ListenerRunning(id string) (bool, error) {
	_, a, err := s.listener(id)
	switch {
	case errors.Is(err, ErrNotStoppable), errors.Is(err, ErrNoListenerControl):
		return !s.stopping.Load(), nil
	case errors.Is(err, ErrServerClosed):
		return false, nil
	case err != nil:
		return false, err
	}
	return !a.stopped.Load(), nil
}

// track adds c to the loop's connections, which only a listener stop
// reads (closeListenerConns): without ListenerControl no list is kept, and
// an idle connection costs no slot in it. On the loop.
func (l *Loop) track(c *Conn) {
	if !l.srv.cfg.ListenerControl {
		return
	}
	c.listIdx = int32(len(l.conns))
	l.conns = append(l.conns, c)
}

// untrack removes c from the loop's connections; on the loop.
func (l *Loop) untrack(c *Conn) {
	i := c.listIdx
	if i < 0 {
		return
	}
	n := len(l.conns) - 1
	last := l.conns[n]
	l.conns[i] = last
	last.listIdx = i
	l.conns[n] = nil
	l.conns = l.conns[:n]
	c.listIdx = -1
	// Give back what a connection storm grew.
	if c := cap(l.conns); c > 1024 && n < c/4 {
		l.conns = append(make([]*Conn, 0, c/2), l.conns...)
	}
}
