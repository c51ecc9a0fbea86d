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
	// ErrUnknownListener reports a listener id (KIND:NAME) that no
	// listener of the Config has.
	ErrUnknownListener = errors.New("netio: unknown listener")
	// ErrNotStoppable reports a listener that StopListener and
	// StartListener do not handle: a udp listener, whose socket its
	// Gateway's clients share with the Server's lifetime.
	ErrNotStoppable = errors.New("netio: listener cannot be stopped")
	// ErrNoListenerControl reports a listener method called on a Server
	// whose Config has no ListenerControl.
	ErrNoListenerControl = errors.New("netio: listener control is off")
	// ErrListenerStopped reports a connection closed because its listener
	// was stopped (StopListener, RestartListener).
	ErrListenerStopped = errors.New("netio: listener stopped")
)

// Errors of the transport layers (TLS, WebSocket, PROXY protocol), as the
// err of Handler.OnError and Handler.OnClose for a connection the Handler
// has seen, and in the debug log for one refused before.
var (
	// ErrNotTLS reports a connection to an ssl or wss listener whose first
	// bytes are not a TLS handshake record (a plain CONNECT, say).
	ErrNotTLS = errors.New("netio: not a TLS handshake")
	// ErrTLSHandshake reports a failed TLS handshake; it wraps crypto/tls's
	// error (an untrusted or expired client certificate, no common version
	// or cipher suite).
	ErrTLSHandshake = errors.New("netio: TLS handshake failed")
	// ErrHandshakeTimeout reports a TLS handshake or WebSocket upgrade not
	// finished within the listener's handshake timeout.
	ErrHandshakeTimeout = errors.New("netio: handshake timeout")
	// ErrTLSRecord reports a TLS record that does not decrypt, an
	// unexpected record type or a fatal alert from the client.
	ErrTLSRecord = errors.New("netio: bad TLS record")
	// ErrProxyHeader reports a connection to a listener with the PROXY
	// protocol that did not start with a valid header.
	ErrProxyHeader = errors.New("netio: bad PROXY protocol header")
	// ErrProxyTimeout reports a PROXY protocol header not complete within
	// Listener.ProxyProtocolTimeout.
	ErrProxyTimeout = errors.New("netio: PROXY protocol header timeout")
	// ErrUpgrade reports an HTTP request that is not a valid WebSocket
	// upgrade to the listener's path (answered with an HTTP error status).
	ErrUpgrade = errors.New("netio: bad WebSocket upgrade")
	// ErrWebSocket reports a WebSocket protocol error: a text frame
	// [MQTT-6.0.0-1], an unmasked frame, an unknown opcode (closed with
	// status 1002).
	ErrWebSocket = errors.New("netio: WebSocket protocol error")
	// ErrFrameTooLarge reports a WebSocket frame longer than the
	// listener's maximum (closed with status 1009).
	ErrFrameTooLarge = errors.New("netio: WebSocket frame too large")
)
