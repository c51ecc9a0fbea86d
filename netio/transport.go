package netio

import (
	"errors"
	"net/netip"
	"time"
)

// A connection of an ssl, ws or wss listener, or of one with the PROXY
// protocol, passes through its layers on the event loop that owns it:
// the PROXY header is parsed, the TLS handshake runs (in a short-lived
// goroutine that the loop feeds, handshake.go), the WebSocket upgrade is
// answered, and only then does the Handler see the connection (OnOpen).
// After that, what the socket delivers is decrypted and unframed in place
// in gnet's read buffer before MQTT framing, and what the Handler writes is
// framed and encrypted at the end of the batch, as plain TCP's writes are
// (docs/architecture.md, "Transports", measures this against a goroutine
// per connection).

// stage is what a layered connection waits for before MQTT.
type stage uint8

const (
	stageNew     stage = iota // accepted, no stage entered yet
	stageProxy                // the PROXY protocol header
	stageTLS                  // the TLS handshake (running in hs)
	stageUpgrade              // the WebSocket upgrade request
	stageOpen                 // MQTT: the Handler has the connection
)

// transport is the state of a connection's layers between the socket and
// MQTT framing. It is owned by the connection's loop and moves with the
// connection when it migrates.
type transport struct {
	stage stage
	// setup is what the stages before stageOpen keep; nil once open.
	setup *transportSetup
	// tls is the TLS record layer of an ssl or wss connection; it holds
	// keys once the handshake is done (stage past stageTLS).
	tls *records
	ws  *wsConn // WebSocket state, ws and wss only
}

// transportSetup is a connection's state while its layers come up: it is
// dropped when the Handler gets the connection, so that an idle
// connection keeps only what it needs to read and write.
type transportSetup struct {
	// deadline ends the current stage (Unix ns).
	deadline int64
	// pending is the input the current stage keeps until it is complete
	// (the PROXY header).
	pending []byte
	hs      *handshake // the running TLS handshake, in stageTLS
	// What the layers learned; Conn.Peer returns it once open.
	addr        netip.AddrPort
	sni, cn, dn string
}

// secureTransport is the transport of an ssl or wss connection, its
// record layer and the connection's rare fields in one allocation (an
// idle TLS connection's whole cost beyond a plain one, docs/architecture.md).
type secureTransport struct {
	transport
	rec  records
	rare connRare
}

// errPeerClosed ends a connection whose client closed its layer cleanly
// (TLS close_notify, WebSocket close): the Handler sees a nil error.
var errPeerClosed = errors.New("netio: peer closed the transport")

// transport returns c's layers, or nil for a plain connection.
func (c *Conn) transport() *transport {
	if c.rare == nil {
		return nil
	}
	return c.rare.tr
}

// opened reports whether the Handler has seen c (OnOpen).
func (c *Conn) opened() bool {
	tr := c.transport()
	return tr == nil || tr.stage == stageOpen
}

// newLayers returns the layers of a connection accepted by listener i and,
// for an ssl or wss listener, the connection's rare fields allocated with
// them; nil, nil when it has none.
func (s *Server) newLayers(i uint16, now time.Time) (*transport, *connRare) {
	l := &s.cfg.Listeners[i]
	if !l.layered() {
		return nil, nil
	}
	var rare *connRare
	tr := &transport{stage: stageNew, setup: &transportSetup{}}
	if l.TLS != nil {
		st := &secureTransport{}
		tr = &st.transport
		tr.setup, tr.tls = &transportSetup{}, &st.rec
		rare = &st.rare
	}
	if l.Kind == KindWS || l.Kind == KindWSS {
		tr.ws = newWSConn(l.WebSocket, s.cfg.MaxPacketSize)
	}
	if s.advance(tr, l, now) {
		return nil, nil
	}
	return tr, rare
}

// advance moves tr to its next stage and sets the stage's deadline. It
// reports whether the connection is open (no stage left).
func (s *Server) advance(tr *transport, l *Listener, now time.Time) bool {
	secure := l.Kind == KindSSL || l.Kind == KindWSS
	switch {
	case tr.stage < stageProxy && l.ProxyProtocol:
		tr.stage = stageProxy
		timeout := l.ProxyProtocolTimeout
		if timeout == 0 {
			timeout = 3 * time.Second
		}
		tr.setup.deadline = now.Add(timeout).UnixNano()
	case tr.stage < stageTLS && secure:
		tr.stage = stageTLS
		tr.setup.deadline = now.Add(l.TLS.handshakeTimeout()).UnixNano()
	case tr.stage < stageUpgrade && tr.ws != nil:
		tr.stage = stageUpgrade
		timeout := s.cfg.ConnectTimeout
		if l.TLS != nil {
			timeout = l.TLS.handshakeTimeout()
		}
		tr.setup.deadline = now.Add(timeout).UnixNano()
	default:
		tr.stage = stageOpen
		return true
	}
	return false
}

// next moves c's layers to their next stage; when none is left, the
// Handler gets the connection (OnOpen) and the CONNECT timeout starts.
func (s *Server) next(c *Conn, tr *transport) {
	l := c.loop
	if !s.advance(tr, c.Listener(), l.now) {
		c.schedule()
		return
	}
	c.rare.peer = s.peerOf(c, tr.setup)
	tr.setup = nil
	if tr.tls == nil && tr.ws == nil {
		c.rare.tr = nil // a PROXY header was all: plain from here on
	}
	c.openedAt = l.now.UnixNano()
	c.schedule()
	s.h.OnOpen(c)
}

// peerOf returns what c's layers learned (su), nil when nothing beyond
// the socket: a Peer shared by the listener's connections when it is a
// server name alone (tlsListener.sharedPeer), else c's own.
func (s *Server) peerOf(c *Conn, su *transportSetup) *Peer {
	if !su.addr.IsValid() && su.cn == "" && su.dn == "" {
		if su.sni == "" {
			return nil
		}
		if t := s.lst[c.lst].tls; t != nil {
			return t.sharedPeer(c.Listener(), su.sni)
		}
	}
	return &Peer{Listener: c.Listener(), Addr: su.addr, SNI: su.sni, CN: su.cn, DN: su.dn}
}

// feedLayers passes raw, just read from c's socket, through its layers
// and hands the MQTT bytes that come out to the framing.
func (s *Server) feedLayers(c *Conn, tr *transport, raw []byte) {
	if tr.stage == stageProxy {
		var err error
		if raw, err = s.proxyInput(c, tr, raw); err != nil {
			s.refuse(c, err)
			return
		}
		if tr.stage == stageProxy {
			return
		}
		if c.rare.tr == nil { // tcp with a PROXY header: open, plain
			s.feed(c, raw)
			return
		}
	}
	if tr.stage == stageTLS {
		if err := s.handshakeInput(c, tr, raw); err != nil {
			s.refuse(c, err)
		}
		return
	}
	var arr [4][]byte
	chunks := arr[:0]
	var closeErr error
	if tr.tls != nil {
		var err error
		if chunks, err = tr.tls.open(c, raw, chunks); err != nil {
			if !errors.Is(err, errPeerClosed) {
				s.transportError(c, err)
				return
			}
			closeErr = err
		}
	} else if len(raw) > 0 {
		chunks = append(chunks, raw)
	}
	if tr.ws != nil && len(chunks) > 0 {
		var err error
		if chunks, err = s.wsInput(c, tr, chunks); err != nil {
			if !errors.Is(err, errPeerClosed) {
				s.transportError(c, err)
				return
			}
			closeErr = err
		}
	}
	if tr.stage == stageOpen && !c.closing && len(chunks) > 0 {
		s.feed(c, chunks[0], chunks[1:]...)
	}
	if closeErr != nil && !c.closing {
		c.Close(nil)
	}
}

// refuse closes c, which the Handler has not seen, because its transport
// failed with err; counted and logged at debug level.
func (s *Server) refuse(c *Conn, err error) {
	if c.closing || c.closed {
		return
	}
	s.countRefusal(c, refusalOf(err), err)
	c.closing = true
	c.rareFields().closeErr = err
	c.loop.closers = append(c.loop.closers, c)
}

// transportError closes c because its transport failed with err: refused
// if the Handler has not seen c yet, else reported to the Handler as a
// framing error is.
func (s *Server) transportError(c *Conn, err error) {
	if !c.opened() {
		s.refuse(c, err)
		return
	}
	if c.closing || c.closed {
		return
	}
	s.countRefusal(c, refusalOf(err), err)
	s.h.OnError(c, err)
	c.Close(err)
}

// fail closes c because of err (a timeout or a framing error): through the
// Handler if it has seen c, else as a refusal.
func (s *Server) fail(c *Conn, err error) {
	if !c.opened() {
		s.refuse(c, err)
		return
	}
	s.h.OnError(c, err)
	c.Close(err)
}

// writeLayers sends bufs, queued by the Handler this batch, through c's
// layers to the socket and returns the bytes handed to the socket.
func (tr *transport) writeLayers(c *Conn, bufs [][]byte) (int, error) {
	l := c.loop
	if tr.ws != nil {
		n := 0
		for _, b := range bufs {
			n += len(b)
		}
		l.iov = append(append(l.iov[:0], appendWSHeader(l.wsHdr[:0], wsBinary, n)), bufs...)
		bufs = l.iov
		defer clear(l.iov)
	}
	if tr.tls != nil {
		return tr.tls.seal(c, recordTypeApplicationData, bufs)
	}
	return writev(c, bufs)
}

// writeWire sends b through c's layers below WebSocket framing (TLS, if
// any): the answer to the upgrade request, a pong, a close frame.
func (tr *transport) writeWire(c *Conn, b []byte) {
	var n int
	if tr.tls != nil {
		n, _ = tr.tls.seal(c, recordTypeApplicationData, [][]byte{b})
	} else {
		n, _ = c.gc.Write(b)
	}
	c.bytesOut += uint64(n)
}

// goodbye ends c's layers before the socket closes: a WebSocket close
// frame, a TLS close_notify alert.
func (tr *transport) goodbye(c *Conn, err error) {
	if tr.stage != stageOpen {
		return
	}
	if tr.ws != nil && !tr.ws.closeSent {
		tr.ws.closeSent = true
		tr.writeWire(c, appendWSClose(nil, wsCloseCode(err)))
	}
	if tr.tls != nil {
		tr.tls.closeNotify(c)
	}
}
