package netio

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/shardmq/shardmq/netio/deadline"
)

// Loop is one event loop of a Server: a single goroutine that owns its
// connections. The Handler keeps its per-loop state (a shard) in Data.
type Loop struct {
	srv   *Server
	el    gnet.EventLoop
	index int

	// ticking is set while a tick is queued, so ticks never pile up.
	ticking atomic.Bool

	// Data is the Handler's per-loop state; owned by the loop goroutine.
	Data any

	// owned by the loop goroutine:
	depth   int     // nesting of netio callbacks on this loop
	cur     *Conn   // the connection whose OnTraffic/OnOpen is running
	writers []*Conn // connections with pending writes this batch
	// spareOut are write lists (Conn.out) of at most outKeep entries that
	// connections gave back after their batch was written, for the next
	// connection that writes: an idle connection holds none (24 B each),
	// and a loop holds at most as many as it once wrote in one batch.
	spareOut [][][]byte
	closers  []*Conn // connections to close at the end of this batch
	conns    []*Conn // the loop's socket connections, in no order (acceptor.go)
	timers   deadline.Heap[*Conn, connTimes]
	now      time.Time

	// Scratch of the transport layers, owned by the loop goroutine.
	iov     [][]byte // a batch's writes behind a WebSocket header
	wsHdr   [wsMaxHeader]byte
	sealBuf []byte // TLS records being sealed
	// ciphered are the TLS connections of this loop holding ciphers;
	// sweepAt is when idle ones next drop them (records.go).
	ciphered []*Conn
	sweepAt  int64
}

// Index returns the loop's position in discovery order (0, 1, …). It is
// stable for the Server's lifetime and safe to call from any goroutine.
func (l *Loop) Index() int { return l.index }

// Now returns the time the current batch of events started; call it on the
// loop.
func (l *Loop) Now() time.Time { return l.now }

// Execute runs fn on the loop at some time soon, followed by the loop's
// end-of-batch work (Handler.OnFlush, pending writes and closes). It is safe
// to call from any goroutine; it returns an error when the engine is
// shutting down, in which case fn never runs.
func (l *Loop) Execute(fn func()) error {
	return l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		l.enter()
		fn()
		l.exit(nil)
		return nil
	}))
}

// enter marks the start of a callback on the loop.
func (l *Loop) enter() {
	if l.depth == 0 {
		l.now = time.Now()
	}
	l.depth++
}

// exit ends a callback; the outermost one runs the end-of-batch work. It
// reports whether cur (the connection of the running gnet callback, may be
// nil) must be closed by returning gnet.Close.
func (l *Loop) exit(cur *Conn) bool {
	l.depth--
	if l.depth > 0 {
		return cur != nil && cur.closing
	}
	l.depth++ // closes below re-enter OnClose; keep them nested
	// Closing a connection runs OnClose, which may queue more work: go
	// round until nothing is left to close (closes beyond a few rounds wait
	// for the next batch). Every round ends with the writes flushed, so
	// OnWritten below never finds a write pending.
	for round := 0; ; round++ {
		l.srv.h.OnFlush(l)
		l.flushWrites()
		if len(l.closers) == 0 && len(l.writers) == 0 {
			break
		}
		if round == 8 {
			// Give up on closes for this batch, but never leave a
			// write behind: OnWritten lets the Handler reuse them.
			for len(l.writers) > 0 {
				l.srv.h.OnFlush(l)
				l.flushWrites()
			}
			break
		}
		closers := l.closers
		l.closers = nil
		for _, c := range closers {
			if c.closed {
				continue
			}
			if c.virtualOf() != nil {
				l.srv.closeVirtual(c)
				continue
			}
			if tr := c.transport(); tr != nil && !c.movedAway {
				tr.goodbye(c, c.closeErr())
			}
			if c == cur {
				continue
			}
			_ = l.el.Close(c.gc)
		}
	}
	l.srv.h.OnWritten(l)
	l.depth--
	return cur != nil && cur.closing
}

// flushWrites writes every connection's pending batch with one writev and
// enforces the outbound hard limit. Writes queued while it runs (by
// OnError, or by an OnClose that a failed write set off) stay queued for
// the next round.
func (l *Loop) flushWrites() {
	n := len(l.writers)
	for i := 0; i < n; i++ {
		c := l.writers[i]
		l.writers[i] = nil
		c.queued = false
		if c.closed || len(c.out) == 0 {
			c.resetOut()
			continue
		}
		var n int
		var err error
		if v := c.virtualOf(); v != nil {
			// The sink may hand the Handler packets whose answers are
			// written to c during Send: they go in a list of their own.
			out := c.out
			c.out, c.outN = nil, 0
			n = v.sink.Send(c, out)
			clear(out)
			switch {
			case cap(out) <= outKeep:
				l.putOut(out)
			case c.out == nil:
				c.out = out[:0]
			}
			c.bytesOut += uint64(n)
			c.writes++
			continue
		}
		if tr := c.transport(); tr != nil {
			n, err = tr.writeLayers(c, c.out)
		} else {
			n, err = writev(c, c.out)
		}
		c.resetOut()
		if err != nil {
			continue // gnet closed the connection and reported it
		}
		c.bytesOut += uint64(n)
		c.writes++
		if !c.closing && c.gc.OutboundBuffered() > l.srv.cfg.OutboundHardLimit {
			l.srv.h.OnError(c, ErrSlowConsumer)
			c.Close(ErrSlowConsumer)
		}
	}
	rest := copy(l.writers, l.writers[n:])
	clear(l.writers[rest:])
	l.writers = l.writers[:rest]
}

// maxIovecs is the most slices one writev takes (Linux's IOV_MAX); gnet
// passes a longer list to the kernel as is, which refuses it (EINVAL).
const maxIovecs = 1024

// writev writes bufs to c's socket in writevs of at most maxIovecs slices
// and returns the bytes handed to the socket (gnet buffers what the socket
// does not take, in order).
func writev(c *Conn, bufs [][]byte) (int, error) {
	total := 0
	for len(bufs) > 0 {
		k := min(len(bufs), maxIovecs)
		n, err := c.gc.Writev(bufs[:k])
		total += n
		if err != nil {
			return total, err
		}
		bufs = bufs[k:]
	}
	return total, nil
}

// tick runs the loop's timers and the Handler's OnTick.
func (l *Loop) tick() {
	l.ticking.Store(false)
	l.enter()
	now := l.now.UnixNano()
	for l.timers.Len() > 0 && l.timers.Min().deadline <= now {
		c := l.timers.Min()
		next, why := c.nextDeadline()
		if next == 0 {
			l.timers.Remove(int(c.heapIdx))
			continue
		}
		if next > now {
			c.deadline = next
			l.timers.Fix(int(c.heapIdx))
			continue
		}
		l.timers.Remove(int(c.heapIdx))
		if c.closing || c.closed {
			continue
		}
		l.srv.fail(c, why)
	}
	if now >= l.sweepAt {
		l.sweepCiphers()
		l.sweepAt = now + int64(cipherIdle/2)
	}
	l.srv.h.OnTick(l, l.now)
	l.exit(nil)
}
