package netio

import "errors"

// Sentinel errors reported by netio, as the err of Handler.OnClose or
// returned from Server methods.
var (
	// ErrConnectTimeout reports a connection that sent no CONNECT (that the
	// Handler did not accept) within Config.ConnectTimeout.
	ErrConnectTimeout = errors.New("netio: connect timeout")
	// ErrIdleTimeout reports a connection silent for longer than the idle
	// timeout its Handler set (the MQTT keepalive × 1.5).
	ErrIdleTimeout = errors.New("netio: idle timeout")
	// ErrSlowConsumer reports a connection whose unsent outbound bytes stayed
	// above Config.OutboundHardLimit.
	ErrSlowConsumer = errors.New("netio: outbound hard limit exceeded")
	// ErrHoldLimit reports a connection that sent more than twice
	// Config.MaxPacketSize while its Handler held its input (Conn.Hold).
	ErrHoldLimit = errors.New("netio: input held beyond the limit")
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("netio: server closed")
	// ErrInvalidConfig reports a Config that failed Validate.
	ErrInvalidConfig = errors.New("netio: invalid config")
)
