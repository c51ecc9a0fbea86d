package netio

import (
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// Handler receives a Server's events. Every method runs on the event loop
// that owns the connection (or the Loop given), never concurrently with
// another method for the same Loop.
type Handler interface {
	// OnOpen reports a new connection, or one migrated to this loop
	// (c.Migrated() is true); frames follow in OnFrame.
	OnOpen(c *Conn)
	// OnFrame hands over one complete MQTT frame: h is its fixed header,
	// frame the whole packet (fixed header included) and body the variable
	// header and payload. Both slices alias the read buffer and are valid
	// only until OnFrame returns: copy what must outlive the call. A non-nil
	// error closes the connection with that error (after OnError).
	OnFrame(c *Conn, h mqtt.FixedHeader, frame, body []byte) error
	// OnError reports that netio is about to close c because of err (a
	// framing error, ErrIdleTimeout, ErrConnectTimeout, ErrSlowConsumer or
	// the error OnFrame returned). The Handler may write a last packet (an
	// MQTT 5 DISCONNECT) before the close.
	OnError(c *Conn, err error)
	// OnClose reports that c is closed; err is why (nil for a close the
	// Handler asked for with a nil error or a clean EOF). It is not called
	// for a connection migrated away from this loop.
	OnClose(c *Conn, err error)
	// OnTick runs on each loop every Config.TickInterval.
	OnTick(l *Loop, now time.Time)
	// OnFlush runs at the end of every batch of events on the loop, before
	// pending writes are flushed; the Handler sends its batched cross-loop
	// work here.
	OnFlush(l *Loop)
	// OnWritten runs once the batch's writes are flushed and its closes
	// done: byte slices the Handler passed to Conn.Write may be reused.
	OnWritten(l *Loop)
	// OnShutdown runs on each loop when Server.Shutdown starts, so that the
	// Handler can say goodbye (MQTT 5 DISCONNECT 0x8B) and close connections.
	OnShutdown(l *Loop)
}
