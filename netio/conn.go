package netio

import (
	"net"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Conn is one client connection. Its methods must be called on the loop
// that owns it (Loop), inside a Handler callback or a Loop.Execute function,
// unless a method says otherwise.
type Conn struct {
	gc   gnet.Conn
	loop *Loop

	// Data is the Handler's per-connection state; owned by the loop.
	Data any

	openedAt int64 // Unix ns

	carry []byte   // the partial frame left at the end of the last read
	out   [][]byte // writes pending until the end of the batch
	outN  int      // bytes in out

	rare *connRare // nil until a connection first needs one of its fields

	idle     time.Duration // 0: no idle timeout
	lastRead int64         // Unix nanoseconds
	deadline int64         // in the loop's timer heap (connTimes)
	heapIdx  int32         // in the loop's timer heap; -1 when not in it
	// listIdx is c's position in its loop's conns; -1 when not in it.
	listIdx int32

	bytesIn, bytesOut uint64
	reads, writes     uint64

	lst uint16 // position of the connection's listener in Config.Listeners

	// The flags are grouped so that padding does not push Conn into a
	// larger allocation size class (every connection holds one).
	migrated  bool
	queued    bool // c is in loop.writers
	closing   bool
	closed    bool
	rejected  bool // refused in OnOpen; the Handler never saw it
	movedAway bool
	holding   bool // Hold was called: input waits in held until Resume
	accepted  bool // the Handler called SetIdleTimeout
}

// connRare holds the fields few connections ever set: an error to close
// with, a migration target, input held during Hold. They sit behind one
// pointer allocated on first use so that Conn stays in the 192-byte size
// class (every connection holds one).
type connRare struct {
	closeErr  error
	migrateTo *Loop
	held      []byte     // input kept while holding, the holding frame first
	peer      *Peer      // what the transport learned beyond the socket; nil for plain TCP
	tr        *transport // the layers of an ssl, ws or wss connection, or of a PROXY header
	v         *virtual   // the Gateway end of a virtual connection
}

// closeErr returns the error Close was called with, if any.
func (c *Conn) closeErr() error {
	if c.rare == nil {
		return nil
	}
	return c.rare.closeErr
}

// rareFields returns c's rare fields, allocating them on first use.
func (c *Conn) rareFields() *connRare {
	if c.rare == nil {
		c.rare = &connRare{}
	}
	return c.rare
}

// migrateTarget returns the loop MigrateTo named, or nil.
func (c *Conn) migrateTarget() *Loop {
	if c.rare == nil {
		return nil
	}
	return c.rare.migrateTo
}

// handoff carries a migrating connection's state to its new loop.
type handoff struct {
	rest []byte
	lst  uint16
	peer *Peer
	tr   *transport
	// rare is the rare fields allocated with an ssl or wss transport
	// (secureTransport), which the connection takes along; nil otherwise.
	rare     *connRare
	openedAt int64
	bytesIn  uint64
	bytesOut uint64
	reads    uint64
	writes   uint64
}

// Loop returns the loop that owns c; safe from any goroutine.
func (c *Conn) Loop() *Loop { return c.loop }

// RemoteAddr returns the peer's address; the zero AddrPort once c is
// closed. It is read from gnet's connection, which already holds it, so
// Conn does not keep a second copy.
func (c *Conn) RemoteAddr() netip.AddrPort {
	if c.closed {
		return netip.AddrPort{}
	}
	if v := c.virtualOf(); v != nil {
		return v.addr
	}
	return addrPort(c.gc.RemoteAddr())
}

// Listener returns the listener the connection came in through; safe from
// any goroutine. The Listener must not be modified.
func (c *Conn) Listener() *Listener { return &c.loop.srv.cfg.Listeners[c.lst] }

// Peer returns what the transport knows of the client: its listener and
// the address (PROXY protocol, X-Forwarded-For), TLS server name and
// certificate names its layers learned.
func (c *Conn) Peer() Peer {
	if c.rare != nil && c.rare.peer != nil {
		return *c.rare.peer
	}
	return Peer{Listener: c.Listener()}
}

// ClientAddr returns the client's address: the one the transport learned
// (Peer.Addr) if any, else the socket's remote address.
func (c *Conn) ClientAddr() netip.AddrPort {
	if c.rare != nil && c.rare.peer != nil && c.rare.peer.Addr.IsValid() {
		return c.rare.peer.Addr
	}
	return c.RemoteAddr()
}

// LocalAddr returns the listener address the connection came in on.
func (c *Conn) LocalAddr() netip.AddrPort {
	if c.closed {
		return netip.AddrPort{}
	}
	if v := c.virtualOf(); v != nil {
		return v.ep.addr
	}
	return addrPort(c.gc.LocalAddr())
}

// OpenedAt returns when the Handler got the connection (before any
// migration): when it was accepted, or when its TLS handshake or WebSocket
// upgrade completed.
func (c *Conn) OpenedAt() time.Time { return time.Unix(0, c.openedAt) }

// Migrated reports whether c was handed over from another loop.
func (c *Conn) Migrated() bool { return c.migrated }

// Closing reports whether Close was called or the connection is closed.
func (c *Conn) Closing() bool { return c.closing || c.closed }

// BytesIn returns the bytes read from the socket so far (TLS and WebSocket
// framing included).
func (c *Conn) BytesIn() uint64 { return c.bytesIn }

// BytesOut returns the bytes handed to the socket so far (TLS and
// WebSocket framing included).
func (c *Conn) BytesOut() uint64 { return c.bytesOut }

// Reads returns the number of socket reads that delivered data.
func (c *Conn) Reads() uint64 { return c.reads }

// Writes returns the number of batched socket writes.
func (c *Conn) Writes() uint64 { return c.writes }

// Write queues b to be sent at the end of the current batch of events, in
// order with other writes. b must stay unchanged until the batch ends (the
// loop's OnFlush has returned and writes are flushed); several connections
// may share the same b.
func (c *Conn) Write(b []byte) {
	if c.closing || c.closed || len(b) == 0 {
		return
	}
	if c.out == nil {
		if n := len(c.loop.spareOut); n > 0 {
			c.out = c.loop.spareOut[n-1]
			c.loop.spareOut[n-1] = nil
			c.loop.spareOut = c.loop.spareOut[:n-1]
		}
	}
	c.out = append(c.out, b)
	c.outN += len(b)
	if !c.queued {
		c.queued = true
		c.loop.writers = append(c.loop.writers, c)
	}
}

// Outbound returns the bytes waiting to be sent: queued this batch plus
// those the socket has not taken yet.
func (c *Conn) Outbound() int {
	if c.closed {
		return 0
	}
	if c.gc == nil {
		return c.outN // a virtual connection's Gateway sends at once
	}
	return c.outN + c.gc.OutboundBuffered()
}

// OverSoftLimit reports whether the connection's unsent bytes exceed
// Config.OutboundSoftLimit; the broker drops QoS 0 messages then.
func (c *Conn) OverSoftLimit() bool {
	return c.Outbound() > c.loop.srv.cfg.OutboundSoftLimit
}

// Close closes the connection at the end of the current batch, after its
// pending writes. err is passed to Handler.OnClose.
func (c *Conn) Close(err error) {
	if c.closing || c.closed {
		return
	}
	c.closing = true
	if err != nil {
		c.rareFields().closeErr = err
	}
	c.loop.closers = append(c.loop.closers, c)
}

// SetIdleTimeout marks the connection accepted (ending the CONNECT timeout)
// and closes it with ErrIdleTimeout when nothing is read for d; 0 disables
// the idle timeout.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.accepted = true
	c.idle = d
	c.schedule()
}

// MigrateTo hands the connection to loop l: after the running OnFrame
// returns, no more frames are read here; l receives OnOpen (Migrated true)
// and then the same frame again followed by the rest of the input. Call it
// only from OnFrame, before writing anything to c.
func (c *Conn) MigrateTo(l *Loop) {
	if l != c.loop {
		c.rareFields().migrateTo = l
	}
}

// Hold stops the input of the connection after the running OnFrame
// returns: that frame and every byte after it, including later reads, are
// kept (up to twice Config.MaxPacketSize, beyond which the connection is
// closed with ErrHoldLimit) until Resume hands them to the Handler again.
// It lets the Handler finish a frame off the loop (a password hash) while
// the frames behind it wait. Call it only from OnFrame; timeouts keep
// running while the input is held.
func (c *Conn) Hold() { c.holding = true }

// Resume ends a Hold: the held frame and the input after it are handed to
// the Handler as if just read. Call it on the connection's loop (from a
// Loop.Execute function); it does nothing when the connection is not held
// or is closing.
func (c *Conn) Resume() {
	if !c.holding {
		return
	}
	var held []byte
	if c.rare != nil {
		held, c.rare.held = c.rare.held, nil
	}
	c.holding = false
	if c.closing || c.closed {
		return
	}
	l := c.loop
	l.enter()
	l.srv.feed(c, held)
	l.exit(nil)
}

// keep adds buf (just read) to the held input.
func (c *Conn) keep(buf []byte) error {
	r := c.rareFields()
	if len(r.held)+len(buf) > 2*c.loop.srv.cfg.MaxPacketSize {
		return ErrHoldLimit
	}
	r.held = append(r.held, buf...)
	return nil
}

// nextDeadline returns the connection's current deadline and the error it
// would expire with (0 when none).
func (c *Conn) nextDeadline() (int64, error) {
	if tr := c.transport(); tr != nil && tr.stage != stageOpen {
		if tr.stage == stageProxy {
			return tr.setup.deadline, ErrProxyTimeout
		}
		return tr.setup.deadline, ErrHandshakeTimeout
	}
	if !c.accepted {
		return c.openedAt + int64(c.loop.srv.cfg.ConnectTimeout), ErrConnectTimeout
	}
	if c.idle > 0 {
		return c.lastRead + int64(c.idle), ErrIdleTimeout
	}
	return 0, nil
}

// schedule puts c in or out of its loop's timer heap.
func (c *Conn) schedule() {
	d, _ := c.nextDeadline()
	h := &c.loop.timers
	switch {
	case d == 0 && c.heapIdx >= 0:
		h.Remove(int(c.heapIdx))
	case d != 0 && c.heapIdx < 0:
		c.deadline = d
		h.Push(c)
	case d != 0:
		c.deadline = d
		h.Fix(int(c.heapIdx))
	}
}

// connTimes gives a loop's timer heap a connection's deadline and index.
// A connection's deadline moves lazily: reading data only records the
// time, and the heap entry is corrected when it comes due (Loop.tick), so
// traffic costs no heap operation.
type connTimes struct{}

// Deadline returns c's deadline in the heap (Unix ns).
func (connTimes) Deadline(c *Conn) int64 { return c.deadline }

// SetIndex records c's index in the heap.
func (connTimes) SetIndex(c *Conn, i int) { c.heapIdx = int32(i) }

// resetOut empties the write list after a batch. A list longer than 64
// is kept while it is used (a subscriber fed by many publishers queues
// hundreds of writes per batch: dropping the list every batch made it
// grow again each time, 4.6% of the broker's CPU in the fan-in scenario)
// and dropped after a batch that used under a quarter of it, so a
// connection whose traffic falls off does not keep a busy spell's list.
// A list of at most outKeep entries goes back to the loop (Loop.spareOut)
// for the next connection that writes, so a connection that stops writing
// holds none; Write takes one from there.
func (c *Conn) resetOut() {
	n := len(c.out)
	clear(c.out)
	switch {
	case cap(c.out) <= outKeep:
		c.loop.putOut(c.out)
		c.out = nil
	case n < cap(c.out)/4:
		c.out = nil
	default:
		c.out = c.out[:0]
	}
	c.outN = 0
}

// outKeep is the largest write list (Conn.out) that goes back to its loop
// after a batch; a longer one stays with its connection while it is used.
const outKeep = 64

// putOut keeps out, emptied, for the next connection that writes.
func (l *Loop) putOut(out [][]byte) {
	if cap(out) > 0 {
		l.spareOut = append(l.spareOut, out[:0])
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
